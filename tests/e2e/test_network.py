"""How clients reach the API: private DNS, the endpoint's own name, the {api-id}-{vpce-id} alias, nothing else."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulation.accounts.two_accounts import MAIN, TwoAccounts
from tests.e2e.helpers import call


@pytest.fixture(scope="module")
def private_dns_off(env: TwoAccounts) -> Iterator[None]:
    """The consumer stacks redeployed once with pEnablePrivateDNS=False for the tests that need it."""
    env.redeploy_consumers({"pEnablePrivateDNS": "False"})
    yield
    env.redeploy_consumers({"pEnablePrivateDNS": "True"})


def _alias(env: TwoAccounts) -> str:
    return f"{env.names.api_id}-{env.names.endpoints[MAIN]}.execute-api.{env.region}.amazonaws.com"


def test_network_sandbox_resolves_no_outside_name(env: TwoAccounts) -> None:
    # GIVEN a client pointed at a public host name
    # WHEN it calls the API there
    result = call(env, "direct", "GET", "/", env={"API_ENDPOINT": "https://example.com"})
    # THEN the name does not resolve inside the emulated VPC: nothing leaves 127.0.0.1
    assert result.status == 502
    assert result.payload["error"].startswith("DNS lookup of example.com failed")


@pytest.mark.usefixtures("private_dns_off")
def test_network_private_dns_off_client_reaches_api_by_endpoint_name(env: TwoAccounts) -> None:
    # GIVEN the consumer stack without private DNS (the template then sets API_ENDPOINT to the endpoint's name)
    # WHEN the direct client calls the API
    result = call(env, "direct", "GET", "/")
    # THEN it connects to the endpoint's DNS name, still signs the API host, and gets in
    assert result.status == 200, result.payload
    assert result.json()["vpceId"] == env.names.endpoints[MAIN]


@pytest.mark.usefixtures("private_dns_off")
def test_network_private_dns_off_api_host_does_not_resolve(env: TwoAccounts) -> None:
    # GIVEN private DNS off and API_ENDPOINT emptied (the client then connects to the API host itself)
    # WHEN the direct client calls the API
    result = call(env, "direct", "GET", "/", env={"API_ENDPOINT": ""})
    # THEN the API host does not resolve in that VPC and the client explains it
    assert result.status == 502
    assert result.payload["error"].startswith(f"DNS lookup of {env.names.api_host} failed")


@pytest.mark.usefixtures("private_dns_off")
def test_network_alias_without_association_does_not_resolve(env: TwoAccounts) -> None:
    # GIVEN private DNS off (with it on, the VPC's *.execute-api zone answers any name) and an API that does not
    # list the main endpoint (pAssociateVPCEndpoints=No); new sandboxes: a connection kept from a test that ran with the
    # association would still reach the listener without a DNS lookup
    env.recycle_functions("direct", MAIN)
    # WHEN the direct client is pointed at the {api-id}-{vpce-id} name
    result = call(env, "direct", "GET", "/", env={"API_ENDPOINT": f"https://{_alias(env)}"})
    # THEN the name does not exist
    assert result.status == 502
    assert result.payload["error"].startswith(f"DNS lookup of {_alias(env)} failed")


@pytest.mark.usefixtures("private_dns_off", "restore_provider")
def test_network_alias_with_association_reaches_api(env: TwoAccounts) -> None:
    # GIVEN private DNS off and the provider redeployed with pAssociateVPCEndpoints=Yes (VPCEndpointIds lists the
    # main endpoint, so the public {api-id}-{vpce-id} record exists)
    env.redeploy_provider({"pAssociateVPCEndpoints": "Yes"})
    # WHEN the direct client is pointed at that name
    result = call(env, "direct", "GET", "/", env={"API_ENDPOINT": f"https://{_alias(env)}"})
    # THEN the alias resolves to the main endpoint and the call succeeds
    assert result.status == 200, result.payload
    assert result.json()["vpceId"] == env.names.endpoints[MAIN]
