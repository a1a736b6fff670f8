"""A kept connection is never used once idle for API_IDLE_TIMEOUT: PrivateLink (350 s) may have dropped it.

Against a real HTTPS server on 127.0.0.1 that counts the connections it accepts.
"""

from __future__ import annotations

import time

import pytest

from client.config import ConfigError, load_config
from client.invoke import build_direct_invoker
from client.transport import DEFAULT_IDLE_TIMEOUT, new_pool
from tests.unit.client.support import ScriptedHTTPSServer


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _get(pool: object) -> int:
    response = pool.urlopen("GET", "/Prod/items", retries=False)  # type: ignore[attr-defined]
    return int(response.status)


def test_pool_connection_idle_past_limit_is_replaced_before_use(
    api_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN a pool whose connection has been idle longer than its limit
    pool = new_pool(api_server.url, ca_bundle, idle_timeout=0.2)
    assert _get(pool) == 200
    time.sleep(0.3)
    # WHEN it sends the next request
    status = _get(pool)
    # THEN it went out on a new connection: the old one was closed by age, not found dead by a timeout
    assert status == 200
    assert api_server.wait_for(lambda: api_server.connections == 2)
    pool.close()


def test_pool_connection_used_within_limit_is_kept(api_server: ScriptedHTTPSServer, ca_bundle: str) -> None:
    # GIVEN a pool (270 s limit) on clocks that move only when told, so a loaded machine cannot stretch a gap
    pool = new_pool(api_server.url, ca_bundle)
    monotonic, wall = FakeClock(1000.0), FakeClock(1_700_000_000.0)
    pool.monotonic, pool.wall = monotonic, wall  # type: ignore[attr-defined]
    # WHEN it is used every 260 s, five times: 1040 s in total, well past the limit, never idle as long as it
    for _ in range(5):
        assert _get(pool) == 200
        monotonic.now += 260
        wall.now += 260
    assert _get(pool) == 200
    # THEN one connection served them all: the limit is on idleness, not age
    assert api_server.connections == 1
    pool.close()


def test_pool_frozen_monotonic_clock_still_counts_wall_clock_idle(
    api_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN a sandbox thawed after 300 s whose monotonic clock did not advance while frozen (AWS does not say it does)
    pool = new_pool(api_server.url, ca_bundle)
    monotonic, wall = FakeClock(1000.0), FakeClock(1_700_000_000.0)
    pool.monotonic, pool.wall = monotonic, wall  # type: ignore[attr-defined]
    assert _get(pool) == 200
    wall.now += 300
    # WHEN the next request goes out
    assert _get(pool) == 200
    # THEN the wall clock's 300 s (> 270 s) retired the kept connection
    assert api_server.wait_for(lambda: api_server.connections == 2)
    pool.close()


def test_pool_wall_clock_stepping_back_still_counts_monotonic_idle(
    api_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN 300 s of monotonic idleness while the wall clock was stepped back (an NTP correction)
    pool = new_pool(api_server.url, ca_bundle)
    monotonic, wall = FakeClock(1000.0), FakeClock(1_700_000_000.0)
    pool.monotonic, pool.wall = monotonic, wall  # type: ignore[attr-defined]
    assert _get(pool) == 200
    monotonic.now += 300
    wall.now -= 60
    # WHEN the next request goes out THEN it opens a new connection
    assert _get(pool) == 200
    assert api_server.wait_for(lambda: api_server.connections == 2)
    pool.close()


def test_pool_default_idle_limit_is_below_privatelinks_350_seconds(ca_bundle: str) -> None:
    # GIVEN a pool built without a limit THEN it uses the default, comfortably below the endpoint's 350 s
    pool = new_pool("https://127.0.0.1:9", ca_bundle)
    assert pool.idle_timeout == DEFAULT_IDLE_TIMEOUT == 270.0  # type: ignore[attr-defined]


def test_load_config_api_idle_timeout_defaults_to_270_seconds(client_env: dict[str, str]) -> None:
    # GIVEN no API_IDLE_TIMEOUT WHEN loaded THEN the default applies
    assert load_config(client_env).idle_timeout == 270.0


def test_build_direct_invoker_api_idle_timeout_reaches_the_pool(client_env: dict[str, str]) -> None:
    # GIVEN API_IDLE_TIMEOUT set WHEN the invoker is built (as at cold start) THEN its pool retires connections by it
    invoker = build_direct_invoker({**client_env, "API_IDLE_TIMEOUT": "12.5"})
    assert invoker.config.idle_timeout == 12.5
    assert invoker.pool.idle_timeout == 12.5  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("soon", "not a number"),
        ("0", "positive number"),
        ("-1", "positive number"),
        ("nan", "positive number"),
        ("inf", "positive number"),
        ("350", "below 350"),
        ("600", "below 350"),
    ],
)
def test_load_config_bad_api_idle_timeout_names_the_variable(
    client_env: dict[str, str], value: str, detail: str
) -> None:
    # GIVEN a malformed or unsafe API_IDLE_TIMEOUT WHEN loaded THEN the error names the variable and the problem
    with pytest.raises(ConfigError) as raised:
        load_config({**client_env, "API_IDLE_TIMEOUT": value})
    assert str(raised.value).startswith(f"API_IDLE_TIMEOUT {value!r}")
    assert detail in str(raised.value)
