"""The private custom domain name in a running deployment: what deploy-all.sh --domain would set up, on 127.0.0.1.

The provider is deployed with pEnablePrivateDomain=Yes (name, an ACM certificate ARN, base path v1, the domain shared
with the consumer account), every consumer stack with the provider's PrivateDomainNameArn (an access association of
its endpoint, a private hosted zone, the clients' API_HOST = the domain). What API Gateway then knows (domains, their
policies and base path mappings, the RAM shares, the associations) is read from the rendered resources into the
gateway's `DomainRegistry`; an association the share does not allow is refused, as API Gateway refuses to create it,
and recorded. RAM's invitation is not emulated: a share naming the account counts as accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cfnrender.stacks import Stack
from emulation.accounts.plan import CONSUMER, PRIVATE_DOMAIN_NAME, PROVIDER
from emulation.gateway.domains import (
    Association,
    AssociationRefused,
    DomainRegistry,
    PrivateDomain,
    Share,
    admit_association,
)

__all__ = [
    "BASE_PATH",
    "DOMAIN_NAME",
    "DomainState",
    "consumer_parameters",
    "domain_names",
    "private_domains",
    "provider_parameters",
    "registry",
    "shares",
]

DOMAIN_NAME = PRIVATE_DOMAIN_NAME
BASE_PATH = "v1"
# A made-up ACM certificate id: the emulation presents its own CA's certificate for DOMAIN_NAME (tls.py).
CERTIFICATE_ID = "5d1e0c2b-7a4f-4e9b-b1c3-2f6a8d0e9c71"


@dataclass(frozen=True)
class DomainState:
    """What API Gateway holds for the domain path, and the associations it refused to create, by consumer site."""

    registry: DomainRegistry
    refused: Mapping[str, str] = field(default_factory=dict)


def provider_parameters(region: str) -> dict[str, str]:
    """The provider's domain parameters, as deploy-all.sh --domain passes them (share principal: the consumer)."""
    return {
        "pEnablePrivateDomain": "Yes",
        "pPrivateDomainName": DOMAIN_NAME,
        "pPrivateDomainCertificateArn": f"arn:aws:acm:{region}:{PROVIDER}:certificate/{CERTIFICATE_ID}",
        "pPrivateDomainBasePath": BASE_PATH,
        "pPrivateDomainSharePrincipals": CONSUMER,
    }


def consumer_parameters(provider: Stack) -> dict[str, str]:
    """The consumer stacks' domain parameters, fed the provider's PrivateDomainNameArn and its mapping's base path."""
    outputs = provider.outputs
    if "PrivateDomainNameArn" not in outputs:
        raise ValueError("the provider stack has no private custom domain (pEnablePrivateDomain=No?)")
    (mapping,) = provider.rendered.of_type("AWS::ApiGateway::BasePathMappingV2").values()
    (domain,) = provider.rendered.of_type("AWS::ApiGateway::DomainNameV2").values()
    return {
        "pPrivateDomainName": str(domain["Properties"]["DomainName"]),
        "pPrivateDomainNameArn": str(outputs["PrivateDomainNameArn"]),
        "pPrivateDomainBasePath": str(mapping["Properties"].get("BasePath") or "None"),
    }


def private_domains(provider: Stack) -> list[PrivateDomain]:
    """Every DomainNameV2 of the provider stack with its policy and the base path mappings that name it."""
    rendered = provider.rendered
    mappings: dict[str, dict[str, tuple[str, str]]] = {}
    for mapping in rendered.of_type("AWS::ApiGateway::BasePathMappingV2").values():
        properties = mapping["Properties"]
        by_path = mappings.setdefault(str(properties["DomainNameArn"]), {})
        by_path[str(properties.get("BasePath") or "")] = (str(properties["RestApiId"]), str(properties["Stage"]))
    domains = []
    for logical_id, resource in rendered.of_type("AWS::ApiGateway::DomainNameV2").items():
        properties = resource["Properties"]
        arn = provider.physical_id(logical_id)
        domain = PrivateDomain(
            name=str(properties["DomainName"]),
            domain_id=str(provider.attribute(logical_id, "DomainNameId")),
            account=provider.account,
            region=provider.region,
            certificate_arn=str(properties["CertificateArn"]),
            policy=properties.get("Policy"),
            mappings=mappings.get(arn, {}),
            partition=arn.split(":", 2)[1],
        )
        if domain.arn != arn:
            raise ValueError(f"{logical_id}: {domain.name} is not the name the stack's ids were chosen with ({arn})")
        domains.append(domain)
    return domains


def shares(provider: Stack) -> list[Share]:
    """The provider's RAM shares of its domains: one Share per shared resource ARN, with the share's principals."""
    found: list[Share] = []
    for resource in provider.rendered.of_type("AWS::RAM::ResourceShare").values():
        properties = resource["Properties"]
        principals = tuple(str(p) for p in properties.get("Principals", []))
        found.extend(Share(str(arn), principals) for arn in properties.get("ResourceArns", []))
    return found


def _associations(stack: Stack) -> list[tuple[str, str]]:
    """(domain ARN, endpoint id) of each DomainNameAccessAssociation in a consumer stack."""
    return [
        (str(resource["Properties"]["DomainNameArn"]), str(resource["Properties"]["AccessAssociationSource"]))
        for resource in stack.rendered.of_type("AWS::ApiGateway::DomainNameAccessAssociation").values()
    ]


def registry(provider: Stack, consumers: Mapping[str, Stack], org_ids: Mapping[str, str]) -> DomainState:
    """The domains and the associations API Gateway would hold after these stacks' deployment.

    A consumer stack's association is created only when API Gateway admits it (own domain, or a share naming the
    account or its organization); otherwise that creation fails, and the refusal is recorded by site.
    """
    domains = {domain.arn: domain for domain in private_domains(provider)}
    shared = shares(provider)
    admitted: list[Association] = []
    refused: dict[str, str] = {}
    for site, stack in consumers.items():
        for domain_arn, vpce_id in _associations(stack):
            domain = domains.get(domain_arn)
            if domain is None:
                refused[site] = f"no private custom domain {domain_arn}"
                continue
            try:
                admitted.append(
                    admit_association(
                        domain,
                        vpce_id=vpce_id,
                        vpce_account=stack.account,
                        org_id=org_ids.get(stack.account),
                        shares=shared,
                    )
                )
            except AssociationRefused as error:
                refused[site] = str(error)
    return DomainState(DomainRegistry(domains.values(), admitted), refused)


def _alias_target(record: Mapping[str, Any]) -> str:
    return str(record["Properties"].get("AliasTarget", {}).get("DNSName", "")).rstrip(".").lower()


def domain_names(consumers: Mapping[str, Stack], ports: Mapping[str, int], vpc_id: str | None) -> dict[str, int]:
    """Names a function in `vpc_id` resolves through a consumer's private hosted zone, each to its endpoint's port.

    A zone answers only in the VPCs it is associated with; its alias record points at an execute-api endpoint's
    regional DNS name, which is that endpoint's listener here (`ports`: listener port by endpoint id).
    """
    if vpc_id is None:
        return {}
    by_dns_name = {
        name: ports[endpoint.vpce_id]
        for stack in consumers.values()
        for endpoint in stack.endpoints()
        if endpoint.vpce_id in ports
        for name in endpoint.dns_names
    }
    view: dict[str, int] = {}
    for stack in consumers.values():
        rendered = stack.rendered
        for logical_id, zone in rendered.of_type("AWS::Route53::HostedZone").items():
            if vpc_id not in {str(v.get("VPCId")) for v in zone["Properties"].get("VPCs", [])}:
                continue
            zone_id = stack.physical_id(logical_id)
            for record in rendered.of_type("AWS::Route53::RecordSet").values():
                target = _alias_target(record)
                if record["Properties"].get("HostedZoneId") == zone_id and target in by_dns_name:
                    view[str(record["Properties"]["Name"]).rstrip(".").lower()] = by_dns_name[target]
    return view
