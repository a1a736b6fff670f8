"""A misspelled profile is named as missing, with the known ones listed, by every bash script that takes a profile
(deploy-all.sh and destroy-all.sh: tests/workflow/test_deploy_destroy_cli.py)."""

from __future__ import annotations

import pytest

from tests.scripts.helpers import CONSUMER, PROVIDER, PROVIDER_BUCKET, Kit, seed_deployed

COMMANDS = {
    "invoke.sh": ["provder"],
    "build-backend.sh": ["--profile", "provder", PROVIDER_BUCKET],
    "build-client.sh": ["--profile", "provder", PROVIDER_BUCKET],
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
    # WHEN invoke is given a misspelled profile
    result = kit.run("invoke.sh", "provder")
    # THEN the profile is still named as missing (found with `aws configure list`), with where to look instead of a list
    assert result.returncode == 1
    assert "profile 'provder' does not exist" in result.stderr
    assert "~/.aws/config" in result.stderr
    assert "no region configured" not in result.stderr
    assert not kit.calls("aws", "sts")


def test_script_existing_profiles_pass_the_profile_check_with_one_call(kit: Kit) -> None:
    # GIVEN an existing profile and its deployed stack
    kit.change_state(seed_deployed)
    # WHEN invoke checks it
    result = kit.run("invoke.sh", CONSUMER)
    # THEN one list-profiles call covered it and the run went on
    assert result.returncode == 0, result.stderr
    assert len(kit.calls("aws", "configure", "list-profiles")) == 1
    assert kit.calls("aws", "configure", "list") == []
