"""Command lines: every script explains itself, rejects bad arguments with exit 2, and is ShellCheck clean."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.scripts.helpers import CONSUMER, REPO_ROOT, Kit

SHELLCHECK = Path(sys.executable).parent / "shellcheck"
# The scripts still in bash; deploy-all.sh and destroy-all.sh: tests/workflow/test_deploy_destroy_cli.py.
SCRIPTS = ("build-backend.sh", "build-client.sh", "invoke.sh")
VALID_ARGS = {
    "build-backend.sh": ["my-bucket"],
    "build-client.sh": ["my-bucket"],
    "invoke.sh": [CONSUMER],
}


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_without_arguments_prints_usage_and_exits_2(kit: Kit, script: str) -> None:
    # GIVEN a script that needs positional arguments
    # WHEN it runs with none
    result = kit.run(script)
    # THEN it exits 2 with the reason and its usage on stderr, having called nothing
    assert result.returncode == 2
    assert "ERROR: expected" in result.stderr
    assert f"Usage: {script}" in result.stderr
    assert kit.calls() == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help_prints_usage_and_exits_0(kit: Kit, script: str) -> None:
    # GIVEN any script
    # WHEN asked for help
    result = kit.run(script, "--help")
    # THEN the usage goes to stdout and nothing else happens
    assert result.returncode == 0
    assert result.stdout.startswith(f"Usage: {script}")
    assert result.stderr == ""
    assert kit.calls() == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_unknown_option_exits_2(kit: Kit, script: str) -> None:
    # GIVEN otherwise valid arguments
    # WHEN an unknown option is added
    result = kit.run(script, *VALID_ARGS[script], "--frobnicate")
    # THEN the option is named and the usage shown
    assert result.returncode == 2
    assert "unknown option: --frobnicate" in result.stderr
    assert "Usage:" in result.stderr
    assert kit.calls() == []


@pytest.mark.parametrize("script", ["invoke.sh"])
def test_script_option_without_value_exits_2(kit: Kit, script: str) -> None:
    # GIVEN a value-taking option at the end of the command line
    # WHEN its value is missing
    result = kit.run(script, *VALID_ARGS[script], "--region")
    # THEN the script says which option lacks a value
    assert result.returncode == 2
    assert "option --region needs a value" in result.stderr


@pytest.mark.parametrize("script", ["invoke.sh"])
def test_script_invalid_stack_prefix_exits_2(kit: Kit, script: str) -> None:
    # GIVEN a prefix that cannot name both stacks and buckets
    # WHEN it is passed
    result = kit.run(script, *VALID_ARGS[script], "--stack-prefix", "My_Prefix")
    # THEN the script refuses before touching AWS
    assert result.returncode == 2
    assert "invalid --stack-prefix 'My_Prefix'" in result.stderr
    assert kit.calls() == []


def test_build_invalid_bucket_name_exits_2(kit: Kit) -> None:
    # GIVEN a bucket name S3 would reject
    # WHEN the build runs
    result = kit.run("build-backend.sh", "Not_A_Bucket")
    # THEN it stops before building
    assert result.returncode == 2
    assert "invalid S3 bucket name 'Not_A_Bucket'" in result.stderr
    assert not (kit.root / "build").exists()


def test_shellcheck_scripts_and_library_report_nothing() -> None:
    # GIVEN every script plus the library they source
    files = [str(REPO_ROOT / name) for name in SCRIPTS] + [str(REPO_ROOT / "scripts" / "lib.sh")]
    # WHEN ShellCheck follows the sources (-x)
    result = subprocess.run(  # noqa: S603 - fixed tool, repo files
        [str(SHELLCHECK), "-x", *files], capture_output=True, text=True, check=False
    )
    # THEN it reports nothing at any severity
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""
