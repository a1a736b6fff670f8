"""The private custom domain's wiring into the two-account deployment (emulation/accounts/domain.py), without servers:
parameters, the registry read from the rendered stacks, share admission, and where the domain name resolves."""

from __future__ import annotations

import random

import pytest

from cfnrender.stacks import Stack
from emulation.accounts import domain
from emulation.accounts.plan import MAIN, OTHER, OUTSIDER, OUTSIDER_ACCOUNT, Plan, default_provider_params
from tests.emulation.helpers import REGION

PORTS = {"main": 44_401, "other": 44_402, "outsider": 44_403}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return Plan(REGION, random.Random(17))  # nosec B311 - resource ids


def _deploy(plan: Plan, provider_changes: dict[str, str] | None = None) -> tuple[Stack, dict[str, Stack]]:
    provider = plan.render_provider(
        {**default_provider_params(plan.names()), **domain.provider_parameters(REGION), **(provider_changes or {})}
    )
    return provider, plan.render_consumers(provider, domain.consumer_parameters(provider))


def _domain_arn(provider: Stack) -> str:
    return str(provider.outputs["PrivateDomainNameArn"])


@pytest.fixture(scope="module")
def deployed(plan: Plan) -> tuple[Stack, dict[str, Stack]]:
    return _deploy(plan)


def test_domain_registry_reads_the_rendered_domain_policy_and_mapping(deployed) -> None:
    provider, consumers = deployed
    # WHEN the registry is read from the rendered stacks
    (found,) = domain.registry(provider, consumers, {}).registry.domains
    # THEN the domain is the stack's (its ARN the output), mapping v1 to the API's stage, with the rendered policy
    assert found.arn == provider.outputs["PrivateDomainNameArn"]
    assert found.name == domain.DOMAIN_NAME
    assert dict(found.mappings) == {"v1": (provider.api().api_id, provider.api().stage)}
    resource = provider.rendered.resources["PrivateDomainName"]["Properties"]
    assert found.policy == resource["Policy"]


def test_domain_registry_admits_the_shared_account_and_refuses_the_outsider(deployed) -> None:
    provider, consumers = deployed
    # WHEN every consumer stack's association is offered to API Gateway
    state = domain.registry(provider, consumers, {})
    # THEN main's and other's (the consumer account the share names) exist; the outsider's is refused
    associated = {a.vpce_id for a in state.registry.associations}
    assert associated == {consumers[MAIN].endpoints()[0].vpce_id, consumers[OTHER].endpoints()[0].vpce_id}
    assert state.refused == {OUTSIDER: f"{_domain_arn(provider)} is not shared with account {OUTSIDER_ACCOUNT}"}


def test_domain_share_to_the_outsiders_organization_admits_it(plan: Plan) -> None:
    # GIVEN the domain shared with an organization the outsider account belongs to
    org = "o-exampleorg1"
    provider, consumers = _deploy(
        plan, {"pPrivateDomainSharePrincipals": f"arn:aws:organizations::111111111111:organization/{org}"}
    )
    # WHEN the associations are offered, the outsider in that organization
    state = domain.registry(provider, consumers, {OUTSIDER_ACCOUNT: org})
    # THEN only the consumer account's sites, outside the organization, are refused
    assert set(state.refused) == {MAIN, OTHER}


def test_domain_no_share_refuses_every_other_account(plan: Plan) -> None:
    # GIVEN the domain not shared (pPrivateDomainSharePrincipals None)
    provider, consumers = _deploy(plan, {"pPrivateDomainSharePrincipals": "None"})
    # THEN no consumer account may associate
    assert set(domain.registry(provider, consumers, {}).refused) == {MAIN, OTHER, OUTSIDER}


def test_domain_name_resolves_only_in_the_zone_vpc_to_its_endpoint(plan: Plan, deployed) -> None:
    _, consumers = deployed
    ports = {consumers[site].endpoints()[0].vpce_id: port for site, port in PORTS.items()}
    # THEN each site's VPC resolves the domain to its own endpoint's listener; outside any VPC it does not resolve
    for site, port in PORTS.items():
        assert domain.domain_names(consumers, ports, plan.sites[site].vpc_id) == {domain.DOMAIN_NAME: port}
    assert domain.domain_names(consumers, ports, None) == {}


def test_domain_without_hosted_zone_resolves_nowhere(plan: Plan, deployed) -> None:
    provider, _ = deployed
    consumers = plan.render_consumers(
        provider, {**domain.consumer_parameters(provider), "pCreatePrivateDomainHostedZone": "No"}
    )
    ports = {stack.endpoints()[0].vpce_id: 1 for stack in consumers.values()}
    assert domain.domain_names(consumers, ports, plan.sites[MAIN].vpc_id) == {}


def test_domain_consumer_parameters_follow_the_providers_base_path(plan: Plan) -> None:
    # GIVEN the provider maps the root (pPrivateDomainBasePath None)
    provider, _ = _deploy(plan, {"pPrivateDomainBasePath": "None"})
    # THEN the consumers are told None, and the ARN is the provider's output
    assert domain.consumer_parameters(provider) == {
        "pPrivateDomainName": domain.DOMAIN_NAME,
        "pPrivateDomainNameArn": _domain_arn(provider),
        "pPrivateDomainBasePath": "None",
    }


def test_domain_other_name_than_the_plans_is_refused_clearly(plan: Plan) -> None:
    # GIVEN a provider rendered with a domain name the plan's ids were not chosen with
    provider, _ = _deploy(plan, {"pPrivateDomainName": "elsewhere.example.com"})
    # THEN reading its domain says so instead of serving a domain whose ARN names another
    with pytest.raises(ValueError, match="is not the name the stack's ids were chosen with"):
        domain.private_domains(provider)


def test_domain_off_provider_has_no_domain_to_give_consumers(plan: Plan) -> None:
    provider = plan.render_provider(default_provider_params(plan.names()))
    assert domain.private_domains(provider) == []
    with pytest.raises(ValueError, match="pEnablePrivateDomain=No"):
        domain.consumer_parameters(provider)
