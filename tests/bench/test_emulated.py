"""The benchmark against the offline emulation: counts are read at the emulated servers and belong to one client."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from bench import report
from bench.warm import run_emulated
from emulation.lambdas.sandbox import BOOTSTRAP

COLD_STARTS = 3


def _sandbox_pids() -> set[int]:
    """This process's children running the emulation's Lambda bootstrap, read from /proc (other test runs ignored)."""
    pids = set()
    for process in Path("/proc").glob("[0-9]*"):
        try:
            arguments = (process / "cmdline").read_bytes().split(b"\0")
            status = (process / "status").read_text()
        except OSError:
            continue  # the process ended while the list was read
        parent = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
        if str(BOOTSTRAP).encode() in arguments and int(parent) == os.getpid():
            pids.add(int(process.name))
    return pids


@pytest.fixture(scope="module")
def emulated_run() -> tuple[dict[str, Any], set[int]]:
    """One short benchmark run, and the sandbox processes it started that are still running after it returned."""
    before = _sandbox_pids()
    results = run_emulated(
        invocations=2, rounds=2, warmup=1, cold_starts=COLD_STARTS, seed=7, event={"method": "GET", "path": "/"}
    )
    return results, _sandbox_pids() - before


@pytest.fixture(scope="module")
def emulated(emulated_run: tuple[dict[str, Any], set[int]]) -> dict[str, Any]:
    """The short run: two timed warm invocations per client after one warm-up, three cold starts, the CRUD pass."""
    return emulated_run[0]


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
    # THEN reads and replaces made exactly one DynamoDB call and the echo route none; a keyed create or delete (the
    # client sends an Idempotency-Key) also claims and completes its idempotency record, and a create reserves its
    # item id
    assert dynamodb["routes"] == {
        "GET /": [],
        "POST /items": ["PutItem", "PutItem", "PutItem", "UpdateItem"],
        "GET /items/{id}": ["GetItem"],
        "GET /items": ["Query"],
        "PUT /items/{id}": ["UpdateItem"],
        "DELETE /items/{id}": ["PutItem", "DeleteItem", "UpdateItem"],
    }
    assert dynamodb["max_calls_per_request"] == 4


@pytest.mark.slow
def test_run_emulated_cold_starts_each_client_has_one_timed_sample_per_new_sandbox(emulated: dict[str, Any]) -> None:
    # GIVEN the short run's cold starts
    cold = emulated["cold_starts"]
    # WHEN every client's samples are read
    # THEN each client has one per round, each with a positive init phase and first invocation
    assert set(cold) == {"ours_direct", "ours_assume_role", "baseline", "floor"}
    for key, starts in cold.items():
        assert len(starts) == COLD_STARTS, key
        assert all(start.init_ms > 0 and start.duration_ms > 0 for start in starts), key
        assert all(start.total_ms == start.init_ms + start.duration_ms for start in starts), key
    # AND importing a handler costs more than nothing: at least a millisecond of init for every client
    assert all(start.init_ms >= 1 for starts in cold.values() for start in starts)


@pytest.mark.slow
def test_run_emulated_cold_starts_sts_calls_and_connections_counted_at_the_servers(emulated: dict[str, Any]) -> None:
    # GIVEN the short run's cold starts
    cold = emulated["cold_starts"]
    # WHEN the servers' counts around each cold start are read
    sts = {key: [start.sts_calls for start in starts] for key, starts in cold.items()}
    traffic = {key: [(start.connections, start.requests) for start in starts] for key, starts in cold.items()}
    # THEN the assume-role clients called STS exactly once per new sandbox, the direct ones never
    assert sts == {
        "ours_direct": [0] * COLD_STARTS,
        "ours_assume_role": [1] * COLD_STARTS,
        "baseline": [1] * COLD_STARTS,
        "floor": [0] * COLD_STARTS,
    }
    # AND every new sandbox opened its own connection for its one request (nothing carried over from the last one)
    assert all(counts == [(1, 1)] * COLD_STARTS for counts in traffic.values())


@pytest.mark.slow
def test_run_emulated_cold_start_section_has_every_sample_and_baseline_ratio_one(emulated: dict[str, Any]) -> None:
    # GIVEN the short run's cold starts
    cold = emulated["cold_starts"]
    # WHEN each client's JSON section is built as `python -m bench` builds it
    sections = {key: report.cold_start_section(starts, cold["baseline"]) for key, starts in cold.items()}
    # THEN it holds every sample, positive medians, and the baseline compares to itself as exactly 1
    for key, section in sections.items():
        assert section["starts"] == len(section["samples"]) == COLD_STARTS, key
        assert 0 < section["median_init_ms"] < section["median_total_ms"], key
        assert 0 < section["median_duration_ms"] < section["median_total_ms"], key
        assert section["cold_total_vs_baseline"] > 0, key
    assert sections["baseline"]["cold_total_vs_baseline"] == 1.0
    assert {key: section["sts_calls"] for key, section in sections.items()} == {
        "ours_direct": 0,
        "ours_assume_role": COLD_STARTS,
        "baseline": COLD_STARTS,
        "floor": 0,
    }


@pytest.mark.slow
def test_run_emulated_stops_every_sandbox_it_started(emulated_run: tuple[dict[str, Any], set[int]]) -> None:
    # GIVEN the short run, which started a sandbox per client and a new one per cold start
    _, leftover = emulated_run
    # WHEN the bootstrap processes still running after it returned are listed
    # THEN there are none
    assert leftover == set()
