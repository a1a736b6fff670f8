"""Checks that ask the project's one policy engine (iampolicy.authz) what AWS would decide for this client."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from client.names import ClientKind
from diagnose.context import ClientContext, required
from diagnose.errors import not_read
from diagnose.facts import Endpoint
from diagnose.results import Outcome, bad, ok, unknown
from iampolicy.authz import (
    ASSUME_ROLE,
    INVOKE,
    Decision,
    PolicyKind,
    decide_assume_role,
    decide_endpoint,
    decide_identity,
    decide_invoke,
    expand_execute_api_resources,
)
from iampolicy.policy import Policy, action_match, as_list, condition_values, statements

__all__ = [
    "assume_permission",
    "endpoint_policy",
    "invoke_permission",
    "resource_policy",
    "sts_endpoint",
    "trust_policy",
]


@dataclass(frozen=True)
class Sides:
    """One two-sided decision (identity + resource/trust), each side's own verdict, and the combined one."""

    identity: bool | None  # None: that side's policies are unknown
    resource: bool | None
    resource_decision: Decision | None  # the resource (or trust) side alone, identity assumed to allow


def _sides(*, combined: Decision | None, resource_only: Decision | None, identity_only: bool | None) -> Sides:
    """Split a decision into sides; a combined Allow passes both (one side suffices within one account)."""
    if combined is not None and combined.allowed:
        return Sides(identity=True, resource=True, resource_decision=resource_only)
    return Sides(
        identity=identity_only,
        resource=None if resource_only is None else resource_only.allowed,
        resource_decision=resource_only,
    )


def _why(decision: Decision) -> str:
    sids = decision.deny_sids or decision.allow_sids
    suffix = f" (statements {', '.join(sids)})" if sids else ""
    return decision.message(mask=False) + suffix


def _allowed_resources(policy: Policy | None, action: str) -> list[str]:
    """What the Allow statements of a policy name for an action (for the fix sentence)."""
    found: list[str] = []
    for statement in statements(policy):
        actions = as_list(statement.get("Action"))
        if statement.get("Effect") == "Allow" and any(action_match(str(a), action) for a in actions):
            found.extend(str(r) for r in as_list(statement.get("Resource")))
    return found


# ---------------------------------------------------------------------------------------------------- STS


def _sts_endpoint_in_use(ctx: ClientContext) -> Endpoint | None:
    return next((e for e in ctx.consumer.sts_endpoints or () if e.private_dns), None)


def sts_endpoint(ctx: ClientContext) -> Outcome:
    """The VPC's STS endpoint (private DNS) is available and its policy lets the client assume ROLE_TO_ASSUME."""
    caller, vpce, role = required(ctx.caller, "caller"), _sts_endpoint_in_use(ctx), ctx.env("ROLE_TO_ASSUME")
    if ctx.consumer.sts_endpoints is None:
        error = ctx.consumer.errors.get("sts-endpoints")
        if error is None:
            return unknown("not checked: the client functions' VPC is not known", "the function in a VPC (see network)")
        return not_read(
            "the VPC's STS endpoints", error, permission="ec2:DescribeVpcEndpoints", profile=ctx.consumer.profile
        )
    if vpce is None:
        return ok("no STS endpoint with private DNS in the VPC: the client reaches STS another way (not checked)")
    if vpce.state.lower() != "available":
        return bad(
            f"STS endpoint {vpce.id} is {vpce.state}", "wait for it, or re-create it (update the consumer stack)"
        )
    decision = decide_endpoint(
        principal=caller,
        resource_arn=role,
        endpoint_policy=vpce.policy,
        action=ASSUME_ROLE,
        context={"aws:SourceVpce": vpce.id, "aws:SourceVpc": vpce.vpc_id},
    )
    if decision.allowed:
        return ok(f"STS endpoint {vpce.id} lets {caller.role_arn} call sts:AssumeRole on {role}")
    allowed = _allowed_resources(vpce.policy, ASSUME_ROLE) or "nothing"
    return bad(
        f"the policy of STS endpoint {vpce.id} does not allow sts:AssumeRole on {role} (it allows {allowed})",
        f"update stack {ctx.collected.consumer_stack} with pAPIRoleARN={role} (the template's STS endpoint policy "
        "follows it)",
    )


def _assume_sides(ctx: ClientContext) -> Sides:
    caller, function = required(ctx.caller, "caller"), required(ctx.function, "function")
    role = ctx.env("ROLE_TO_ASSUME")
    identity = function.role.policies if function.role else None
    known = ctx.provider.roles.get(role) if ctx.provider is not None else None
    combined = resource_only = None
    if known is not None:
        trust = known.trust_policy
        resource_only = decide_assume_role(principal=caller, role_arn=role, trust_policy=trust, identity_policies=None)
        if identity is not None:
            combined = decide_assume_role(
                principal=caller, role_arn=role, trust_policy=trust, identity_policies=identity
            )
    identity_only = (
        None
        if identity is None
        else decide_identity(principal=caller, action=ASSUME_ROLE, resource=role, identity_policies=identity).allowed
    )
    return _sides(combined=combined, resource_only=resource_only, identity_only=identity_only)


def assume_permission(ctx: ClientContext) -> Outcome:
    """The client's own role may call sts:AssumeRole on ROLE_TO_ASSUME."""
    caller = required(ctx.caller, "caller")
    role, sides = ctx.env("ROLE_TO_ASSUME"), _assume_sides(ctx)
    if sides.identity is None:
        return unknown(f"the policies of {caller.role_arn} could not be read", "iam:GetRole* for the consumer profile")
    if sides.identity:
        return ok(f"{caller.role_arn} may call sts:AssumeRole on {role}")
    return bad(
        f"no identity policy of {caller.role_arn} allows sts:AssumeRole on {role}",
        f"update stack {ctx.collected.consumer_stack} with pAPIRoleARN={role} (the template grants exactly that)",
    )


def trust_policy(ctx: ClientContext) -> Outcome:
    """The provider role's trust policy trusts the client's role or account."""
    caller, provider = required(ctx.caller, "caller"), required(ctx.provider, "provider")
    role = ctx.env("ROLE_TO_ASSUME")
    if role.split(":")[4:5] != [provider.account]:
        return bad(
            f"{role} is not a role of the provider account {provider.account}",
            f"update stack {ctx.collected.consumer_stack} with pAPIRoleARN=<provider output APIAccessRole>",
        )
    if role not in provider.roles:
        error = provider.errors.get(f"role:{role}")
        if "NoSuchEntity" in (error or ""):
            return bad(f"role {role} does not exist", "point ROLE_TO_ASSUME at the provider's APIAccessRole")
        return not_read(f"role {role}", error, permission="iam:GetRole", profile=provider.profile)
    if _assume_sides(ctx).resource:
        return ok(f"the trust policy of {role} lets {caller.role_arn} assume it")
    return bad(
        f"the trust policy of {role} does not trust {caller.role_arn} or account {caller.account}",
        f"add {caller.account} (or {caller.role_arn}) to pTrustedPrincipals on stack {ctx.collected.provider_stack} "
        "(./deploy-all.sh does this)",
    )


# ---------------------------------------------------------------------------------------------------- execute-api


def endpoint_policy(ctx: ClientContext) -> Outcome:
    """The execute-api endpoint's policy lets the signer invoke the API's stage."""
    vpce, signer = required(ctx.consumer.endpoint, "endpoint"), required(ctx.signer, "signer")
    arn = required(ctx.target.resource_arn, "target")
    decision = decide_endpoint(
        principal=signer, resource_arn=arn, endpoint_policy=vpce.policy, context=ctx.source_context
    )
    if decision.allowed:
        return ok(f"the policy of {vpce.id} allows {signer.arn} to invoke {arn}")
    allowed = _allowed_resources(vpce.policy, INVOKE)
    host = ctx.target.host
    return bad(
        f"{_why(decision)}; it allows {allowed or 'nothing'}",
        f"update stack {ctx.collected.consumer_stack} with pAPIHost={host}, pAPIAccountID={ctx.target.account} and "
        f"pAPIPrefix=/{ctx.target.stage} so the template's endpoint policy names this API (or re-run ./deploy-all.sh)",
    )


def _signer_policies(ctx: ClientContext) -> Sequence[Policy] | None:
    if ctx.kind is ClientKind.DIRECT:
        return ctx.function.role.policies if ctx.function and ctx.function.role else None
    known = ctx.provider.roles.get(ctx.env("ROLE_TO_ASSUME")) if ctx.provider is not None else None
    return known.policies if known is not None else None


def _resource_policy(ctx: ClientContext) -> Policy | None:
    api = ctx.provider.api if ctx.provider is not None else None
    if api is None or api.policy is None or not (ctx.target.api_id and ctx.target.account):
        return None
    return expand_execute_api_resources(
        api.policy,
        region=ctx.collected.region,
        account=ctx.target.account,
        api_id=ctx.target.api_id,
        partition=ctx.target.partition,
    )


def _invoke_sides(ctx: ClientContext) -> Sides:
    signer, arn = required(ctx.signer, "signer"), required(ctx.target.resource_arn, "target")
    context = ctx.source_context
    identity, policy = _signer_policies(ctx), _resource_policy(ctx)
    combined = resource_only = None
    if policy is not None and context is not None:
        account = str(ctx.target.account)
        resource_only = decide_invoke(
            principal=signer,
            resource_arn=arn,
            resource_policy=policy,
            identity_policies=None,
            api_account=account,
            context=context,
        )
        if identity is not None:
            combined = decide_invoke(
                principal=signer,
                resource_arn=arn,
                resource_policy=policy,
                identity_policies=identity,
                api_account=account,
                context=context,
            )
    identity_only = (
        None
        if identity is None
        else decide_identity(
            principal=signer, action=INVOKE, resource=arn, identity_policies=identity, context=context
        ).allowed
    )
    return _sides(combined=combined, resource_only=resource_only, identity_only=identity_only)


def invoke_permission(ctx: ClientContext) -> Outcome:
    """The signing role's identity policies allow execute-api:Invoke on the API (or, in one account, need not)."""
    signer = required(ctx.signer, "signer")
    sides, role = _invoke_sides(ctx), signer.role_arn or signer.arn
    side = "consumer" if ctx.kind is ClientKind.DIRECT else "provider"
    if sides.identity is None:
        gap = ctx.provider_gap if side == "provider" and ctx.provider is None else f"iam:GetRole* for the {side}"
        return unknown(f"the identity policies of {role} were not read", gap)
    if sides.identity:
        return ok(f"{role} may call execute-api:Invoke on {ctx.target.resource_arn}")
    stack = ctx.collected.consumer_stack if ctx.kind is ClientKind.DIRECT else ctx.collected.provider_stack
    return bad(
        f"no identity policy of {role} allows execute-api:Invoke on {ctx.target.resource_arn}",
        f"update stack {stack} so its role's policy names this API (pAPIHost, pAPIAccountID, pAPIPrefix), or "
        "re-run ./deploy-all.sh",
    )


def resource_policy(ctx: ClientContext) -> Outcome:
    """The API's resource policy lets the signer in through this endpoint (the Deny on aws:SourceVpce included)."""
    provider, signer = required(ctx.provider, "provider"), required(ctx.signer, "signer")
    api = provider.api
    if api is None:
        return unknown(
            "the API was not read (see provider-stack)", "apigateway:GET on the API for the provider profile"
        )
    if api.policy is None:
        return bad(
            f"API {api.id} has no resource policy, so nobody may invoke it",
            f"update stack {ctx.collected.provider_stack} (./deploy-all.sh); the template always sets one",
        )
    sides = _invoke_sides(ctx)
    if sides.resource is None:
        return unknown("the resource policy could not be evaluated", "the API id and account (see provider-stack)")
    if sides.resource or sides.resource_decision is None:
        return ok(f"the resource policy lets {signer.arn} in through {required(ctx.consumer.endpoint, 'endpoint').id}")
    return bad(_why(sides.resource_decision), _resource_fix(ctx, sides.resource_decision))


def _resource_fix(ctx: ClientContext, decision: Decision) -> str:
    stack, vpce = ctx.collected.provider_stack, ctx.consumer.endpoint
    policy = ctx.provider.api.policy if ctx.provider and ctx.provider.api else None
    if decision.policy_kind is PolicyKind.RESOURCE and decision.deny_sids:
        listed = condition_values(policy, decision.deny_sids, "aws:SourceVpce")
        if listed and vpce is not None:
            return (
                f"endpoint {vpce.id} is not in the API's allowed list [{', '.join(listed)}]: re-run ./deploy-all.sh "
                f"or add it to pAllowedVPCEndpoints on stack {stack}"
            )
        return (
            f"statements {', '.join(decision.deny_sids)} of the API's resource policy deny this caller: update {stack}"
        )
    role = ctx.signer.role_arn if ctx.signer else None
    stale = " (the policy names unique ids such as AROA...: the role was re-created, so update the stack)"
    hint = stale if "AROA" in str(policy) else ""
    if ctx.kind is ClientKind.DIRECT:
        return f"add {role} to pAPIAccessList on stack {stack} (or re-run ./deploy-all.sh){hint}"
    return (
        f"the resource policy of stack {stack} should allow its APIAccessRole {role} (statement AllowAccessRole): "
        f"update the stack (./deploy-all.sh) to rewrite it{hint}"
    )
