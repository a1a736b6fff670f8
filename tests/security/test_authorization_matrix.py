"""Who gets through the private API: principal kind x source endpoint x parameter set, through the emulated gateway.

Each row's expectation is written from AWS's documented rules (../shared/AWS-NOTES.md, "Who gets in"), not from
what the emulation answers:
- an explicit Deny wins; the resource policy's Deny on aws:SourceVpce applies to every principal, the access
  role included;
- cross-account (consumer, outsider): the resource policy AND the caller's identity policy must allow; an account
  id in the resource policy only delegates to that account's identity policies;
- same account (provider roles): the resource policy naming the role OR an identity-policy Allow suffices.
Requests are real HTTPS requests signed by botocore's SigV4Auth (not by the project's client code), sent to the
listener of the endpoint named in the row, with the provider redeployed with the row's parameter set.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import pytest

from cfnrender.render import render_template
from emulation.accounts.two_accounts import MAIN, PROVIDER, TwoAccounts
from iampolicy import authz
from iampolicy.policy import Policy
from tests.security.conftest import SITES, Caller, Deployment

INVOKE_ON = "is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:"


class Outcome(Enum):
    """What AWS answers."""

    ALLOW = "200 with the caller's identity"
    NOT_AUTHORIZED = "403 AccessDeniedException, no policy allows"
    EXPLICIT_DENY = "403 AccessDeniedException, explicit deny"


@dataclass(frozen=True)
class Row:
    """One case: parameter set, caller, the endpoint the request comes through, and AWS's documented outcome."""

    parameter_set: str
    caller: str
    site: str
    expected: Outcome
    why: str

    def __str__(self) -> str:
        return f"{self.parameter_set}-{self.caller}-via-{self.site}"


ROWS = [
    # defaults: only the access role is named; no endpoint restriction ("none": any endpoint).
    Row("defaults", "access-role", "main", Outcome.ALLOW, "named in the resource policy, same account"),
    Row("defaults", "access-role", "outsider", Outcome.ALLOW, "no endpoint list: any endpoint, even another account's"),
    Row("defaults", "main-direct", "main", Outcome.NOT_AUTHORIZED, "cross-account, resource policy silent"),
    Row("defaults", "outsider-direct", "outsider", Outcome.NOT_AUTHORIZED, "other account, resource policy silent"),
    Row("defaults", "provider-with-allow", "main", Outcome.ALLOW, "same account: identity Allow suffices"),
    Row("defaults", "provider-without-allow", "main", Outcome.NOT_AUTHORIZED, "same account, both sides silent"),
    # single values: the main direct role listed, only the main endpoint allowed.
    Row("single", "main-direct", "main", Outcome.ALLOW, "listed role, allowed endpoint, identity allows"),
    Row("single", "main-direct", "other", Outcome.EXPLICIT_DENY, "listed role through another endpoint"),
    Row("single", "other-direct", "main", Outcome.NOT_AUTHORIZED, "unlisted role of the same consumer account"),
    Row("single", "other-direct", "other", Outcome.EXPLICIT_DENY, "unlisted and other endpoint: Deny wins"),
    Row("single", "access-role", "other", Outcome.EXPLICIT_DENY, "the endpoint Deny binds the access role too"),
    Row("single", "provider-with-allow", "main", Outcome.ALLOW, "same account identity Allow, allowed endpoint"),
    Row("single", "provider-with-allow", "other", Outcome.EXPLICIT_DENY, "identity Allow cannot beat the Deny"),
    Row("single", "outsider-direct", "main", Outcome.NOT_AUTHORIZED, "other account, not listed"),
    # lists: the consumer account id and the outsider's role listed; main and outsider endpoints allowed.
    Row("lists", "other-direct", "main", Outcome.ALLOW, "account id listed, the role's identity policy allows"),
    Row("lists", "main-assume-client", "main", Outcome.NOT_AUTHORIZED, "account listed, identity policy silent"),
    Row("lists", "outsider-direct", "outsider", Outcome.ALLOW, "listed role ARN of another account"),
    Row("lists", "outsider-direct", "other", Outcome.EXPLICIT_DENY, "listed role through an unlisted endpoint"),
    Row("lists", "main-direct", "outsider", Outcome.ALLOW, "any allowed endpoint, whoever owns it"),
    # pattern: aws:PrincipalArn ArnLike the main consumer stack's role names; main and other endpoints allowed.
    Row("pattern", "main-direct", "main", Outcome.ALLOW, "role ARN matches the pattern"),
    Row("pattern", "main-assume-client", "main", Outcome.NOT_AUTHORIZED, "pattern matches, identity silent"),
    Row("pattern", "other-direct", "other", Outcome.NOT_AUTHORIZED, "role ARN does not match the pattern"),
    Row("pattern", "outsider-direct", "main", Outcome.NOT_AUTHORIZED, "the pattern's account is literal"),
    # org: aws:PrincipalOrgID = the consumer's organization; no endpoint restriction.
    Row("org", "main-direct", "main", Outcome.ALLOW, "org member, identity allows"),
    Row("org", "other-direct", "other", Outcome.ALLOW, "org member through its own endpoint"),
    Row("org", "outsider-direct", "outsider", Outcome.NOT_AUTHORIZED, "member of another organization"),
    Row("org", "access-role", "main", Outcome.ALLOW, "still named directly"),
    Row("org", "provider-without-allow", "main", Outcome.NOT_AUTHORIZED, "provider account is not in the org"),
]


def _call(env: TwoAccounts, deployment: Deployment, caller: Caller, row: Row) -> tuple[int, dict[str, str], str]:
    deployment.use(row.parameter_set)
    reply = env.request("GET", "/", credentials=caller.credentials(), site=SITES[row.site])
    return reply.status, {k.lower(): v for k, v in reply.headers.items()}, reply.text


def test_matrix_has_at_least_twenty_distinct_cases() -> None:
    # GIVEN the matrix rows
    # WHEN they are counted by (parameter set, caller, endpoint)
    distinct = {(r.parameter_set, r.caller, r.site) for r in ROWS}
    # THEN there are at least 20 and none repeats
    assert len(distinct) == len(ROWS) >= 20


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_matrix_request_through_gateway_answers_documented_outcome(
    env: TwoAccounts, deployment: Deployment, callers: dict[str, Caller], row: Row
) -> None:
    # GIVEN the provider deployed with the row's parameter set and a caller signing with its role's credentials
    caller = callers[row.caller]
    # WHEN it calls GET / through the row's VPC endpoint
    status, headers, body = _call(env, deployment, caller, row)
    # THEN the answer is the one AWS documents for this principal, endpoint and policy
    if row.expected is Outcome.ALLOW:
        assert status == 200, body
        assert f'"userArn":"{caller.session_prefix}' in body
        assert f'"vpceId":"{env.endpoint_id(SITES[row.site])}"' in body
        return
    assert status == 403, body
    assert headers.get("x-amzn-errortype", "").startswith("AccessDeniedException")
    assert f"User: {caller.session_prefix}" in body
    assert INVOKE_ON in body
    assert ("with an explicit deny" in body) is (row.expected is Outcome.EXPLICIT_DENY), body


def test_matrix_unsigned_request_answers_missing_authentication_token(env: TwoAccounts, deployment: Deployment) -> None:
    # GIVEN the default parameter set (no principal is anonymous-friendly)
    deployment.use("defaults")
    # WHEN a request without a signature arrives through the main endpoint
    reply = env.request("GET", "/", site=MAIN)
    # THEN API Gateway's IAM-auth answer for an unsigned request
    assert reply.status == 403
    assert reply.json() == {"message": "Missing Authentication Token"}


# ---------------------------------------------------------------------------------------------- no source endpoint
def _rendered_policy(parameters: dict[str, str]) -> Policy:
    rendered = render_template(
        "api-backend/api-backend.yaml",
        parameters,
        account_id=PROVIDER,
        attributes={"ApiAccessRole.Arn": f"arn:aws:iam::{PROVIDER}:role/access"},
        physical_ids={"BackendApi": "a1b2c3d4e5"},
    )
    policy = rendered.one("AWS::ApiGateway::RestApi")["Properties"]["Body"]["x-amazon-apigateway-policy"]
    return authz.expand_execute_api_resources(policy, region="us-east-1", account=PROVIDER, api_id="a1b2c3d4e5")


def _access_role_decision(parameters: dict[str, str], context: dict[str, str]) -> authz.Decision:
    principal = authz.Principal(
        arn=f"arn:aws:sts::{PROVIDER}:assumed-role/access/s",
        account=PROVIDER,
        user_id="AROAEXAMPLE:s",
        role_arn=f"arn:aws:iam::{PROVIDER}:role/access",
    )
    return authz.decide_invoke(
        principal=principal,
        resource_arn=authz.execute_api_arn(
            region="us-east-1", account=PROVIDER, api_id="a1b2c3d4e5", stage="Prod", method="GET", path="/"
        ),
        resource_policy=_rendered_policy(parameters),
        identity_policies=[],
        api_account=PROVIDER,
        context=context,
    )


def test_rendered_policy_endpoint_list_request_without_source_vpce_is_explicitly_denied() -> None:
    # GIVEN the rendered resource policy with an endpoint list (StringNotEquals aws:SourceVpce)
    parameters = {"pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718"}
    # WHEN a request carries no aws:SourceVpce at all (a negated operator on a missing key matches, per IAM)
    decision = _access_role_decision(parameters, {})
    # THEN the Deny applies even to the access role the policy names
    assert (decision.allowed, decision.reason) == (False, authz.Reason.EXPLICIT_DENY)


def test_rendered_policy_without_endpoint_list_request_without_source_vpce_is_allowed() -> None:
    # GIVEN the default policy (no endpoint list, so no Deny statement)
    # WHEN the access role's request carries no aws:SourceVpce
    decision = _access_role_decision({}, {})
    # THEN the Allow for the named role decides
    assert (decision.allowed, decision.reason) == (True, authz.Reason.ALLOWED)
