"""Deployment zip sizes, built with the build scripts' own staging and zip steps (no pip, no S3, no sam package)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from workflow.artifacts import stage_code, write_zip

__all__ = ["PackageSize", "build_zip"]

_REQUIREMENT = re.compile(r"^\s*[^#\s-]")


@dataclass(frozen=True)
class PackageSize:
    """One side's deployment zip as build-*.sh makes it."""

    side: str
    zip_path: Path
    zip_bytes: int
    unzipped_bytes: int
    files: int


def build_zip(repo: Path, side: str, out_dir: Path) -> PackageSize:
    """Stage `<side>/src` and zip it exactly as workflow/build.py build_side does, under out_dir/<side>/.

    build_side also pip-installs `src/requirements.txt` into the stage first; both sides list nothing (the runtime and
    the Powertools layer provide every dependency), so that step adds no file. If one ever lists a package, this
    refuses rather than report a size the build script would not produce.
    """
    src = repo / side / "src"
    requirements = src / "requirements.txt"
    if requirements.is_file() and any(_REQUIREMENT.match(line) for line in requirements.read_text().splitlines()):
        raise RuntimeError(f"{requirements.relative_to(repo)} lists packages: run build-*.sh to size the real zip")
    work = out_dir / side
    shutil.rmtree(work, ignore_errors=True)
    stage = work / "stage"
    stage.mkdir(parents=True)
    stage_code(src, stage)
    zip_path = work / f"{side}-code.zip"
    zipped, unzipped, files = write_zip(stage, zip_path)
    return PackageSize(side, zip_path, zipped, unzipped, files)
