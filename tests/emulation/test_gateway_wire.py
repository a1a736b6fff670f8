"""The emulated endpoint on the wire: PrivateLink's idle timeout and what it answers to malformed HTTP (raw TLS)."""

from __future__ import annotations

import json
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from emulation.accounts.https import READ_TIMEOUT, HttpsClient
from emulation.gateway.pipeline import ApiDeployment, Endpoint
from emulation.gateway.server import PRIVATELINK_IDLE_TIMEOUT, Gateway
from emulation.gateway.tls import TlsMaterial
from tests.emulation.helpers import API_HOST, API_ID, PROVIDER, REGION, StaticCredentials, project_policy

VPCE = "vpce-0wire"
UNSIGNED_GET = f"GET /Prod/items HTTP/1.1\r\nHost: {API_HOST}\r\n\r\n".encode()
MISSING_TOKEN = {"message": "Missing Authentication Token"}
CHUNKED_POST = f"POST /Prod/items HTTP/1.1\r\nHost: {API_HOST}\r\nTransfer-Encoding: chunked\r\n\r\n"


@dataclass(frozen=True)
class RawReply:
    """A reply read off the socket: status code, lower-cased headers, body."""

    status: int
    headers: dict[str, str]
    body: bytes


def _never_called(event: object, context: object) -> dict[str, object]:
    raise AssertionError("no request in these tests reaches the backend")


def _gateway(tls_material: TlsMaterial, idle_timeout: float | None = None) -> Gateway:
    deployment = ApiDeployment(
        api_id=API_ID,
        account=PROVIDER,
        region=REGION,
        stage="Prod",
        openapi={"openapi": "3.0.1", "paths": {"/items": {"get": {}, "post": {}}}},
        resource_policy=project_policy([f"arn:aws:iam::{PROVIDER}:role/r"], [VPCE]),
        handler=_never_called,
        vpc_endpoint_ids=(VPCE,),
    )
    return Gateway(
        endpoints=[Endpoint(VPCE, "vpc-0wire")],
        apis=[deployment],
        callbacks=StaticCredentials().callbacks(),
        tls=tls_material,
        idle_timeout=PRIVATELINK_IDLE_TIMEOUT if idle_timeout is None else idle_timeout,
    )


@pytest.fixture
def gateway(tls: TlsMaterial) -> Iterator[Gateway]:
    """A gateway with AWS's default idle limit (350 s)."""
    with _gateway(tls) as running:
        yield running


@pytest.fixture
def short_idle_gateway(tls: TlsMaterial) -> Iterator[Gateway]:
    """A gateway whose endpoint forgets a flow after 0.5 s of silence (350 s scaled down)."""
    with _gateway(tls, idle_timeout=0.5) as running:
        yield running


def _connect(gateway: Gateway, tls: TlsMaterial, timeout: float = 3.0) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(tls.ca_bundle))
    raw = socket.create_connection(("127.0.0.1", gateway.stats(VPCE).port), timeout=timeout)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def _read_reply(sock: ssl.SSLSocket) -> RawReply:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {data!r}")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return RawReply(int(status_line.split()[1]), headers, body)


def _exchange(gateway: Gateway, tls: TlsMaterial, request: bytes) -> RawReply:
    with _connect(gateway, tls) as sock:
        sock.sendall(request)
        return _read_reply(sock)


# ------------------------------------------------------------------------------------------ idle timeout
def test_gateway_flow_idle_past_limit_blackholes_the_next_request(
    short_idle_gateway: Gateway, tls: TlsMaterial
) -> None:
    # GIVEN a kept connection that got an answer, then stayed silent past the endpoint's idle limit
    with _connect(short_idle_gateway, tls, timeout=2.0) as sock:
        sock.sendall(UNSIGNED_GET)
        assert _read_reply(sock).status == 403
        time.sleep(1.0)
        # WHEN the client sends the next request on it
        sock.sendall(UNSIGNED_GET)
        # THEN nothing comes back: no answer, no FIN (recv would return b""), no reset (ConnectionResetError)
        with pytest.raises(TimeoutError):
            sock.recv(65536)
    stats = short_idle_gateway.stats(VPCE)
    assert (stats.requests, stats.blackholed) == (1, 1)


def test_gateway_flow_used_within_limit_keeps_answering(short_idle_gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN a kept connection used every 0.1 s for longer than the idle limit in total
    with _connect(short_idle_gateway, tls) as sock:
        started = time.monotonic()
        statuses = []
        while time.monotonic() - started < 1.0:
            sock.sendall(UNSIGNED_GET)
            statuses.append(_read_reply(sock).status)
            time.sleep(0.1)
    # THEN every request is answered: the limit is on silence, not on the connection's age
    assert set(statuses) == {403}
    assert short_idle_gateway.stats(VPCE).blackholed == 0


def test_gateway_blackholed_flow_closes_quietly_when_the_gateway_stops(tls: TlsMaterial) -> None:
    # GIVEN a blackholed flow
    running = _gateway(tls, idle_timeout=0.3).start()
    sock = _connect(running, tls, timeout=3.0)
    try:
        sock.sendall(UNSIGNED_GET)
        _read_reply(sock)
        time.sleep(0.6)
        sock.sendall(UNSIGNED_GET)
        # WHEN the gateway stops
        running.stop()
        # THEN the connection ends (EOF or reset at teardown) rather than hanging, and no answer was ever sent
        try:
            leftover = sock.recv(65536)
        except (ssl.SSLError, ConnectionError):
            leftover = b""
        assert leftover == b""
    finally:
        sock.close()
        running.stop()


def test_gateway_default_idle_limit_is_privatelinks_350_seconds(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN the default gateway WHEN a kept connection is reused after a short gap THEN it is answered
    with _connect(gateway, tls) as sock:
        sock.sendall(UNSIGNED_GET)
        assert _read_reply(sock).status == 403
        time.sleep(0.6)
        sock.sendall(UNSIGNED_GET)
        assert _read_reply(sock).status == 403
    assert gateway.idle_timeout == 350.0


# ------------------------------------------------------------------------------------------ malformed HTTP
@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(f"POST /Prod/items HTTP/1.1\r\nHost: {API_HOST}\r\nContent-Length: -5\r\n\r\n", id="negative-cl"),
        pytest.param(f"POST /Prod/items HTTP/1.1\r\nHost: {API_HOST}\r\nContent-Length: ab\r\n\r\n", id="text-cl"),
        pytest.param(CHUNKED_POST + "zz\r\nabc\r\n0\r\n\r\n", id="bad-chunk-size"),
        pytest.param(CHUNKED_POST + "-5\r\nabc\r\n0\r\n\r\n", id="negative-chunk-size"),
        pytest.param("GARBAGE\r\n\r\n", id="one-word-request-line"),
        pytest.param("\x16\x03\x01 nonsense here\r\n\r\n", id="binary-request-line"),
        pytest.param("GET /Prod/items\r\n\r\n", id="no-http-version"),
        pytest.param(f"GET /Prod/items HTTP/9.9\r\nHost: {API_HOST}\r\n\r\n", id="unknown-http-version"),
    ],
)
def test_gateway_malformed_http_is_400_json(gateway: Gateway, tls: TlsMaterial, request_bytes: str) -> None:
    # GIVEN a request whose framing or request line is broken
    # WHEN it reaches the endpoint
    reply = _exchange(gateway, tls, request_bytes.encode("latin-1"))
    # THEN it gets a 4xx with a JSON message (as API Gateway's errors), not a dropped connection, 501 or HTML
    assert (reply.status, reply.headers["content-type"]) == (400, "application/json")
    assert json.loads(reply.body) == {"message": "Bad Request"}
    assert reply.headers["connection"] == "close"


@pytest.mark.parametrize("leading", [b"\r\n", b"\r\n\r\n", b"\n"], ids=["crlf", "two-crlf", "bare-lf"])
def test_gateway_empty_lines_before_the_request_line_are_ignored(
    gateway: Gateway, tls: TlsMaterial, leading: bytes
) -> None:
    # GIVEN a request preceded by empty lines (RFC 9112 section 2.2: a server SHOULD ignore at least one)
    # WHEN it reaches the endpoint
    reply = _exchange(gateway, tls, leading + UNSIGNED_GET)
    # THEN it is answered as the request alone would be, not refused as malformed
    assert (reply.status, json.loads(reply.body)) == (403, MISSING_TOKEN)


def test_gateway_stray_crlf_between_kept_alive_requests_is_ignored(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN a kept connection whose client sends a stray CRLF after its request (some clients do after a body)
    with _connect(gateway, tls) as sock:
        sock.sendall(UNSIGNED_GET + b"\r\n")
        assert _read_reply(sock).status == 403
        # WHEN the next request follows on the same connection
        sock.sendall(UNSIGNED_GET)
        # THEN it is answered too
        assert _read_reply(sock).status == 403


def test_gateway_endless_empty_lines_are_400_json(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN far more empty lines than any client sends before a request line WHEN they reach the endpoint
    reply = _exchange(gateway, tls, b"\r\n" * 100 + UNSIGNED_GET)
    # THEN the flow is refused as malformed rather than read on without bound
    assert (reply.status, json.loads(reply.body)) == (400, {"message": "Bad Request"})
    assert reply.headers["connection"] == "close"


@pytest.mark.parametrize("method", ["TRACE", "CONNECT", "BREW", "PROPFIND"])
def test_gateway_method_api_gateway_lacks_is_missing_authentication_token(
    gateway: Gateway, tls: TlsMaterial, method: str
) -> None:
    # GIVEN a method the API does not define (API Gateway supports none of these)
    # WHEN it is sent to a resource of the API
    reply = _exchange(gateway, tls, f"{method} /Prod/items HTTP/1.1\r\nHost: {API_HOST}\r\n\r\n".encode())
    # THEN API Gateway's answer for a method a resource lacks: 403 Missing Authentication Token, not 501
    assert (reply.status, json.loads(reply.body)) == (403, MISSING_TOKEN)
    assert reply.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"


# ------------------------------------------------------------------------------------------ the emulation's client
def test_https_client_request_on_a_forgotten_flow_times_out_instead_of_waiting_forever(
    short_idle_gateway: Gateway, tls: TlsMaterial
) -> None:
    # GIVEN the emulation's HTTPS client told the endpoint forgets flows after 350 s, while this one does after 0.5 s
    # (a client reusing a flow the endpoint has forgotten, the hazard the idle limit exists for)
    client = HttpsClient(tls.ca_bundle, endpoint_idle_timeout=350.0, read_timeout=0.5)
    listener = short_idle_gateway.stats(VPCE).url
    try:
        first = client.send(
            "GET", listener, "/Prod/items", host=API_HOST, body=b"", headers={}, credentials=None, region=REGION
        )
        time.sleep(1.0)
        # WHEN its next request goes out on the kept connection and nothing ever answers
        started = time.monotonic()
        with pytest.raises(TimeoutError, match=r"no answer to GET /Prod/items .* in 0\.5 s"):
            client.send(
                "GET", listener, "/Prod/items", host=API_HOST, body=b"", headers={}, credentials=None, region=REGION
            )
        # THEN it gives up after its read timeout rather than waiting forever
        assert time.monotonic() - started < 3.0
    finally:
        client.close()
    assert first.status == 403
    assert short_idle_gateway.stats(VPCE).blackholed == 1


def test_https_client_defaults_wait_longer_than_api_gateways_29_seconds_and_renew_below_the_idle_timeout(
    tls: TlsMaterial,
) -> None:
    # GIVEN the client as TwoAccounts builds it for AWS's 350 s endpoint idle timeout
    client = HttpsClient(tls.ca_bundle, endpoint_idle_timeout=350.0)
    # THEN it waits for any answer API Gateway can give (29 s at most) and renews a connection idle for 270 s
    assert client.read_timeout == READ_TIMEOUT > 29.0
    assert client.idle_limit == pytest.approx(270.0)
