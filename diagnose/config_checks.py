"""Checks on what was deployed: stacks, the client's environment, the endpoint, the network path and DNS."""

from __future__ import annotations

from diagnose import private_domain
from diagnose.collect import CLIENT_OUTPUTS
from diagnose.context import ClientContext, required
from diagnose.errors import not_read
from diagnose.facts import Stack
from diagnose.network import https_path
from diagnose.results import Outcome, bad, ok, unknown
from iampolicy.execute_api import parse_execute_api_host

__all__ = [
    "api_host",
    "api_prefix",
    "consumer_stack",
    "dns",
    "endpoint",
    "function",
    "network",
    "provider_stack",
    "role_to_assume",
]

PROVIDER_OUTPUTS = ("APIGatewayID", "APIGatewayFQDN", "APIAccessRole", "APIStageName")
_BROKEN_STACK = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED")
_PENDING_ENDPOINT = ("pending", "pendingacceptance")


def _not_found(error: str | None) -> bool:
    text = (error or "").lower()
    return "does not exist" in text or "notfound" in text or "not found" in text


def _stack_state(stack: Stack) -> Outcome | None:
    if stack.status in _BROKEN_STACK:
        return bad(
            f"stack {stack.name} is {stack.status}",
            f"read its failed events (aws cloudformation describe-stack-events --stack-name {stack.name}), fix the "
            "cause and deploy again with ./deploy-all.sh",
        )
    if stack.status.endswith("_IN_PROGRESS"):
        return unknown(f"stack {stack.name} is being changed ({stack.status})", "the stack to settle: run again")
    return None


def _missing_stack(
    ctx: ClientContext, *, side: str, name: str, error: str | None, account: str | None, profile: str
) -> Outcome:
    if _not_found(error):
        return bad(
            f"no stack {name} in {side} account {account}, region {ctx.collected.region}",
            "deploy it with ./deploy-all.sh, or pass the --stack-prefix and --region it was deployed with",
        )
    return not_read(f"stack {name}", error, permission="cloudformation:DescribeStacks", profile=profile)


def consumer_stack(ctx: ClientContext) -> Outcome:
    """The consumer stack exists, is usable, and names this client's function."""
    consumer, name = ctx.consumer, ctx.collected.consumer_stack
    if consumer.account is None:
        # Nothing in the account was read: not a denial, whatever the reason (connection, credentials, permission).
        return not_read(
            "the consumer account",
            consumer.errors.get("credentials"),
            permission="sts:GetCallerIdentity",
            profile=consumer.profile,
        )
    if consumer.stack is None:
        return _missing_stack(
            ctx,
            side="consumer",
            name=name,
            error=consumer.errors.get("stack"),
            account=consumer.account,
            profile=consumer.profile,
        )
    state = _stack_state(consumer.stack)
    if state is not None:
        return state
    output = CLIENT_OUTPUTS[ctx.kind]
    if not consumer.stack.outputs.get(output):
        return bad(
            f"stack {name} has no output {output}",
            "deploy the consumer stack from this kit's api-client template (./deploy-all.sh)",
        )
    return ok(f"{name} ({consumer.stack.status}) in account {consumer.account} names {consumer.stack.outputs[output]}")


def provider_stack(ctx: ClientContext) -> Outcome:
    """The provider stack exists with the kit's outputs, and its API is a private REST API."""
    provider, name = ctx.collected.provider, ctx.collected.provider_stack
    if provider is None:
        return unknown("the provider account was not read", ctx.provider_gap)
    if not provider.account:
        return not_read(
            "the provider account",
            provider.errors.get("credentials"),
            permission="sts:GetCallerIdentity",
            profile=provider.profile,
        )
    if provider.stack is None:
        return _missing_stack(
            ctx,
            side="provider",
            name=name,
            error=provider.errors.get("stack"),
            account=provider.account,
            profile=provider.profile,
        )
    state = _stack_state(provider.stack)
    if state is not None:
        return state
    missing = [o for o in PROVIDER_OUTPUTS if not provider.stack.outputs.get(o)]
    if missing:
        return bad(
            f"stack {name} lacks the outputs {', '.join(missing)}",
            "deploy the provider stack from this kit's api-backend template (./deploy-all.sh)",
        )
    return _provider_api(ctx)


def _provider_api(ctx: ClientContext) -> Outcome:
    provider = required(ctx.collected.provider, "provider")
    stack = required(provider.stack, "provider stack")
    api_id = stack.outputs["APIGatewayID"]
    if provider.api is None:
        error = provider.errors.get("api")
        if _not_found(error):
            return bad(
                f"API {api_id} (output APIGatewayID) does not exist",
                f"update stack {stack.name} (./deploy-all.sh) to re-create it",
            )
        return not_read(f"API {api_id}", error, permission="apigateway:GET on the API", profile=provider.profile)
    if "PRIVATE" not in provider.api.endpoint_types:
        return bad(
            f"API {api_id} is {'/'.join(provider.api.endpoint_types) or 'of unknown type'}, not PRIVATE",
            "deploy the provider stack from this kit's api-backend template (its API is PRIVATE)",
        )
    outputs = stack.outputs
    return ok(
        f"{stack.name} ({stack.status}) in account {provider.account}: private API {api_id}, "
        f"stage {outputs['APIStageName']}, access role {outputs['APIAccessRole']}"
    )


def function(ctx: ClientContext) -> Outcome:
    """The function the stack names exists and its configuration is readable."""
    if ctx.function is not None:
        return ok(f"{ctx.function.name} runs as {ctx.function.role_arn}")
    stack = ctx.consumer.stack
    name = stack.outputs.get(CLIENT_OUTPUTS[ctx.kind]) if stack else None
    if name is None:
        return unknown("no function to check", "the consumer stack (see consumer-stack)")
    error = ctx.consumer.errors.get(f"function:{ctx.kind}")
    if _not_found(error):
        return bad(
            f"stack output names function {name} but Lambda has no such function",
            "update the consumer stack (./deploy-all.sh) so it re-creates the function",
        )
    return not_read(
        f"function {name}", error, permission="lambda:GetFunctionConfiguration", profile=ctx.consumer.profile
    )


def _client_stack_fix(ctx: ClientContext, parameter: str, value: str) -> str:
    return f"re-run ./deploy-all.sh, or update stack {ctx.collected.consumer_stack} with {parameter}={value}"


def _domain_api_host(ctx: ClientContext, value: str, domain: str) -> Outcome:
    """Through a private custom domain the clients call (and sign) the domain's name."""
    if value.lower() == domain:
        return ok(f"API_HOST {value} is the private custom domain name")
    return bad(
        f"API_HOST is {value} but the stack calls the private custom domain name {domain}",
        _client_stack_fix(ctx, "pPrivateDomainName", domain),
    )


def api_host(ctx: ClientContext) -> Outcome:
    """API_HOST is the provider's APIGatewayFQDN (or its {api-id}-{vpce-id} alias), or the private custom domain."""
    value = ctx.env("API_HOST")
    if ctx.collected.domain is not None:
        return _domain_api_host(ctx, value, ctx.collected.domain.name)
    return _execute_api_host(ctx, value)


def _execute_api_host(ctx: ClientContext, value: str) -> Outcome:
    """Without a domain the clients call the API's own execute-api name (or its alias through an endpoint)."""
    parsed = parse_execute_api_host(value)
    if parsed is None:
        return bad(
            f"API_HOST {value!r} is not an execute-api host name",
            _client_stack_fix(ctx, "pAPIHost", "<provider output APIGatewayFQDN>"),
        )
    if parsed.region != ctx.collected.region:
        return bad(
            f"API_HOST {value} is in {parsed.region}, not {ctx.collected.region}",
            "deploy both stacks in one region (--region) and point pAPIHost at the provider's APIGatewayFQDN",
        )
    if ctx.provider is None:
        return unknown(f"API_HOST is {value}; the provider's APIGatewayFQDN was not read", ctx.provider_gap)
    expected = ctx.provider.stack.outputs["APIGatewayFQDN"] if ctx.provider.stack else ""
    if value.lower() == expected.lower():
        return ok(f"API_HOST {value} is the provider's APIGatewayFQDN")
    if parsed.vpce_id and parsed.api_id == ctx.target.api_id:
        return ok(f"API_HOST {value} is the API's alias through {parsed.vpce_id}")
    return bad(
        f"API_HOST is {value} but the provider's API is {expected}", _client_stack_fix(ctx, "pAPIHost", expected)
    )


def api_prefix(ctx: ClientContext) -> Outcome:
    """API_PREFIX is '/' + the provider's stage name, or through a domain '/' + its base path (empty: the root)."""
    value = ctx.env("API_PREFIX").rstrip("/")
    domain = ctx.collected.domain
    if domain is not None:
        expected = f"/{domain.base_path}" if domain.base_path else ""
        if value == expected:
            return ok(f"API_PREFIX {value or '(empty)'} is the domain's base path (its mapping: domain-base-path)")
        return bad(
            f"API_PREFIX is {value or '(empty)'} but the stack's pPrivateDomainBasePath gives {expected or '(empty)'}",
            _client_stack_fix(ctx, "pPrivateDomainBasePath", domain.base_path or "None"),
        )
    if not value.startswith("/"):
        return bad(f"API_PREFIX {value!r} does not start with '/'", _client_stack_fix(ctx, "pAPIPrefix", "/<stage>"))
    if ctx.provider is None:
        return unknown(f"API_PREFIX is {value}; the provider's stage name was not read", ctx.provider_gap)
    expected = f"/{ctx.target.stage}"
    if value == expected:
        return ok(f"API_PREFIX {value} is the provider's stage")
    return bad(
        f"API_PREFIX is {value} but the provider's stage is {ctx.target.stage} (a wrong stage answers 403 Missing "
        "Authentication Token)",
        _client_stack_fix(ctx, "pAPIPrefix", expected),
    )


def role_to_assume(ctx: ClientContext) -> Outcome:
    """ROLE_TO_ASSUME is the provider's APIAccessRole."""
    value = ctx.env("ROLE_TO_ASSUME")
    if ":role/" not in value:
        return bad(
            f"ROLE_TO_ASSUME {value!r} is not a role ARN", _client_stack_fix(ctx, "pAPIRoleARN", "<APIAccessRole>")
        )
    if ctx.provider is None or ctx.provider.stack is None:
        return unknown(f"ROLE_TO_ASSUME is {value}; the provider's APIAccessRole was not read", ctx.provider_gap)
    expected = ctx.provider.stack.outputs["APIAccessRole"]
    if value == expected:
        return ok(f"ROLE_TO_ASSUME {value} is the provider's APIAccessRole")
    return bad(
        f"ROLE_TO_ASSUME is {value} but the provider's APIAccessRole is {expected}",
        _client_stack_fix(ctx, "pAPIRoleARN", expected),
    )


def endpoint(ctx: ClientContext) -> Outcome:
    """The consumer's execute-api interface endpoint exists and is available."""
    found = ctx.consumer.endpoint
    if found is None:
        error = ctx.consumer.errors.get("endpoint")
        if error and not _not_found(error):
            return not_read(
                "the execute-api endpoint", error, permission="ec2:DescribeVpcEndpoints", profile=ctx.consumer.profile
            )
        named = ctx.consumer.stack.outputs.get("APIGatewayEndpointID") if ctx.consumer.stack else None
        return bad(
            f"endpoint {named} (output APIGatewayEndpointID) does not exist"
            if named
            else "no execute-api interface endpoint in the client functions' VPC",
            "update the consumer stack (./deploy-all.sh) so it re-creates the execute-api endpoint",
        )
    if not found.service_name.endswith(".execute-api"):
        return bad(
            f"{found.id} is an endpoint for {found.service_name}, not execute-api",
            "point output APIGatewayEndpointID at the execute-api endpoint (deploy the kit's api-client template)",
        )
    if found.state.lower() in _PENDING_ENDPOINT:
        return bad(
            f"endpoint {found.id} is {found.state}, not available",
            "wait until it is available (a new endpoint takes a few minutes), then run again",
        )
    if found.state.lower() != "available":
        return bad(
            f"endpoint {found.id} is {found.state}, not available",
            f"re-create it: delete {found.id} and update the consumer stack (./deploy-all.sh)",
        )
    return ok(f"{found.id} ({found.service_name}) is available in {found.vpc_id}")


def network(ctx: ClientContext) -> Outcome:
    """The function runs in the endpoint's VPC and security groups let HTTPS through both ways."""
    fn, vpce = required(ctx.function, "function"), required(ctx.consumer.endpoint, "endpoint")
    if fn.vpc_id != vpce.vpc_id:
        where = f"in {fn.vpc_id}" if fn.vpc_id else "not attached to a VPC"
        return bad(
            f"{fn.name} is {where}, but endpoint {vpce.id} is in {vpce.vpc_id}: its requests never reach the endpoint",
            "attach the function to the endpoint's VPC (deploy the kit's api-client template, which does)",
        )
    if ctx.consumer.network is None:
        return not_read(
            "security groups and subnets",
            ctx.consumer.errors.get("network"),
            permission="ec2:DescribeSecurityGroups, ec2:DescribeSubnets and ec2:DescribeVpcAttribute",
            profile=ctx.consumer.profile,
        )
    path = https_path(
        ctx.consumer.network,
        client_groups=fn.security_group_ids,
        client_subnets=fn.subnet_ids,
        endpoint_groups=vpce.security_group_ids,
        endpoint_subnets=vpce.subnet_ids,
    )
    if path.egress is False:
        return bad(
            f"security groups {list(fn.security_group_ids)} of {fn.name} allow no HTTPS (443) out to endpoint "
            f"{vpce.id} (groups {list(vpce.security_group_ids)})",
            "restore the client stack's egress rule to the endpoint's group (update the consumer stack)",
        )
    if path.ingress is False:
        return bad(
            f"security groups {list(vpce.security_group_ids)} of endpoint {vpce.id} accept no HTTPS (443) from "
            f"{fn.name} (groups {list(fn.security_group_ids)})",
            "restore the endpoint group's ingress rule from the client group (update the consumer stack)",
        )
    if path.egress is None or path.ingress is None:
        return unknown(f"security groups {list(path.unreadable)} could not be read", "ec2:DescribeSecurityGroups")
    return ok(f"{fn.name} is in {vpce.vpc_id} and its security groups allow HTTPS to {vpce.id}")


def dns(ctx: ClientContext) -> Outcome:
    """The host the client connects to resolves to this endpoint (private DNS, API_ENDPOINT, or the alias)."""
    vpce, host = required(ctx.consumer.endpoint, "endpoint"), ctx.connect_host
    if ctx.collected.domain is not None and host == ctx.collected.domain.name:
        return private_domain.domain_dns(ctx)
    if host in vpce.dns_names:
        return ok(f"the client connects to {vpce.id}'s own name {host} and sends Host: {ctx.env('API_HOST')}")
    parsed = parse_execute_api_host(host)
    if parsed is None:
        return bad(
            f"the client connects to {host!r}, which is neither an execute-api name nor {vpce.id}'s DNS name",
            f"set API_ENDPOINT to https://{vpce.dns_names[0] if vpce.dns_names else '<endpoint DNS name>'} "
            "(the client template does this when pEnablePrivateDNS=False)",
        )
    if parsed.vpce_id:
        return _alias(ctx, host, parsed.vpce_id)
    return _private_dns(ctx, host)


def _alias(ctx: ClientContext, host: str, alias_vpce: str) -> Outcome:
    vpce = required(ctx.consumer.endpoint, "endpoint")
    if alias_vpce != vpce.id:
        return bad(
            f"the client connects to {host}, the alias through {alias_vpce}, not through this VPC's {vpce.id}",
            f"use the alias of {vpce.id}, or turn private DNS on for {vpce.id} and use the API's own host",
        )
    if ctx.provider is None or ctx.provider.api is None:
        return unknown(f"{host} exists only if the API lists {vpce.id}; the API was not read", ctx.provider_gap)
    listed = list(ctx.provider.api.vpc_endpoint_ids)
    if vpce.id in listed:
        return ok(f"the alias {host} exists: the API lists {vpce.id} in its endpoint configuration")
    return bad(
        f"the alias {host} does not exist: the API's endpoint configuration lists {listed or 'no endpoints'}, "
        f"not {vpce.id}",
        f"update stack {ctx.collected.provider_stack} with pAssociateVPCEndpoints=Yes and {vpce.id} in "
        "pAllowedVPCEndpoints",
    )


def _private_dns(ctx: ClientContext, host: str) -> Outcome:
    vpce, net = required(ctx.consumer.endpoint, "endpoint"), ctx.consumer.network
    if not vpce.private_dns:
        target = vpce.dns_names[0] if vpce.dns_names else "<endpoint DNS name>"
        return bad(
            f"private DNS is off on {vpce.id} and the client has no API_ENDPOINT, so {host} resolves to public "
            "addresses that bypass the endpoint",
            f"turn private DNS on for {vpce.id} (pEnablePrivateDNS=True), or set API_ENDPOINT=https://{target} "
            "(what the client template does with pEnablePrivateDNS=False)",
        )
    if net is not None and (net.dns_support is False or net.dns_hostnames is False):
        return bad(
            f"private DNS on {vpce.id} needs DNS support and DNS host names on {vpce.vpc_id} "
            f"(support={net.dns_support}, host names={net.dns_hostnames})",
            f"enable both attributes on {vpce.vpc_id} (aws ec2 modify-vpc-attribute)",
        )
    return ok(f"private DNS on {vpce.id} resolves {host} inside {vpce.vpc_id}")
