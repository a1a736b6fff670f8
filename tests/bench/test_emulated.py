"""The benchmark against the offline emulation: counts are read at the emulated servers and belong to one client."""

from __future__ import annotations

from typing import Any

import pytest

from bench.warm import run_emulated


@pytest.fixture(scope="module")
def emulated() -> dict[str, Any]:
    """One short benchmark run: two timed warm invocations per client after one warm-up, plus the CRUD pass."""
    return run_emulated(invocations=2, rounds=2, warmup=1, seed=7, event={"method": "GET", "path": "/"})


@pytest.mark.slow
def test_run_emulated_baseline_counts_one_sts_call_and_connection_per_invocation(emulated: dict[str, Any]) -> None:
    # GIVEN the short run
    baseline = emulated["warm"]["baseline"]
    # WHEN its warm counts are read
    # THEN the gateway saw two requests over two new connections, and the STS front two calls
    assert (baseline["requests"], baseline["connections"], baseline["sts_calls"]) == (2, 2, 2)
    assert len(baseline["durations_ms"]) == 2


@pytest.mark.slow
def test_run_emulated_our_clients_and_floor_reuse_connection_and_credentials(emulated: dict[str, Any]) -> None:
    # GIVEN the short run
    warm = emulated["warm"]
    # WHEN the warm counts of our clients and the floor are read
    counts = {key: (warm[key]["requests"], warm[key]["connections"], warm[key]["sts_calls"]) for key in warm}
    # THEN each made its two requests over the connection and with the credentials of its cold start
    assert counts["ours_direct"] == counts["ours_assume_role"] == counts["floor"] == (2, 0, 0)


@pytest.mark.slow
def test_run_emulated_items_crud_counts_dynamodb_calls_at_moto(emulated: dict[str, Any]) -> None:
    # GIVEN the short run's CRUD pass through our direct client
    dynamodb = emulated["dynamodb"]
    # WHEN the operations moto received are read per request
    # THEN each items request made exactly one DynamoDB call and the echo route none
    assert dynamodb["routes"] == {
        "GET /": [],
        "POST /items": ["PutItem"],
        "GET /items/{id}": ["GetItem"],
        "GET /items": ["Query"],
        "PUT /items/{id}": ["UpdateItem"],
        "DELETE /items/{id}": ["DeleteItem"],
    }
    assert dynamodb["max_calls_per_request"] == 1
