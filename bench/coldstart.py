"""Cold-start import time: each handler module imported in a fresh interpreter, as Lambda's init phase does it.

Runs under a runtime-like interpreter (.venv-bench: only what Lambda's Python runtime and the Powertools layer
provide), so extras of the dev venv (awscrt, which botocore imports when present) do not inflate every client.
Code directories hold no bytecode and `-B` keeps it that way, so our modules are compiled on every start exactly
as from a deployment zip; installed libraries use the .pyc files pip wrote, like the runtime's. Both the CPU time and
the wall-clock time of the import are kept: CPU time is what the import costs and stays put when other processes
compete for the cores; wall-clock time equals it on an idle machine.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IMPORT_ENV", "ImportSubject", "ImportTiming", "measure_imports", "runtime_python"]

# What a cold start has in its environment (no server is contacted during import, so the values are placeholders).
IMPORT_ENV = {
    "API_HOST": "abc1234567.execute-api.us-east-1.amazonaws.com",
    "API_PREFIX": "/Prod",
    "API_TIMEOUT": "10",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "ASIAIMPORTTIMING0000",
    "AWS_SECRET_ACCESS_KEY": "import-timing-secret",
    "AWS_SESSION_TOKEN": "import-timing-token",
    "ROLE_TO_ASSUME": "arn:aws:iam::111111111111:role/private-api-access",
    "AWS_STS_REGIONAL_ENDPOINTS": "regional",
    "AWS_LAMBDA_FUNCTION_NAME": "import-timing",
    "POWERTOOLS_SERVICE_NAME": "api-client",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
}

# Modules a Lambda runtime loop has already loaded before it imports the handler (as emulation/lambda_bootstrap.py).
_PROBE = """
import importlib, json, os, socket, sys, time, traceback
sys.path.insert(0, sys.argv[1])
wall, cpu = time.perf_counter(), time.process_time()
for name in sys.argv[2:]:
    importlib.import_module(name)
print(json.dumps({"wall_ms": (time.perf_counter() - wall) * 1000, "cpu_ms": (time.process_time() - cpu) * 1000}))
"""


@dataclass(frozen=True)
class ImportSubject:
    """One thing to time: the modules to import (in order) from a code directory."""

    key: str
    code_dir: Path
    modules: tuple[str, ...]


@dataclass(frozen=True)
class ImportTiming:
    """Fresh-process import times of one subject, in milliseconds."""

    key: str
    modules: tuple[str, ...]
    wall_ms: tuple[float, ...]
    cpu_ms: tuple[float, ...]

    @property
    def median_cpu_ms(self) -> float:
        """Median CPU time of the import: what the import costs, whatever else the machine is running."""
        return statistics.median(self.cpu_ms)

    @property
    def median_wall_ms(self) -> float:
        """Median wall-clock time of the import (equal to CPU time on an idle machine; more on a busy one)."""
        return statistics.median(self.wall_ms)


def measure_imports(
    subjects: Sequence[ImportSubject],
    *,
    python: str,
    runs: int,
    environ: Mapping[str, str] | None = None,
) -> dict[str, ImportTiming]:
    """Import each subject `runs` times, each in a new `python -I -B` process; rounds interleave the subjects.

    One discarded round first warms the OS file cache for every subject alike. Each round imports every subject once,
    in a rotating order, so drift in machine load spreads over all subjects and sample i of each subject comes from
    the same moment (ratios of same-round samples cancel most of that drift).
    """
    env = dict(IMPORT_ENV if environ is None else environ)
    samples: dict[str, list[tuple[float, float]]] = {s.key: [] for s in subjects}
    for round_number in range(runs + 1):
        shift = round_number % len(subjects)
        for subject in [*subjects[shift:], *subjects[:shift]]:
            sample = _import_once(subject, python, env)
            if round_number:
                samples[subject.key].append(sample)
    return {
        s.key: ImportTiming(
            key=s.key,
            modules=s.modules,
            wall_ms=tuple(wall for wall, _ in samples[s.key]),
            cpu_ms=tuple(cpu for _, cpu in samples[s.key]),
        )
        for s in subjects
    }


def _import_once(subject: ImportSubject, python: str, env: Mapping[str, str]) -> tuple[float, float]:
    completed = subprocess.run(  # noqa: S603 - a fixed interpreter running our probe, no shell
        [python, "-I", "-B", "-c", _PROBE, str(subject.code_dir), *subject.modules],
        env=dict(env),
        cwd=subject.code_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {', '.join(subject.modules)} failed:\n{completed.stderr.strip()}")
    answer = json.loads(completed.stdout.strip().splitlines()[-1])
    return float(answer["wall_ms"]), float(answer["cpu_ms"])


def runtime_python(repo: Path) -> tuple[str, bool]:
    """The runtime-like interpreter (.venv-bench) when it exists, else this one; and whether it is runtime-like."""
    candidate = repo / ".venv-bench" / "bin" / "python"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate), True
    return sys.executable, False
