"""The idle-gap scenario on the offline emulation: the endpoint forgets idle flows, the clients' limit avoids them."""

from __future__ import annotations

from typing import Any

import pytest

from bench import report
from bench.idle import CLIENT_IDLE_S, ENDPOINT_IDLE_S, GAP_S, run_idle_gaps


@pytest.fixture(scope="module")
def idle() -> dict[str, Any]:
    """Two idle-gap rounds per client and limit, as the JSON section."""
    return report.idle_gap_section(run_idle_gaps(gaps=2, seed=11, event={"method": "GET", "path": "/"}))


def test_idle_gap_scale_keeps_client_limit_below_endpoint_and_gaps_above() -> None:
    # GIVEN the scenario's scaled times THEN they keep AWS's order: client limit < endpoint timeout < gap
    assert CLIENT_IDLE_S == round(270 / 350 * ENDPOINT_IDLE_S, 3) < ENDPOINT_IDLE_S < GAP_S


@pytest.mark.slow
def test_run_idle_gaps_scaled_client_limit_never_stalls(idle: dict[str, Any]) -> None:
    # GIVEN gaps longer than the endpoint's idle timeout WHEN our clients run with the limit scaled like 270/350
    # THEN no call stalls or fails: each went out on a new connection rather than the forgotten one
    for row in idle["variants"]["limited"].values():
        assert (row["invocations"], row["stalls"], row["failures"]) == (2, 0, 0)
        assert row["new_connections_per_100"] == 100


@pytest.mark.slow
def test_run_idle_gaps_limit_above_endpoints_stalls_every_call(idle: dict[str, Any]) -> None:
    # GIVEN the same gaps WHEN the clients keep their 270 s limit (above the scaled endpoint's 0.5 s)
    # THEN every call waits out API_TIMEOUT on the forgotten flow first
    for row in idle["variants"]["unlimited"].values():
        assert row["stalls"] == row["invocations"] == 2
        assert min(row["durations_ms"]) >= idle["api_timeout_s"] * 1000
