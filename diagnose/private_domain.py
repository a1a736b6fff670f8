"""The private custom domain path of issue 17 (docs/private-domain.md): what to read on each side, and its checks.

`read_domain_path` reads (never decides; a failed read is recorded under a key in `errors`); the checks are pure
functions over the facts and the client's context, in the order diagnose reports them (AWS documents no order beyond the
endpoint policy's coming first): the consumer's endpoint policy must allow the domain's execute-api ARN, then API
Gateway wants the domain shared with the consumer (RAM), the endpoint's access association, the domain's own policy, and
a base path mapped to the API's stage; the API's resource policy (diagnose.policy_checks) must allow as well.
diagnose.checks runs them for the IAM clients only when the consumer stack calls a domain; the name's resolution is part
of the `dns` check (domain_dns).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from diagnose.collect import describe_error, parse_api_policy, read
from diagnose.context import ClientContext, required
from diagnose.errors import not_read
from diagnose.facts import DomainAssociation, DomainMapping, DomainPath, Stack
from diagnose.results import Outcome, bad, note, ok, unknown
from iampolicy.authz import decide_domain, decide_endpoint, domain_execute_api_arn, expand_domain_policy
from iampolicy.policy import condition_values

__all__ = [
    "DomainArn",
    "association",
    "base_path",
    "configured",
    "domain_dns",
    "domain_policy",
    "endpoint_policy",
    "parse_domain_arn",
    "provider_domain",
    "read_domain_path",
    "share",
]

NAME_PARAMETER = "pPrivateDomainName"
ARN_PARAMETER = "pPrivateDomainNameArn"
BASE_PARAMETER = "pPrivateDomainBasePath"
ZONE_PARAMETER = "pCreatePrivateDomainHostedZone"
ARN_OUTPUT = "PrivateDomainNameArn"
ID_OUTPUT = "PrivateDomainNameId"
SHARE_OUTPUT = "PrivateDomainShareArn"
ZONE_OUTPUT = "PrivateDomainHostedZoneId"
_ROOT = "(none)"  # how API Gateway lists a mapping of the domain's root
_DEPLOY = "./deploy-all.sh --domain"
_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):apigateway:(?P<region>[\w-]+):(?P<account>\d{12}):/domainnames/"
    r"(?P<name>[^+]+)\+(?P<id>[a-z0-9]+)$"
)
_LIMIT = 500


@dataclass(frozen=True)
class DomainArn:
    """The parts of a private custom domain name's ARN."""

    partition: str
    region: str
    account: str
    name: str
    domain_id: str

    @property
    def execute_api(self) -> str:
        """The execute-api ARN a call through the domain is authorized against (domain and endpoint policies)."""
        return domain_execute_api_arn(
            region=self.region,
            account=self.account,
            name=self.name,
            domain_id=self.domain_id,
            partition=self.partition,
        )


def parse_domain_arn(arn: str) -> DomainArn | None:
    """arn:aws:apigateway:REGION:ACCOUNT:/domainnames/NAME+ID, else None."""
    found = _ARN.match(arn.strip())
    if not found:
        return None
    return DomainArn(found["partition"], found["region"], found["account"], found["name"], found["id"])


def _set(value: str | None) -> str:
    return "" if value in (None, "", "None") else str(value)


def configured(stack: Stack | None) -> bool:
    """The consumer stack calls a private custom domain name (pPrivateDomainName and its ARN set)."""
    return (
        stack is not None
        and bool(_set(stack.parameters.get(NAME_PARAMETER)))
        and bool(_set(stack.parameters.get(ARN_PARAMETER)))
    )


def provider_domain(stack: Stack | None) -> str:
    """The provider stack's domain ARN when it was deployed with one (pEnablePrivateDomain=Yes), else ""."""
    return _set(stack.outputs.get(ARN_OUTPUT)) if stack is not None else ""


# ------------------------------------------------------------------------------------------------------------ reads
def _pages(call: Callable[..., Mapping[str, Any]], **kwargs: Any) -> list[Mapping[str, Any]]:
    """API Gateway's position-paged items."""
    items: list[Mapping[str, Any]] = []
    position: str | None = None
    while True:
        page = call(**kwargs, limit=_LIMIT, **({"position": position} if position else {}))
        items.extend(page.get("items") or [])
        position = page.get("position")
        if not position:
            return items


def _ram_pages(call: Callable[..., Mapping[str, Any]], key: str, **kwargs: Any) -> list[Mapping[str, Any]]:
    items: list[Mapping[str, Any]] = []
    token: str | None = None
    while True:
        page = call(**kwargs, **({"nextToken": token} if token else {}))
        items.extend(page.get(key) or [])
        token = page.get("nextToken")
        if not token:
            return items


def _read_consumer(path: DomainPath, clients: Callable[[str], Any]) -> None:
    errors = path.errors
    apigateway, ram = clients("apigateway"), clients("ram")
    found = read(
        errors,
        "associations",
        lambda: _pages(apigateway.get_domain_name_access_associations, resourceOwner="SELF"),
    )
    if found is not None:
        path.associations = tuple(
            DomainAssociation(
                str(item.get("domainNameAccessAssociationArn", "")),
                str(item.get("domainNameArn", "")),
                str(item.get("accessAssociationSource", "")),
            )
            for item in found
        )
    shared = read(
        errors,
        "shared-resources",
        lambda: _ram_pages(
            ram.list_resources, "resources", resourceOwner="OTHER-ACCOUNTS", resourceType="apigateway:Domainnames"
        ),
    )
    if shared is not None:
        path.shared = any(str(item.get("arn")) == path.arn for item in shared)
    if path.share_arn:
        invitations = read(
            errors,
            "invitations",
            lambda: _ram_pages(
                ram.get_resource_share_invitations, "resourceShareInvitations", resourceShareArns=[path.share_arn]
            ),
        )
        if invitations is not None:
            path.invitations = tuple(
                (str(i.get("resourceShareInvitationArn", "")), str(i.get("status", ""))) for i in invitations
            )
    if path.zone_id:
        _read_zone(path, clients("route53"))


def _read_zone(path: DomainPath, route53: Any) -> None:
    zone = read(path.errors, "hosted-zone", lambda: route53.get_hosted_zone(Id=path.zone_id))
    if zone is not None:
        path.zone_vpcs = tuple(str(v.get("VPCId")) for v in zone.get("VPCs") or [])
    records = read(
        path.errors,
        "hosted-zone",
        lambda: route53.list_resource_record_sets(HostedZoneId=path.zone_id, StartRecordName=path.name),
    )
    if records is not None:
        path.zone_targets = tuple(
            str((r.get("AliasTarget") or {}).get("DNSName", "")).rstrip(".").lower()
            for r in records.get("ResourceRecordSets") or []
            if r.get("Type") == "A" and str(r.get("Name", "")).rstrip(".").lower() == path.name and r.get("AliasTarget")
        )


def _read_provider(path: DomainPath, clients: Callable[[str], Any], outputs: Mapping[str, str]) -> None:
    errors = path.errors
    path.provider_arn = _set(outputs.get(ARN_OUTPUT))
    parts = parse_domain_arn(path.provider_arn or path.arn)
    if parts is None:
        return
    domain_id = _set(outputs.get(ID_OUTPUT)) or parts.domain_id
    apigateway = clients("apigateway")
    try:
        raw = apigateway.get_domain_name(domainName=parts.name, domainNameId=domain_id)
    except ClientError as error:
        errors["domain"] = describe_error(error)
        if error.response.get("Error", {}).get("Code") == "NotFoundException":
            path.domain_found = False
    else:
        path.domain_found = True
        path.endpoint_types = tuple((raw.get("endpointConfiguration") or {}).get("types") or ())
        try:
            path.policy = parse_api_policy(raw.get("policy"))
        except ValueError as error:
            errors["domain-policy"] = f"the domain's policy is not valid JSON: {error}"
    mappings = read(
        errors,
        "base-paths",
        lambda: _pages(apigateway.get_base_path_mappings, domainName=parts.name, domainNameId=domain_id),
    )
    if mappings is not None:
        path.mappings = tuple(
            DomainMapping(
                "" if str(m.get("basePath", _ROOT)) == _ROOT else str(m.get("basePath")),
                str(m.get("restApiId", "")),
                str(m.get("stage", "")),
            )
            for m in mappings
        )
    if path.share_arn:
        principals = read(
            errors,
            "share-principals",
            lambda: _ram_pages(
                clients("ram").list_principals, "principals", resourceOwner="SELF", resourceShareArns=[path.share_arn]
            ),
        )
        if principals is not None:
            path.share_principals = tuple(str(p.get("id", "")) for p in principals)


def read_domain_path(
    consumer: Callable[[str], Any],
    provider: Callable[[str], Any] | None,
    *,
    consumer_stack: Stack,
    provider_outputs: Mapping[str, str] | None,
    consumer_account: str,
    consumer_org_id: str | None,
    region: str,
    consumer_profile: str = "",
    provider_profile: str = "",
) -> DomainPath:
    """Read both sides' parts of the path; `consumer`/`provider` give a boto3 client per service name.

    `provider_outputs` is None when the provider stack was not read (its checks then say what they need).
    """
    parameters = consumer_stack.parameters
    path = DomainPath(
        region=region,
        name=_set(parameters.get(NAME_PARAMETER)).lower(),
        arn=_set(parameters.get(ARN_PARAMETER)),
        base_path=_set(parameters.get(BASE_PARAMETER)),
        hosted_zone=parameters.get(ZONE_PARAMETER, "Yes") == "Yes",
        consumer_account=consumer_account,
        consumer_org_id=consumer_org_id,
        consumer_profile=consumer_profile,
        provider_profile=provider_profile,
        zone_id=_set(consumer_stack.outputs.get(ZONE_OUTPUT)),
    )
    path.provider_stack_read = provider_outputs is not None
    path.share_arn = _set((provider_outputs or {}).get(SHARE_OUTPUT))
    _read_consumer(path, consumer)
    if provider is not None and provider_outputs is not None:
        _read_provider(path, provider, provider_outputs)
    return path


# ------------------------------------------------------------------------------------------------------------ checks
def _path(ctx: ClientContext) -> DomainPath:
    return required(ctx.collected.domain, "domain path")


def _arn(path: DomainPath) -> DomainArn | None:
    return parse_domain_arn(path.arn)


def _consumer_fix(ctx: ClientContext, what: str) -> str:
    return f"re-run {_DEPLOY}, or update stack {ctx.collected.consumer_stack} with {what}"


def domain_dns(ctx: ClientContext) -> Outcome:
    """The domain name resolves to the client's execute-api endpoint in its VPC (the consumer's hosted zone)."""
    path, vpce = _path(ctx), required(ctx.consumer.endpoint, "endpoint")
    if not path.hosted_zone:
        return note(
            f"{ZONE_PARAMETER}=No: {vpce.vpc_id} must resolve {path.name} to endpoint {vpce.id} by itself (not "
            "checked: diagnose reads no resolver outside the stack)"
        )
    if not path.zone_id:
        return bad(
            f"stack {ctx.collected.consumer_stack} has no {ZONE_OUTPUT} output, so nothing resolves {path.name}",
            _consumer_fix(ctx, f"{ZONE_PARAMETER}=Yes"),
        )
    if path.zone_targets is None or path.zone_vpcs is None:
        return not_read(
            f"hosted zone {path.zone_id}",
            path.errors.get("hosted-zone"),
            permission="route53:GetHostedZone and route53:ListResourceRecordSets",
            profile=path.consumer_profile or ctx.consumer.profile,
        )
    if vpce.vpc_id not in path.zone_vpcs:
        return bad(
            f"private hosted zone {path.zone_id} ({path.name}) is associated with {list(path.zone_vpcs)}, not "
            f"{vpce.vpc_id}",
            _consumer_fix(ctx, f"pVPCID={vpce.vpc_id}"),
        )
    targets = [t for t in path.zone_targets if t in vpce.dns_names]
    if targets:
        return ok(f"private hosted zone {path.zone_id} resolves {path.name} to {vpce.id} ({targets[0]})")
    shown = ", ".join(path.zone_targets) or "no A alias record"
    return bad(
        f"private hosted zone {path.zone_id} points {path.name} at {shown}, not at endpoint {vpce.id}",
        _consumer_fix(ctx, "the endpoint it uses (the stack writes the alias record to its own endpoint)"),
    )


def endpoint_policy(ctx: ClientContext) -> Outcome:
    """The consumer's endpoint policy allows the domain's execute-api ARN (a domain call is checked against it)."""
    path, vpce, signer = _path(ctx), required(ctx.consumer.endpoint, "endpoint"), required(ctx.signer, "signer")
    parts = _arn(path)
    if parts is None:
        return bad(f"{ARN_PARAMETER} {path.arn!r} is not a domain name ARN", _consumer_fix(ctx, f"{ARN_PARAMETER}"))
    decision = decide_endpoint(
        principal=signer, resource_arn=parts.execute_api, endpoint_policy=vpce.policy, context=ctx.source_context
    )
    if decision.allowed:
        return ok(f"the policy of {vpce.id} allows {signer.arn} to invoke {parts.execute_api}")
    return bad(
        decision.message(mask=False),
        _consumer_fix(ctx, f"{ARN_PARAMETER}={path.arn} (its endpoint policy then names the domain)"),
    )


def _principal_names(principal: str, account: str, org_id: str | None) -> bool:
    """A RAM principal naming the account, or its organization or one of its OUs (membership is not checked)."""
    return principal == account or f":{account}:" in principal or bool(org_id and f"/{org_id}" in principal)


def _provider_share_problem(ctx: ClientContext, path: DomainPath) -> Outcome | None:
    """The consumer names another domain than the provider's, or the provider's share names someone else."""
    account = path.consumer_account
    if path.provider_arn and path.provider_arn != path.arn:
        # Not the provider's domain: its share, association and policy are another domain's.
        return bad(
            f"the consumer's {ARN_PARAMETER} is {path.arn} but the provider's domain is {path.provider_arn}",
            _consumer_fix(ctx, f"{ARN_PARAMETER}={path.provider_arn}"),
        )
    if path.share_principals is not None and not any(
        _principal_names(p, account, path.consumer_org_id) for p in path.share_principals
    ):
        return bad(
            f"share {path.share_arn} names {', '.join(path.share_principals) or 'nobody'}, not account {account} "
            "or its organization",
            f"the provider re-runs {_DEPLOY} with --share-principals {account} (its pPrivateDomainSharePrincipals)",
        )
    return None


def _invitation_problem(path: DomainPath) -> Outcome | None:
    """The consumer's invitation to the provider's share is PENDING, EXPIRED or REJECTED."""
    statuses = {status: arn for arn, status in path.invitations or ()}
    if "PENDING" in statuses:
        return bad(
            f"the RAM invitation {statuses['PENDING']} for share {path.share_arn} is PENDING: the consumer has not "
            "accepted it",
            f"aws ram accept-resource-share-invitation --resource-share-invitation-arn {statuses['PENDING']} "
            f"--profile {path.consumer_profile or '<consumer>'} --region {path.region} ({_DEPLOY} does this); the "
            "invitation expires 12 hours after the share",
        )
    turned = [s for s in ("EXPIRED", "REJECTED") if s in statuses]
    if turned:
        return bad(
            f"the RAM invitation for share {path.share_arn} is {turned[0]}",
            "the provider shares the domain again (a new share: update its stack, or ram associate-resource-share), "
            f"then the consumer accepts it ({_DEPLOY} does both)",
        )
    return None


def share(ctx: ClientContext) -> Outcome:
    """The provider's RAM share names the consumer (account or organization) and the consumer accepted it."""
    path = _path(ctx)
    account = path.consumer_account
    problem = _provider_share_problem(ctx, path)
    if problem is not None:
        return problem
    if path.shared:
        via = f" by share {path.share_arn}" if path.share_arn else ""
        return ok(f"{path.arn} is shared with account {account}{via}")
    problem = _invitation_problem(path)
    if problem is not None:
        return problem
    if path.shared is False:
        return bad(
            f"{path.arn} is not among the resources shared with account {account} (ram list-resources "
            "--resource-owner OTHER-ACCOUNTS)",
            f"the provider shares it with {account} ({_DEPLOY}, --share-principals), then the consumer accepts",
        )
    return not_read(
        "the RAM resources shared with this account",
        path.errors.get("shared-resources"),
        permission="ram:ListResources and ram:GetResourceShareInvitations",
        profile=path.consumer_profile or "<consumer>",
    )


def association(ctx: ClientContext) -> Outcome:
    """The consumer's execute-api endpoint has a domain name access association with the domain."""
    path, vpce = _path(ctx), required(ctx.consumer.endpoint, "endpoint")
    if path.associations is None:
        return not_read(
            "the account's domain name access associations",
            path.errors.get("associations"),
            permission="apigateway:GET on /domainnameaccessassociations",
            profile=path.consumer_profile or ctx.consumer.profile,
        )
    mine = [a for a in path.associations if a.domain_arn == path.arn]
    if any(a.source == vpce.id for a in mine):
        return ok(f"endpoint {vpce.id} has an access association with {path.arn}")
    others = f" (associated: {', '.join(a.source for a in mine)})" if mine else ""
    return bad(
        f"no domain name access association of endpoint {vpce.id} with {path.arn}{others}: API Gateway refuses "
        "calls through the domain from it",
        f"re-run {_DEPLOY} (the consumer stack creates the association once the share is accepted; it takes up to "
        "15 minutes)",
    )


def _provider_domain_problem(ctx: ClientContext, path: DomainPath) -> Outcome | None:
    """The provider's domain: deployed, the one the consumer names, readable, PRIVATE (None when all is well)."""
    stack = ctx.collected.provider_stack
    if not path.provider_arn:
        return bad(
            f"stack {stack} has no {ARN_OUTPUT} output: the provider has no private custom domain",
            f"the provider deploys with {_DEPLOY} (pEnablePrivateDomain=Yes)",
        )
    if path.provider_arn != path.arn:
        return bad(
            f"the consumer's {ARN_PARAMETER} is {path.arn} but the provider's domain is {path.provider_arn}",
            _consumer_fix(ctx, f"{ARN_PARAMETER}={path.provider_arn}"),
        )
    if path.domain_found is False:
        return bad(f"domain {path.arn} does not exist", f"update stack {stack} ({_DEPLOY}) to re-create it")
    if path.domain_found is None:
        return not_read(
            f"domain {path.name}",
            path.errors.get("domain"),
            permission="apigateway:GET on the domain name",
            profile=path.provider_profile or "<provider>",
        )
    if "PRIVATE" not in path.endpoint_types:
        return bad(
            f"domain {path.name} is {'/'.join(path.endpoint_types) or 'of unknown type'}, not PRIVATE",
            f"deploy the provider from this kit's template ({_DEPLOY}): its domain is PRIVATE",
        )
    return None


def domain_policy(ctx: ClientContext) -> Outcome:
    """The provider's domain is private and its own policy admits the signer through this endpoint."""
    path, vpce, signer = _path(ctx), required(ctx.consumer.endpoint, "endpoint"), required(ctx.signer, "signer")
    problem = _provider_domain_problem(ctx, path)
    if problem is not None:
        return problem
    parts = required(_arn(path), "domain ARN")
    if "domain-policy" in path.errors:
        return unknown(path.errors["domain-policy"], "a manual review of the domain's policy")
    policy = expand_domain_policy(path.policy, domain_arn=parts.execute_api) if path.policy is not None else None
    decision = decide_domain(
        principal=signer, domain_arn=parts.execute_api, domain_policy=policy, context=ctx.source_context
    )
    if decision.allowed:
        return ok(
            f"the policy of private domain {path.name} admits {signer.arn} through {vpce.id} (the API's resource "
            "policy must allow as well: resource-policy)"
        )
    sids = decision.deny_sids or decision.allow_sids
    detail = decision.message(mask=False) + (f" (statements {', '.join(sids)})" if sids else "")
    listed = condition_values(path.policy, decision.deny_sids, "aws:SourceVpce")
    if listed:
        fix = (
            f"endpoint {vpce.id} is not in the domain policy's list [{', '.join(listed)}]: re-run ./deploy-all.sh, "
            f"or add it to pAllowedVPCEndpoints on stack {ctx.collected.provider_stack} (the template writes the "
            "domain's policy from it)"
        )
    else:
        fix = f"update stack {ctx.collected.provider_stack} ({_DEPLOY}): its template writes the domain's policy"
    return bad(detail, fix)


def base_path(ctx: ClientContext) -> Outcome:
    """The base path the clients call (API_PREFIX) is mapped to the provider's API and stage."""
    path = _path(ctx)
    calls = ctx.env("API_PREFIX").strip("/")
    shown = f"/{calls}" if calls else "the root"
    if path.mappings is None:
        return not_read(
            f"the base path mappings of {path.name}",
            path.errors.get("base-paths"),
            permission="apigateway:GET on the domain's base path mappings",
            profile=path.provider_profile or "<provider>",
        )
    mapped = [m for m in path.mappings if m.base_path == calls]
    api, stage = ctx.target.api_id, ctx.target.stage
    if not mapped:
        listed = ", ".join(m.base_path or _ROOT for m in path.mappings) or "nothing"
        wanted = (path.mappings[0].base_path or "None") if path.mappings else "<provider pPrivateDomainBasePath>"
        return bad(
            f"the clients call {shown} on {path.name}, but the domain maps {listed}: API Gateway finds no API for "
            "the call",
            _consumer_fix(ctx, f"{BASE_PARAMETER}={wanted} (the provider's pPrivateDomainBasePath)"),
        )
    mapping = mapped[0]
    where = f"{mapping.base_path or _ROOT} -> API {mapping.api_id} stage {mapping.stage}"
    if (mapping.api_id, mapping.stage) != (api, stage):
        return bad(
            f"{path.name} maps {where}, not the provider's API {api} stage {stage}",
            f"update stack {ctx.collected.provider_stack} ({_DEPLOY}): its mapping names the stack's own API",
        )
    return ok(f"{path.name} maps {where}")
