"""Cold-start import time: each handler module imported in a fresh interpreter, as Lambda's init phase does it.

Runs under a runtime-like interpreter (.venv-bench: only what Lambda's Python runtime and the Powertools layer
provide), so extras of the dev venv (awscrt, which botocore imports when present) do not inflate every client.
Code directories hold no bytecode and `-B` keeps it that way, so our modules are compiled on every start exactly
as from a deployment zip; installed libraries use the .pyc files pip wrote, like the runtime's. Both the CPU time and
the wall-clock time of the import are kept: CPU time is what the import costs and stays put when other processes
compete for the cores; wall-clock time equals it on an idle machine.

CPU time still drifts with what the other processes do to the caches and to the CPU's clock, so each import is also
counted in instructions under valgrind's callgrind (`count_import_instructions`): a count that is the same on every
run of the same interpreter, code and environment, whatever else the machine is doing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "IMPORT_ENV",
    "INSTRUCTION_ENV",
    "ImportInstructions",
    "ImportSubject",
    "ImportTiming",
    "callgrind_total",
    "count_import_instructions",
    "measure_imports",
    "runtime_python",
]

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
    "TABLE_NAME": "items",  # the backend's tables (our backend and the sample-style one)
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
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

# The instruction counts run with IMPORT_ENV plus a fixed string-hash seed (see count_import_instructions).
INSTRUCTION_ENV = {**IMPORT_ENV, "PYTHONHASHSEED": "0"}

# Modules a Lambda runtime loop has already loaded before it imports the handler (as emulation/lambdas/bootstrap.py).
_PRELOAD = """
import importlib, json, os, socket, sys, time, traceback
sys.path.insert(0, sys.argv[1])
"""
_PROBE = (
    _PRELOAD
    + """wall, cpu = time.perf_counter(), time.process_time()
for name in sys.argv[2:]:
    importlib.import_module(name)
print(json.dumps({"wall_ms": (time.perf_counter() - wall) * 1000, "cpu_ms": (time.process_time() - cpu) * 1000}))
"""
)
# The same preloads and imports, counted whole by callgrind; os._exit leaves out the interpreter's finalization
# (which grows with every module loaded, and which a Lambda init phase never runs).
_COUNT_PROBE = (
    _PRELOAD
    + """for name in sys.argv[2:]:
    importlib.import_module(name)
os._exit(0)
"""
)
_COUNT_TIMEOUT_S = 600


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


@dataclass(frozen=True)
class ImportInstructions:
    """Instructions (callgrind's Ir) of one subject's import: one counted run, less the same run importing nothing."""

    key: str
    modules: tuple[str, ...]
    total: int  # the probe importing the modules: interpreter start, preloads, the imports
    start: int  # the same probe, code directory and environment importing nothing: interpreter start and preloads

    @property
    def instructions(self) -> int:
        """The import's own instructions: everything the counted run executed beyond the interpreter's start."""
        return self.total - self.start


def measure_imports(
    subjects: Sequence[ImportSubject],
    *,
    python: str,
    runs: int,
) -> dict[str, ImportTiming]:
    """Import each subject `runs` times, each in a new `python -I -B` process; rounds interleave the subjects.

    One discarded round first warms the OS file cache for every subject alike. Each round imports every subject once,
    in a rotating order, so drift in machine load spreads over all subjects and sample i of each subject comes from
    the same moment (ratios of same-round samples cancel most of that drift).
    """
    samples: dict[str, list[tuple[float, float]]] = {s.key: [] for s in subjects}
    for round_number in range(runs + 1):
        shift = round_number % len(subjects)
        for subject in [*subjects[shift:], *subjects[:shift]]:
            sample = _import_once(subject, python)
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


def _import_once(subject: ImportSubject, python: str) -> tuple[float, float]:
    completed = subprocess.run(  # noqa: S603 - a fixed interpreter running our probe, no shell
        [python, "-I", "-B", "-c", _PROBE, str(subject.code_dir), *subject.modules],
        env=IMPORT_ENV,
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


def count_import_instructions(
    subjects: Sequence[ImportSubject],
    *,
    python: str,
    valgrind: str,
    jobs: int = 2,
) -> dict[str, ImportInstructions]:
    """Count the instructions of each subject's import with callgrind: one run each, `jobs` runs at a time.

    Each subject runs once as `valgrind --tool=callgrind <python> -P -s -B -c <probe> <code dir> <modules...>`, and
    each distinct code directory once more with no modules: the interpreter start. The probe makes the same preloads
    as the timed one (`_PRELOAD`), imports the modules and leaves by `os._exit(0)`, so neither count includes the
    interpreter's finalization. The import's count is the subject's total less its code directory's start: only the
    module names on the command line and the loop's turns over them differ between the two runs, a few hundred
    instructions, so the difference is the import's own work (garbage collections it triggers included).

    Instruction counts are deterministic only when everything the process sees is the same from run to run:
    - the string-hash seed: `-I` (as the timed imports use) implies `-E`, which ignores PYTHONHASHSEED and leaves
      hashing randomized, so the run has `-P -s -B` (everything `-I` sets except `-E`: no script directory on
      sys.path, no user site, no bytecode written) and a complete, explicit environment, `INSTRUCTION_ENV`
      (IMPORT_ENV plus PYTHONHASHSEED=0);
    - the command line and working directory: the subject's code directory, as the timed imports have;
    - the files: code directories without bytecode (our modules are compiled on every run, as on Lambda), installed
      libraries with their .pyc files, neither written to by these runs.
    Valgrind itself lays out memory the same way every run and counts in user space only, so neither address space
    randomization nor the machine's load moves the count. The runs are independent, so running `jobs` of them at
    once changes their wall time, never their counts.

    The total is read from the output file callgrind writes (`callgrind_total`), never from its terminal output; a
    file per process (`%p`) makes a forked child visible instead of silently overwriting the parent's count.
    """
    starts = list(dict.fromkeys(subject.code_dir for subject in subjects))
    runs = [(subject.code_dir, subject.modules) for subject in subjects] + [(code_dir, ()) for code_dir in starts]
    with tempfile.TemporaryDirectory(prefix="bench-callgrind-") as out, ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(_count_once, code_dir, modules, python=python, valgrind=valgrind, out=Path(out) / f"run{index}")
            for index, (code_dir, modules) in enumerate(runs)
        ]
        totals = [future.result() for future in futures]
    start_of = dict(zip(starts, totals[len(subjects) :], strict=True))
    return {
        subject.key: ImportInstructions(subject.key, subject.modules, total, start_of[subject.code_dir])
        for subject, total in zip(subjects, totals[: len(subjects)], strict=True)
    }


def callgrind_total(text: str, event: str = "Ir") -> int:
    """The total of one event in a callgrind output file: its `totals:` line, else its `summary:` line.

    Both lines list one cost per event named on the `events:` line, in that order. A file with several parts
    (callgrind zeroes its counters at every dump) has a line per part, and the parts add up.
    """
    events: list[str] | None = None
    totals: list[list[str]] = []
    summaries: list[list[str]] = []
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        if name == "events":
            events = rest.split()
        elif name == "totals":
            totals.append(rest.split())
        elif name == "summary":
            summaries.append(rest.split())
    costs = totals or summaries
    if events is None or event not in events or not costs:
        raise ValueError(f"no {event} total in this callgrind output (events: {events}, totals or summary lines: 0)")
    index = events.index(event)
    if any(len(line) <= index for line in costs):
        raise ValueError(f"a totals or summary line of this callgrind output has no {event} cost")
    return sum(int(line[index]) for line in costs)


def _count_once(code_dir: Path, modules: tuple[str, ...], *, python: str, valgrind: str, out: Path) -> int:
    out.mkdir()
    completed = subprocess.run(  # noqa: S603 - fixed tools running our probe, no shell
        [
            valgrind,
            "--tool=callgrind",
            f"--callgrind-out-file={out / 'callgrind.%p.out'}",
            python,
            "-P",
            "-s",
            "-B",
            "-c",
            _COUNT_PROBE,
            str(code_dir),
            *modules,
        ],
        env=INSTRUCTION_ENV,
        cwd=code_dir,
        capture_output=True,
        text=True,
        timeout=_COUNT_TIMEOUT_S,
        check=False,
    )
    what = f"importing {', '.join(modules)}" if modules else f"starting the interpreter in {code_dir}"
    if completed.returncode != 0:
        raise RuntimeError(f"{what} under callgrind failed:\n{completed.stderr.strip()[-2000:]}")
    files = sorted(out.iterdir())
    if len(files) != 1:
        raise RuntimeError(f"{what} under callgrind left {len(files)} output files (a forked process?), not 1")
    return callgrind_total(files[0].read_text())


def runtime_python(repo: Path) -> tuple[str, bool]:
    """The runtime-like interpreter (.venv-bench) when it exists, else this one; and whether it is runtime-like."""
    candidate = repo / ".venv-bench" / "bin" / "python"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate), True
    return sys.executable, False
