"""Authorization decisions as AWS makes them for a private REST API, its VPC endpoint and an IAM role's trust.

Plain dicts in, dataclasses out, no AWS calls: the offline gateway, the STS front and diagnose.sh share it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import unquote

from iampolicy.policy import (
    ANONYMOUS,
    ConditionContext,
    Policy,
    PolicyResult,
    Principal,
    Request,
    UnsupportedPolicyError,
    as_list,
    evaluate_policies,
    principal_context,
    statements,
)

__all__ = [
    "ANONYMOUS",
    "ASSUME_ROLE",
    "INVOKE",
    "VIA_DOMAIN_ARN",
    "Decision",
    "PolicyKind",
    "Principal",
    "Reason",
    "UnsupportedPolicyError",
    "access_denied_body",
    "decide_assume_role",
    "decide_domain",
    "decide_endpoint",
    "decide_identity",
    "decide_invoke",
    "domain_execute_api_arn",
    "execute_api_arn",
    "expand_domain_policy",
    "expand_execute_api_resources",
    "mask_account",
    "policies_from",
]

INVOKE = "execute-api:Invoke"
# The condition key API Gateway sets when a private API is called through a private custom domain name (Service
# Authorization Reference, Amazon API Gateway: "Filters access by the domain name ARN the API is called from").
VIA_DOMAIN_ARN = "execute-api:viaDomainArn"
ASSUME_ROLE = "sts:AssumeRole"
_SHORTHAND = "execute-api:"
_EXECUTE_API_ARN = re.compile(r"^(arn:[\w-]+:execute-api:[\w-]+:)(\d{12})(:.*)$")


class Reason(Enum):
    """Why a request was allowed or denied."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit_deny"
    NO_IDENTITY_ALLOW = "no_identity_allow"
    NO_RESOURCE_ALLOW = "no_resource_allow"
    NO_ENDPOINT_ALLOW = "no_endpoint_allow"


class PolicyKind(Enum):
    """The kind of policy a reason points at, worded as AWS's messages word it."""

    IDENTITY = "identity-based"
    RESOURCE = "resource-based"
    ENDPOINT = "VPC endpoint"


_ARTICLE = {PolicyKind.IDENTITY: "an", PolicyKind.RESOURCE: "a", PolicyKind.ENDPOINT: "a"}


@dataclass(frozen=True)
class Decision:
    """The outcome of one authorization check, with the statements that decided it."""

    allowed: bool
    reason: Reason
    policy_kind: PolicyKind | None
    principal: Principal
    action: str
    resource: str
    allow_sids: tuple[str, ...] = ()
    deny_sids: tuple[str, ...] = ()
    identity_evaluated: bool = True

    @property
    def error_type(self) -> str | None:
        """The x-amzn-ErrorType API Gateway sends with this denial."""
        return None if self.allowed else "AccessDeniedException"

    def message(self, *, mask: bool = True, with_reason: bool = True) -> str:
        """AWS's denial text; API Gateway masks the account in the resource ARN, STS adds no reason."""
        resource = mask_account(self.resource) if mask else self.resource
        text = f"User: {self.principal.arn} is not authorized to perform: {self.action} on resource: {resource}"
        if not with_reason or self.policy_kind is None:
            return text
        kind = self.policy_kind.value
        if self.reason is Reason.EXPLICIT_DENY:
            return f"{text} with an explicit deny in {_ARTICLE[self.policy_kind]} {kind} policy"
        return f"{text} because no {kind} policy allows the {self.action} action"


def access_denied_body(decision: Decision) -> dict[str, str]:
    """API Gateway's JSON body for an authorization denial (note the capital M, unlike other errors)."""
    return {"Message": decision.message()}


def mask_account(arn: str) -> str:
    """API Gateway shows only the last four digits of the account in an execute-api ARN."""
    found = _EXECUTE_API_ARN.match(arn)
    if not found:
        return arn
    return f"{found.group(1)}********{found.group(2)[-4:]}{found.group(3)}"


def _rewrite_resources(policy: Policy, expand: Callable[[Any], Any]) -> dict[str, Any]:
    """A copy of `policy` with every statement's Resource and NotResource passed through `expand`."""
    expanded = copy.deepcopy(dict(policy))
    for statement in statements(expanded):
        for element in ("Resource", "NotResource"):
            if element in statement:
                statement[element] = expand(statement[element])  # type: ignore[index]
    return expanded


def execute_api_arn(
    *, region: str, account: str, api_id: str, stage: str, method: str, path: str, partition: str = "aws"
) -> str:
    """The ARN API Gateway authorizes: arn:aws:execute-api:region:account:api-id/stage/METHOD/path."""
    return f"arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/{method.upper()}/{path.lstrip('/')}"


def expand_execute_api_resources(
    policy: Policy, *, region: str, account: str, api_id: str, partition: str = "aws"
) -> dict[str, Any]:
    """Rewrite the `execute-api:/...` shorthand to the API's own ARN, as API Gateway does when it stores a policy."""
    prefix = f"arn:{partition}:execute-api:{region}:{account}:{api_id}"

    def expand(value: Any) -> Any:
        items = [f"{prefix}{v[len(_SHORTHAND) :]}" if str(v).startswith(_SHORTHAND) else v for v in as_list(value)]
        return items if isinstance(value, list) else items[0]

    return _rewrite_resources(policy, expand)


def domain_execute_api_arn(*, region: str, account: str, name: str, domain_id: str, partition: str = "aws") -> str:
    """The execute-api-domain ARN a private custom domain name is invoked as: ...:/domainnames/NAME+ID."""
    return f"arn:{partition}:execute-api:{region}:{account}:/domainnames/{name}+{domain_id}"


def expand_domain_policy(policy: Policy, *, domain_arn: str) -> dict[str, Any]:
    """Rewrite a domain policy's `execute-api:/*` (AWS's examples use only that form) to the domain's ARN.

    The domain is one resource (no stage, method or path in its ARN), so the shorthand for "everything" names the
    domain itself; any other shorthand would be a guess at how API Gateway stores it, so it is refused.
    """

    def expand(value: Any) -> Any:
        items = []
        for item in as_list(value):
            text = str(item)
            if text in ("execute-api:/*", "execute-api:*"):
                items.append(domain_arn)
            elif text.startswith(_SHORTHAND):
                raise UnsupportedPolicyError(f"domain policy resource {text!r}: only execute-api:/* is modelled")
            else:
                items.append(item)
        return items if isinstance(value, list) else items[0]

    return _rewrite_resources(policy, expand)


def _request(principal: Principal, action: str, resource: str, context: ConditionContext) -> Request:
    merged = {**principal_context(principal), **context}
    return Request(action=action, resource=resource, principal=principal, context=merged)


def _decision(request: Request, reason: Reason, kind: PolicyKind | None, *results: PolicyResult) -> Decision:
    allow_sids = tuple(sid for r in results for sid in r.allow_sids)
    deny_sids = tuple(sid for r in results for sid in r.deny_sids)
    return Decision(
        allowed=reason is Reason.ALLOWED,
        reason=reason,
        policy_kind=kind,
        principal=request.principal,
        action=request.action,
        resource=request.resource,
        allow_sids=allow_sids,
        deny_sids=deny_sids,
    )


def _combine(
    request: Request,
    resource: PolicyResult,
    identity: PolicyResult | None,
    *,
    resource_account: str,
    resource_must_allow: bool,
) -> Decision:
    """AWS's tables: Deny wins; one account needs one Allow, cross-account needs both; account grants delegate."""
    principal = request.principal
    if resource.explicit_deny:
        return _decision(request, Reason.EXPLICIT_DENY, PolicyKind.RESOURCE, resource)
    if identity is not None and identity.explicit_deny:
        return _decision(request, Reason.EXPLICIT_DENY, PolicyKind.IDENTITY, identity)
    identity_allows = identity is None or identity.allowed
    results = (resource,) if identity is None else (resource, identity)
    if principal.is_anonymous:
        # No identity policies exist for an unsigned caller: only a resource grant to "*" lets it in.
        if resource.grants_caller_directly:
            return _decision(request, Reason.ALLOWED, None, resource)
        return _decision(request, Reason.NO_RESOURCE_ALLOW, PolicyKind.RESOURCE, resource)
    same_account = principal.account == resource_account
    # Within one account a direct grant suffices, and (except for role trust) so does an identity Allow.
    one_side_suffices = resource.grants_caller_directly or (not resource_must_allow and identity_allows)
    if same_account and one_side_suffices:
        decision = _decision(request, Reason.ALLOWED, None, *results)
    elif not identity_allows:
        decision = _decision(request, Reason.NO_IDENTITY_ALLOW, PolicyKind.IDENTITY, *results)
    elif not resource.allowed:
        decision = _decision(request, Reason.NO_RESOURCE_ALLOW, PolicyKind.RESOURCE, *results)
    else:
        # Cross-account (or an account-level grant in one account) with both sides allowing.
        decision = _decision(request, Reason.ALLOWED, None, *results)
    if identity is None:
        return dataclasses.replace(decision, identity_evaluated=False)
    return decision


def decide_invoke(
    *,
    principal: Principal,
    resource_arn: str,
    resource_policy: Policy | None,
    identity_policies: Sequence[Policy] | None,
    api_account: str,
    context: ConditionContext | None = None,
) -> Decision:
    """API Gateway's IAM-auth + resource-policy decision for execute-api:Invoke on one method ARN.

    `resource_policy` must already be expanded (see expand_execute_api_resources). `identity_policies=None` means
    the caller's policies are unknown (diagnose.sh with one side's credentials): the identity side is then assumed
    to allow, and the decision says identity_evaluated=False.
    """
    request = _request(principal, INVOKE, resource_arn, context or {})
    resource = evaluate_policies([resource_policy], request, resource_based=True)
    identity = None
    if identity_policies is not None and not principal.is_anonymous:
        identity = evaluate_policies(identity_policies, request, resource_based=False)
    return _combine(request, resource, identity, resource_account=api_account, resource_must_allow=False)


def decide_identity(
    *,
    principal: Principal,
    action: str,
    resource: str,
    identity_policies: Sequence[Policy],
    context: ConditionContext | None = None,
) -> Decision:
    """The caller's identity policies on their own: Deny wins, then Allow, else the implicit deny."""
    request = _request(principal, action, resource, context or {})
    result = evaluate_policies(identity_policies, request, resource_based=False)
    if result.explicit_deny:
        return _decision(request, Reason.EXPLICIT_DENY, PolicyKind.IDENTITY, result)
    if not result.allowed:
        return _decision(request, Reason.NO_IDENTITY_ALLOW, PolicyKind.IDENTITY, result)
    return _decision(request, Reason.ALLOWED, None, result)


def decide_endpoint(
    *,
    principal: Principal,
    resource_arn: str,
    endpoint_policy: Policy | None,
    action: str = INVOKE,
    context: ConditionContext | None = None,
) -> Decision:
    """A VPC endpoint policy on its own: no policy means the default full access; otherwise Deny wins, then Allow."""
    request = _request(principal, action, resource_arn, context or {})
    if endpoint_policy is None:
        return _decision(request, Reason.ALLOWED, None)
    result = evaluate_policies([endpoint_policy], request, resource_based=True)
    if result.explicit_deny:
        return _decision(request, Reason.EXPLICIT_DENY, PolicyKind.ENDPOINT, result)
    if not result.allowed:
        return _decision(request, Reason.NO_ENDPOINT_ALLOW, PolicyKind.ENDPOINT, result)
    return _decision(request, Reason.ALLOWED, None, result)


def decide_domain(
    *,
    principal: Principal,
    domain_arn: str,
    domain_policy: Policy | None,
    context: ConditionContext | None = None,
) -> Decision:
    """A private custom domain name's own execute-api policy: it must allow on its own, an explicit Deny wins.

    `domain_policy` must already be expanded (see expand_domain_policy). None is the deny-all policy API Gateway
    provisions for a domain created without one (developer guide, private custom domain tutorial). The API's resource
    policy is decided separately (decide_invoke): AWS requires both to allow.
    """
    request = _request(principal, INVOKE, domain_arn, context or {})
    result = evaluate_policies([domain_policy], request, resource_based=True)
    if result.explicit_deny:
        return _decision(request, Reason.EXPLICIT_DENY, PolicyKind.RESOURCE, result)
    if not result.allowed:
        return _decision(request, Reason.NO_RESOURCE_ALLOW, PolicyKind.RESOURCE, result)
    return _decision(request, Reason.ALLOWED, None, result)


def decide_assume_role(
    *,
    principal: Principal,
    role_arn: str,
    trust_policy: Policy | None,
    identity_policies: Sequence[Policy] | None,
    action: str = ASSUME_ROLE,
    context: ConditionContext | None = None,
) -> Decision:
    """sts:AssumeRole: the trust policy must allow even within one account (IAM roles are an exception)."""
    request = _request(principal, action, role_arn, context or {})
    trust = evaluate_policies([trust_policy], request, resource_based=True)
    identity = None
    if identity_policies is not None and not principal.is_anonymous:
        identity = evaluate_policies(identity_policies, request, resource_based=False)
    role_account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else ""
    return _combine(request, trust, identity, resource_account=role_account, resource_must_allow=True)


def policies_from(documents: Iterable[Policy | str | None]) -> list[Policy]:
    """Accept policy documents as dicts or JSON strings (IAM returns strings, sometimes URL-encoded)."""
    parsed: list[Policy] = []
    for document in documents:
        if document is None:
            continue
        if isinstance(document, Mapping):
            parsed.append(document)
            continue
        text = document if document.lstrip().startswith("{") else unquote(document)
        parsed.append(json.loads(text))
    return parsed
