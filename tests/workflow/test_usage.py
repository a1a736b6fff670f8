"""Command lines of build-backend.sh, build-client.sh and invoke.sh: each explains itself, rejects bad arguments with
exit 2 before touching anything, names a misspelled profile, finds its Python, and is ShellCheck clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflow.harness import CONSUMER, PROVIDER, REPO_ROOT, Kit
from workflow import build, cli, invoke

SHELLCHECK = Path(sys.executable).parent / "shellcheck"
SCRIPTS = ("build-backend.sh", "build-client.sh", "invoke.sh")
# How each script calls the workflow package (see the scripts themselves).
COMMAND = {
    "build-backend.sh": ["build", "api-backend"],
    "build-client.sh": ["build", "api-client"],
    "invoke.sh": ["invoke"],
}
VALID_ARGS = {"build-backend.sh": ["my-bucket"], "build-client.sh": ["my-bucket"], "invoke.sh": [CONSUMER]}


def run_command(script: str, *args: str) -> int:
    """A script's command in-process, as its wrapper runs it."""
    return cli.main([*COMMAND[script], *args])


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_without_arguments_prints_usage_and_exits_2(kit: Kit, script: str) -> None:
    # GIVEN a script that needs positional arguments
    # WHEN it runs with none
    result = kit.run(script)
    # THEN it exits 2 with the reason and its usage on stderr, having called nothing
    assert result.returncode == 2
    assert "ERROR: expected" in result.stderr
    assert f"Usage: {script}" in result.stderr
    assert kit.sam_calls() == []
    assert kit.pip_calls() == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help_prints_usage_and_exits_0(kit: Kit, script: str) -> None:
    # GIVEN any script
    # WHEN asked for help
    result = kit.run(script, "--help")
    # THEN the usage goes to stdout and nothing else happens
    assert result.returncode == 0
    assert result.stdout.startswith(f"Usage: {script}")
    assert result.stderr == ""
    assert kit.sam_calls() == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_unknown_option_exits_2(in_kit: Kit, script: str, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN otherwise valid arguments
    # WHEN an unknown option is added
    status = run_command(script, *VALID_ARGS[script], "--frobnicate")
    # THEN the option is named and the usage shown
    stderr = capsys.readouterr().err
    assert status == 2
    assert "unknown option: --frobnicate" in stderr
    assert "Usage:" in stderr
    assert in_kit.sam_calls() == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_option_without_value_exits_2(in_kit: Kit, script: str, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a value-taking option at the end of the command line
    # WHEN its value is missing
    status = run_command(script, *VALID_ARGS[script], "--region")
    # THEN the script says which option lacks a value
    assert status == 2
    assert "option --region needs a value" in capsys.readouterr().err


def test_invoke_invalid_stack_prefix_exits_2(in_kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a prefix that cannot name both stacks and buckets
    # WHEN it is passed
    status = invoke.main([CONSUMER, "--stack-prefix", "My_Prefix"])
    # THEN the script refuses before touching AWS
    assert status == 2
    assert "invalid --stack-prefix 'My_Prefix'" in capsys.readouterr().err


def test_build_invalid_bucket_name_exits_2(in_kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a bucket name S3 would reject
    # WHEN the build runs
    status = build.main(["api-backend", "Not_A_Bucket"], root=in_kit.root)
    # THEN it stops before building
    assert status == 2
    assert "invalid S3 bucket name 'Not_A_Bucket'" in capsys.readouterr().err
    assert not (in_kit.root / "build").exists()


@pytest.mark.parametrize("region", ["useast1", "US-EAST-1"])
def test_build_invalid_region_exits_2(in_kit: Kit, region: str, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a region that is not shaped like one
    # WHEN the build runs with it
    status = build.main(["api-backend", "--region", region, "my-bucket"], root=in_kit.root)
    # THEN it stops before building
    assert status == 2
    assert f"invalid region '{region}'" in capsys.readouterr().err
    assert not (in_kit.root / "build").exists()


@pytest.mark.parametrize(
    ("script", "args"),
    [
        ("invoke.sh", ["provder"]),
        ("build-backend.sh", ["--profile", "provder", "my-bucket"]),
        ("build-client.sh", ["--profile", "provder", "my-bucket"]),
    ],
)
def test_script_misspelled_profile_says_it_does_not_exist_and_lists_the_known_ones(
    in_kit: Kit, script: str, args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a profile name the AWS config and credentials files do not hold
    # WHEN a script is given it
    status = invoke.main(args) if script == "invoke.sh" else build.main([COMMAND[script][1], *args], root=in_kit.root)
    # THEN it says so, lists the profiles that exist, and stops before any account or build call
    stderr = capsys.readouterr().err
    assert status == 1
    assert "profile 'provder' does not exist" in stderr
    assert f"known profiles: {CONSUMER}, {PROVIDER}" in stderr
    assert "no region configured" not in stderr
    assert in_kit.sam_calls() == []
    assert not (in_kit.root / "build").exists()


def test_invoke_profile_without_region_asks_for_one(in_kit: Kit, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a consumer profile with no region, and none in the environment
    in_kit.cloud.write_profiles({CONSUMER: ""})
    # WHEN invoke.sh runs
    status = invoke.main([CONSUMER])
    # THEN it says how to pass or configure one
    assert status == 1
    assert "no region configured for profile 'consumer': pass --region" in capsys.readouterr().err


def test_script_without_venv_uses_a_python3_that_has_boto3(kit: Kit) -> None:
    # GIVEN a checkout without .venv, and on PATH a python3 that has boto3
    (kit.root / ".venv").unlink()
    # WHEN a script runs
    result = kit.run("build-backend.sh", "--help")
    # THEN it ran the workflow package with that python3
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: build-backend.sh")


def python3_answering(tmp_path: Path, status: int) -> str:
    """A PATH whose python3 exits `status` whatever it is asked (scripts/python.sh's check: 1 no boto3, 3 too old)."""
    bin_dir = tmp_path / f"python3-exits-{status}"
    bin_dir.mkdir()
    (bin_dir / "python3").write_text(f"#!/bin/sh\nexit {status}\n")
    (bin_dir / "python3").chmod(0o755)
    return f"{bin_dir}:/usr/bin:/bin"


def test_script_without_a_python_that_has_boto3_says_what_to_run_and_exits_2(kit: Kit, tmp_path: Path) -> None:
    # GIVEN no .venv and a python3 without boto3
    (kit.root / ".venv").unlink()
    # WHEN a script runs
    result = kit.run("invoke.sh", CONSUMER, env={"PATH": python3_answering(tmp_path, 1)})
    # THEN it says what to run instead, and exits 2
    assert result.returncode == 2
    assert result.stderr == (
        'ERROR: invoke.sh needs python3 with boto3: run "make venv", or "python3 -m pip install boto3"\n'
    )


def test_script_with_a_python3_older_than_3_11_says_which_to_use_and_exits_2(kit: Kit, tmp_path: Path) -> None:
    # GIVEN no .venv and a python3 older than 3.11 (the check's exit status 3), boto3 or not
    (kit.root / ".venv").unlink()
    # WHEN a script runs
    result = kit.run("deploy-all.sh", CONSUMER, "provider", env={"PATH": python3_answering(tmp_path, 3)})
    # THEN it names the version it needs and how to get a venv on one, and exits 2
    assert result.returncode == 2
    assert result.stderr == (
        'ERROR: deploy-all.sh needs Python 3.11+ and python3 is older: run "make venv PYTHON=python3.11" (or newer)\n'
    )


def test_shellcheck_wrappers_and_their_helper_report_nothing() -> None:
    # GIVEN the Python-backed scripts plus the helper they source
    files = [str(REPO_ROOT / name) for name in SCRIPTS] + [str(REPO_ROOT / "scripts" / "python.sh")]
    # WHEN ShellCheck follows the sources (-x)
    result = subprocess.run(  # noqa: S603 - fixed tool, repo files
        [str(SHELLCHECK), "-x", *files], capture_output=True, text=True, check=False
    )
    # THEN it reports nothing at any severity
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_wrapper_is_short(script: str) -> None:
    # GIVEN a Python-backed script
    # WHEN its lines are counted
    # THEN it stays a wrapper: finding Python and handing over the command line
    assert len((REPO_ROOT / script).read_text().splitlines()) <= 25
