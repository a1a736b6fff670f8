"""Build steps of the build command: stage code, zip it reproducibly, point template copies at the zip, check that
sam package left no local file behind."""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
from pathlib import Path

from workflow.output import Output

# Fixed entry time and modes: the same files always give the same bytes, hence the same S3 key,
# so sam package skips the upload and sam deploy sees no change on a re-run.
ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_COMPRESS_LEVEL = 9
SKIPPED_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
SKIPPED_SUFFIXES = (".pyc", ".pyo")
SKIPPED_NAMES = frozenset({".DS_Store"})
# What the Lambda Python runtime and the Powertools layer already provide: bundling them only adds size.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "urllib3", "dateutil", "aws_lambda_powertools")
UNZIPPED_LIMIT_BYTES = 250 * 1024 * 1024  # Lambda: function + layers, unzipped
TEMPLATE_SKIP = ("src", "events", "tests", "__pycache__", ".aws-sam", "samconfig.toml", "*-deploy.yaml")
_CODE_URI = re.compile(r"^(?P<lead>\s*CodeUri:\s*)(?P<quote>['\"]?)(?:\./)?src/?(?P=quote)\s*(?:#.*)?$")
_ARTIFACT_KEY = re.compile(
    r"^\s*-?\s*(?P<key>CodeUri|ContentUri|DefinitionUri|Location|TemplateURL|BodyS3Location):\s*(?P<value>\S.*?)\s*$"
)
_TOP_LEVEL_KEY = re.compile(r"^(?P<key>[A-Za-z]\w*):")
_LOCAL_ARTIFACT_SUFFIXES = (".yaml", ".yml", ".json", ".template", ".zip")


class BuildError(Exception):
    """A build input is not what the build expects."""


def is_skipped(relative: Path) -> bool:
    """True for caches and compiled files that never belong in a deployment package."""
    return (
        any(part in SKIPPED_DIRS for part in relative.parts)
        or relative.name in SKIPPED_NAMES
        or relative.suffix in SKIPPED_SUFFIXES
    )


def package_files(root: Path) -> list[Path]:
    """Files under root that go into the zip, sorted by their archive name."""
    files = [path for path in root.rglob("*") if path.is_file() and not is_skipped(path.relative_to(root))]
    return sorted(files, key=lambda path: path.relative_to(root).as_posix())


def stage_code(src: Path, dest: Path) -> int:
    """Copy the function source (not requirements files) next to the installed dependencies; return file count."""
    copied = 0
    for path in package_files(src):
        relative = path.relative_to(src)
        if len(relative.parts) == 1 and relative.name.startswith("requirements") and relative.suffix == ".txt":
            continue
        target = dest / relative
        if target.exists():
            raise BuildError(f"{relative} from src/ collides with an installed dependency of the same name")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
        copied += 1
    if copied == 0:
        raise BuildError(f"no source files under {src}")
    return copied


def write_zip(src: Path, out: Path) -> tuple[int, int, int]:
    """Zip src reproducibly; return (zip bytes, unzipped bytes, file count)."""
    files = package_files(src)
    unzipped = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            data = path.read_bytes()
            unzipped += len(data)
            info = zipfile.ZipInfo(path.relative_to(src).as_posix(), date_time=ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so external_attr carries the permission bits below
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            archive.writestr(info, data, compresslevel=ZIP_COMPRESS_LEVEL)
    return out.stat().st_size, unzipped, len(files)


def human_size(size: int) -> str:
    """Bytes as B/KiB/MiB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


def runtime_provided_packages(stage: Path) -> list[str]:
    """Top-level packages in the stage that Lambda's runtime or the Powertools layer already has."""
    return [name for name in RUNTIME_PROVIDED if (stage / name).is_dir()]


def rewrite_code_uri(text: str, code_uri: str) -> tuple[str, int]:
    """Point every `CodeUri: src/` line at the staged zip; return the new text and how many lines changed."""
    lines = text.splitlines(keepends=True)
    changed = 0
    for index, line in enumerate(lines):
        ending = "\n" if line.endswith("\n") else ""
        match = _CODE_URI.match(line.rstrip("\r\n"))
        if match:
            lines[index] = f"{match['lead']}{code_uri}{ending}"
            changed += 1
    return "".join(lines), changed


def copy_templates(side_dir: Path, out: Path, code_uri: str) -> int:
    """Copy a side's templates (and any files they include) into out, rewriting CodeUri; return lines rewritten."""
    shutil.copytree(side_dir, out, ignore=shutil.ignore_patterns(*TEMPLATE_SKIP), dirs_exist_ok=True)
    rewritten = 0
    for template in sorted([*out.rglob("*.yaml"), *out.rglob("*.yml")]):
        if "stage" in template.relative_to(out).parts:
            continue
        text, changed = rewrite_code_uri(template.read_text(), code_uri)
        if changed:
            template.write_text(text)
            rewritten += changed
    if rewritten == 0:
        raise BuildError(f"no 'CodeUri: src/' line in the templates of {side_dir.name}; nothing would use the zip")
    return rewritten


def local_artifact_references(text: str) -> list[str]:
    """Artifact properties in a packaged template that still name a local file (sam package left them)."""
    leftovers = []
    section = ""
    for number, line in enumerate(text.splitlines(), start=1):
        top_level = _TOP_LEVEL_KEY.match(line)
        if top_level:
            section = top_level["key"]
        # sam package copies Globals.Function.CodeUri into each function and uploads it there, but leaves the
        # Globals value as it was; the function-level S3 URL wins in the transform, so Globals is not checked.
        if section == "Globals":
            continue
        match = _ARTIFACT_KEY.match(line)
        if not match:
            continue
        value = match["value"].strip("'\"")
        if "://" in value:
            continue
        if value.endswith(_LOCAL_ARTIFACT_SUFFIXES) or value.startswith(("./", "../", "/")):
            leftovers.append(f"line {number}: {match['key']}: {value}")
    return leftovers


def stage(out: Output, src: Path, dest: Path) -> None:
    """Stage the function source and say how many files; warn about packages the runtime already has."""
    count = stage_code(src, dest)
    out.info(f"staged {count} source file(s) from {src.parent.name}/{src.name}")
    bundled = runtime_provided_packages(dest)
    if bundled:
        out.warn(
            f"{', '.join(bundled)} already come with the Lambda runtime or the Powertools layer; "
            "bundling them adds size and can shadow the runtime's copy (check requirements.txt)"
        )


def zip_stage(out: Output, src: Path, zip_path: Path) -> None:
    """Zip the stage and print the package size; a zip past Lambda's unzipped limit is a BuildError."""
    zipped, unzipped, count = write_zip(src, zip_path)
    out.info(f"{zip_path.name}: {human_size(zipped)} zipped, {human_size(unzipped)} unzipped, {count} file(s)")
    if unzipped > UNZIPPED_LIMIT_BYTES:
        raise BuildError(f"{zip_path.name} unzips to more than Lambda's 250 MB limit")


def template_copies(out: Output, side_dir: Path, build_dir: Path, code_uri: str) -> None:
    """Copy the side's templates into the build directory, CodeUri pointing at the zip."""
    rewritten = copy_templates(side_dir, build_dir, code_uri)
    out.info(f"{rewritten} CodeUri line(s) now point at {code_uri}")


def check_packaged(template: Path) -> None:
    """A BuildError listing the artifact properties of a packaged template that still name local files."""
    leftovers = local_artifact_references(template.read_text())
    if leftovers:
        raise BuildError(
            f"{template} still references local files:" + "".join(f"\n  {leftover}" for leftover in leftovers)
        )
