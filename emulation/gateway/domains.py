"""Private custom domain names of the emulated API Gateway, their base path mappings and access associations.

What API Gateway keeps (developer guide, "Custom domain names for private APIs"): a domain (name, id, owner account,
its execute-api `policy`) maps base paths to an API's stage; a VPC endpoint may invoke it only through a domain name
access association, made by the endpoint's account with the owner's consent (same account, or a RAM share naming the
consumer). One endpoint cannot invoke two domains of the same name. RAM's invitation and acceptance are not emulated:
a share listing the consumer counts as accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from iampolicy import authz
from iampolicy.policy import Policy

__all__ = ["Association", "AssociationRefused", "DomainRegistry", "PrivateDomain", "Share", "admit_association"]

_ORGANIZATION_ARN = re.compile(r"^arn:[\w-]+:organizations::\d{12}:organization/(o-[a-z0-9]+)$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class PrivateDomain:
    """One private custom domain name: `mappings` maps a base path ("" is the root) to (api id, stage)."""

    name: str
    domain_id: str
    account: str
    region: str
    certificate_arn: str
    policy: Policy | None  # None: the deny-all policy API Gateway provisions for a domain created without one
    mappings: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    partition: str = "aws"

    def __post_init__(self) -> None:
        if self.name != self.name.lower() or "*" in self.name:
            # The template's pattern: lower-case, no wildcard (API Gateway refuses wildcard private domain names).
            raise ValueError(f"private domain name {self.name!r} must be lower-case and not a wildcard")

    @property
    def arn(self) -> str:
        """The domain's apigateway ARN as API Gateway gives it once created (owner account and domain id)."""
        return f"arn:{self.partition}:apigateway:{self.region}:{self.account}:/domainnames/{self.name}+{self.domain_id}"

    @property
    def execute_api_arn(self) -> str:
        """The execute-api-domain ARN: what endpoint and domain policies are evaluated on."""
        return authz.domain_execute_api_arn(
            region=self.region, account=self.account, name=self.name, domain_id=self.domain_id, partition=self.partition
        )

    def expanded_policy(self) -> dict[str, Any] | None:
        """The policy with `execute-api:/*` rewritten to this domain's ARN, as API Gateway stores it."""
        if self.policy is None:
            return None
        return authz.expand_domain_policy(self.policy, domain_arn=self.execute_api_arn)

    def mapping_for(self, path: str) -> tuple[str, str, str] | None:
        """(base path, api id, stage) for a request path: its first segment's mapping, else the root's, else None.

        Base paths are one segment (multi-level paths need routing rules, which this emulation does not model).
        """
        first = path.lstrip("/").split("/", 1)[0]
        if first and first in self.mappings:
            return (first, *self.mappings[first])
        if "" in self.mappings:
            return ("", *self.mappings[""])
        return None


@dataclass(frozen=True)
class Association:
    """A domain name access association of one VPC endpoint; a provider's rejection keeps it but stops it."""

    vpce_id: str
    domain_arn: str
    rejected: bool = False


@dataclass(frozen=True)
class Share:
    """A RAM resource share of a domain: account ids and organization ARNs that may associate with it."""

    domain_arn: str
    principals: tuple[str, ...]


class AssociationRefused(ValueError):
    """API Gateway would not create this association (not the owner, not shared, or a same-name domain)."""


def admit_association(
    domain: PrivateDomain,
    *,
    vpce_id: str,
    vpce_account: str,
    org_id: str | None,
    shares: Iterable[Share],
) -> Association:
    """The association the endpoint's account may create: own domain, or one a share names its account or org for."""
    if vpce_account == domain.account:
        return Association(vpce_id, domain.arn)
    for share in shares:
        if share.domain_arn != domain.arn:
            continue
        for principal in share.principals:
            if _ACCOUNT_ID.match(principal):
                if principal == vpce_account:
                    return Association(vpce_id, domain.arn)
                continue
            organization = _ORGANIZATION_ARN.match(principal)
            if organization is None:
                # OU membership is not modelled: refuse rather than guess.
                raise AssociationRefused(f"share principal {principal!r}: only account ids and organizations")
            if org_id is not None and organization.group(1) == org_id:
                return Association(vpce_id, domain.arn)
    raise AssociationRefused(f"{domain.arn} is not shared with account {vpce_account}")


class DomainRegistry:
    """The domains API Gateway knows and the associations of every endpoint; immutable, replaced as a whole."""

    def __init__(self, domains: Iterable[PrivateDomain] = (), associations: Iterable[Association] = ()) -> None:
        self._domains = {d.arn: d for d in domains}
        self._associations = tuple(associations)
        live: set[tuple[str, str]] = set()
        for association in self._associations:
            domain = self._domains.get(association.domain_arn)
            if domain is None:
                raise AssociationRefused(f"association with unknown domain {association.domain_arn}")
            key = (association.vpce_id, domain.name)
            if not association.rejected and key in live:
                # Developer guide, considerations: "You can't invoke private custom domain names with the same name
                # from the same VPC endpoint".
                raise AssociationRefused(f"{association.vpce_id} is already associated with a domain named {key[1]}")
            if not association.rejected:
                live.add(key)
        self._names = frozenset(d.name for d in self._domains.values())

    @property
    def domains(self) -> tuple[PrivateDomain, ...]:
        """Every domain, in creation order."""
        return tuple(self._domains.values())

    @property
    def associations(self) -> tuple[Association, ...]:
        """Every association, rejected ones included."""
        return self._associations

    def serves(self, host: str) -> bool:
        """True when `host` is the name of a private custom domain (of any account)."""
        return host.lower() in self._names

    def associated(self, vpce_id: str, host: str) -> PrivateDomain | None:
        """The domain named `host` this endpoint may invoke: a live association, else None."""
        name = host.lower()
        for association in self._associations:
            domain = self._domains[association.domain_arn]
            if association.vpce_id == vpce_id and domain.name == name and not association.rejected:
                return domain
        return None

    def with_domain(self, domain: PrivateDomain) -> DomainRegistry:
        """A registry with this domain added or replaced (same ARN), e.g. after a policy or mapping update."""
        return DomainRegistry({**self._domains, domain.arn: domain}.values(), self._associations)

    def with_association(self, association: Association) -> DomainRegistry:
        """A registry with one more association."""
        return DomainRegistry(self._domains.values(), (*self._associations, association))

    def rejecting(self, vpce_id: str, domain_arn: str) -> DomainRegistry:
        """The provider's reject-domain-name-access-association: the association stays, refused."""
        changed = tuple(
            replace(a, rejected=True) if (a.vpce_id, a.domain_arn) == (vpce_id, domain_arn) else a
            for a in self._associations
        )
        return DomainRegistry(self._domains.values(), changed)
