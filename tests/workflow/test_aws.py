"""Profiles, regions and accounts as every command resolves them (boto3 against the two moto accounts)."""

from __future__ import annotations

import pytest

from tests.workflow.harness import CONSUMER, PROVIDER, REGION, Cloud
from workflow import aws
from workflow.output import Fatal


def test_require_profiles_known_profiles_pass(in_cloud: Cloud) -> None:
    aws.require_profiles([CONSUMER, PROVIDER])


def test_resolve_region_flag_wins_over_the_profiles(in_cloud: Cloud) -> None:
    assert aws.resolve_region("eu-west-1", [CONSUMER, PROVIDER]) == "eu-west-1"


def test_resolve_region_profiles_in_one_region_give_it(in_cloud: Cloud) -> None:
    assert aws.resolve_region("", [CONSUMER, PROVIDER]) == REGION


def test_resolve_region_environment_wins_over_the_profiles(in_cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN AWS_REGION set, as the AWS CLI honours it
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    # WHEN the region is resolved without --region
    # THEN it is the environment's
    assert aws.resolve_region("", [CONSUMER, PROVIDER]) == "eu-central-1"


def test_resolve_region_profiles_in_different_regions_stop_naming_both(in_cloud: Cloud) -> None:
    # GIVEN the provider profile in another region
    in_cloud.write_profiles({PROVIDER: "eu-west-1"})
    # WHEN the region is resolved without --region
    # THEN it stops, naming both, and says how to pick one
    with pytest.raises(Fatal) as stop:
        aws.resolve_region("", [CONSUMER, PROVIDER])
    assert stop.value.message == (
        "profiles use different regions ('consumer': us-east-1, 'provider': eu-west-1); the consumer's endpoint only "
        "reaches APIs in its own region, so pass --region to pick one"
    )


def test_caller_account_broken_credentials_name_the_profile(in_cloud: Cloud) -> None:
    # GIVEN STS unreachable for the provider profile (an endpoint that refuses connections)
    aws.session.cache_clear()
    # WHEN its account is asked for
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        with pytest.raises(Fatal) as stop:
            aws.caller_account(PROVIDER, REGION)
    # THEN the message names the profile and the failed call
    assert (stop.value.message or "").startswith(
        "profile 'provider' has no working credentials (aws sts get-caller-identity failed): "
    )
