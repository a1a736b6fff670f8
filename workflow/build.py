"""build-backend.sh / build-client.sh (`python -m workflow build SIDE ...`): stage a side's code with its pinned
dependencies for Lambda, zip it reproducibly, and `sam package` both of its templates into *-deploy.yaml via S3.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess  # nosec B404 - runs pip, with arguments built here
from collections.abc import Sequence
from pathlib import Path

from workflow import artifacts, aws, sam
from workflow.options import SIDES, parse, validate_bucket_name, validate_region
from workflow.output import Fatal, Output, UsageError, run

__all__ = ["build_side", "main", "script_name", "usage"]

# Lambda target of every function: wheels are cross-installed for it, never for the build host.
LAMBDA_PYTHON_VERSION = "3.14"
LAMBDA_PLATFORM = "manylinux2014_aarch64"
POWERTOOLS_REQUIREMENTS = "requirements-powertools.txt"
# PIP lets a caller pick the pip to run (e.g. "python3.12 -m pip"); tests use it to record the command line.
DEFAULT_PIP = "python3 -m pip"
_ROLES = {"api-backend": "API provider", "api-client": "API consumer"}
_REQUIREMENT_LINE = re.compile(r"^\s*(#|-|$)")


def script_name(side: str) -> str:
    """The top-level script that builds a side."""
    return f"build-{side.removeprefix('api-')}.sh"


def usage(side: str) -> str:
    """Usage of build-backend.sh and build-client.sh."""
    return f"""\
Usage: {script_name(side)} [--profile PROFILE] [--region REGION] [--bundle-powertools] <s3-bucket>

Build and package the {_ROLES[side]} ({side}) for deployment.
Writes {side}/{side}-deploy.yaml and {side}/vpc-{side}-deploy.yaml; the code zip and the nested
template are uploaded to <s3-bucket>, which must be in the region you deploy to.

Options:
  --profile PROFILE   AWS CLI profile for the upload (default: the CLI's default credentials)
  --region REGION     region of the bucket (default: the profile's region)
  --bundle-powertools put Powertools (pinned in requirements-powertools.txt) into the code zip, for a
                      deploy with pPowertoolsLayerArn=None where the public layer is not published
  -h, --help          show this help

Environment:
  PIP                 pip command to run (default: "{DEFAULT_PIP}")
"""


def _requirement_lines(requirements: Path) -> list[str]:
    """The lines of a requirements file that name something (not blank, not comments)."""
    if not requirements.is_file():
        return []
    lines = requirements.read_text().splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def install_requirements(out: Output, requirements: Path, target: Path, *extra: str, root: Path) -> None:
    """Cross-install the wheels for the Lambda runtime (Python and CPU), never for the machine running the build."""
    if not _requirement_lines(requirements):
        shown = requirements.relative_to(root) if requirements.is_relative_to(root) else requirements
        out.info(f"no third-party requirements in {shown}: nothing to install")
        return
    unpinned = [
        line for line in requirements.read_text().splitlines() if not _REQUIREMENT_LINE.match(line) and "==" not in line
    ]
    if unpinned:
        out.warn(f"unpinned requirement(s) in {requirements}: {' '.join(unpinned)} (pin with == for repeatable builds)")
    pip = shlex.split(os.environ.get("PIP") or DEFAULT_PIP)
    command = [
        *pip,
        "install",
        "--requirement",
        str(requirements),
        "--target",
        str(target),
        "--platform",
        LAMBDA_PLATFORM,
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON_VERSION,
        "--only-binary=:all:",
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        *extra,
    ]
    out.flush()
    # The pip the user chose (PIP), with flags built here.
    status = subprocess.run(command, check=False).returncode  # noqa: S603  # nosec B603
    if status != 0:
        raise Fatal(status=status)
    # Console scripts embed this machine's interpreter path and Lambda never runs them.
    shutil.rmtree(target / "bin", ignore_errors=True)


def build_side(
    out: Output, side: str, *, root: Path, bucket: str, profile: str, region: str, bundle_powertools: bool
) -> None:
    """Stage code + dependencies, zip them reproducibly and package both templates of one side of the kit at root."""
    side_dir = root / side
    build_dir = root / "build" / side
    stage_dir = build_dir / "stage"
    zip_name = f"{side}-code.zip"
    templates = (side, f"vpc-{side}")
    for template in templates:
        if not (side_dir / f"{template}.yaml").is_file():
            raise Fatal(f"template {side}/{template}.yaml not found")
    if not (side_dir / "src").is_dir():
        raise Fatal(f"function code {side}/src/ not found")

    shutil.rmtree(build_dir, ignore_errors=True)
    stage_dir.mkdir(parents=True)
    install_requirements(out, side_dir / "src" / "requirements.txt", stage_dir, root=root)
    if bundle_powertools:
        # For regions without the public layer: the functions then run with pPowertoolsLayerArn=None. --no-deps keeps
        # out botocore (aws-xray-sdk requires it): a copy in the zip would shadow the runtime's and mismatch its boto3.
        install_requirements(out, root / POWERTOOLS_REQUIREMENTS, stage_dir, "--no-deps", root=root)
    try:
        artifacts.stage(out, side_dir / "src", stage_dir)
        artifacts.zip_stage(out, stage_dir, build_dir / zip_name)
        # Build copies of the templates point CodeUri at the zip; the vpc- template's relative
        # reference to its nested template still resolves because both copies sit side by side.
        artifacts.template_copies(out, side_dir, build_dir, zip_name)
        for template in templates:
            packaged = side_dir / f"{template}-deploy.yaml"
            status = sam.package(
                build_dir / f"{template}.yaml",
                packaged,
                bucket=bucket,
                s3_prefix=side,
                profile=profile or None,
                region=region or None,
                stdout=out.stdout,
            )
            if status != 0:
                raise Fatal(status=status)
            artifacts.check_packaged(packaged)
            out.info(f"packaged {side}/{template}-deploy.yaml")
    except artifacts.BuildError as error:
        raise Fatal(str(error)) from error


def main(argv: Sequence[str], *, root: Path = sam.REPO_ROOT) -> int:
    """`build SIDE [options] <s3-bucket>`, building the kit at root (tests pass a copy)."""
    if not argv or argv[0] not in SIDES:
        raise SystemExit(f"usage: python -m workflow build {{{','.join(SIDES)}}} [options] <s3-bucket>")
    side = argv[0]
    out = Output()

    def body() -> int:
        parsed = parse(argv[1:], values=("--profile", "--region"), flags=("--bundle-powertools",))
        if len(parsed.positional) != 1:
            raise UsageError("expected exactly one argument: the S3 bucket for artifacts")
        bucket = validate_bucket_name(parsed.positional[0])
        profile, region = parsed.value("--profile"), parsed.value("--region")
        if region:
            validate_region(region)
        sam.require_commands(["sam", "python3"])
        if profile:
            aws.require_profiles([profile])
        out.heading(f"Building {side}")
        bundle = "--bundle-powertools" in parsed.flags
        build_side(out, side, root=root, bucket=bucket, profile=profile, region=region, bundle_powertools=bundle)
        return 0

    return run(out, lambda: usage(side), body)
