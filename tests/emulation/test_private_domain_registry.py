"""The private custom domain registry (associations, shares, base paths) and the domain policy decision, offline."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from emulation.gateway.domains import (
    Association,
    AssociationRefused,
    DomainRegistry,
    PrivateDomain,
    Share,
    admit_association,
)
from iampolicy import authz
from iampolicy.authz import ANONYMOUS, Principal, Reason
from iampolicy.policy import UnsupportedPolicyError
from tests.emulation.helpers import API_ID, CONSUMER, OTHER, PROVIDER, REGION

VPCE = "vpce-0a11000000000a11d"
ORG_ARN = f"arn:aws:organizations::{PROVIDER}:organization/o-abc123def4"


def domain(
    name: str = "orders.example.internal", domain_id: str = "abcd1234", account: str = PROVIDER
) -> PrivateDomain:
    """A domain with base path v1 and a root mapping."""
    return PrivateDomain(
        name=name,
        domain_id=domain_id,
        account=account,
        region=REGION,
        certificate_arn=f"arn:aws:acm:{REGION}:{account}:certificate/0000",
        policy={"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "*"}]},
        mappings={"v1": (API_ID, "Prod"), "": ("rootapi", "Live")},
    )


def test_domain_arns_use_the_owner_account_and_domain_id() -> None:
    # GIVEN a domain WHEN its ARNs are read THEN both carry NAME+ID and the owner (design section 7 contract)
    d = domain()
    assert d.arn == f"arn:aws:apigateway:{REGION}:{PROVIDER}:/domainnames/orders.example.internal+abcd1234"
    assert d.execute_api_arn == f"arn:aws:execute-api:{REGION}:{PROVIDER}:/domainnames/orders.example.internal+abcd1234"


@pytest.mark.parametrize("name", ["Orders.example.internal", "*.example.internal"])
def test_domain_name_must_be_lower_case_and_not_a_wildcard(name: str) -> None:
    with pytest.raises(ValueError, match="lower-case and not a wildcard"):
        domain(name)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/v1/items", ("v1", API_ID, "Prod")),
        ("/v1", ("v1", API_ID, "Prod")),
        ("/v2/items", ("", "rootapi", "Live")),
        ("/", ("", "rootapi", "Live")),
    ],
)
def test_mapping_for_takes_the_first_segment_then_the_root(path: str, expected: tuple[str, str, str]) -> None:
    assert domain().mapping_for(path) == expected


def test_mapping_for_without_root_mapping_is_none() -> None:
    d = dataclasses.replace(domain(), mappings={"v1": (API_ID, "Prod")})
    assert d.mapping_for("/v2/items") is None


def test_registry_finds_the_domain_only_through_a_live_association() -> None:
    # GIVEN one association of VPCE WHEN looked up by name THEN found for VPCE only, case-insensitively
    d = domain()
    registry = DomainRegistry([d], [Association(VPCE, d.arn)])
    assert registry.serves("ORDERS.example.internal")
    assert registry.associated(VPCE, "Orders.Example.Internal") == d
    assert registry.associated("vpce-0other", d.name) is None
    assert not registry.serves("other.example.internal")
    # AND a rejected association no longer reaches it
    assert registry.rejecting(VPCE, d.arn).associated(VPCE, d.name) is None


def test_registry_refuses_two_live_domains_of_one_name_on_one_endpoint() -> None:
    # GIVEN two accounts' domains with the same name (allowed: names need not be unique across accounts)
    mine, theirs = domain(), domain(domain_id="ffff0000", account=OTHER)
    registry = DomainRegistry([mine, theirs], [Association(VPCE, mine.arn)])
    # WHEN the endpoint associates with the second THEN refused (AWS: such domains cannot be invoked from the same
    # endpoint; refusing at association time, not at call time, is the emulation's modelling choice)
    with pytest.raises(AssociationRefused, match="already associated"):
        registry.with_association(Association(VPCE, theirs.arn))
    # AND after the first is rejected the second is accepted and is the one reached
    switched = registry.rejecting(VPCE, mine.arn).with_association(Association(VPCE, theirs.arn))
    assert switched.associated(VPCE, mine.name) == theirs


def test_registry_refuses_an_association_with_an_unknown_domain() -> None:
    with pytest.raises(AssociationRefused, match="unknown domain"):
        DomainRegistry([], [Association(VPCE, domain().arn)])


def test_with_domain_replaces_a_domain_of_the_same_arn() -> None:
    # GIVEN a registry WHEN the domain's policy changes THEN the association now reaches the new version
    d = domain()
    registry = DomainRegistry([d], [Association(VPCE, d.arn)])
    updated = dataclasses.replace(d, policy=None)
    assert registry.with_domain(updated).associated(VPCE, d.name) == updated
    assert len(registry.with_domain(updated).domains) == 1


def test_admit_association_owner_account_needs_no_share() -> None:
    assert admit_association(domain(), vpce_id=VPCE, vpce_account=PROVIDER, org_id=None, shares=[]) == Association(
        VPCE, domain().arn
    )


def test_admit_association_needs_a_share_naming_the_account_or_its_organization() -> None:
    d = domain()
    # GIVEN no share THEN the consumer account cannot associate
    with pytest.raises(AssociationRefused, match="not shared with account"):
        admit_association(d, vpce_id=VPCE, vpce_account=CONSUMER, org_id=None, shares=[])
    # GIVEN a share naming another account THEN still refused
    other = Share(d.arn, (OTHER,))
    with pytest.raises(AssociationRefused):
        admit_association(d, vpce_id=VPCE, vpce_account=CONSUMER, org_id=None, shares=[other])
    # GIVEN a share naming the account, or the account's organization THEN admitted
    by_account = Share(d.arn, (OTHER, CONSUMER))
    assert admit_association(d, vpce_id=VPCE, vpce_account=CONSUMER, org_id=None, shares=[by_account]).vpce_id == VPCE
    by_org = Share(d.arn, (ORG_ARN,))
    assert admit_association(d, vpce_id=VPCE, vpce_account=CONSUMER, org_id="o-abc123def4", shares=[by_org])
    with pytest.raises(AssociationRefused):
        admit_association(d, vpce_id=VPCE, vpce_account=CONSUMER, org_id="o-zzz", shares=[by_org])
    # GIVEN a share of another domain THEN it does not count
    elsewhere = Share(domain(domain_id="ffff0000").arn, (CONSUMER,))
    with pytest.raises(AssociationRefused):
        admit_association(d, vpce_id=VPCE, vpce_account=CONSUMER, org_id=None, shares=[elsewhere])


def test_admit_association_refuses_to_guess_ou_membership() -> None:
    ou = Share(domain().arn, (f"arn:aws:organizations::{PROVIDER}:ou/o-abc123def4/ou-ab12-cd34ef56",))
    with pytest.raises(AssociationRefused, match="only account ids and organizations"):
        admit_association(domain(), vpce_id=VPCE, vpce_account=CONSUMER, org_id="o-abc123def4", shares=[ou])


CALLER = Principal(arn=f"arn:aws:sts::{CONSUMER}:assumed-role/r/fn", account=CONSUMER, role_arn="x")
DOMAIN_ARN = domain().execute_api_arn


def _aws_domain_policy(endpoints: list[str]) -> dict[str, Any]:
    return authz.expand_domain_policy(
        {
            "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": ["execute-api:/*"]},
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "execute-api:Invoke",
                    "Resource": "execute-api:/*",
                    "Condition": {"StringNotEquals": {"aws:SourceVpce": endpoints}},
                },
            ]
        },
        domain_arn=DOMAIN_ARN,
    )


def test_expand_domain_policy_names_the_domain() -> None:
    # The emulation stores execute-api:/* as the domain's ARN (a modelling choice: docs/private-domain.md item 14)
    expanded = _aws_domain_policy([VPCE])
    assert [s["Resource"] for s in expanded["Statement"]] == [[DOMAIN_ARN], DOMAIN_ARN]


def test_expand_domain_policy_refuses_other_shorthand() -> None:
    policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "execute-api:/v1/*"}]}
    with pytest.raises(UnsupportedPolicyError, match="only execute-api:/\\* is modelled"):
        authz.expand_domain_policy(policy, domain_arn=DOMAIN_ARN)


@pytest.mark.parametrize("principal", [CALLER, ANONYMOUS])
def test_decide_domain_listed_endpoint_allowed_other_explicitly_denied(principal: Principal) -> None:
    policy = _aws_domain_policy([VPCE])
    allowed = authz.decide_domain(
        principal=principal, domain_arn=DOMAIN_ARN, domain_policy=policy, context={"aws:SourceVpce": VPCE}
    )
    denied = authz.decide_domain(
        principal=principal, domain_arn=DOMAIN_ARN, domain_policy=policy, context={"aws:SourceVpce": "vpce-0other"}
    )
    assert (allowed.allowed, denied.reason, denied.policy_kind) == (
        True,
        Reason.EXPLICIT_DENY,
        authz.PolicyKind.RESOURCE,
    )
    assert denied.message().endswith(
        "/domainnames/orders.example.internal+abcd1234 with an explicit deny in a resource-based policy"
    )


def test_decide_domain_without_policy_is_deny_all() -> None:
    decision = authz.decide_domain(principal=CALLER, domain_arn=DOMAIN_ARN, domain_policy=None)
    assert (decision.allowed, decision.reason) == (False, Reason.NO_RESOURCE_ALLOW)
