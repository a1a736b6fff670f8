"""The SAM CLI as a subprocess, for what SAM does itself (package, deploy): telemetry off, the repository's pinned
samconfig.toml, the capabilities every deploy needs, and sam's advice for people running it by hand filtered out.
"""

from __future__ import annotations

import os
import shutil
import subprocess  # nosec B404 - runs sam, with arguments built here
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from workflow.output import Fatal

__all__ = [
    "CAPABILITIES",
    "REPO_ROOT",
    "SAM_CONFIG_FILE",
    "deploy",
    "deploy_args",
    "is_noise",
    "package",
    "package_args",
    "require_commands",
    "run_sam",
    "sam_environment",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
# Pinned so every sam call ignores a stray samconfig.toml in the caller's directory.
SAM_CONFIG_FILE = REPO_ROOT / "samconfig.toml"
CAPABILITIES = ("CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND")
# sam package ends by advising `sam deploy ... --stack-name <YOUR STACK NAME>`: advice for running sam by hand,
# dropped here (deploy-all.sh deploys itself; docs/deploy.md shows the separate deploys).
_NOISE_LINE = "Execute the following command to deploy the packaged template"
_NOISE_SUFFIX = "--stack-name <YOUR STACK NAME>"
_INSTALL_HINTS = {"aws": "the AWS CLI", "sam": "the SAM CLI"}


def require_commands(commands: Sequence[str]) -> None:
    """Stop naming the missing commands and, for each, what to install."""
    missing = [command for command in commands if shutil.which(command) is None]
    if missing:
        install = ", ".join(_INSTALL_HINTS.get(command, command) for command in missing)
        raise Fatal(f"missing required command(s): {' '.join(missing)} (install {install}; see docs/deploy.md)")


def sam_environment(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for sam: no usage data from the SAM CLI (a caller's explicit setting is overridden too)."""
    return {**(os.environ if env is None else env), "SAM_CLI_TELEMETRY": "0"}


def is_noise(line: str) -> bool:
    """True for sam package's closing advice lines."""
    text = line.rstrip("\r\n")
    return text == _NOISE_LINE or text.endswith(_NOISE_SUFFIX)


def _profile_region(profile: str | None, region: str | None) -> list[str]:
    args = []
    if profile:
        args += ["--profile", profile]
    if region:
        args += ["--region", region]
    return args


def package_args(
    template: Path, output_template: Path, *, bucket: str, s3_prefix: str, profile: str | None, region: str | None
) -> list[str]:
    """`sam package` arguments for one template."""
    return [
        "package",
        "--template-file",
        str(template),
        "--output-template-file",
        str(output_template),
        "--s3-bucket",
        bucket,
        "--s3-prefix",
        s3_prefix,
        "--config-file",
        str(SAM_CONFIG_FILE),
        *_profile_region(profile, region),
    ]


def deploy_args(
    template: Path,
    stack: str,
    *,
    bucket: str,
    s3_prefix: str,
    profile: str | None,
    region: str | None,
    parameters: Sequence[str] = (),
) -> list[str]:
    """`sam deploy` arguments with the flags every deploy needs; parameters are `Key=Value` overrides."""
    args = [
        "deploy",
        "--template-file",
        str(template),
        "--stack-name",
        stack,
        "--s3-bucket",
        bucket,
        "--s3-prefix",
        s3_prefix,
        "--capabilities",
        *CAPABILITIES,
        "--no-fail-on-empty-changeset",
        "--no-confirm-changeset",
        "--config-file",
        str(SAM_CONFIG_FILE),
        *_profile_region(profile, region),
    ]
    if parameters:
        args += ["--parameter-overrides", *parameters]
    return args


def run_sam(args: Sequence[str], *, stdout: TextIO | None = None) -> int:
    """Run `sam ARGS`, copying its stdout minus the noise lines; stderr goes straight through. Returns sam's status."""
    target = stdout or sys.stdout
    target.flush()
    sys.stderr.flush()
    # sam from PATH on purpose: the one the user installed (and the recorded one in the tests).
    with subprocess.Popen(  # noqa: S603 - sam with arguments this package built  # nosec B603 B607
        ["sam", *args],  # noqa: S607
        stdout=subprocess.PIPE,
        text=True,
        env=sam_environment(),
    ) as process:
        for line in process.stdout or ():  # stdout=PIPE: never None
            if not is_noise(line):
                target.write(line)
        target.flush()
    return process.returncode


def package(
    template: Path,
    output_template: Path,
    *,
    bucket: str,
    s3_prefix: str,
    profile: str | None,
    region: str | None,
    stdout: TextIO | None = None,
) -> int:
    """`sam package` of one template; sam's exit status."""
    args = package_args(template, output_template, bucket=bucket, s3_prefix=s3_prefix, profile=profile, region=region)
    return run_sam(args, stdout=stdout)


def deploy(
    template: Path,
    stack: str,
    *,
    bucket: str,
    s3_prefix: str,
    profile: str | None,
    region: str | None,
    parameters: Sequence[str] = (),
    stdout: TextIO | None = None,
) -> int:
    """`sam deploy` of one stack; sam's exit status."""
    args = deploy_args(
        template, stack, bucket=bucket, s3_prefix=s3_prefix, profile=profile, region=region, parameters=parameters
    )
    return run_sam(args, stdout=stdout)
