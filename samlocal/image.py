"""A stand-in for AWS's Lambda Python base image, built from Debian's and PyPI's packages only, cached by its inputs.

`sam local` normally pulls AWS's python3.14 base image from Amazon ECR Public; offline, `--invoke-image` names this
one instead. It is a Debian minbase root file system (debootstrap) with python3, and under /var/runtime what AWS's
image has there: the Lambda runtime interface client (awslambdaric) and boto3 (requirements-samlocal.txt, pinned
by requirements-demo.txt), plus the /var/runtime/bootstrap the runtime interface emulator starts. Like AWS's image
it has no Powertools: the function's code carries it (the layer-less packaging). What differs from AWS's image:
Debian's Python (3.11 on bookworm, not 3.14) on the host's architecture (x86_64 here; SAM's arm64 emulator runs
under qemu and starts it).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess  # nosec B404 - runs docker, dockerd, apt-get, debootstrap, tar, pip and sam with arguments built here
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BOOTSTRAP", "IMAGE_REPOSITORY", "Platform", "debian_mirror", "ensure_image", "image_tag"]

REPO = Path(__file__).resolve().parents[1]
IMAGE_REPOSITORY = "private-api-kit/lambda-python-standin"
REQUIREMENTS = REPO / "requirements-samlocal.txt"
# Every file whose content changes what the image holds: a change gives a new tag, so a stale image is never used.
INPUTS = (REQUIREMENTS, REPO / "requirements-demo.txt", Path(__file__))
# Lambda's own order: the function's code, then layers, then the runtime's packages.
BOOTSTRAP = """#!/bin/sh
# Lambda's Python runtime as the base image starts it: the runtime interface client runs the function's handler.
export PYTHONPATH="/var/task:/opt/python:/var/runtime"
cd /var/task || exit 1
exec /usr/bin/python3 -m awslambdaric "${_HANDLER:-$AWS_LAMBDA_FUNCTION_HANDLER}"
"""
_OS_RELEASE = Path("/etc/os-release")
_APT_SOURCES = (Path("/etc/apt/sources.list.d"), Path("/etc/apt/sources.list"))


@dataclass(frozen=True)
class Platform:
    """The stand-in's interpreter: wheels for the function's dependencies must be built for it."""

    python: str  # e.g. 3.11
    machine: str  # uname -m inside the image, e.g. x86_64

    @property
    def wheel_tag(self) -> str:
        """The manylinux platform tag pip installs wheels for."""
        return f"manylinux2014_{self.machine}"


def image_tag() -> str:
    """`repository:tag` where the tag hashes every input of the image."""
    digest = hashlib.sha256()
    for path in INPUTS:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{IMAGE_REPOSITORY}:{digest.hexdigest()[:16]}"


def debian_mirror(sources: list[str] | None = None) -> str:
    """The Debian archive this machine's apt already uses (first `URIs:`/`deb` entry of its sources)."""
    texts = sources
    if texts is None:
        texts = []
        for place in _APT_SOURCES:
            files = sorted(place.glob("*.sources")) + sorted(place.glob("*.list")) if place.is_dir() else [place]
            texts += [file.read_text() for file in files if file.is_file()]
    for text in texts:
        for line in text.splitlines():
            match = re.match(r"\s*(?:URIs:|deb)\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s*", line)
            if match:
                return match.group(1)
    raise RuntimeError("no Debian archive found in apt's sources (/etc/apt/sources.list*): cannot debootstrap")


def _suite() -> str:
    for line in _OS_RELEASE.read_text().splitlines():
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip('"')
    raise RuntimeError("/etc/os-release names no VERSION_CODENAME: cannot debootstrap")


def _image_exists(tag: str) -> bool:
    inspect = ["docker", "image", "inspect", tag]
    return subprocess.run(inspect, capture_output=True, check=False).returncode == 0  # noqa: S603  # nosec B603


def _run(argv: list[str], log: Path) -> None:
    with log.open("a") as out:
        subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=True, timeout=1200)  # noqa: S603  # nosec B603


def _platform(tag: str) -> Platform:
    """The interpreter version and machine of an image (run inside it)."""
    probe = "import platform, sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}', platform.machine())"
    done = subprocess.run(  # noqa: S603  # nosec B603 B607
        ["docker", "run", "--rm", "--entrypoint", "/usr/bin/python3", tag, "-c", probe],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    python, machine = done.stdout.split()
    return Platform(python, machine)


def _build_rootfs(root: Path, python: str, log: Path) -> None:
    _run(["debootstrap", "--variant=minbase", "--include=python3", _suite(), str(root), debian_mirror()], log)
    runtime = root / "var" / "runtime"
    machine = subprocess.run(["uname", "-m"], capture_output=True, text=True, check=True).stdout.strip()  # noqa: S607  # nosec B603 B607
    version = subprocess.run(  # noqa: S603  # nosec B603
        [str(root / "usr/bin/python3"), "-c", "import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    _run(
        [
            python, "-m", "pip", "install", "--quiet", "--target", str(runtime), "--only-binary=:all:",
            "--implementation", "cp", "--python-version", version, "--platform", Platform(version, machine).wheel_tag,
            "-r", str(REQUIREMENTS), "-c", str(REPO / "requirements-demo.txt"),
        ],
        log,
    )  # fmt: skip
    bootstrap = runtime / "bootstrap"
    bootstrap.write_text(BOOTSTRAP)
    bootstrap.chmod(0o755)
    for cache in (root / "var/cache/apt/archives", root / "var/lib/apt/lists"):
        shutil.rmtree(cache, ignore_errors=True)


def ensure_image(state: Path, python: str) -> tuple[str, Platform]:
    """The stand-in image's tag and platform, building it first (with `python`'s pip) when no image with these
    inputs exists."""
    tag = image_tag()
    if _image_exists(tag):
        return tag, _platform(tag)
    log = state / "image.log"
    with tempfile.TemporaryDirectory(dir=state) as scratch:
        root = Path(scratch) / "rootfs"
        _build_rootfs(root, python, log)
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)  # noqa: S603, S607  # nosec B603 B607
        subprocess.run(  # noqa: S603  # nosec B603 B607
            ["docker", "import", "-c", "ENV LANG=C.UTF-8", "-c", "WORKDIR /var/task", "-", tag],  # noqa: S607
            stdin=tar.stdout,
            capture_output=True,
            check=True,
        )
        tar.wait()
    return tag, _platform(tag)
