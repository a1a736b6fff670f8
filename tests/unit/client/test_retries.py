"""Retries and timeouts against a real HTTPS server on 127.0.0.1 that answers 500 / 429 / slowly, then 200."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from client.diagnosis import maybe_applied
from client.invoke import Invoker, build_direct_invoker
from client.transport import RetryPolicy, TransportFailure
from tests.unit.client.support import SECRET_KEY, FakeLambdaContext, Reply, ScriptedHTTPSServer

FAST_RETRY = RetryPolicy(max_attempts=3, backoff_base=0.01, backoff_cap=0.02)


@pytest.fixture
def sleeps() -> list[float]:
    """Backoff delays the invoker asked for, in order."""
    return []


@pytest.fixture
def invoker(client_env: dict[str, str], sleeps: list[float]) -> Invoker:
    """A direct-credential invoker (API_TIMEOUT=0.5 s) that records its backoff sleeps instead of sleeping."""
    built = build_direct_invoker(client_env)
    return Invoker(built.config, built.credentials, retry=FAST_RETRY, sleep=sleeps.append)


@pytest.mark.parametrize("status", [500, 503, 429])
def test_invoke_get_retryable_status_then_200_returns_200(
    invoker: Invoker,
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
    sleeps: list[float],
    verify_sigv4: Callable[..., bool],
    status: int,
) -> None:
    # GIVEN an API that fails once with a retryable status, then succeeds
    api_server.script = [Reply(status, '{"message": "busy"}'), Reply(200, '{"ok": true}')]
    # WHEN a GET is invoked
    result = invoker.invoke({"path": "/items"}, lambda_context)
    # THEN the client retried once after a bounded backoff and returns the 200
    assert result["statusCode"] == 200
    assert result["body"] == '{"ok": true}'
    assert len(api_server.received) == 2
    assert len(sleeps) == 1
    assert 0 <= sleeps[0] <= FAST_RETRY.backoff_cap
    # AND every attempt carried its own valid signature
    for seen in api_server.received:
        assert verify_sigv4(method="GET", target=seen.target, headers=seen.headers, body=b"", secret_key=SECRET_KEY)


def test_invoke_get_slow_answer_then_200_retries_after_timeout(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an API whose first answer takes longer than API_TIMEOUT (0.5 s)
    api_server.script = [Reply(200, '{"late": true}', delay=0.9), Reply(200, '{"late": false}')]
    # WHEN a GET is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN the slow attempt is abandoned and the retry's answer is returned
    assert result["statusCode"] == 200
    assert result["body"] == '{"late": false}'
    assert len(api_server.received) == 2


def test_invoke_get_always_slow_returns_504_after_all_attempts(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext, sleeps: list[float]
) -> None:
    # GIVEN an API that never answers within API_TIMEOUT
    api_server.script = [Reply(200, "{}", delay=0.8)]
    # WHEN a GET is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN the client gives up after max_attempts with a 504 that explains the timeout
    assert result["statusCode"] == 504
    assert result["error"] == "no answer from 127.0.0.1 within 0.5s (3 attempts)"
    assert "API_TIMEOUT" in result["hint"]
    assert len(api_server.received) == 3
    assert len(sleeps) == 2


def test_invoke_get_persistent_500_returns_last_answer_after_max_attempts(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an API that keeps failing
    api_server.script = [Reply(500, '{"message": "Internal server error"}')]
    # WHEN a GET is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN exactly max_attempts requests were made and the API's last answer comes back, explained
    assert len(api_server.received) == FAST_RETRY.max_attempts
    assert result["statusCode"] == 500
    assert result["body"] == '{"message": "Internal server error"}'
    assert result["error"].endswith("answered 500 after 3 attempts")
    assert "backend" in result["hint"]


# POST carries an Idempotency-Key and is retried (test_idempotency_key.py); PATCH is sent without one.
@pytest.mark.parametrize("method", ["PATCH"])
def test_invoke_non_idempotent_500_is_not_retried(
    invoker: Invoker,
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
    sleeps: list[float],
    method: str,
) -> None:
    # GIVEN an API that fails once, then would succeed
    api_server.script = [Reply(500, '{"message": "boom"}'), Reply(200, "{}")]
    # WHEN a non-idempotent request is invoked
    result = invoker.invoke({"method": method, "body": {"n": 1}}, lambda_context)
    # THEN it is sent once only and the 500 is reported, warning that it may have been applied
    assert result["statusCode"] == 500
    assert result["error"].endswith("answered 500")
    assert result["hint"].endswith(
        f"the {method} may have been applied before the failure: check before sending it again"
    )
    assert len(api_server.received) == 1
    assert sleeps == []


def test_invoke_patch_timeout_is_not_retried(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN an API that answers too slowly
    api_server.script = [Reply(200, "{}", delay=0.8), Reply(200, "{}")]
    # WHEN a PATCH (sent without an Idempotency-Key) is invoked
    result = invoker.invoke({"method": "PATCH", "body": "x"}, lambda_context)
    # THEN the client does not resend it (the first may have been applied), reports a timeout and says so
    assert result["statusCode"] == 504
    assert result["error"] == "no answer from 127.0.0.1 within 0.5s"
    assert "the PATCH may have been applied before the failure" in result["hint"]
    assert len(api_server.received) == 1


def test_invoke_near_lambda_timeout_does_not_retry(
    invoker: Invoker, api_server: ScriptedHTTPSServer, sleeps: list[float]
) -> None:
    # GIVEN a 503 and an invocation with little time left
    api_server.script = [Reply(503, '{"message": "busy"}'), Reply(200, "{}")]
    # WHEN a GET is invoked with 1.2 s remaining
    result = invoker.invoke({}, FakeLambdaContext(remaining_ms=1200))
    # THEN no retry starts that could not finish before Lambda stops the function
    assert result["statusCode"] == 503
    assert len(api_server.received) == 1
    assert sleeps == []


def test_invoke_retry_after_header_sets_backoff_floor(
    client_env: dict[str, str], api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext
) -> None:
    # GIVEN a 429 asking to retry after 1 s, and a policy whose cap allows that
    sleeps: list[float] = []
    built = build_direct_invoker(client_env)
    policy = RetryPolicy(max_attempts=2, backoff_base=0.01, backoff_cap=2.0)
    invoker = Invoker(built.config, built.credentials, retry=policy, sleep=sleeps.append)
    api_server.script = [Reply(429, "{}", {"Retry-After": "1"}), Reply(200, "{}")]
    # WHEN a GET is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN the client waited at least what the server asked for, then succeeded
    assert result["statusCode"] == 200
    assert sleeps == [1.0]


@pytest.mark.parametrize(("method", "status"), [("POST", 400), ("POST", 409), ("GET", 500), ("PUT", 502)])
def test_invoke_refused_or_idempotent_failure_has_no_maybe_applied_note(
    invoker: Invoker, api_server: ScriptedHTTPSServer, lambda_context: FakeLambdaContext, method: str, status: int
) -> None:
    # GIVEN an API that refuses (4xx: nothing applied) or a method that is safe to repeat
    api_server.script = [Reply(status, '{"message": "no"}')] * 3
    # WHEN it is invoked
    result = invoker.invoke({"method": method, "body": {"n": 1}}, lambda_context)
    # THEN no "may have been applied" warning is added
    assert result["statusCode"] == status
    assert "may have been applied" not in result.get("hint", "")


@pytest.mark.parametrize("kind", ["dns", "connect", "connect-timeout", "tls"])
def test_maybe_applied_failure_before_sending_returns_none(kind: str) -> None:
    # GIVEN a POST that failed before any byte was sent THEN nothing can have been applied
    assert maybe_applied("POST", transport_kind=TransportFailure(kind)) is None


@pytest.mark.parametrize("kind", ["timeout", "connection"])
def test_maybe_applied_failure_after_sending_warns(kind: str) -> None:
    assert maybe_applied("post", transport_kind=TransportFailure(kind)) == (
        "the POST may have been applied before the failure: check before sending it again"
    )
