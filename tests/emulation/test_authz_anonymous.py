"""decide_invoke for an anonymous caller of a NONE method: Principal "*" grants it, an explicit Deny still wins."""

from __future__ import annotations

import pytest

from iampolicy.authz import ANONYMOUS, Reason, decide_invoke, execute_api_arn, expand_execute_api_resources
from tests.emulation.test_gateway_none_auth import CONSUMER_VPCE, MTLS_VPCE, mtls_policy

PROVIDER = "222222222222"
API = "abc123defg"
MTLS_ARN = execute_api_arn(region="us-east-1", account=PROVIDER, api_id=API, stage="Prod", method="GET", path="/mtls")
POLICY = expand_execute_api_resources(mtls_policy(), region="us-east-1", account=PROVIDER, api_id=API)


@pytest.mark.parametrize(
    ("vpce", "allowed", "reason"),
    [(MTLS_VPCE, True, Reason.ALLOWED), (CONSUMER_VPCE, False, Reason.EXPLICIT_DENY)],
)
def test_decide_invoke_anonymous_wildcard_allow_holds_only_where_no_deny_applies(
    vpce: str, allowed: bool, reason: Reason
) -> None:
    # GIVEN the certificate path's Allow to "*" and Deny elsewhere WHEN an anonymous caller arrives through `vpce`
    decision = decide_invoke(
        principal=ANONYMOUS,
        resource_arn=MTLS_ARN,
        resource_policy=POLICY,
        identity_policies=None,
        api_account=PROVIDER,
        context={"aws:SourceVpce": vpce},
    )
    # THEN "*" grants the anonymous caller through the provider's endpoint, and the explicit Deny wins elsewhere
    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_decide_invoke_anonymous_on_iam_path_has_no_wildcard_grant() -> None:
    # GIVEN the same policy WHEN an anonymous caller asks for a non-/mtls method through the provider's endpoint
    items = execute_api_arn(region="us-east-1", account=PROVIDER, api_id=API, stage="Prod", method="GET", path="/items")
    decision = decide_invoke(
        principal=ANONYMOUS,
        resource_arn=items,
        resource_policy=POLICY,
        identity_policies=None,
        api_account=PROVIDER,
        context={"aws:SourceVpce": MTLS_VPCE},
    )
    # THEN only named roles are allowed there: refused for lack of a resource-policy Allow
    assert (decision.allowed, decision.reason) == (False, Reason.NO_RESOURCE_ALLOW)
