"""Warm invocations separated by idle gaps longer than the execute-api endpoint's idle timeout, time-scaled.

On AWS the interface endpoint (PrivateLink) forgets a flow after 350 s of silence and drops what is sent on it
afterwards; a client that reuses such a connection waits out its API_TIMEOUT. Here the emulated endpoint forgets a
flow after ENDPOINT_IDLE_S, and the clients' own limit (API_IDLE_TIMEOUT) is scaled by the same factor as 350 s:
270 s becomes CLIENT_IDLE_S. The same clients also run with the limit left at 270 s (far above the scaled endpoint's,
as a client without the limit would be), to show the stalls the limit prevents.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from bench.harness import counters, invoke_ok
from emulation.accounts.two_accounts import TwoAccounts
from emulation.demo.scenario import Settings
from emulation.lambdas.sandbox import FunctionPool

__all__ = ["API_TIMEOUT_S", "CLIENT_IDLE_S", "ENDPOINT_IDLE_S", "GAP_S", "STALL_MS", "VARIANTS", "run_idle_gaps"]

ENDPOINT_IDLE_S = 0.5  # PrivateLink's fixed 350 s, scaled down 700 times
CLIENT_IDLE_S = round(270 * ENDPOINT_IDLE_S / 350, 3)  # the client's default 270 s, scaled alike: 0.386 s
GAP_S = 0.6  # silence before each timed invocation: longer than the endpoint's limit
API_TIMEOUT_S = 0.5  # per attempt; what a request on a forgotten flow waits before the client gives up on it
STALL_MS = API_TIMEOUT_S * 1000 / 2  # slower than this (or failed): it waited on a forgotten flow
# Our two clients, each with the scaled limit and with the limit left at its 270 s default.
CLIENTS = ("ours_direct", "ours_assume_role")
VARIANTS: dict[str, dict[str, str]] = {
    "limited": {"API_TIMEOUT": str(API_TIMEOUT_S), "API_IDLE_TIMEOUT": str(CLIENT_IDLE_S)},
    "unlimited": {"API_TIMEOUT": str(API_TIMEOUT_S)},
}
_KINDS = {"ours_direct": "direct", "ours_assume_role": "assume_role"}


def run_idle_gaps(*, gaps: int, seed: int, event: Mapping[str, Any], python: str | None = None) -> dict[str, Any]:
    """Start two accounts whose endpoint forgets idle flows after ENDPOINT_IDLE_S; time `gaps` invocations per pool.

    Every (client, variant) pool answers one untimed call first (its cold start), then in each round every pool gets
    one invocation after at least GAP_S of silence of its own. Returns the raw samples per variant and client.
    """
    env = TwoAccounts(seed=seed, endpoint_idle_timeout=ENDPOINT_IDLE_S)
    settings = Settings()
    env.start(settings.provider_params(env.names), settings.consumer_params(), warm=False)
    pools: dict[tuple[str, str], FunctionPool] = {}
    try:
        # The backend's cold start first, so it cannot land in a timed call (API_TIMEOUT is short here).
        env.request("GET", "/", credentials=env.lambda_credentials())
        for variant, overrides in VARIANTS.items():
            for key in CLIENTS:
                spec = env.client_spec(_KINDS[key], env=overrides)
                pools[variant, key] = FunctionPool(replace(spec, python=python), max_concurrency=1)
                invoke_ok(pools[variant, key], event)  # its cold start, untimed: it opens the connection to idle
        samples: dict[str, dict[str, dict[str, Any]]] = {
            variant: {key: {"durations_ms": [], "failures": 0, "new_connections": 0} for key in CLIENTS}
            for variant in VARIANTS
        }
        for _ in range(gaps):
            # Every pool was last used at least GAP_S ago once this sleep ends: the others' calls only add to it.
            time.sleep(GAP_S)
            for (variant, key), pool in pools.items():
                before = counters(env)
                result = pool.invoke(dict(event))
                sample = samples[variant][key]
                sample["new_connections"] += (counters(env) - before).connections
                sample["durations_ms"].append(result.duration_ms)
                if result.error is not None or result.status != 200:
                    sample["failures"] += 1
    finally:
        for pool in pools.values():
            pool.stop()
        env.stop()
    return {
        "endpoint_idle_s": ENDPOINT_IDLE_S,
        "client_idle_s": CLIENT_IDLE_S,
        "gap_s": GAP_S,
        "api_timeout_s": API_TIMEOUT_S,
        "stall_ms": STALL_MS,
        "gaps": gaps,
        "variants": samples,
    }
