"""The certificate path's /mtls routes in the two-account emulation, with mTLS off (its default) and on.

Off: the routes are always in the definition (authorization NONE); DenyCertificatePathElsewhere (an explicit Deny
with no condition when mTLS is off) keeps every caller out, whatever it signs or forges. The IAM path is unchanged
and ignores forged certificate headers.
On (TwoAccounts.start(mtls=True)): the certificate client succeeds as its tenant; no certificate, an unknown CA, an
expired or a revoked certificate are refused in the load balancer's handshake; an unlisted subject by the backend;
forged headers are replaced (through the load balancer) or explicitly denied (through a consumer endpoint).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from cfnrender.render import load_template
from emulation.accounts.mtls import CLIENT_SECRET, SERVICE_DNS_NAME
from emulation.accounts.two_accounts import TwoAccounts
from emulation.alb.pki import ALLOWED_TENANTS, NOT_ALLOWED_SUBJECT, Issued
from emulation.demo.certificate import build_certificate_cases, certificate_client_case
from emulation.demo.scenario import Case, Settings
from tests.e2e.conftest import SEED
from tests.e2e.helpers import call, session_arn_prefix

REPO = Path(__file__).resolve().parents[2]
FORGED = {
    "X-Amzn-Mtls-Clientcert-Subject": "CN=tenant-a client,O=Tenant A",
    "X-Amzn-Mtls-Clientcert-Serial-Number": "01",
}
_BODY = load_template(REPO / "api-backend/api-backend.yaml")["Resources"]["BackendApi"]["Properties"]["DefinitionBody"]
pytestmark = pytest.mark.skipif(
    "/mtls/items" not in _BODY["paths"], reason="needs the provider template's /mtls routes (T1, issue 16)"
)
EXPLICIT_DENY = "with an explicit deny in a resource-based policy"


@pytest.mark.parametrize("path", ["/mtls", "/mtls/items"])
def test_mtls_route_unsigned_with_forged_headers_through_consumer_endpoint_is_explicitly_denied(
    env: TwoAccounts, path: str
) -> None:
    # GIVEN mTLS off WHEN an unsigned request with forged certificate headers goes through the consumer's endpoint
    reply = env.request("GET", path, headers=FORGED)
    # THEN the resource policy's explicit Deny answers before the backend runs
    assert reply.status == 403, reply.text
    assert reply.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert reply.json()["Message"].startswith("User: anonymous is not authorized")
    assert reply.json()["Message"].endswith(EXPLICIT_DENY)


def test_mtls_route_signed_iam_caller_is_explicitly_denied(env: TwoAccounts) -> None:
    # GIVEN the consumer's direct client credentials WHEN a signed request asks for /mtls/items
    reply = env.request("GET", "/mtls/items", credentials=env.lambda_credentials("main", "direct"), headers=FORGED)
    # THEN the route's authorization is NONE, so the caller is anonymous and meets the same explicit Deny
    assert reply.status == 403, reply.text
    assert reply.json()["Message"].endswith(EXPLICIT_DENY)


def test_iam_route_ignores_forged_certificate_headers(env: TwoAccounts) -> None:
    # GIVEN a signed IAM caller that also sends forged certificate headers WHEN it calls GET /
    credentials = env.lambda_credentials("main", "direct")
    reply = env.request("GET", "/", credentials=credentials, headers=FORGED)
    # THEN it is answered as its IAM session, exactly as without the headers
    assert reply.status == 200, reply.text
    assert reply.json()["userArn"].startswith(session_arn_prefix(env.names.client_role("main", "direct")))


# ---------------------------------------------------------------------------------------------- mTLS on
# The certificate path deployed as deploy-all.sh --mtls would (emulation/accounts/mtls.py): every refusal below is the
# real listener's TLS handshake failure or a 403 of the real pipeline or backend, read through the real client.
TLS_REFUSED = "TLS refused by the provider's load balancer: "


@pytest.fixture(scope="module")
def mtls_env() -> Iterator[TwoAccounts]:
    """The demo's defaults plus the certificate path (its own deployment: the session's `env` keeps mTLS off)."""
    accounts = TwoAccounts(seed=SEED + 16)
    settings = Settings()
    accounts.start(settings.provider_params(accounts.names), settings.consumer_params(), mtls=True)
    yield accounts
    accounts.stop()


def _certificate_call(env: TwoAccounts, secret: str, event: dict[str, Any]) -> dict[str, Any]:
    """The certificate client's answer with one of the test certificates (the function itself must not fail)."""
    overrides = {"CLIENT_CERTIFICATE_SECRET_ARN": env.certificate_secret(secret)}
    result = env.invoke_client("certificate", event, env=None if secret == CLIENT_SECRET else overrides)
    assert result.error is None, result.error
    assert isinstance(result.payload, dict)
    return result.payload


def _alb_pool(env: TwoAccounts, issued: Issued | None, tmp_path: Path) -> urllib3.HTTPSConnectionPool:
    """A raw HTTPS pool to the load balancer's listener, presenting `issued` (or no certificate)."""
    cert_file = key_file = None
    if issued is not None:
        cert, key = issued.write(tmp_path, "client")
        cert_file, key_file = str(cert), str(key)
    return urllib3.HTTPSConnectionPool(
        "127.0.0.1",
        env.mtls_listener.port,
        ca_certs=str(env.tls.ca_bundle),
        cert_reqs="CERT_REQUIRED",
        retries=False,
        cert_file=cert_file,
        key_file=key_file,
    )


def _refusals_since(env: TwoAccounts, before: int) -> int:
    """Handshakes the listener refused since `before`, once its connection thread has counted (it sends the alert
    first, so the client can see the refusal a moment before the count)."""
    deadline = time.monotonic() + 2
    while env.mtls_listener.refused_handshakes == before and time.monotonic() < deadline:
        time.sleep(0.01)
    return env.mtls_listener.refused_handshakes - before


def test_mtls_on_certificate_client_is_answered_as_its_tenant_through_the_providers_own_endpoint(
    mtls_env: TwoAccounts,
) -> None:
    # GIVEN the certificate client with its own certificate (tenant-a's, read from Secrets Manager)
    # WHEN it calls GET / through the consumer's endpoint service name
    payload = _certificate_call(mtls_env, CLIENT_SECRET, {"path": "/"})
    # THEN the backend answers it as cert:tenant-a, with the serial of the certificate the listener verified, and the
    # request entered the API through the provider's own endpoint (MtlsApiEndpoint)
    assert payload["statusCode"] == 200, payload
    body = json.loads(payload["body"])
    assert body["accountId"] == "cert:tenant-a"
    assert body["userArn"] == f"cert:tenant-a/serial/{mtls_env.pki.valid.serial_hex}"
    assert body["vpceId"] == mtls_env.provider.outputs["MtlsApiEndpointID"]


def test_mtls_on_backend_environment_comes_from_the_rendered_template(mtls_env: TwoAccounts, env: TwoAccounts) -> None:
    # GIVEN the provider rendered with pEnableMtls=Yes, and the session's provider with it off
    on = mtls_env.provider.function_by_handler("backend.app.handler")
    off = env.provider.function_by_handler("backend.app.handler")
    assert on is not None
    assert off is not None
    # THEN the backend's MTLS_* variables are the template's: the provider's own endpoint and the allow-list; empty off
    assert on.environment["MTLS_ENDPOINT_ID"] == mtls_env.provider.outputs["MtlsApiEndpointID"]
    assert on.environment["MTLS_ALLOWED_CLIENTS"] == ALLOWED_TENANTS
    assert (off.environment["MTLS_ENDPOINT_ID"], off.environment["MTLS_ALLOWED_CLIENTS"]) == ("", "")


def test_mtls_on_no_certificate_is_refused_in_the_handshake(mtls_env: TwoAccounts, tmp_path: Path) -> None:
    # GIVEN a caller with no client certificate
    pool = _alb_pool(mtls_env, None, tmp_path)
    refused = mtls_env.mtls_listener.refused_handshakes
    # WHEN it sends a request to the load balancer
    with pytest.raises(urllib3.exceptions.SSLError) as raised:
        pool.request("GET", f"/{mtls_env.names.stage}/mtls", headers={"Host": mtls_env.names.api_host})
    pool.close()
    # THEN the TLS handshake fails with the certificate-required alert: no HTTP status at all
    assert "certificate required" in str(raised.value)
    assert _refusals_since(mtls_env, refused) == 1


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("unknown-ca", "its trust store lacks the certificate's CA"),
        ("expired", "the certificate expired"),
        ("revoked", "the certificate is revoked"),
    ],
)
def test_mtls_on_untrusted_certificate_is_refused_in_the_handshake_and_the_client_says_why(
    mtls_env: TwoAccounts, secret: str, why: str
) -> None:
    # GIVEN the certificate client holding an unknown CA's, an expired or a revoked certificate
    refused = mtls_env.mtls_listener.refused_handshakes
    # WHEN it calls the API
    payload = _certificate_call(mtls_env, secret, {"path": "/"})
    # THEN the load balancer refused the handshake (nothing reached the API) and the client's hint names the reason
    assert payload["statusCode"] == 502, payload
    assert payload["hint"].startswith(TLS_REFUSED + why), payload
    assert _refusals_since(mtls_env, refused) >= 1


def test_mtls_on_valid_certificate_of_an_unlisted_subject_is_refused_by_the_backend(mtls_env: TwoAccounts) -> None:
    # GIVEN a certificate the trust store accepts, whose subject pMtlsAllowedClients does not list
    # WHEN the certificate client calls the API with it
    payload = _certificate_call(mtls_env, "not-allowed", {"path": "/"})
    # THEN the backend answers 403 naming the subject, and the client says to add it to the allow-list
    assert payload["statusCode"] == 403, payload
    assert json.loads(payload["body"])["message"] == f"Certificate subject not allowed: {NOT_ALLOWED_SUBJECT}"
    assert "pMtlsAllowedClients" in payload["hint"]


def test_mtls_on_forged_subject_through_the_load_balancer_is_answered_as_the_verified_certificate(
    mtls_env: TwoAccounts,
) -> None:
    # GIVEN tenant-b's certificate and forged certificate headers naming tenant-a
    event = {"path": "/", "headers": FORGED}
    # WHEN the certificate client sends them through the load balancer
    payload = _certificate_call(mtls_env, "tenant-b", event)
    # THEN the listener replaced them with the verified certificate's: the caller is tenant-b
    assert payload["statusCode"] == 200, payload
    assert json.loads(payload["body"])["accountId"] == "cert:tenant-b"


@pytest.mark.parametrize("path", ["/mtls", "/mtls/items"])
def test_mtls_on_forged_headers_through_a_consumer_endpoint_are_explicitly_denied(
    mtls_env: TwoAccounts, path: str
) -> None:
    # GIVEN mTLS on WHEN an unsigned request with forged certificate headers goes through the consumer's endpoint
    reply = mtls_env.request("GET", path, headers=FORGED)
    # THEN DenyCertificatePathElsewhere answers before the backend: only the provider's own endpoint may reach /mtls
    assert reply.status == 403, reply.text
    assert reply.json()["Message"].endswith(EXPLICIT_DENY)


def test_mtls_on_items_are_isolated_per_tenant(mtls_env: TwoAccounts) -> None:
    # GIVEN an item tenant-a's certificate created
    created = _certificate_call(mtls_env, CLIENT_SECRET, {"method": "POST", "path": "/items", "body": {"name": "a"}})
    assert created["statusCode"] == 201, created
    item = json.loads(created["body"])["id"]
    # WHEN tenant-b, and the consumer's IAM caller, ask for it
    by_b = _certificate_call(mtls_env, "tenant-b", {"path": f"/items/{item}"})
    listed_by_b = _certificate_call(mtls_env, "tenant-b", {"path": "/items"})
    by_iam = call(mtls_env, "direct", "GET", f"/items/{item}").payload
    # THEN only tenant-a sees it: the backend keys items by caller (cert:<tenant> or the account)
    assert _certificate_call(mtls_env, CLIENT_SECRET, {"path": f"/items/{item}"})["statusCode"] == 200
    assert by_b["statusCode"] == 404, by_b
    assert item not in listed_by_b["body"]
    assert by_iam["statusCode"] == 404, by_iam


@pytest.mark.parametrize(
    ("host", "path"), [("other.example", "/{stage}/mtls"), (None, "/{stage}/items"), (None, "/Other/mtls")]
)
def test_mtls_on_listener_rule_answers_its_own_404_outside_the_api_host_and_mtls_path(
    mtls_env: TwoAccounts, tmp_path: Path, host: str | None, path: str
) -> None:
    # GIVEN tenant-a's valid certificate WHEN a request misses the listener rule (other Host, or outside /<stage>/mtls)
    pool = _alb_pool(mtls_env, mtls_env.pki.valid, tmp_path)
    before = len(mtls_env.access_log.lines)
    target = path.format(stage=mtls_env.names.stage)
    reply = pool.request("GET", target, headers={"Host": host or mtls_env.names.api_host})
    pool.close()
    # THEN the load balancer's default action answers 404 and nothing reached the API
    assert reply.status == 404
    assert len(mtls_env.access_log.lines) == before


def test_mtls_on_iam_path_is_unchanged(mtls_env: TwoAccounts) -> None:
    # GIVEN the certificate path deployed WHEN the direct IAM client calls GET / through the main endpoint
    result = call(mtls_env, "direct", "GET", "/")
    # THEN it is answered as its IAM session, through its own endpoint, as without mTLS
    assert result.status == 200, result.payload
    body = json.loads(result.body)
    assert body["userArn"].startswith(session_arn_prefix(mtls_env.names.client_role("main", "direct")))
    assert body["vpceId"] == mtls_env.endpoint_id("main")


def test_mtls_on_service_name_resolves_only_in_the_main_consumer_vpc(mtls_env: TwoAccounts) -> None:
    # GIVEN the main consumer stack with the certificate client and its private hosted zone; the others without
    port = mtls_env.mtls_listener.port
    # THEN the service's DNS name reaches the load balancer from main's VPC only, and only main has the client
    assert mtls_env.dns_view(mtls_env.names.vpcs["main"])[SERVICE_DNS_NAME] == port
    for site in ("other", "outsider"):
        assert SERVICE_DNS_NAME not in mtls_env.dns_view(mtls_env.names.vpcs[site])
        assert mtls_env.consumer(site).function_by_handler("client.certificate.handler") is None


CERTIFICATE_CASE_KEYS = (
    "certificate-client",
    "tenant-isolation",
    "no-certificate",
    "unknown-ca",
    "expired",
    "revoked",
    "not-allowed",
    "forged-through-alb",
    "forged-through-endpoint",
)


def _certificate_cases() -> dict[str, Case]:
    return {case.key: case for case in [certificate_client_case(), *build_certificate_cases()]}


def test_demo_certificate_cases_are_the_listed_ones() -> None:
    # GIVEN the demo's certificate rows WHEN listed THEN they are exactly the ones tested below (a new one needs a test)
    assert tuple(_certificate_cases()) == CERTIFICATE_CASE_KEYS


@pytest.mark.parametrize("key", CERTIFICATE_CASE_KEYS)
def test_demo_certificate_case_outcome_is_the_documented_one(mtls_env: TwoAccounts, key: str) -> None:
    # GIVEN one of the demo's certificate rows
    case = _certificate_cases()[key]
    # WHEN it runs against the deployment with the certificate path
    observed = case.run(mtls_env)
    # THEN status and phrase are the expected ones
    assert observed.status == case.expected.status, observed.summary
    assert case.expected.phrase in observed.text, observed.summary
