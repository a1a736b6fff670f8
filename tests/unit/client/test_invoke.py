"""End to end through the Invoker against a real HTTPS server on 127.0.0.1: addressing, results, failures."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import pytest

from client.invoke import Invoker, build_direct_invoker
from client.transport import RetryPolicy
from tests.unit.client.support import API_HOST, SECRET_KEY, FakeLambdaContext, Reply, ScriptedHTTPSServer

FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.02)


@pytest.fixture
def invoker(client_env: dict[str, str]) -> Invoker:
    """A direct-credential invoker built from the test environment, with fast backoff."""
    built = build_direct_invoker(client_env)
    return Invoker(built.config, built.credentials, retry=FAST_RETRY)


def test_invoke_default_event_sends_signed_get_to_stage_root(
    invoker: Invoker,
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
    verify_sigv4: Callable[..., bool],
) -> None:
    # GIVEN an API that answers 200 with a JSON body
    api_server.script = [Reply(200, '{"hello": "world"}', {"Content-Type": "application/json", "X-Id": "7"})]
    # WHEN the client is invoked with an empty event
    result = invoker.invoke({}, lambda_context)
    # THEN it returns the API's answer unchanged
    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"hello": "world"}
    assert result["headers"]["X-Id"] == "7"
    assert "error" not in result
    # AND the server got GET /Prod/ with Host = API host, signed for that host
    (seen,) = api_server.received
    assert (seen.method, seen.target, seen.headers["Host"]) == ("GET", "/Prod/", API_HOST)
    assert verify_sigv4(method="GET", target=seen.target, headers=seen.headers, body=seen.body, secret_key=SECRET_KEY)


def test_invoke_post_event_sends_json_body_query_and_headers(
    invoker: Invoker,
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
    verify_sigv4: Callable[..., bool],
) -> None:
    # GIVEN an API that answers 201
    api_server.script = [Reply(201, '{"id": "1"}')]
    event = {"method": "post", "path": "items", "query": {"dry run": "yes"}, "headers": {"X-Req": "a"}}
    event["body"] = {"n": 1}
    # WHEN the client is invoked with a POST event whose body is a JSON value
    result = invoker.invoke(event, lambda_context)
    # THEN the API's 201 comes back
    assert result["statusCode"] == 201
    assert result["body"] == '{"id": "1"}'
    # AND the request carried the JSON body, its content type, the query and the caller's header, all signed
    (seen,) = api_server.received
    assert (seen.method, seen.target) == ("POST", "/Prod/items?dry%20run=yes")
    assert json.loads(seen.body) == {"n": 1}
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["X-Req"] == "a"
    assert verify_sigv4(method="POST", target=seen.target, headers=seen.headers, body=seen.body, secret_key=SECRET_KEY)


def test_invoke_warm_invocations_reuse_one_connection(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a warm invoker
    # WHEN it is invoked three times
    results = [invoker.invoke({"path": f"/n/{i}"}, lambda_context) for i in range(3)]
    # THEN all succeed over a single kept-alive TLS connection
    assert [r["statusCode"] for r in results] == [200, 200, 200]
    assert len(api_server.received) == 3
    assert api_server.connections == 1


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Missing Authentication Token", "Missing Authentication Token"),
        (
            "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: execute-api:Invoke on resource: "
            "arn:aws:execute-api:us-east-1:2:abc123/Prod/GET/ with an explicit deny",
            "Explicit deny",
        ),
        ("The security token included in the request is invalid.", "Invalid token"),
        ("The request signature we calculated does not match the signature you provided.", "Signature mismatch"),
        ("Signature expired: 20240101T000000Z is now earlier than 20240101T000500Z", "Signature expired"),
        ("Forbidden", "WAF"),
    ],
)
def test_invoke_api_403_gets_one_line_hint_by_class(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext, message: str, expected: str
) -> None:
    # GIVEN an API Gateway 403 with one of its documented messages
    api_server.script = [Reply(403, json.dumps({"message": message}))]
    # WHEN the client is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN the 403 and body are passed through, with an error and a one-line hint naming the class
    assert result["statusCode"] == 403
    assert json.loads(result["body"]) == {"message": message}
    assert result["error"] == f"{API_HOST} answered 403"
    assert expected in result["hint"]
    assert "\n" not in result["hint"]


def test_invoke_invalid_event_returns_400_without_calling_api(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an event with an unknown HTTP method
    # WHEN the client is invoked
    result = invoker.invoke({"method": "BREW"}, lambda_context)
    # THEN it answers 400 naming the field, and nothing was sent
    assert result["statusCode"] == 400
    assert "event.method" in result["error"]
    assert api_server.received == []


def test_invoke_dns_failure_returns_502_with_hint(
    client_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN the API host does not resolve (as without private DNS); the lookup is refused locally
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == API_HOST:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    built = build_direct_invoker({**client_env, "API_ENDPOINT": ""})
    invoker = Invoker(built.config, built.credentials, retry=FAST_RETRY)
    # WHEN the client is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN it answers 502 with a DNS error and a hint about private DNS, not a stack trace
    assert result["statusCode"] == 502
    assert result["error"].startswith(f"DNS lookup of {API_HOST} failed")
    assert "private DNS" in result["hint"]


def test_invoke_connection_refused_returns_502(client_env: dict[str, str], lambda_context: FakeLambdaContext) -> None:
    # GIVEN an endpoint where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    built = build_direct_invoker({**client_env, "API_ENDPOINT": f"https://127.0.0.1:{closed_port}"})
    invoker = Invoker(built.config, built.credentials, retry=FAST_RETRY)
    # WHEN the client is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN it answers 502 after its retries, explaining the missing network path
    assert result["statusCode"] == 502
    assert "could not connect to 127.0.0.1" in result["error"]
    assert "(3 attempts)" in result["error"]
    assert "security group" in result["hint"]


def test_invoke_untrusted_certificate_fails_tls_without_retry(
    client_env: dict[str, str], api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a client that does not trust the server's private CA (no API_CA_BUNDLE)
    built = build_direct_invoker({**client_env, "API_CA_BUNDLE": ""})
    invoker = Invoker(built.config, built.credentials, retry=FAST_RETRY)
    # WHEN the client is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN verification fails closed: 502, TLS error, one handshake, no request delivered
    assert result["statusCode"] == 502
    assert result["error"].startswith("TLS with 127.0.0.1 failed")
    assert "certificate" in result["hint"]
    assert api_server.received == []
    assert api_server.wait_for(lambda: api_server.handshake_failures == 1)
    assert api_server.connections == 0


@pytest.mark.parametrize(
    ("event", "named"),
    [
        ({"headers": {"X-Note": "\u20ac"}}, "event.headers.X-Note"),  # the euro sign: outside latin-1
        ({"headers": {"X-Note": "a\u2028b"}}, "event.headers.X-Note"),  # LINE SEPARATOR
        ({"headers": {"X-Note": "\ud800"}}, "event.headers.X-Note"),
        ({"method": "POST", "path": "/items", "body": '{"name": "\ud800"}'}, "event.body"),
        ({"path": "/items/\ud800"}, "event.path"),
        ({"query": {"q": "\udfff"}}, "event.query.q"),
        ({"query": {"\ud800": "x"}}, "event.query"),
    ],
    ids=[
        "euro-header",
        "u2028-header",
        "surrogate-header",
        "surrogate-body",
        "surrogate-path",
        "surrogate-query",
        "surrogate-query-name",
    ],
)
def test_invoke_event_text_that_cannot_be_sent_returns_400_without_calling_api(
    invoker: Invoker,
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
    event: dict[str, Any],
    named: str,
) -> None:
    # GIVEN an event whose text cannot travel in an HTTP request (header value outside latin-1, unpaired surrogate)
    # WHEN the client is invoked
    result = invoker.invoke(event, lambda_context)
    # THEN the client's explained 400 event error names the field, and nothing was sent
    assert result["statusCode"] == 400
    assert named in result["error"]
    assert result["hint"].startswith("Fix the invocation event")
    assert api_server.received == []


@pytest.mark.parametrize(
    "name",
    [
        "Content-Length",
        "content-length",
        "Transfer-Encoding",
        "Expect",
        "Connection",
        "X-Amz-Content-Sha256",
        "Host",
        "Authorization",
        "X-Amz-Date",
        "X-Amz-Security-Token",
    ],
)
def test_invoke_event_framing_or_signing_header_returns_400_naming_it(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext, name: str
) -> None:
    # GIVEN an event that tries to set a header the client's framing or SigV4 signer owns
    event = {"method": "POST", "path": "/items", "body": {"name": "x"}, "headers": {name: "1"}}
    # WHEN the client is invoked
    result = invoker.invoke(event, lambda_context)
    # THEN it is refused with a 400 that names the header, and nothing was sent
    assert result["statusCode"] == 400
    assert f"event.headers.{name}" in result["error"]
    assert api_server.received == []


def test_invoke_event_wrong_content_length_is_refused_not_sent(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an event that announces more body bytes than it has (the server would wait for the rest)
    event = {"method": "PUT", "path": "/items/1", "body": "{}", "headers": {"Content-Length": "100"}}
    # WHEN the client is invoked
    result = invoker.invoke(event, lambda_context)
    # THEN 400 names the header at once, instead of a read timeout after the request stalled
    assert result["statusCode"] == 400
    assert "event.headers.Content-Length" in result["error"]
    assert api_server.received == []


def test_invoke_event_unsigned_payload_is_refused_so_the_body_stays_signed(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an event asking for UNSIGNED-PAYLOAD (S3's option: the signature would not cover the body)
    event = {"method": "POST", "path": "/items", "body": {"name": "x"}}
    event["headers"] = {"X-Amz-Content-Sha256": "UNSIGNED-PAYLOAD"}
    # WHEN the client is invoked
    result = invoker.invoke(event, lambda_context)
    # THEN it is refused: the client never sends a request whose body its signature does not cover
    assert result["statusCode"] == 400
    assert "event.headers.X-Amz-Content-Sha256" in result["error"]
    assert api_server.received == []


def test_invoke_event_latin1_header_and_paired_emoji_body_are_sent_signed(
    invoker: Invoker,
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
    verify_sigv4: Callable[..., bool],
) -> None:
    # GIVEN a header value inside latin-1 and a body string with a real (paired) non-BMP character
    event = {"method": "POST", "path": "/items", "headers": {"X-Note": "caf\u00e9"}, "body": '{"name": "\U0001f389"}'}
    # WHEN the client is invoked
    result = invoker.invoke(event, lambda_context)
    # THEN both are sent, the body as UTF-8, and the signature verifies
    assert result["statusCode"] == 200
    (seen,) = api_server.received
    assert seen.headers["X-Note"] == "caf\u00e9"
    assert seen.body == '{"name": "\U0001f389"}'.encode()
    assert verify_sigv4(method="POST", target=seen.target, headers=seen.headers, body=seen.body, secret_key=SECRET_KEY)


def test_invoke_server_closing_mid_send_is_reported_as_a_closed_connection_not_tls(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a server that reads a POST's headers and closes the connection while the 6 MB body is still being sent
    api_server.script = [Reply(hang_up=True)]
    event = {"method": "POST", "path": "/items", "body": "x" * 6_000_000}
    # WHEN the client is invoked
    result = invoker.invoke(event, lambda_context)
    # THEN the error says the server closed the connection during the request, not that TLS verification failed
    assert result["statusCode"] == 502
    assert "closed the connection during the request" in result["error"]
    assert "TLS verification" not in result["hint"]
    assert "certificate" not in result["hint"]
    # AND the POST is retried with its Idempotency-Key (the server took its headers: it may have been applied) and the
    # hint says how to send it again safely
    assert "Idempotency-Key" in result["hint"]
    assert "(3 attempts)" in result["error"]
    assert len(api_server.received) == 3
