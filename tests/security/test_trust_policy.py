"""Who may assume the API access role: pTrustedPrincipals x caller, through the STS front and the real client.

Expectations follow IAM's documented rules for sts:AssumeRole: the role's trust policy must allow the caller (even
in the role's own account); a trusted account (or "Nobody" = the provider account's root) delegates to that
account's identity policies, so the caller also needs an identity Allow for sts:AssumeRole on the role; a trusted
role ARN admits that role only.
"""

from __future__ import annotations

from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulation.accounts.two_accounts import CONSUMER, OTHER, OUTSIDER, OUTSIDER_ACCOUNT, PROVIDER, TwoAccounts
from tests.security.conftest import Caller, Deployment


@dataclass(frozen=True)
class TrustRow:
    """One case: what pTrustedPrincipals holds, who asks, and whether STS issues credentials."""

    trusted: str  # "nobody", "account", "role" or "list"
    caller: str
    allowed: bool
    why: str

    def __str__(self) -> str:
        return f"{self.trusted}-{self.caller}"


TRUST_ROWS = [
    TrustRow("nobody", "main-assume-client", False, "Nobody trusts only the provider account"),
    TrustRow("nobody", "provider-with-allow", True, "provider account trusted, identity allows"),
    TrustRow("nobody", "provider-without-allow", False, "provider account trusted, identity silent"),
    TrustRow("account", "main-assume-client", True, "consumer account trusted, identity allows"),
    TrustRow("account", "other-assume-client", True, "any consumer role whose identity allows"),
    TrustRow("account", "main-direct", False, "consumer account trusted, identity silent"),
    TrustRow("account", "outsider-assume-client", False, "untrusted account"),
    TrustRow("role", "main-assume-client", True, "the trusted role itself"),
    TrustRow("role", "other-assume-client", False, "another role of the trusted role's account"),
    TrustRow("list", "outsider-assume-client", True, "second account in the list"),
    TrustRow("list", "main-assume-client", True, "first account in the list"),
]


def _trusted(env: TwoAccounts, kind: str) -> str:
    return {
        "nobody": "Nobody",
        "account": CONSUMER,
        "role": env.names.client_role("main", "assume_role"),
        "list": f"{CONSUMER},{OUTSIDER_ACCOUNT}",
    }[kind]


def _assume(env: TwoAccounts, caller: Caller) -> dict[str, str]:
    assert env.sts is not None
    creds = caller.credentials()
    sts = boto3.session.Session().client(
        "sts",
        region_name=env.region,
        endpoint_url=env.sts.url,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
        config=Config(retries={"max_attempts": 1}),
    )
    answer = sts.assume_role(RoleArn=env.names.access_role_arn, RoleSessionName=f"trust-{caller.key}"[:64])
    return {"arn": answer["AssumedRoleUser"]["Arn"], "key": answer["Credentials"]["AccessKeyId"]}


@pytest.mark.parametrize("row", TRUST_ROWS, ids=str)
def test_trust_policy_assume_access_role_answers_documented_outcome(
    env: TwoAccounts, deployment: Deployment, callers: dict[str, Caller], row: TrustRow
) -> None:
    # GIVEN the access role trusting the row's principals
    deployment.use("defaults", pTrustedPrincipals=_trusted(env, row.trusted))
    caller = callers[row.caller]
    role_name = env.names.access_role_arn.rsplit("/", 1)[-1]
    # WHEN the caller asks STS (signed with its own credentials) to assume the access role
    if row.allowed:
        session = _assume(env, caller)
        # THEN STS issues a session of the access role
        assert session["arn"].startswith(f"arn:aws:sts::{PROVIDER}:assumed-role/{role_name}/trust-")
        assert session["key"].startswith("ASIA")
        return
    with pytest.raises(ClientError) as refused:
        _assume(env, caller)
    # THEN STS refuses with AccessDenied naming the caller and the role
    error = refused.value.response["Error"]
    assert error["Code"] == "AccessDenied"
    assert f"User: {caller.session_prefix}" in error["Message"]
    assert f"is not authorized to perform: sts:AssumeRole on resource: {env.names.access_role_arn}" in error["Message"]


def test_trust_policy_role_arn_other_sites_real_client_explains_sts_denial(
    env: TwoAccounts, deployment: Deployment
) -> None:
    # GIVEN the access role trusting only the main site's assume-role client role
    deployment.use("defaults", pTrustedPrincipals=_trusted(env, "role"))
    env.recycle_functions("assume_role", OTHER)  # no session cached from an earlier trust setting
    # WHEN the other site's real assume-role client is invoked
    result = env.invoke_client("assume_role", {"path": "/"}, site=OTHER)
    # THEN it returns (no crash) 502 with an error naming the denied sts:AssumeRole and a hint, and no API answer
    assert result.error is None, result.error
    assert result.status == 502
    assert "sts:AssumeRole into" in result.payload["error"]
    assert "was denied: User: " in result.payload["error"]
    assert "trust policy" in result.payload["hint"]
    assert result.body == ""


def test_trust_policy_account_list_outsider_real_client_reaches_api_as_access_role(
    env: TwoAccounts, deployment: Deployment
) -> None:
    # GIVEN the access role trusting the consumer and the outsider account, any endpoint allowed
    deployment.use("defaults", pTrustedPrincipals=_trusted(env, "list"))
    env.recycle_functions("assume_role", OUTSIDER)
    # WHEN the outsider's real assume-role client calls GET / through its own endpoint
    result = env.invoke_client("assume_role", {"path": "/"}, site=OUTSIDER)
    # THEN the API sees a session of the access role, coming through the outsider's endpoint
    assert result.status == 200, result.payload
    role_name = env.names.access_role_arn.rsplit("/", 1)[-1]
    assert result.json()["userArn"].startswith(f"arn:aws:sts::{PROVIDER}:assumed-role/{role_name}/")
    assert result.json()["vpceId"] == env.endpoint_id(OUTSIDER)
