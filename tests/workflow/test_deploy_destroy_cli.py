"""Command lines of deploy-all.sh and destroy-all.sh: usage, bad arguments (exit 2), misspelled profiles, ShellCheck."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.workflow.cloud_faults import Request, RequestLog
from tests.workflow.harness import CONSUMER, PROVIDER, REPO_ROOT, Kit

SHELLCHECK = Path(sys.executable).parent / "shellcheck"
SCRIPTS = ("deploy-all.sh", "destroy-all.sh")
VALID_ARGS = {"deploy-all.sh": [CONSUMER, PROVIDER], "destroy-all.sh": [CONSUMER, PROVIDER]}


@pytest.fixture
def made(request_log: RequestLog) -> Callable[[], list[Request]]:
    """The requests moto has served since the test started."""
    mark = request_log.mark()
    return lambda: request_log.since(mark)


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_without_arguments_prints_usage_and_exits_2(
    deploy_kit: Kit, made: Callable[[], list[Request]], script: str
) -> None:
    # GIVEN a script that needs positional arguments
    # WHEN it runs with none
    result = deploy_kit.run(script)
    # THEN it exits 2 with the reason and its usage on stderr, having called nothing
    assert result.returncode == 2
    assert "ERROR: expected" in result.stderr
    assert f"Usage: {script}" in result.stderr
    assert made() == []
    assert deploy_kit.sam_calls() == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_help_prints_usage_and_exits_0(deploy_kit: Kit, made: Callable[[], list[Request]], script: str) -> None:
    # GIVEN any script
    # WHEN asked for help
    result = deploy_kit.run(script, "--help")
    # THEN the usage goes to stdout and nothing else happens
    assert result.returncode == 0
    assert result.stdout.startswith(f"Usage: {script}")
    assert result.stderr == ""
    assert made() == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_unknown_option_exits_2(deploy_kit: Kit, made: Callable[[], list[Request]], script: str) -> None:
    # GIVEN otherwise valid arguments
    # WHEN an unknown option is added
    result = deploy_kit.run(script, *VALID_ARGS[script], "--frobnicate")
    # THEN the option is named and the usage shown
    assert result.returncode == 2
    assert "unknown option: --frobnicate" in result.stderr
    assert "Usage:" in result.stderr
    assert made() == []


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_option_without_value_exits_2(deploy_kit: Kit, script: str) -> None:
    # GIVEN a value-taking option at the end of the command line
    # WHEN its value is missing
    result = deploy_kit.run(script, *VALID_ARGS[script], "--region")
    # THEN the script says which option lacks a value
    assert result.returncode == 2
    assert "option --region needs a value" in result.stderr


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_invalid_stack_prefix_exits_2(deploy_kit: Kit, made: Callable[[], list[Request]], script: str) -> None:
    # GIVEN a prefix that cannot name both stacks and buckets
    # WHEN it is passed
    result = deploy_kit.run(script, *VALID_ARGS[script], "--stack-prefix", "My_Prefix")
    # THEN the script refuses before touching AWS
    assert result.returncode == 2
    assert "invalid --stack-prefix 'My_Prefix'" in result.stderr
    assert made() == []


def test_deploy_all_one_profile_only_exits_2(deploy_kit: Kit) -> None:
    # GIVEN only the consumer profile
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER)
    # THEN it asks for both profiles
    assert result.returncode == 2
    assert "expected two arguments: <consumer-profile> <provider-profile>" in result.stderr


def test_destroy_all_bad_timeout_setting_exits_2(deploy_kit: Kit, made: Callable[[], list[Request]]) -> None:
    # GIVEN a non-numeric timeout in the environment
    # WHEN destroy-all runs
    result = deploy_kit.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes", env={"DESTROY_TIMEOUT_SECONDS": "soon"})
    # THEN the setting is rejected before anything is deleted
    assert result.returncode == 2
    assert "DESTROY_TIMEOUT_SECONDS must be a whole number of seconds, got 'soon'" in result.stderr
    assert made() == []


MISSPELLED = {
    "deploy-all.sh": [CONSUMER, "provder"],
    "destroy-all.sh": [CONSUMER, "provder", "--yes"],
}


@pytest.mark.parametrize("script", MISSPELLED)
def test_script_misspelled_profile_says_it_does_not_exist_and_lists_the_known_ones(
    deploy_kit: Kit, made: Callable[[], list[Request]], script: str
) -> None:
    # GIVEN a profile name the AWS config and credentials files do not hold
    # WHEN a script is given it
    result = deploy_kit.run(script, *MISSPELLED[script])
    # THEN it says so, lists the profiles that exist, and stops before any account call (the files are local)
    assert result.returncode == 1, result.stdout
    assert "profile 'provder' does not exist" in result.stderr
    assert f"known profiles: {CONSUMER}, {PROVIDER}" in result.stderr
    assert "no region configured" not in result.stderr
    assert made() == []


def test_script_existing_profiles_pass_the_profile_check_without_a_request(
    deploy_kit: Kit, made: Callable[[], list[Request]]
) -> None:
    # GIVEN two existing profiles
    # WHEN destroy-all checks them
    result = deploy_kit.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN the check read the local files only and the run went on to ask STS who each profile is
    assert result.returncode == 0, result.stderr
    assert [(request.service, request.operation) for request in made()[:2]] == [
        ("sts", "GetCallerIdentity"),
        ("sts", "GetCallerIdentity"),
    ]


def test_shellcheck_deploy_and_destroy_wrappers_report_nothing() -> None:
    # GIVEN the two wrappers plus the helper they source
    files = [str(REPO_ROOT / name) for name in SCRIPTS] + [str(REPO_ROOT / "scripts" / "python.sh")]
    # WHEN ShellCheck follows the sources (-x)
    result = subprocess.run(  # noqa: S603 - fixed tool, repo files
        [str(SHELLCHECK), "-x", *files], capture_output=True, text=True, check=False
    )
    # THEN it reports nothing at any severity
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""
