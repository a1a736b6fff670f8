"""Calling through a private custom domain: the same client with API_HOST = the domain, and hints for its refusals."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from client.config import load_config
from client.diagnosis import forbidden_hint, transport_failure
from client.invoke import Invoker, build_direct_invoker
from client.transport import RetryPolicy, TransportError, TransportFailure
from tests.unit.client.support import SECRET_KEY, FakeLambdaContext, Reply, ScriptedHTTPSServer

DOMAIN = "orders.example.com"
DOMAIN_RESOURCE = "arn:aws:execute-api:us-east-1:111111111111:/domainnames/orders.example.com+a1b2c3d4"
CALLER = "User: arn:aws:sts::222222222222:assumed-role/r/s is not authorized to perform: execute-api:Invoke on resource"


@pytest.mark.parametrize("prefix", [{}, {"API_PREFIX": ""}, {"API_PREFIX": "/"}])
def test_load_config_domain_with_root_mapping_has_empty_prefix(prefix: dict[str, str]) -> None:
    # GIVEN the variables the template sets for a domain mapped at its root (API_PREFIX absent, or empty by hand)
    env = {"API_HOST": DOMAIN, "AWS_REGION": "us-east-1", **prefix}
    # WHEN loaded
    config = load_config(env)
    # THEN the paths go to the root of the domain, which is also where the client connects
    assert (config.api_host, config.api_prefix, config.endpoint) == (DOMAIN, "", f"https://{DOMAIN}")


@pytest.mark.parametrize(("prefix", "target"), [("/v1", "/v1/items/7"), ("", "/items/7")])
def test_invoke_through_a_domain_signs_the_domain_host_and_the_base_path(
    client_env: dict[str, str],
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
    verify_sigv4: Callable[..., bool],
    prefix: str,
    target: str,
) -> None:
    # GIVEN the direct client configured for a domain (base path /v1, or a root mapping), connecting to the test
    # server the way it connects to the endpoint's own name with private DNS off
    built = build_direct_invoker({**client_env, "API_HOST": DOMAIN, "API_PREFIX": prefix})
    invoker = Invoker(built.config, built.credentials, retry=RetryPolicy(max_attempts=1))
    api_server.script = [Reply(200, '{"id": "7"}')]
    # WHEN it is invoked
    result = invoker.invoke({"path": "/items/7"}, lambda_context)
    # THEN the request carries Host = the domain and the base path, and its signature covers both
    assert result["statusCode"] == 200
    (seen,) = api_server.received
    assert (seen.target, seen.headers["Host"]) == (target, DOMAIN)
    assert verify_sigv4(method="GET", target=seen.target, headers=seen.headers, body=seen.body, secret_key=SECRET_KEY)


def test_forbidden_hint_explicit_deny_on_the_domain_names_the_domain_policy() -> None:
    # GIVEN API Gateway's explicit-deny message on execute-api's ARN of the domain
    body = json.dumps({"message": f"{CALLER}: {DOMAIN_RESOURCE} with an explicit deny"})
    # WHEN classified
    hint = forbidden_hint(body, {})
    # THEN the hint points at the domain's policy and its endpoint list, not at the API's resource policy
    assert hint.startswith("The domain's policy rejects this VPC endpoint")
    assert "pAllowedVPCEndpoints" in hint


def test_forbidden_hint_endpoint_policy_without_the_domain_stays_an_endpoint_policy_hint() -> None:
    # GIVEN the consumer's endpoint policy allowing the API but not the domain (checked against the domain's ARN)
    body = json.dumps({"message": f"{CALLER}: {DOMAIN_RESOURCE} because no VPC endpoint policy allows it"})
    # WHEN classified / THEN it is the endpoint policy's refusal
    assert forbidden_hint(body, {}).startswith("Denied by the VPC endpoint policy")


def test_forbidden_hint_bare_forbidden_names_the_association_and_base_path() -> None:
    # GIVEN the bare 403 API Gateway answers when the endpoint has no association or the base path is not mapped
    hint = forbidden_hint(json.dumps({"message": "Forbidden"}), {"x-amzn-ErrorType": "ForbiddenException"})
    # WHEN classified / THEN the domain's two causes are named next to the others
    assert "no access association" in hint
    assert "base path API_PREFIX" in hint


def test_transport_failure_tls_names_api_host_as_the_certificate_name() -> None:
    # GIVEN a TLS failure while connecting to the domain itself (no API_ENDPOINT)
    failure = transport_failure(
        TransportError(TransportFailure.TLS, "hostname mismatch", attempts=1), custom_endpoint=False
    )
    # THEN the hint says the certificate must cover API_HOST (the domain's certificate)
    assert "API_ENDPOINT (or API_HOST) must be a name the server certificate covers" in failure.hint
