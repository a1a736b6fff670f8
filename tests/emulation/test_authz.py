"""API Gateway, VPC endpoint and role-trust decisions, including AWS's same-account and cross-account tables."""

from __future__ import annotations

from typing import Any

import pytest

from iampolicy.authz import (
    ANONYMOUS,
    PolicyKind,
    Principal,
    Reason,
    access_denied_body,
    decide_assume_role,
    decide_endpoint,
    decide_identity,
    decide_invoke,
    execute_api_arn,
    expand_execute_api_resources,
    mask_account,
    policies_from,
)
from tests.emulation.helpers import project_policy

PROVIDER = "222222222222"
CONSUMER = "111111111111"
API = "abc123defg"
RESOURCE = execute_api_arn(region="us-east-1", account=PROVIDER, api_id=API, stage="Prod", method="GET", path="/items")
ACCESS_ROLE = f"arn:aws:iam::{PROVIDER}:role/api-access-role"
CLIENT_ROLE = f"arn:aws:iam::{CONSUMER}:role/direct-client-role"
SAME_ACCOUNT = Principal(
    arn=f"arn:aws:sts::{PROVIDER}:assumed-role/api-access-role/session",
    account=PROVIDER,
    user_id="AROAACCESS:session",
    role_arn=ACCESS_ROLE,
)
CROSS_ACCOUNT = Principal(
    arn=f"arn:aws:sts::{CONSUMER}:assumed-role/direct-client-role/fn",
    account=CONSUMER,
    user_id="AROACLIENT:fn",
    role_arn=CLIENT_ROLE,
    org_id="o-consumer",
)


def _statement(effect: str, principal: Any = None, **extra: Any) -> dict[str, Any]:
    statement = {"Effect": effect, "Action": "execute-api:Invoke", "Resource": RESOURCE, **extra}
    if principal is not None:
        statement["Principal"] = principal
    return statement


def _resource_policy(side: str, caller: Principal) -> dict[str, Any]:
    if side == "silent":
        return {"Statement": []}
    return {"Statement": [_statement(side, {"AWS": caller.role_arn}, Sid=f"Resource{side}")]}


def _identity_policies(side: str) -> list[dict[str, Any]]:
    if side == "silent":
        return []
    return [{"Statement": [_statement(side, Sid=f"Identity{side}")]}]


# AWS's table for IAM auth + resource policy within one account (rows: identity policy, columns: resource policy).
SAME_ACCOUNT_TABLE = [
    ("Allow", "Allow", True),
    ("Allow", "silent", True),
    ("Allow", "Deny", False),
    ("silent", "Allow", True),
    ("silent", "silent", False),
    ("silent", "Deny", False),
    ("Deny", "Allow", False),
    ("Deny", "silent", False),
    ("Deny", "Deny", False),
]
# Across accounts both sides must allow; any Deny wins.
CROSS_ACCOUNT_TABLE = [
    ("Allow", "Allow", True),
    ("Allow", "silent", False),
    ("Allow", "Deny", False),
    ("silent", "Allow", False),
    ("silent", "silent", False),
    ("silent", "Deny", False),
    ("Deny", "Allow", False),
    ("Deny", "silent", False),
    ("Deny", "Deny", False),
]


@pytest.mark.parametrize(("identity", "resource", "allowed"), SAME_ACCOUNT_TABLE)
def test_decide_invoke_same_account_follows_aws_table(identity: str, resource: str, allowed: bool) -> None:
    # GIVEN a caller in the API's own account with an identity policy and a resource policy in the given states
    # WHEN execute-api:Invoke is decided
    decision = decide_invoke(
        principal=SAME_ACCOUNT,
        resource_arn=RESOURCE,
        resource_policy=_resource_policy(resource, SAME_ACCOUNT),
        identity_policies=_identity_policies(identity),
        api_account=PROVIDER,
    )
    # THEN one Allow suffices and any Deny wins
    assert decision.allowed is allowed


@pytest.mark.parametrize(("identity", "resource", "allowed"), CROSS_ACCOUNT_TABLE)
def test_decide_invoke_cross_account_follows_aws_table(identity: str, resource: str, allowed: bool) -> None:
    # GIVEN a caller from another account WHEN execute-api:Invoke is decided
    decision = decide_invoke(
        principal=CROSS_ACCOUNT,
        resource_arn=RESOURCE,
        resource_policy=_resource_policy(resource, CROSS_ACCOUNT),
        identity_policies=_identity_policies(identity),
        api_account=PROVIDER,
    )
    # THEN both sides must allow and any Deny wins
    assert decision.allowed is allowed


@pytest.mark.parametrize(
    ("identity", "resource", "reason", "kind"),
    [
        ("Allow", "silent", Reason.NO_RESOURCE_ALLOW, PolicyKind.RESOURCE),
        ("silent", "Allow", Reason.NO_IDENTITY_ALLOW, PolicyKind.IDENTITY),
        ("Allow", "Deny", Reason.EXPLICIT_DENY, PolicyKind.RESOURCE),
        ("Deny", "Allow", Reason.EXPLICIT_DENY, PolicyKind.IDENTITY),
        ("Allow", "Allow", Reason.ALLOWED, None),
    ],
)
def test_decide_invoke_cross_account_names_the_deciding_side(
    identity: str, resource: str, reason: Reason, kind: PolicyKind | None
) -> None:
    # GIVEN a cross-account caller WHEN the decision is made THEN it says which policy kind decided and why
    decision = decide_invoke(
        principal=CROSS_ACCOUNT,
        resource_arn=RESOURCE,
        resource_policy=_resource_policy(resource, CROSS_ACCOUNT),
        identity_policies=_identity_policies(identity),
        api_account=PROVIDER,
    )
    assert (decision.reason, decision.policy_kind) == (reason, kind)


def test_decide_invoke_matched_statement_ids_are_reported() -> None:
    # GIVEN Allow statements on both sides WHEN a cross-account call is allowed
    decision = decide_invoke(
        principal=CROSS_ACCOUNT,
        resource_arn=RESOURCE,
        resource_policy=_resource_policy("Allow", CROSS_ACCOUNT),
        identity_policies=_identity_policies("Allow"),
        api_account=PROVIDER,
    )
    # THEN both statement ids are listed
    assert (decision.allow_sids, decision.deny_sids) == (("ResourceAllow", "IdentityAllow"), ())


def test_decide_invoke_account_grant_in_same_account_needs_identity_allow() -> None:
    # GIVEN a resource policy that grants the provider account (not the role) and a role with no identity policy
    policy = {"Statement": [_statement("Allow", {"AWS": f"arn:aws:iam::{PROVIDER}:root"})]}
    # WHEN the provider's own role calls
    decision = decide_invoke(
        principal=SAME_ACCOUNT,
        resource_arn=RESOURCE,
        resource_policy=policy,
        identity_policies=[],
        api_account=PROVIDER,
    )
    # THEN the account grant only delegates: denied for lack of an identity Allow
    assert (decision.allowed, decision.reason) == (False, Reason.NO_IDENTITY_ALLOW)


def test_decide_invoke_wildcard_principal_in_same_account_allows_without_identity_policy() -> None:
    # GIVEN Principal "*" WHEN a same-account role without identity policies calls THEN it is allowed
    policy = {"Statement": [_statement("Allow", "*")]}
    decision = decide_invoke(
        principal=SAME_ACCOUNT,
        resource_arn=RESOURCE,
        resource_policy=policy,
        identity_policies=[],
        api_account=PROVIDER,
    )
    assert decision.allowed is True


def test_decide_invoke_unknown_identity_policies_are_assumed_to_allow_and_flagged() -> None:
    # GIVEN a resource policy that allows the consumer role, and its identity policies unknown (diagnose, one side)
    decision = decide_invoke(
        principal=CROSS_ACCOUNT,
        resource_arn=RESOURCE,
        resource_policy=_resource_policy("Allow", CROSS_ACCOUNT),
        identity_policies=None,
        api_account=PROVIDER,
    )
    # THEN the resource side decides and the decision says the identity side was not evaluated
    assert (decision.allowed, decision.identity_evaluated) == (True, False)


@pytest.mark.parametrize(
    ("context", "allowed", "deny_sids"),
    [
        ({"aws:SourceVpce": "vpce-0allowed"}, True, ()),
        ({"aws:SourceVpce": "vpce-0second"}, True, ()),
        ({"aws:SourceVpce": "vpce-0other"}, False, ("DenyOtherEndpoints",)),
        ({}, False, ("DenyOtherEndpoints",)),  # no endpoint at all: the negated condition is true
    ],
)
def test_decide_invoke_project_policy_admits_only_listed_endpoints(
    context: dict[str, str], allowed: bool, deny_sids: tuple[str, ...]
) -> None:
    # GIVEN the project's policy (expanded as API Gateway stores it) and a consumer role allowed by identity
    policy = expand_execute_api_resources(
        project_policy([CLIENT_ROLE, ACCESS_ROLE], ["vpce-0allowed", "vpce-0second"]),
        region="us-east-1",
        account=PROVIDER,
        api_id=API,
    )
    # WHEN the consumer calls through an endpoint
    decision = decide_invoke(
        principal=CROSS_ACCOUNT,
        resource_arn=RESOURCE,
        resource_policy=policy,
        identity_policies=_identity_policies("Allow"),
        api_account=PROVIDER,
        context=context,
    )
    # THEN only the listed endpoints get in, others meet the explicit Deny
    assert (decision.allowed, decision.deny_sids) == (allowed, deny_sids)


@pytest.mark.parametrize(
    ("caller_role", "allowed"),
    [
        (f"arn:aws:iam::{CONSUMER}:role/team-a-client", True),
        (f"arn:aws:iam::{CONSUMER}:role/team-b-client", False),
    ],
)
def test_decide_invoke_principal_arn_pattern_matches_role_name_prefix(caller_role: str, allowed: bool) -> None:
    # GIVEN an Allow for "*" narrowed by ArnLike aws:PrincipalArn on a role-name prefix
    policy = {
        "Statement": [
            _statement(
                "Allow", "*", Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{CONSUMER}:role/team-a-*"}}
            )
        ]
    }
    caller = Principal(
        arn=f"arn:aws:sts::{CONSUMER}:assumed-role/{caller_role.rsplit('/', 1)[1]}/fn",
        account=CONSUMER,
        user_id="AROAX:fn",
        role_arn=caller_role,
    )
    # WHEN the role's session calls with an identity Allow
    decision = decide_invoke(
        principal=caller,
        resource_arn=RESOURCE,
        resource_policy=policy,
        identity_policies=_identity_policies("Allow"),
        api_account=PROVIDER,
    )
    # THEN aws:PrincipalArn is the role ARN (not the session's), so only the matching prefix gets in
    assert decision.allowed is allowed


@pytest.mark.parametrize(("org_id", "allowed"), [("o-consumer", True), ("o-stranger", False), (None, False)])
def test_decide_invoke_principal_org_id_condition_admits_only_the_org(org_id: str | None, allowed: bool) -> None:
    # GIVEN an Allow for "*" limited to one organization
    policy = {"Statement": [_statement("Allow", "*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-consumer"}})]}
    caller = Principal(arn=CROSS_ACCOUNT.arn, account=CONSUMER, role_arn=CLIENT_ROLE, org_id=org_id)
    # WHEN a caller from that org, another org or no org calls
    decision = decide_invoke(
        principal=caller,
        resource_arn=RESOURCE,
        resource_policy=policy,
        identity_policies=_identity_policies("Allow"),
        api_account=PROVIDER,
    )
    # THEN only the org member is allowed
    assert decision.allowed is allowed


def test_decide_invoke_anonymous_caller_needs_a_wildcard_allow() -> None:
    # GIVEN a policy that allows named roles only WHEN an unsigned caller is decided
    decision = decide_invoke(
        principal=ANONYMOUS,
        resource_arn=RESOURCE,
        resource_policy=_resource_policy("Allow", CROSS_ACCOUNT),
        identity_policies=None,
        api_account=PROVIDER,
    )
    # THEN it is refused with API Gateway's anonymous wording
    assert decision.message() == (
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
        f"arn:aws:execute-api:us-east-1:********2222:{API}/Prod/GET/items"
        " because no resource-based policy allows the execute-api:Invoke action"
    )


def test_access_denied_body_explicit_deny_uses_capital_message_key_and_masked_account() -> None:
    # GIVEN a resource policy Deny WHEN the cross-account caller is refused
    decision = decide_invoke(
        principal=CROSS_ACCOUNT,
        resource_arn=RESOURCE,
        resource_policy=_resource_policy("Deny", CROSS_ACCOUNT),
        identity_policies=_identity_policies("Allow"),
        api_account=PROVIDER,
    )
    # THEN the body is API Gateway's, word for word
    assert access_denied_body(decision) == {
        "Message": f"User: {CROSS_ACCOUNT.arn} is not authorized to perform: execute-api:Invoke on resource: "
        f"arn:aws:execute-api:us-east-1:********2222:{API}/Prod/GET/items with an explicit deny in a "
        "resource-based policy"
    }
    assert decision.error_type == "AccessDeniedException"


def test_decision_message_missing_identity_allow_names_identity_based_policy() -> None:
    # GIVEN a cross-account caller without an identity Allow WHEN refused
    decision = decide_invoke(
        principal=CROSS_ACCOUNT,
        resource_arn=RESOURCE,
        resource_policy=_resource_policy("Allow", CROSS_ACCOUNT),
        identity_policies=[],
        api_account=PROVIDER,
    )
    # THEN the message ends as IAM's implicit-deny wording does
    assert decision.message().endswith("because no identity-based policy allows the execute-api:Invoke action")


def test_expand_execute_api_resources_rewrites_shorthand_without_touching_the_input() -> None:
    # GIVEN a policy with the execute-api:/ shorthand in Resource and NotResource
    policy: dict[str, Any] = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": ["execute-api:/*", "arn:aws:s3:::b"]},
            {"Effect": "Deny", "Principal": "*", "Action": "*", "NotResource": "execute-api:/Prod/GET/*"},
        ]
    }
    # WHEN API Gateway's expansion is applied
    expanded = expand_execute_api_resources(policy, region="us-east-1", account=PROVIDER, api_id=API)
    # THEN the shorthand becomes the API's ARN and the original stays as it was
    prefix = f"arn:aws:execute-api:us-east-1:{PROVIDER}:{API}"
    assert expanded["Statement"][0]["Resource"] == [f"{prefix}/*", "arn:aws:s3:::b"]
    assert expanded["Statement"][1]["NotResource"] == f"{prefix}/Prod/GET/*"
    assert policy["Statement"][0]["Resource"][0] == "execute-api:/*"


def test_mask_account_keeps_only_last_four_digits_of_execute_api_arns() -> None:
    # GIVEN an execute-api ARN and another ARN WHEN masked THEN only the execute-api account is hidden
    assert mask_account(RESOURCE) == f"arn:aws:execute-api:us-east-1:********2222:{API}/Prod/GET/items"
    assert mask_account(ACCESS_ROLE) == ACCESS_ROLE


def test_decide_endpoint_no_policy_is_full_access() -> None:
    # GIVEN an endpoint with AWS's default policy WHEN any caller passes THEN it is allowed
    decision = decide_endpoint(principal=ANONYMOUS, resource_arn=RESOURCE, endpoint_policy=None)
    assert (decision.allowed, decision.reason) == (True, Reason.ALLOWED)


def test_decide_endpoint_policy_for_another_api_refuses_with_endpoint_wording() -> None:
    # GIVEN an endpoint policy that allows only another API
    policy = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": f"arn:aws:execute-api:us-east-1:{PROVIDER}:otherapi/*",
            }
        ]
    }
    # WHEN the consumer calls this API through it
    decision = decide_endpoint(principal=CROSS_ACCOUNT, resource_arn=RESOURCE, endpoint_policy=policy)
    # THEN the endpoint policy refuses it, and the message says so
    assert (decision.allowed, decision.reason) == (False, Reason.NO_ENDPOINT_ALLOW)
    assert decision.message().endswith("because no VPC endpoint policy allows the execute-api:Invoke action")


def test_decide_endpoint_explicit_deny_for_a_principal_wins() -> None:
    # GIVEN an endpoint policy allowing all but denying the consumer account
    policy = {
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {"Sid": "NoConsumer", "Effect": "Deny", "Principal": {"AWS": CONSUMER}, "Action": "*", "Resource": "*"},
        ]
    }
    # WHEN the consumer calls THEN the explicit deny in the endpoint policy decides
    decision = decide_endpoint(principal=CROSS_ACCOUNT, resource_arn=RESOURCE, endpoint_policy=policy)
    assert (decision.allowed, decision.deny_sids) == (False, ("NoConsumer",))
    assert decision.message().endswith("with an explicit deny in a VPC endpoint policy")


def _trust(*principals: str, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


ASSUME = [{"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ACCESS_ROLE}]}]


@pytest.mark.parametrize(
    ("trust", "identity", "allowed", "reason"),
    [
        (_trust(CONSUMER), ASSUME, True, Reason.ALLOWED),
        (_trust(f"arn:aws:iam::{CONSUMER}:root"), ASSUME, True, Reason.ALLOWED),
        (_trust(CLIENT_ROLE), ASSUME, True, Reason.ALLOWED),
        (_trust("333333333333"), ASSUME, False, Reason.NO_RESOURCE_ALLOW),
        (_trust(CONSUMER), [], False, Reason.NO_IDENTITY_ALLOW),
        (None, ASSUME, False, Reason.NO_RESOURCE_ALLOW),
    ],
)
def test_decide_assume_role_cross_account_needs_trust_and_identity_allow(
    trust: dict[str, Any] | None, identity: list[dict[str, Any]], allowed: bool, reason: Reason
) -> None:
    # GIVEN the provider's access role with a trust policy and the consumer role's identity policies
    # WHEN the consumer role's session calls sts:AssumeRole
    decision = decide_assume_role(
        principal=CROSS_ACCOUNT, role_arn=ACCESS_ROLE, trust_policy=trust, identity_policies=identity
    )
    # THEN both must allow (a missing role behaves like a trust policy that does not)
    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_decide_assume_role_same_account_still_needs_the_trust_policy() -> None:
    # GIVEN a same-account caller whose identity policy allows sts:AssumeRole, and a trust policy for someone else
    # WHEN it assumes the role
    decision = decide_assume_role(
        principal=SAME_ACCOUNT, role_arn=ACCESS_ROLE, trust_policy=_trust(CONSUMER), identity_policies=ASSUME
    )
    # THEN it is refused: role trust is the exception to "one Allow suffices within an account"
    assert (decision.allowed, decision.reason) == (False, Reason.NO_RESOURCE_ALLOW)


@pytest.mark.parametrize(("external_id", "allowed"), [("expected-id", True), ("wrong", False), (None, False)])
def test_decide_assume_role_external_id_condition_is_enforced(external_id: str | None, allowed: bool) -> None:
    # GIVEN a trust policy that requires an external id
    trust = _trust(CONSUMER, condition={"StringEquals": {"sts:ExternalId": "expected-id"}})
    # WHEN the consumer assumes the role with the right, a wrong or no external id
    decision = decide_assume_role(
        principal=CROSS_ACCOUNT,
        role_arn=ACCESS_ROLE,
        trust_policy=trust,
        identity_policies=ASSUME,
        context={"sts:ExternalId": external_id},
    )
    # THEN only the right one works
    assert decision.allowed is allowed


def test_decide_assume_role_message_is_sts_wording_without_mask_or_reason() -> None:
    # GIVEN an untrusted caller WHEN refused THEN STS's message names caller, action and role only
    decision = decide_assume_role(
        principal=CROSS_ACCOUNT, role_arn=ACCESS_ROLE, trust_policy=_trust("333333333333"), identity_policies=ASSUME
    )
    assert decision.message(mask=False, with_reason=False) == (
        f"User: {CROSS_ACCOUNT.arn} is not authorized to perform: sts:AssumeRole on resource: {ACCESS_ROLE}"
    )


def test_policies_from_accepts_dicts_json_and_url_encoded_json() -> None:
    # GIVEN the three forms IAM and templates hand policies over in WHEN parsed THEN all become dicts
    parsed = policies_from([{"Statement": []}, '{"Statement": []}', "%7B%22Statement%22%3A%20%5B%5D%7D", None])
    assert parsed == [{"Statement": []}] * 3


@pytest.mark.parametrize(
    ("policies", "reason", "kind"),
    [
        ([_statement("Allow", Sid="IdentityAllow")], Reason.ALLOWED, None),
        ([], Reason.NO_IDENTITY_ALLOW, PolicyKind.IDENTITY),
        ([_statement("Allow"), _statement("Deny", Sid="IdentityDeny")], Reason.EXPLICIT_DENY, PolicyKind.IDENTITY),
    ],
)
def test_decide_identity_alone_follows_deny_then_allow_then_implicit_deny(policies, reason, kind) -> None:
    # GIVEN the caller's identity policies only (no resource side)
    # WHEN they are evaluated for execute-api:Invoke
    decision = decide_identity(
        principal=CROSS_ACCOUNT,
        action="execute-api:Invoke",
        resource=RESOURCE,
        identity_policies=[{"Statement": policies}] if policies else [],
    )
    # THEN Deny wins, then Allow, else the implicit deny, each named as an identity-policy outcome
    assert (decision.allowed, decision.reason, decision.policy_kind) == (reason is Reason.ALLOWED, reason, kind)
