"""The emulated mTLS load balancer: every refusal is a real TLS handshake failure; admitted requests reach the
gateway through the provider's own endpoint with the verified certificate's headers, client copies replaced."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest
import trustme
import urllib3

from emulation.alb.listener import MtlsListener, TrustConfig
from emulation.alb.pki import NOT_ALLOWED_SUBJECT, VALID_SUBJECT, Issued, TestPki, make_pki
from emulation.gateway.pipeline import ApiDeployment, Endpoint
from emulation.gateway.server import Gateway
from emulation.gateway.tls import TlsMaterial
from tests.emulation.helpers import API_HOST, API_ID, PROVIDER, REGION, StaticCredentials
from tests.emulation.test_gateway_none_auth import CONSUMER_VPCE, MTLS_VPCE, OPENAPI, echo_handler, mtls_policy

SERVICE_NAME = "api.mtls.example.internal"  # the consumer's name for the endpoint service (pMtlsServiceDNSName)


@dataclass(frozen=True)
class Alb:
    """A running listener, the PKI it trusts, the CA clients trust for its server certificate, the key files."""

    listener: MtlsListener
    pki: TestPki
    server_ca: Path
    files: dict[str, tuple[Path, Path]]


@pytest.fixture(scope="module")
def pki() -> TestPki:
    """One test PKI for the module."""
    return make_pki()


@pytest.fixture
def gateway(tls: TlsMaterial) -> Iterator[Gateway]:
    """The gateway with the consumer endpoint and the provider's own endpoint, mTLS policy deployed."""
    deployment = ApiDeployment(
        api_id=API_ID,
        account=PROVIDER,
        region=REGION,
        stage="Prod",
        openapi=OPENAPI,
        resource_policy=mtls_policy(),
        handler=echo_handler,
        vpc_endpoint_ids=(CONSUMER_VPCE,),
    )
    endpoints = [Endpoint(CONSUMER_VPCE, "vpc-0consumer"), Endpoint(MTLS_VPCE, "vpc-0provider")]
    with Gateway(endpoints=endpoints, apis=[deployment], callbacks=StaticCredentials().callbacks(), tls=tls) as gw:
        yield gw


@pytest.fixture
def alb(pki: TestPki, gateway: Gateway, tls: TlsMaterial, tmp_path: Path) -> Iterator[Alb]:
    """The load balancer trusting the PKI's CA with its CRL, forwarding to the provider's endpoint listener."""
    (tmp_path / "ca.pem").write_text(pki.ca_bundle_pem)
    (tmp_path / "crl.pem").write_text(pki.crl_pem)
    server_ca = trustme.CA()
    server_ca.cert_pem.write_to_path(str(tmp_path / "server-ca.pem"))
    files = {
        name: issued.write(tmp_path / "clients", name)
        for name, issued in {
            "valid": pki.valid,
            "expired": pki.expired,
            "revoked": pki.revoked,
            "not_allowed": pki.not_allowed,
            "unknown_ca": pki.unknown_ca_client,
        }.items()
    }
    listener = MtlsListener(
        trust=TrustConfig(tmp_path / "ca.pem", tmp_path / "crl.pem"),
        server_cert=server_ca.issue_cert(SERVICE_NAME, "127.0.0.1"),
        upstream_url=gateway.url(MTLS_VPCE),
        upstream_ca=tls.ca_bundle,
        api_host=API_HOST,
        stage="Prod",
    )
    with listener:
        yield Alb(listener, pki, tmp_path / "server-ca.pem", files)


def _client_context(alb: Alb, client: str | None, *, tls13: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(alb.server_ca))
    if not tls13:
        context.maximum_version = ssl.TLSVersion.TLSv1_2  # the server's alert then ends the handshake itself
    if client is not None:
        cert, key = alb.files[client]
        context.load_cert_chain(str(cert), str(key))
    return context


def _handshake_error(alb: Alb, client: str | None) -> str:
    """Open TLS 1.2 to the listener with the client's certificate; the refusal's text (must refuse)."""
    context = _client_context(alb, client, tls13=False)
    with (
        socket.create_connection(("127.0.0.1", alb.listener.port), timeout=5) as raw,
        pytest.raises(ssl.SSLError) as refused,
        context.wrap_socket(raw, server_hostname=SERVICE_NAME),
    ):
        pass
    return str(refused.value)


def _refusals(alb: Alb) -> int:
    """The listener's refused-handshake count, once its thread has counted (it sends the alert first)."""
    deadline = time.monotonic() + 2
    while alb.listener.refused_handshakes == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    return alb.listener.refused_handshakes


@pytest.mark.parametrize(
    ("client", "alert"),
    [
        (None, "HANDSHAKE_FAILURE"),  # OpenSSL's alert for a missing certificate under TLS 1.2
        ("unknown_ca", "UNKNOWN_CA"),
        ("expired", "CERTIFICATE_EXPIRED"),
        ("revoked", "CERTIFICATE_REVOKED"),
    ],
)
def test_mtls_listener_untrusted_client_fails_the_tls_handshake(alb: Alb, client: str | None, alert: str) -> None:
    # GIVEN a client with no, an unknown-CA, an expired or a revoked certificate WHEN it opens TLS to the listener
    error = _handshake_error(alb, client)
    # THEN the handshake itself fails with the server's alert: no HTTP status ever comes back
    assert alert in error
    assert _refusals(alb) == 1


def _send_and_read(conn: ssl.SSLSocket) -> bytes:
    """Send one request and read; b"" when the refusal (alert or close) came instead of an answer."""
    try:
        conn.sendall(f"GET /Prod/mtls/items HTTP/1.1\r\nHost: {API_HOST}\r\n\r\n".encode())
        return conn.recv(1024)
    except (ssl.SSLError, ConnectionError):
        return b""


def test_mtls_listener_tls13_refusal_surfaces_after_the_handshake(alb: Alb) -> None:
    # GIVEN a TLS 1.3 client without a certificate (the server's verdict arrives after the client's Finished)
    context = _client_context(alb, None, tls13=True)
    with (
        socket.create_connection(("127.0.0.1", alb.listener.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=SERVICE_NAME) as conn,
    ):
        # WHEN it sends a request and reads THEN the alert or a closed connection comes, never HTTP bytes
        received = _send_and_read(conn)
    assert received == b""
    assert _refusals(alb) == 1


@pytest.mark.parametrize(
    ("client", "alert"),
    [(None, "CERTIFICATE_REQUIRED"), ("unknown_ca", "UNKNOWN_CA"), ("expired", "CERTIFICATE_EXPIRED")],
)
def test_mtls_listener_tls13_refusal_alert_reaches_a_client_that_already_sent_its_request(
    alb: Alb, client: str | None, alert: str
) -> None:
    # GIVEN TLS 1.3 clients that send their request right after their handshake, before the server's verdict
    context = _client_context(alb, client, tls13=True)
    errors = []
    for _ in range(10):
        with (
            socket.create_connection(("127.0.0.1", alb.listener.port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=SERVICE_NAME) as conn,
        ):
            conn.sendall(f"GET /Prod/mtls/items HTTP/1.1\r\nHost: {API_HOST}\r\n\r\n".encode())
            with pytest.raises((ssl.SSLError, ConnectionError)) as refused:
                conn.recv(1024)
            errors.append(str(refused.value))
    # WHEN each reads THEN each gets the alert itself: the listener drains the unread request before closing, so no
    # reset discards the alert (before, most no-certificate attempts saw only "EOF occurred in violation of protocol")
    assert all(alert in error for error in errors), errors


def _request(
    alb: Alb, client: str, path: str, *, host: str = API_HOST, headers: dict[str, str] | None = None
) -> urllib3.BaseHTTPResponse:
    cert, key = alb.files[client]
    pool = urllib3.PoolManager(
        ca_certs=str(alb.server_ca), cert_file=str(cert), key_file=str(key), cert_reqs="CERT_REQUIRED", retries=False
    )
    try:
        return pool.request("GET", alb.listener.url + path, headers={"Host": host, **(headers or {})})
    finally:
        pool.clear()


def _received_headers(reply: urllib3.BaseHTTPResponse) -> dict[str, list[str]]:
    return {name.lower(): values for name, values in json.loads(reply.data)["headers"].items()}


def test_mtls_listener_valid_certificate_reaches_backend_through_provider_endpoint(alb: Alb) -> None:
    # GIVEN a valid certificate WHEN GET /Prod/mtls/items goes through the listener
    reply = _request(alb, "valid", "/Prod/mtls/items")
    # THEN the gateway admitted it through the provider's own endpoint, anonymous, with the verified fields
    assert reply.status == 200
    body = json.loads(reply.data)
    assert (body["identity"]["vpceId"], body["identity"]["userArn"]) == (MTLS_VPCE, None)
    headers = _received_headers(reply)
    assert headers["x-amzn-mtls-clientcert-subject"] == [VALID_SUBJECT]
    assert headers["x-amzn-mtls-clientcert-issuer"] == [alb.pki.ca.certificate.subject.rfc4514_string()]
    assert headers["x-amzn-mtls-clientcert-serial-number"] == [alb.pki.valid.serial_hex]
    assert unquote(headers["x-amzn-mtls-clientcert-leaf"][0]) == alb.pki.valid.cert_pem
    assert headers["x-amzn-mtls-clientcert-validity"][0].startswith("NotBefore=")


def test_mtls_listener_forged_headers_are_replaced_by_the_verified_ones(alb: Alb) -> None:
    # GIVEN a valid certificate A and client-sent certificate headers naming another subject, in mixed case
    forged = {
        "X-Amzn-Mtls-Clientcert-Subject": NOT_ALLOWED_SUBJECT,
        "x-amzn-mtls-clientcert-serial-number": "01",
        "X-AMZN-MTLS-CLIENTCERT": "forged-chain",
    }
    # WHEN sent through the listener
    reply = _request(alb, "valid", "/Prod/mtls/items", headers=forged)
    # THEN the backend sees only A's fields, once each, and no passthrough-mode header
    assert reply.status == 200
    headers = _received_headers(reply)
    assert headers["x-amzn-mtls-clientcert-subject"] == [VALID_SUBJECT]
    assert headers["x-amzn-mtls-clientcert-serial-number"] == [alb.pki.valid.serial_hex]
    assert "x-amzn-mtls-clientcert" not in headers


@pytest.mark.parametrize(
    ("host", "path"),
    [
        (API_HOST, "/Prod/items"),  # an IAM route: not behind this listener
        (API_HOST, "/Prod/mtlsx"),  # a prefix lookalike
        (API_HOST, "/Other/mtls/items"),  # another stage
        ("other.execute-api.us-east-1.amazonaws.com", "/Prod/mtls/items"),  # another API
    ],
)
def test_mtls_listener_request_outside_the_rule_gets_fixed_404(alb: Alb, host: str, path: str) -> None:
    # GIVEN a valid certificate WHEN a request misses the listener rule (host + /<stage>/mtls path)
    reply = _request(alb, "valid", path, host=host)
    # THEN the default action answers a fixed 404 and nothing is forwarded
    assert (reply.status, reply.data) == (404, b"Not Found")


def test_mtls_listener_trust_without_crl_admits_revoked_certificate(
    pki: TestPki, gateway: Gateway, tls: TlsMaterial, tmp_path: Path
) -> None:
    # GIVEN a trust store with no revocation list (pMtlsRevocationListKey None)
    (tmp_path / "ca.pem").write_text(pki.ca_bundle_pem)
    server_ca = trustme.CA()
    cert, key = pki.revoked.write(tmp_path, "revoked")
    listener = MtlsListener(
        trust=TrustConfig(tmp_path / "ca.pem"),
        server_cert=server_ca.issue_cert("127.0.0.1"),
        upstream_url=gateway.url(MTLS_VPCE),
        upstream_ca=tls.ca_bundle,
        api_host=API_HOST,
        stage="Prod",
    )
    with listener, server_ca.cert_pem.tempfile() as ca_file:
        pool = urllib3.PoolManager(ca_certs=ca_file, cert_file=str(cert), key_file=str(key), retries=False)
        # WHEN the revoked certificate connects
        reply = pool.request("GET", listener.url + "/Prod/mtls/items", headers={"Host": API_HOST})
    # THEN nothing checks revocation: it is admitted (why the CRL parameter matters)
    assert reply.status == 200


def test_pki_allowed_clients_lists_the_valid_subject_only(pki: TestPki) -> None:
    # GIVEN the test PKI WHEN its allow-list is read THEN tenant-a maps to the valid subject, tenant-z is absent
    assert pki.allowed_clients() == f"tenant-a:{VALID_SUBJECT}"
    assert NOT_ALLOWED_SUBJECT not in pki.allowed_clients()


def test_pki_subjects_are_deterministic(pki: TestPki) -> None:
    # GIVEN two PKIs WHEN their subjects are compared THEN they match (keys differ; the allow-list can name them)
    other = make_pki()
    pairs: list[tuple[Issued, Issued]] = [(pki.valid, other.valid), (pki.revoked, other.revoked)]
    for first, second in pairs:
        assert first.certificate.subject == second.certificate.subject


def test_mtls_listener_chunked_body_is_framed_and_the_connection_stays_usable(alb: Alb) -> None:
    # GIVEN a valid certificate and a chunked request body WHEN POSTed to a route the API lacks
    cert, key = alb.files["valid"]
    pool = urllib3.PoolManager(ca_certs=str(alb.server_ca), cert_file=str(cert), key_file=str(key), retries=False)
    reply = pool.request(
        "POST",
        alb.listener.url + "/Prod/mtls/items",
        body=iter([b'{"name":', b'"widget"}']),
        headers={"Host": API_HOST},
        chunked=True,
    )
    # THEN the gateway answers the request itself (no POST on /mtls/items: Missing Authentication Token)
    assert (reply.status, reply.json()) == (403, {"message": "Missing Authentication Token"})
    # AND the next request on the same kept connection is read from the right place
    follow_up = pool.request("GET", alb.listener.url + "/Prod/mtls/items", headers={"Host": API_HOST})
    assert follow_up.status == 200
    assert pool.connection_from_url(alb.listener.url).num_connections == 1


def test_mtls_listener_idle_connection_is_closed_after_its_timeout(
    pki: TestPki, gateway: Gateway, tls: TlsMaterial, tmp_path: Path
) -> None:
    # GIVEN a listener with a short idle timeout and a valid client that answered one request on a kept connection
    (tmp_path / "ca.pem").write_text(pki.ca_bundle_pem)
    server_ca = trustme.CA()
    server_ca.cert_pem.write_to_path(str(tmp_path / "server-ca.pem"))
    cert, key = pki.valid.write(tmp_path, "valid")
    listener = MtlsListener(
        trust=TrustConfig(tmp_path / "ca.pem"),
        server_cert=server_ca.issue_cert("127.0.0.1"),
        upstream_url=gateway.url(MTLS_VPCE),
        upstream_ca=tls.ca_bundle,
        api_host=API_HOST,
        stage="Prod",
        idle_timeout=0.3,
    )
    context = ssl.create_default_context(cafile=str(tmp_path / "server-ca.pem"))
    context.load_cert_chain(str(cert), str(key))
    request = f"GET /Prod/mtls/items HTTP/1.1\r\nHost: {API_HOST}\r\n\r\n".encode()
    with (
        listener,
        socket.create_connection(("127.0.0.1", listener.port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="127.0.0.1") as conn,
    ):
        conn.sendall(request)
        answer = http.client.HTTPResponse(conn)  # type: ignore[arg-type]
        answer.begin()
        assert (answer.status, answer.will_close) == (200, False)
        answer.read()
        # WHEN the client stays silent past the timeout
        time.sleep(0.6)
        # THEN the load balancer has closed the connection (end of stream, not a read timeout)
        assert conn.recv(1) == b""
