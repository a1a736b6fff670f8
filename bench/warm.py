"""Warm invocations and server-side counts for every client, then DynamoDB calls per backend request, in one emulation.

Counts come from the emulated servers (new TCP connections accepted by the main endpoint's listener, STS calls
received by the STS front, DynamoDB operations received by moto), read before and after each client's block of
invocations; clients run one at a time, so each delta belongs to one client. Blocks are interleaved in rounds, in a
rotating order, so that drift in machine load spreads over all clients instead of favouring one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.harness import CLIENTS, Counters, MotoRecorder, build_pools, counters, invoke_ok
from emulation.accounts import TwoAccounts
from emulation.sandbox import FunctionPool
from emulation.scenario import Settings

__all__ = ["count_dynamodb_calls", "run_emulated"]


def run_emulated(
    *, invocations: int, rounds: int, warmup: int, seed: int, event: Mapping[str, Any], dynamodb: bool = True
) -> dict[str, Any]:
    """Start the two accounts with the demo's settings, measure every client, stop everything."""
    env = TwoAccounts(seed=seed)
    settings = Settings()
    env.start(settings.provider_params(env.names), settings.consumer_params(), warm=False)
    pools: dict[str, FunctionPool] = {}
    try:
        # One signed request first, so the backend's own cold start does not land in the first client's first call.
        reply = env.request("GET", "/", credentials=env.lambda_credentials())
        if reply.status != 200:
            raise RuntimeError(f"the emulated API refused the main direct role: {reply.status} {reply.text}")
        pools = build_pools(env)
        warm = _measure_warm(env, pools, invocations=invocations, rounds=rounds, warmup=warmup, event=event)
        calls = count_dynamodb_calls(env, pools["ours_direct"]) if dynamodb else None
    finally:
        for pool in pools.values():
            pool.stop()
        env.stop()
    return {"warm": warm, "dynamodb": calls}


def _measure_warm(
    env: TwoAccounts,
    pools: Mapping[str, FunctionPool],
    *,
    invocations: int,
    rounds: int,
    warmup: int,
    event: Mapping[str, Any],
) -> dict[str, dict[str, Any]]:
    labels = {client.key: client.label for client in CLIENTS}
    samples: dict[str, dict[str, Any]] = {}
    for key, pool in pools.items():
        first = invoke_ok(pool, event)  # the cold start: imports, first credentials, first connection
        samples[key] = {
            "label": labels[key],
            "first": {"init_ms": _rounded(first.init_ms), "duration_ms": _rounded(first.duration_ms)},
            "durations_ms": [],
            "totals": Counters(0, 0, 0),
        }
    for _ in range(warmup):
        for pool in pools.values():
            invoke_ok(pool, event)
    keys = list(pools)
    sizes = [invocations // rounds + (1 if r < invocations % rounds else 0) for r in range(rounds)]
    for number, size in enumerate(sizes):
        # Rotate who goes first, so no client always follows the baseline's TLS handshakes and STS calls.
        shift = number % len(keys)
        for key in keys[shift:] + keys[:shift]:
            before = counters(env)
            samples[key]["durations_ms"] += [invoke_ok(pools[key], event).duration_ms for _ in range(size)]
            samples[key]["totals"] += counters(env) - before
    return {
        key: {
            "label": sample["label"],
            "first": sample["first"],
            "durations_ms": sample["durations_ms"],
            "sts_calls": sample["totals"].sts_calls,
            "connections": sample["totals"].connections,
            "requests": sample["totals"].requests,
        }
        for key, sample in samples.items()
    }


def count_dynamodb_calls(env: TwoAccounts, pool: FunctionPool) -> dict[str, Any]:
    """Items CRUD through one client; the DynamoDB operations moto received for each request."""
    recorder = MotoRecorder(env.moto_url)
    routes: dict[str, list[str]] = {}

    def call(route: str, event: dict[str, Any], expected: int) -> Any:
        recorder.start()
        result = invoke_ok(pool, event, expected)
        routes[route] = recorder.dynamodb_actions()
        return result

    try:
        call("GET /", {"method": "GET", "path": "/"}, 200)
        created = call(
            "POST /items", {"method": "POST", "path": "/items", "body": {"name": "bench", "tags": ["bench"]}}, 201
        ).json()
        item = f"/items/{created['id']}"
        call("GET /items/{id}", {"method": "GET", "path": item}, 200)
        call("GET /items", {"method": "GET", "path": "/items"}, 200)
        replaced = {"name": "bench 2", "tags": ["bench"], "version": created["version"]}
        call("PUT /items/{id}", {"method": "PUT", "path": item, "body": replaced}, 200)
        call("DELETE /items/{id}", {"method": "DELETE", "path": item}, 204)
    finally:
        recorder.stop()
    total = sum(len(actions) for actions in routes.values())
    return {
        "routes": routes,
        "requests": len(routes),
        "calls": total,
        "calls_per_request": total / len(routes),
        "max_calls_per_request": max(len(actions) for actions in routes.values()),
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
