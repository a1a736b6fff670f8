"""The kept connection against PrivateLink's idle timeout, time-scaled: the endpoint forgets a flow after 1 s (350 s on
AWS) and the real direct client runs in its Lambda sandbox with API_IDLE_TIMEOUT scaled by the same factor.

AWS: packets on a flow idle longer than the endpoint's idle timeout are dropped without a reset, so a client that
reuses such a connection waits its whole API_TIMEOUT before it can try again (a write is resent safely only because
it carries an Idempotency-Key; without one it would report that it may have been applied, having never arrived).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from emulation.accounts.https import HttpReply
from emulation.accounts.two_accounts import MAIN, TwoAccounts
from emulation.demo.scenario import Settings
from emulation.lambdas.sandbox import InvokeResult
from tests.e2e.helpers import call

SEED = 35_000_350
ENDPOINT_IDLE = 1.0  # seconds: PrivateLink's 350 s scaled down
GAP = 1.5  # seconds of silence between invocations: longer than the endpoint's limit
API_TIMEOUT = 3.0  # what a request on a forgotten flow waits before the client gives up on it
# The product's default (270 s) scaled as the endpoint's 350 s is: the client's limit stays below the endpoint's.
SCALED_CLIENT_IDLE = f"{ENDPOINT_IDLE * 270 / 350:.3f}"
# The limit left at its default (270 s): far above the scaled endpoint's 1 s, as a client without the limit would be.
UNSCALED = {"API_TIMEOUT": str(API_TIMEOUT)}
SCALED = {**UNSCALED, "API_IDLE_TIMEOUT": SCALED_CLIENT_IDLE}


@pytest.fixture(scope="module")
def env() -> Iterator[TwoAccounts]:
    """Two accounts whose execute-api endpoints forget a flow after ENDPOINT_IDLE seconds of silence."""
    accounts = TwoAccounts(seed=SEED, endpoint_idle_timeout=ENDPOINT_IDLE)
    settings = Settings()
    accounts.start(settings.provider_params(accounts.names), settings.consumer_params(), warm=False)
    yield accounts
    accounts.stop()


def _attempts(result: InvokeResult) -> int:
    """Attempts the client logged for its successful call."""
    for line in result.logs:
        if '"API call succeeded"' in line:
            return int(json.loads(line)["attempts"])
    raise AssertionError(f"no successful call logged: {result.logs}")


def _requests_seen(env: TwoAccounts) -> int:
    """Requests the main endpoint's listener has answered (a blackholed one never is)."""
    assert env.gateway is not None
    return env.gateway.stats(env.endpoint_id(MAIN)).requests


def _after_gap(
    env: TwoAccounts, method: str, path: str, body: object, client_env: dict[str, str]
) -> tuple[InvokeResult, int]:
    """One call to open the kept connection, GAP seconds of silence, then the call under test (both warm).

    Returns its result and how many requests reached the API meanwhile.
    """
    assert call(env, "direct", "GET", "/items", env=client_env).payload["statusCode"] == 200
    time.sleep(GAP)
    before = _requests_seen(env)
    result = call(env, "direct", method, path, body, env=client_env)
    reached = _requests_seen(env) - before
    limit = client_env.get("API_IDLE_TIMEOUT", "270 (default)")
    # The figures are the evidence (pytest -rP shows them); docs/failure-behaviour.md quotes them.
    print(
        f"{method} after {GAP} s idle, client limit {limit} s: {result.status} in {result.duration_ms:.0f} ms, "
        f"{reached} reached the API"
    )
    return result, reached


def test_client_idle_limit_below_endpoints_post_after_gap_is_created_at_once(env: TwoAccounts) -> None:
    # GIVEN the client's idle limit below the endpoint's (as 270 s is below 350 s)
    blackholed_before = env.gateway.stats(env.endpoint_id(MAIN)).blackholed if env.gateway else 0
    # WHEN a POST follows a gap longer than the endpoint's idle timeout
    result, reached = _after_gap(env, "POST", "/items", {"name": "after-a-gap"}, SCALED)
    # THEN it is created on a new connection, in one attempt, without waiting out API_TIMEOUT
    assert result.payload["statusCode"] == 201, result.payload
    assert (_attempts(result), reached) == (1, 1)
    assert result.duration_ms < 1500, f"took {result.duration_ms:.0f} ms; a stall takes >= {API_TIMEOUT * 1000:.0f}"
    # (the endpoint did forget the old flow: the client simply never sent on it)
    assert env.gateway is not None
    assert env.gateway.stats(env.endpoint_id(MAIN)).blackholed > blackholed_before


def test_client_idle_limit_below_endpoints_get_after_gap_answers_in_one_attempt(env: TwoAccounts) -> None:
    # GIVEN the client's idle limit below the endpoint's WHEN a GET follows a gap THEN one attempt, no stall
    result, reached = _after_gap(env, "GET", "/items", None, SCALED)
    assert result.payload["statusCode"] == 200
    assert (_attempts(result), reached) == (1, 1)
    assert result.duration_ms < 1500, f"took {result.duration_ms:.0f} ms; a stall takes >= {API_TIMEOUT * 1000:.0f}"


def test_client_idle_limit_above_endpoints_post_after_gap_stalls_then_is_resent_with_its_key(env: TwoAccounts) -> None:
    # GIVEN the client's idle limit above the endpoint's (the hazard the limit exists for)
    # WHEN a POST follows a gap longer than the endpoint's idle timeout
    result, reached = _after_gap(env, "POST", "/items", {"name": "lost-in-the-blackhole"}, UNSCALED)
    # THEN its first attempt waits out API_TIMEOUT on the forgotten flow and never reaches the API; only its
    # Idempotency-Key makes the second attempt safe (without one it would end as an ambiguous 504)
    assert result.payload["statusCode"] == 201, result.payload
    assert (_attempts(result), reached) == (2, 1)
    assert result.duration_ms >= API_TIMEOUT * 1000


def test_client_idle_limit_above_endpoints_get_after_gap_stalls_then_retries(env: TwoAccounts) -> None:
    # GIVEN the client's idle limit above the endpoint's WHEN a GET follows a gap
    result, reached = _after_gap(env, "GET", "/items", None, UNSCALED)
    # THEN the first attempt waits out API_TIMEOUT, the retry on a new connection answers
    assert result.payload["statusCode"] == 200
    assert (_attempts(result), reached) == (2, 1)
    assert result.duration_ms >= API_TIMEOUT * 1000


def _within(seconds: float, request: Callable[[], HttpReply]) -> HttpReply:
    """`request()`'s reply, or a test failure if none came within `seconds` (a request that never ends cannot hang
    the suite: its thread is left blocked until the module's gateway stops)."""
    replies: list[HttpReply] = []
    worker = threading.Thread(target=lambda: replies.append(request()), daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        pytest.fail(f"no reply within {seconds} s: the request went out on a flow the endpoint had forgotten")
    assert replies, "the request raised (see the thread's exception above)"
    return replies[0]


def test_request_after_gap_opens_a_new_connection_instead_of_waiting_on_the_forgotten_flow(env: TwoAccounts) -> None:
    # GIVEN a kept connection of the emulation's own HTTPS client (TwoAccounts.request), then a gap longer than the
    # endpoint's idle timeout
    assert env.gateway is not None
    first = env.request("GET", "/items")
    time.sleep(GAP)
    before = env.gateway.stats(env.endpoint_id(MAIN))
    # WHEN it sends the next request
    reply = _within(API_TIMEOUT, lambda: env.request("GET", "/items"))
    # THEN the request goes out on a new connection and is answered as the first was
    after = env.gateway.stats(env.endpoint_id(MAIN))
    assert reply.status == first.status == 403
    assert (after.connections - before.connections, after.requests - before.requests) == (1, 1)
