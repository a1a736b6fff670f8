"""The private custom domain name in the two-account emulation (TwoAccounts.start(domain=True)), real client Lambdas.

Deployed as deploy-all.sh --domain would: the provider's domain (base path v1, its policy from pAllowedVPCEndpoints,
shared with the consumer account), every consumer stack's association and hosted zone, the IAM clients' API_HOST =
the domain. Success for both clients (the backend sees the route without the base path); refusals as API Gateway
answers them: no association (a site whose association the share does not allow, an association the provider
rejected), an endpoint the domain's policy does not list, an unknown base path; the execute-api host still works.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from emulation.accounts import domain
from emulation.accounts.two_accounts import MAIN, OTHER, OUTSIDER, TwoAccounts
from emulation.demo.scenario import Settings
from tests.e2e.conftest import SEED
from tests.e2e.helpers import call, session_arn_prefix

FORBIDDEN = {"message": "Forbidden"}
EXPLICIT_DENY = "with an explicit deny in a resource-based policy"


@pytest.fixture(scope="module")
def domain_env() -> Iterator[TwoAccounts]:
    """The demo's defaults plus the private custom domain (its own deployment: the session's `env` has none)."""
    accounts = TwoAccounts(seed=SEED + 17)
    settings = Settings()
    accounts.start(settings.provider_params(accounts.names), settings.consumer_params(), domain=True)
    yield accounts
    accounts.stop()


def _body(payload: Any) -> dict[str, Any]:
    assert isinstance(payload, dict), payload
    return json.loads(payload["body"])


def test_domain_clients_sign_for_the_domain_host_from_the_template(domain_env: TwoAccounts) -> None:
    # GIVEN the consumer stacks rendered with the provider's PrivateDomainNameArn
    direct = domain_env.consumer(MAIN).function_by_handler("client.direct_auth.handler")
    assert direct is not None
    # THEN the clients' API_HOST is the domain and their prefix the base path (the template's, not a constant here)
    assert direct.environment["API_HOST"] == domain.DOMAIN_NAME
    assert direct.environment["API_PREFIX"] == f"/{domain.BASE_PATH}"
    # AND the backend strips that base path (DOMAIN_BASE_PATH from the provider template)
    backend = domain_env.provider.function_by_handler("backend.app.handler")
    assert backend is not None
    assert backend.environment["DOMAIN_BASE_PATH"] == f"/{domain.BASE_PATH}"


@pytest.mark.parametrize("kind", ["direct", "assume_role"])
def test_domain_client_get_root_succeeds_through_the_domain(domain_env: TwoAccounts, kind: str) -> None:
    # GIVEN main's client calling https://<domain>/v1 (the hosted zone resolves it to main's endpoint)
    # WHEN it calls GET /
    result = call(domain_env, kind, "GET", "/")
    # THEN the backend answers as the client's session, through main's endpoint, over the domain's host
    assert result.status == 200, result.payload
    body = _body(result.payload)
    role = domain_env.names.access_role_arn if kind == "assume_role" else domain_env.names.client_role(MAIN, kind)
    assert body["userArn"].startswith(session_arn_prefix(role))
    assert body["vpceId"] == domain_env.endpoint_id(MAIN)


def test_domain_items_post_then_get_route_without_the_base_path(domain_env: TwoAccounts) -> None:
    # GIVEN the direct client through the domain WHEN it creates an item and reads it back, by id and in the list
    created = call(domain_env, "direct", "POST", "/items", {"name": "via the domain"})
    assert created.status == 201, created.payload
    item_id = _body(created.payload)["id"]
    fetched = call(domain_env, "direct", "GET", f"/items/{item_id}")
    listed = call(domain_env, "direct", "GET", "/items")
    # THEN each route answered (the event's path carried /v1, the backend routed without it)
    assert fetched.status == 200, fetched.payload
    assert _body(fetched.payload)["name"] == "via the domain"
    assert item_id in [item["id"] for item in _body(listed.payload)["items"]]


def test_domain_association_of_an_account_the_share_does_not_name_is_refused(domain_env: TwoAccounts) -> None:
    # GIVEN the outsider's stack, deployed with the same domain parameters, whose account the RAM share does not name
    # THEN API Gateway refused its association
    assert domain_env.domain_refusals == {
        OUTSIDER: f"{domain_env.provider.outputs['PrivateDomainNameArn']} is not shared with account "
        f"{domain_env.names.outsider}"
    }
    # AND its client, whose VPC still resolves the name to its endpoint, gets 403 Forbidden (no association)
    result = call(domain_env, "direct", "GET", "/", site=OUTSIDER)
    assert result.status == 403, result.payload
    assert _body(result.payload) == FORBIDDEN


def test_domain_endpoint_the_domain_policy_does_not_list_is_explicitly_denied(domain_env: TwoAccounts) -> None:
    # GIVEN the other site: same consumer account (its association admitted), endpoint not in pAllowedVPCEndpoints
    assert domain_env.domain_refusals.keys().isdisjoint({OTHER})
    # WHEN its direct client calls through the domain
    result = call(domain_env, "direct", "GET", "/", site=OTHER)
    # THEN the domain's policy denies it explicitly, on the domain's execute-api ARN
    assert result.status == 403, result.payload
    message = _body(result.payload)["Message"]
    assert message.endswith(EXPLICIT_DENY)
    assert f":/domainnames/{domain.DOMAIN_NAME}+" in message


def test_domain_rejected_association_is_forbidden(domain_env: TwoAccounts) -> None:
    # GIVEN the provider rejects main's association (reject-domain-name-access-association)
    gateway = domain_env.gateway
    before = gateway.domains
    arn = domain_env.provider.outputs["PrivateDomainNameArn"]
    gateway.set_domains(before.rejecting(domain_env.endpoint_id(MAIN), arn))
    try:
        # WHEN main's client calls through the domain
        result = call(domain_env, "direct", "GET", "/")
    finally:
        gateway.set_domains(before)
    # THEN 403 Forbidden, before any policy
    assert result.status == 403, result.payload
    assert _body(result.payload) == FORBIDDEN


def test_domain_unknown_base_path_is_forbidden(domain_env: TwoAccounts) -> None:
    # GIVEN main's client configured with a base path the provider does not map
    # WHEN it calls GET / (https://<domain>/v2)
    result = call(domain_env, "direct", "GET", "/", env={"API_PREFIX": "/v2"})
    # THEN 403 Forbidden
    assert result.status == 403, result.payload
    assert _body(result.payload) == FORBIDDEN


def test_domain_on_execute_api_host_still_works(domain_env: TwoAccounts) -> None:
    # GIVEN the domain deployed WHEN main's client calls the API's execute-api host and stage instead
    env = {"API_HOST": domain_env.names.api_host, "API_PREFIX": f"/{domain_env.names.stage}"}
    result = call(domain_env, "direct", "GET", "/items", env=env)
    # THEN it is answered as before the domain existed
    assert result.status == 200, result.payload
    assert "items" in _body(result.payload)


def test_domain_policy_update_lets_the_listed_endpoint_past_the_domain(domain_env: TwoAccounts) -> None:
    # GIVEN the provider updated so pAllowedVPCEndpoints (the domain's policy and the API's) also lists other's endpoint
    before = dict(domain_env.provider.parameters)
    listed = f"{domain_env.endpoint_id(MAIN)},{domain_env.endpoint_id(OTHER)}"
    domain_env.redeploy_provider({"pAllowedVPCEndpoints": listed})
    try:
        # WHEN other's direct client calls through the domain
        result = call(domain_env, "direct", "GET", "/", site=OTHER)
    finally:
        domain_env.redeploy_provider(before, replace_all=True)
    # THEN the domain's policy lets it through, and the API's policy refuses its unlisted role instead
    assert result.status == 403, result.payload
    message = _body(result.payload)["Message"]
    assert "because no resource-based policy allows the execute-api:Invoke action" in message, message
    assert "/domainnames/" not in message
