"""Writes carry an Idempotency-Key, so a POST that failed after it may have been sent is retried safely."""

from __future__ import annotations

import pytest

from client.invoke import Invoker, build_direct_invoker
from client.transport import RetryPolicy
from tests.unit.client.support import FakeLambdaContext, Reply, ScriptedHTTPSServer

FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.02)
REQUEST_ID = "8d3f0c6e-1111-4222-8333-944455556666"


@pytest.fixture
def invoker(client_env: dict[str, str]) -> Invoker:
    """A direct-credential invoker (API_TIMEOUT=0.5 s) with fast backoff."""
    built = build_direct_invoker(client_env)
    return Invoker(built.config, built.credentials, retry=FAST_RETRY, sleep=lambda _: None)


@pytest.fixture
def context() -> FakeLambdaContext:
    """A Lambda context with its own request id."""
    return FakeLambdaContext(aws_request_id=REQUEST_ID)


def _keys(server: ScriptedHTTPSServer) -> list[str | None]:
    return [
        next((v for k, v in seen.headers.items() if k.lower() == "idempotency-key"), None) for seen in server.received
    ]


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_invoke_write_sends_idempotency_key_from_the_lambda_request_id(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext, method: str
) -> None:
    # GIVEN an API that answers WHEN a write is invoked
    invoker.invoke({"method": method, "path": "/items", "body": {"name": "x"}}, context)
    # THEN it carries the invocation's request id as its Idempotency-Key
    assert _keys(api_server) == [REQUEST_ID]


def test_invoke_post_with_the_callers_own_key_sends_that_key_once(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext
) -> None:
    # GIVEN an event carrying its own key (any header case) WHEN it is invoked
    event = {"method": "POST", "path": "/items", "headers": {"idempotency-key": "order-42"}, "body": {"name": "x"}}
    invoker.invoke(event, context)
    # THEN that key is sent, and no second one
    assert _keys(api_server) == ["order-42"]
    assert sum(1 for k in api_server.received[0].headers if k.lower() == "idempotency-key") == 1


@pytest.mark.parametrize("name", ["Idempotency-Key", "idempotency-key"])
def test_invoke_post_with_an_empty_own_key_is_refused_naming_the_header_and_sends_nothing(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext, name: str
) -> None:
    # GIVEN an event whose own key header is present but empty
    event = {"method": "POST", "path": "/items", "headers": {name: ""}, "body": {"name": "x"}}
    # WHEN it is invoked
    result = invoker.invoke(event, context)
    # THEN the client refuses the event (not a second, generated key next to the empty one)
    assert result["statusCode"] == 400
    assert f"event.headers.{name}" in result["error"]
    assert api_server.received == []


@pytest.mark.parametrize("key", ["order 42", "x" * 129, "ordér-42", "tab\there"])
def test_invoke_post_with_a_malformed_own_key_is_refused_with_the_backends_rule(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext, key: str
) -> None:
    # GIVEN an event whose own key breaks the backend's rule (1-128 printable ASCII, no spaces)
    event = {"method": "PUT", "path": "/items/1", "headers": {"Idempotency-Key": key}, "body": {"name": "x"}}
    # WHEN it is invoked
    result = invoker.invoke(event, context)
    # THEN the client explains it before sending anything
    assert result["statusCode"] == 400
    assert result["error"].startswith("event.headers.Idempotency-Key")
    assert api_server.received == []


def test_invoke_post_with_a_128_character_own_key_sends_it(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext
) -> None:
    # GIVEN an event whose own key is the longest the backend accepts, with every printable ASCII class
    key = ("Ab9!~-_." * 16)[:128]
    event = {"method": "POST", "path": "/items", "headers": {"Idempotency-Key": key}, "body": {"name": "x"}}
    # WHEN it is invoked THEN it is sent as given
    invoker.invoke(event, context)
    assert _keys(api_server) == [key]


def test_invoke_get_sends_no_idempotency_key(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext
) -> None:
    # GIVEN a read WHEN it is invoked THEN it carries no key (reads are safe to repeat without one)
    invoker.invoke({"path": "/items"}, context)
    assert _keys(api_server) == [None]


def test_invoke_post_answered_500_is_retried_with_the_same_key_and_succeeds(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext
) -> None:
    # GIVEN an API that fails once after the POST may have been applied, then answers
    api_server.script = [Reply(502, '{"message": "Internal server error"}'), Reply(201, '{"id": "1"}')]
    # WHEN a POST is invoked
    result = invoker.invoke({"method": "POST", "path": "/items", "body": {"name": "x"}}, context)
    # THEN it was sent again with the same key (the backend answers a repeat with the first answer)
    assert result["statusCode"] == 201
    assert _keys(api_server) == [REQUEST_ID, REQUEST_ID]


def test_invoke_post_timeout_is_retried_with_the_same_key(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext
) -> None:
    # GIVEN an API whose first answer comes after the client's timeout
    api_server.script = [Reply(201, '{"id": "1"}', delay=0.8), Reply(201, '{"id": "1"}')]
    # WHEN a POST is invoked
    result = invoker.invoke({"method": "POST", "path": "/items", "body": {"name": "x"}}, context)
    # THEN the second attempt, with the same key, answers
    assert result["statusCode"] == 201
    assert api_server.wait_for(lambda: len(api_server.received) == 2)
    assert _keys(api_server) == [REQUEST_ID, REQUEST_ID]


def test_invoke_post_failing_every_attempt_says_sending_again_with_its_key_is_safe(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext
) -> None:
    # GIVEN an API that keeps failing
    api_server.script = [Reply(503, '{"message": "busy"}')]
    # WHEN a POST is invoked
    result = invoker.invoke({"method": "POST", "path": "/items", "body": {"name": "x"}}, context)
    # THEN the hint gives the key to send it again with, instead of "check before sending it again"
    assert result["statusCode"] == 503
    assert len(api_server.received) == 3
    assert "may have been applied" not in result["hint"]
    assert f'"Idempotency-Key": "{REQUEST_ID}"' in result["hint"]


def test_invoke_patch_without_key_is_not_retried_and_warns_it_may_have_been_applied(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext
) -> None:
    # GIVEN an API that fails once WHEN a PATCH (no key is sent with it) is invoked
    api_server.script = [Reply(500, '{"message": "boom"}'), Reply(200, "{}")]
    result = invoker.invoke({"method": "PATCH", "path": "/items/1", "body": {"n": 1}}, context)
    # THEN it is sent once and the warning stays
    assert _keys(api_server) == [None]
    assert result["hint"].endswith("the PATCH may have been applied before the failure: check before sending it again")


@pytest.mark.parametrize(("method", "status"), [("PUT", 409), ("DELETE", 404), ("POST", 409)])
def test_invoke_write_retried_then_refused_hint_names_the_earlier_attempt(
    invoker: Invoker, api_server: ScriptedHTTPSServer, context: FakeLambdaContext, method: str, status: int
) -> None:
    # GIVEN a first attempt whose answer was lost (502) and a retry the API refuses
    api_server.script = [Reply(502, '{"message": "Internal server error"}'), Reply(status, '{"message": "no"}')]
    # WHEN the write is invoked
    result = invoker.invoke({"method": method, "path": "/items/1", "body": {"name": "x", "version": 1}}, context)
    # THEN the hint says the refusal may be the result of this request's own first attempt
    assert result["statusCode"] == status
    assert result["error"].endswith(f"answered {status} after 2 attempts")
    assert f"an earlier attempt of this {method} may have been applied" in result["hint"]
