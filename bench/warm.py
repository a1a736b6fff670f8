"""Warm invocations, then cold starts, with server-side counts for every client, then DynamoDB calls, in one emulation.

Counts come from the emulated servers (new TCP connections accepted by the main endpoint's listener, STS calls
received by the STS front, DynamoDB operations received by moto), read before and after each client's block of
invocations or cold start; clients run one at a time, so each delta belongs to one client. Blocks and cold starts are
interleaved in rounds, in a rotating order, so that drift in machine load spreads over all clients instead of
favouring one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bench.harness import CLIENTS, Counters, MotoRecorder, build_pools, counters, invoke_ok
from bench.report import ColdStart
from emulation.accounts.two_accounts import TwoAccounts
from emulation.demo.scenario import Settings
from emulation.lambdas.sandbox import FunctionPool

__all__ = ["count_dynamodb_calls", "measure_cold_starts", "run_emulated"]


def run_emulated(
    *,
    invocations: int,
    rounds: int,
    warmup: int,
    cold_starts: int,
    seed: int,
    event: Mapping[str, Any],
    python: str | None = None,
) -> dict[str, Any]:
    """Start the two accounts with the demo's settings, measure every client, stop everything (sandboxes included).

    ``python`` runs the clients' sandboxes (the runtime-like venv in `make bench`); the emulation itself runs here.
    """
    env = TwoAccounts(seed=seed)
    settings = Settings()
    env.start(settings.provider_params(env.names), settings.consumer_params(), warm=False)
    pools: dict[str, FunctionPool] = {}
    try:
        # One signed request first, so the backend's own cold start does not land in the first client's first call.
        reply = env.request("GET", "/", credentials=env.lambda_credentials())
        if reply.status != 200:
            raise RuntimeError(f"the emulated API refused the main direct role: {reply.status} {reply.text}")
        pools = build_pools(env, python=python)
        warm = _measure_warm(env, pools, invocations=invocations, rounds=rounds, warmup=warmup, event=event)
        cold = measure_cold_starts(env, pools, starts=cold_starts, event=event)
        calls = count_dynamodb_calls(env, pools["ours_direct"])
    finally:
        for pool in pools.values():
            pool.stop()
        env.stop()
    return {"warm": warm, "cold_starts": cold, "dynamodb": calls}


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
        # The sandbox's cold start, untimed: the first process to load the client's code also fills the OS file
        # cache, as the discarded round of the cold imports does; measure_cold_starts times fresh sandboxes later.
        invoke_ok(pool, event)
        samples[key] = {"label": labels[key], "durations_ms": [], "totals": Counters(0, 0, 0)}
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
            "durations_ms": sample["durations_ms"],
            "sts_calls": sample["totals"].sts_calls,
            "connections": sample["totals"].connections,
            "requests": sample["totals"].requests,
        }
        for key, sample in samples.items()
    }


def measure_cold_starts(
    env: TwoAccounts, pools: Mapping[str, FunctionPool], *, starts: int, event: Mapping[str, Any]
) -> dict[str, list[ColdStart]]:
    """`starts` rounds; in each, every client gets a new sandbox (a real cold start) and answers one invocation.

    Samples are in round order, so sample i of every client comes from the same round; rounds rotate who goes first.
    """
    keys = list(pools)
    samples: dict[str, list[ColdStart]] = {key: [] for key in keys}
    for number in range(starts):
        shift = number % len(keys)
        for key in keys[shift:] + keys[:shift]:
            samples[key].append(_cold_start(env, pools[key], event))
    return samples


def _cold_start(env: TwoAccounts, pool: FunctionPool, event: Mapping[str, Any]) -> ColdStart:
    # Recycling drops the warm sandbox, as a new function version does: the invocation starts a new process with
    # fresh role credentials. Counters are read after the old process is gone and around the new one's whole life
    # up to its answer, so whatever its init or first call does at the servers belongs to this cold start.
    pool.recycle()
    before = counters(env)
    result = invoke_ok(pool, event)
    seen = counters(env) - before
    if not result.cold_start or result.init_ms is None:
        raise RuntimeError(f"{pool.spec.handler} answered from a warm sandbox after its pool was recycled")
    return ColdStart(result.init_ms, result.duration_ms, seen.sts_calls, seen.connections, seen.requests)


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
