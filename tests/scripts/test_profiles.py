"""A misspelled profile is named as missing, with the known ones listed, by every script that takes a profile."""

from __future__ import annotations

import pytest

from tests.scripts.helpers import CONSUMER, PROVIDER, Kit

# build-*.sh and invoke.sh are Python-backed now: tests/workflow/test_usage.py names their misspelled profiles.
COMMANDS = {
    "deploy-all.sh": [CONSUMER, "provder"],
    "destroy-all.sh": [CONSUMER, "provder", "--yes"],
}


@pytest.mark.parametrize("script", COMMANDS)
def test_script_misspelled_profile_says_it_does_not_exist_and_lists_the_known_ones(kit: Kit, script: str) -> None:
    # GIVEN a profile name the AWS CLI's config and credentials files do not hold
    # WHEN a script is given it
    result = kit.run(script, *COMMANDS[script])
    # THEN it says so, lists the profiles that exist, and stops before any account or build call
    assert result.returncode == 1, result.stdout
    assert "profile 'provder' does not exist" in result.stderr
    assert f"known profiles: {CONSUMER}, {PROVIDER}" in result.stderr
    assert "no region configured" not in result.stderr
    assert [call["argv"][:2] for call in kit.calls()] == [["configure", "list-profiles"]]


def test_script_misspelled_profile_with_aws_cli_v1_is_still_named(kit: Kit) -> None:
    # GIVEN an AWS CLI v1, which has no `aws configure list-profiles`
    kit.change_state(lambda state: state.update(cli_version=1))
    # WHEN deploy-all is given a misspelled profile
    result = kit.run("deploy-all.sh", CONSUMER, "provder")
    # THEN the profile is still named as missing (found with `aws configure list`), with where to look instead of a list
    assert result.returncode == 1
    assert "profile 'provder' does not exist" in result.stderr
    assert "~/.aws/config" in result.stderr
    assert "no region configured" not in result.stderr
    assert not kit.calls("aws", "sts")


def test_script_existing_profiles_pass_the_profile_check_with_one_call(kit: Kit) -> None:
    # GIVEN two existing profiles
    # WHEN destroy-all checks them
    result = kit.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN one list-profiles call covered both and the run went on
    assert result.returncode == 0, result.stderr
    assert len(kit.calls("aws", "configure", "list-profiles")) == 1
    assert kit.calls("aws", "configure", "list") == []
