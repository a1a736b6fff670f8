"""The clients under test, each in its own emulated Lambda sandbox, against the offline two-account emulation.

Every client runs as a consumer function of the main site (ours as deployed; the baseline as the assume-role
function, the floor as the direct one): same environment, role credentials, CA bundle, STS front and VPC DNS view;
only handler and code folder differ. Each sandbox times its handler call
itself (the bootstrap's `duration_ms`), so process and pipe overhead stay outside every client's number alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import urllib3

from emulation.accounts.two_accounts import MAIN, TwoAccounts
from emulation.lambdas.sandbox import FunctionPool, InvokeResult

__all__ = [
    "CLIENTS",
    "BenchClient",
    "Counters",
    "MotoRecorder",
    "build_pools",
    "counters",
    "invoke_ok",
]

BENCH_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class BenchClient:
    """One client in the comparison: whose function environment it runs with, and which handler."""

    key: str
    label: str
    environment_of: str  # "direct" or "assume_role": the consumer function whose environment and role it uses
    handler: str | None = None  # None: the deployed function's own handler
    code_dir: Path | None = None  # None: the deployed function's own code folder


CLIENTS = (
    BenchClient("ours_direct", "ours: direct (client.direct_auth)", "direct"),
    BenchClient("ours_assume_role", "ours: assume-role (client.assume_role)", "assume_role"),
    BenchClient(
        "baseline",
        "baseline: reference-style assume-role (bench/baseline)",
        "assume_role",
        handler="reference_style.handler",
        code_dir=BENCH_DIR / "baseline",
    ),
    BenchClient(
        "floor",
        "floor: SigV4 + one kept urllib3 connection (bench/floor)",
        "direct",
        handler="floor_loop.handler",
        code_dir=BENCH_DIR / "floor",
    ),
)


@dataclass(frozen=True)
class Counters:
    """Server-side counts at one moment: new TCP connections at the main endpoint's listener, STS calls at the front."""

    connections: int
    requests: int
    sts_calls: int

    def __add__(self, other: Counters) -> Counters:
        return Counters(
            self.connections + other.connections, self.requests + other.requests, self.sts_calls + other.sts_calls
        )

    def __sub__(self, other: Counters) -> Counters:
        return Counters(
            self.connections - other.connections, self.requests - other.requests, self.sts_calls - other.sts_calls
        )


def counters(env: TwoAccounts) -> Counters:
    """Read the counters the emulated servers keep (nothing is estimated on the client side)."""
    if env.gateway is None or env.sts is None:
        raise RuntimeError("the emulation is not running")
    stats = env.gateway.stats(env.endpoint_id(MAIN))
    return Counters(stats.connections, stats.requests, sum(env.sts.calls.values()))


def build_pools(env: TwoAccounts, *, python: str | None = None) -> dict[str, FunctionPool]:
    """One single-sandbox function per client, deployed in the main consumer site like the real client functions.

    The specs come from the emulation's own builder, so every client gets exactly the environment (role keys,
    Lambda's reserved variables, CA bundle, STS front) and DNS view the demo's client sandboxes get. ``python`` runs
    the sandboxes (the runtime-like venv when given; else this interpreter).
    """
    pools = {}
    for client in CLIENTS:
        spec = env.client_spec(client.environment_of, handler=client.handler, code_dir=client.code_dir)
        pools[client.key] = FunctionPool(replace(spec, python=python), max_concurrency=1)
    return pools


def invoke_ok(pool: FunctionPool, event: Mapping[str, Any], expected: int = 200) -> InvokeResult:
    """Invoke and insist on the expected status: timing failed calls would measure nothing useful."""
    result = pool.invoke(dict(event))
    if result.error is not None or result.status != expected:
        detail = result.error or (result.payload if isinstance(result.payload, Mapping) else {})
        raise RuntimeError(f"{pool.spec.handler} answered {result.status}, expected {expected}: {detail}")
    return result


class MotoRecorder:
    """moto's request recorder, read over its HTTP API: counts the DynamoDB calls the backend really made."""

    def __init__(self, moto_url: str) -> None:
        self._url = moto_url.rstrip("/") + "/moto-api/recorder"
        self._http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=10))

    def start(self) -> None:
        """Forget earlier requests and record from now on."""
        self._post("reset-recording")
        self._post("start-recording")

    def stop(self) -> None:
        """Stop recording (the recording itself stays readable)."""
        self._post("stop-recording")

    def dynamodb_actions(self) -> list[str]:
        """DynamoDB operations received since start, in order (from the X-Amz-Target header)."""
        response = self._http.request("GET", f"{self._url}/download-recording")
        actions = []
        for line in response.data.decode().splitlines():
            if not line.strip():
                continue
            headers = {k.lower(): v for k, v in json.loads(line).get("headers", {}).items()}
            target = headers.get("x-amz-target", "")
            if target.startswith("DynamoDB_"):
                actions.append(target.split(".", 1)[1])
        return actions

    def _post(self, action: str) -> None:
        response = self._http.request("POST", f"{self._url}/{action}")
        if response.status != 200:
            raise RuntimeError(f"moto recorder {action} answered {response.status}")
