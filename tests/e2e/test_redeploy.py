"""A parameter change reaches the running API only through a new deployment, as with a real stack update."""

from __future__ import annotations

import pytest

from emulation.accounts.two_accounts import MAIN, OTHER, TwoAccounts
from tests.e2e.helpers import call

pytestmark = pytest.mark.usefixtures("restore_provider")


def test_redeploy_template_with_always_deploy_creates_new_stage_deployment(env: TwoAccounts) -> None:
    # GIVEN the provider template (AlwaysDeploy: true on the API)
    # WHEN the stack is updated with the same parameters
    redeployed = env.redeploy_provider({})
    # THEN the stage gets a new deployment anyway
    assert redeployed is True


def test_redeploy_main_endpoint_removed_from_allowed_list_answers_explicit_deny(env: TwoAccounts) -> None:
    # GIVEN the main direct client allowed through the main endpoint
    assert call(env, "direct", "GET", "/").status == 200
    # WHEN the provider is redeployed allowing only the other VPC's endpoint
    env.redeploy_provider({"pAllowedVPCEndpoints": env.names.endpoints[OTHER]})
    # THEN the same call is refused by the resource policy's Deny
    result = call(env, "direct", "GET", "/")
    assert result.status == 403
    assert "with an explicit deny in a resource-based policy" in result.body


def test_redeploy_main_endpoint_added_back_allows_again(env: TwoAccounts) -> None:
    # GIVEN a deployment that denies the main endpoint
    env.redeploy_provider({"pAllowedVPCEndpoints": env.names.endpoints[OTHER]})
    assert call(env, "direct", "GET", "/").status == 403
    # WHEN the main endpoint is listed again and the provider redeployed
    env.redeploy_provider({"pAllowedVPCEndpoints": f"{env.names.endpoints[OTHER]},{env.names.endpoints[MAIN]}"})
    # THEN the call succeeds through it
    result = call(env, "direct", "GET", "/")
    assert result.status == 200
    assert result.json()["vpceId"] == env.names.endpoints[MAIN]


def test_redeploy_access_list_with_account_admits_unlisted_role(env: TwoAccounts) -> None:
    # GIVEN the other stack's direct role, refused while only main's role is listed
    assert call(env, "direct", "GET", "/", site=OTHER, via=MAIN).status == 403
    # WHEN the provider lists the consumer account instead (delegating to the account's identity policies)
    env.redeploy_provider({"pAPIAccessList": env.names.consumer})
    # THEN that role gets in, because its own identity policy allows execute-api:Invoke
    result = call(env, "direct", "GET", "/", site=OTHER, via=MAIN)
    assert result.status == 200
    assert result.json()["accountId"] == env.names.consumer


def test_redeploy_trust_nobody_refuses_a_new_session(env: TwoAccounts) -> None:
    # GIVEN the access role trusted by the consumer account
    # WHEN the provider stops trusting anyone else and the client starts cold (a new role session)
    env.redeploy_provider({"pTrustedPrincipals": "Nobody"})
    env.recycle_functions("assume_role")
    result = call(env, "assume_role", "GET", "/")
    # THEN STS refuses the AssumeRole and the client says so
    assert result.status == 502
    assert "is not authorized to perform: sts:AssumeRole" in result.payload["error"]
    env.recycle_functions("assume_role")  # later tests start from a fresh session


def test_redeploy_trust_nobody_keeps_an_existing_session_working(env: TwoAccounts) -> None:
    # GIVEN a warm assume-role client holding an access-role session
    assert call(env, "assume_role", "GET", "/").status == 200
    # WHEN the trust policy stops naming the consumer account
    env.redeploy_provider({"pTrustedPrincipals": "Nobody"})
    # THEN the session it already has stays valid until it expires, as on AWS
    result = call(env, "assume_role", "GET", "/")
    assert result.status == 200
    assert result.json()["accountId"] == env.names.provider
