"""`python -m bench`: our clients, a reference-style baseline and the floor, measured side by side in one run."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import coldstart, report
from bench.packages import PackageSize, build_zip

__all__ = ["main"]

REPO = Path(__file__).resolve().parent.parent
WORK = REPO / "build" / "bench"
WARM_EVENT = {"method": "GET", "path": "/"}  # the backend's echo route: the whole path, no DynamoDB
SEED = 20_240_601
MIN_COLD_STARTS = 3


def build_parser() -> argparse.ArgumentParser:
    """Command line of the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--invocations", type=int, default=200, help="timed warm invocations per client (200)")
    parser.add_argument(
        "--rounds", type=int, help="rounds the invocations are interleaved in (default: one invocation per round)"
    )
    parser.add_argument("--warmup", type=int, default=5, help="untimed warm invocations per client first (5)")
    parser.add_argument("--import-runs", type=int, default=21, help="fresh-process imports per handler (21)")
    parser.add_argument(
        "--cold-starts",
        type=int,
        default=11,
        help=f"new sandboxes per client, each invoked once (11, at least {MIN_COLD_STARTS})",
    )
    parser.add_argument(
        "--idle-gaps",
        type=int,
        default=8,
        help="invocations per client and idle limit, each after a gap longer than the endpoint's idle timeout (8)",
    )
    parser.add_argument("--python", help="interpreter for cold imports (default: .venv-bench/bin/python)")
    parser.add_argument(
        "--no-instructions",
        action="store_true",
        help="skip counting each cold import's instructions with valgrind's callgrind (about 35 s)",
    )
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results.json", help="JSON results file")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run every measurement, write the JSON, print the table and end with the summary lines."""
    args = build_parser().parse_args(argv)
    args.rounds = args.rounds or args.invocations
    if (
        args.invocations < args.rounds
        or args.rounds < 1
        or args.import_runs < 5
        or args.cold_starts < MIN_COLD_STARTS
        or args.idle_gaps < 1
    ):
        print(
            "need --rounds >= 1, --invocations >= --rounds, --import-runs >= 5, --idle-gaps >= 1 and "
            f"--cold-starts >= {MIN_COLD_STARTS}",
            file=sys.stderr,
        )
        return 2
    started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)

    _say("1/4 deployment zips (workflow/artifacts.py stage + zip, as build-*.sh)")
    packages = {side: build_zip(REPO, side, WORK / "zips") for side in ("api-client", "api-backend")}

    runtime_like: bool | None  # None: the caller chose the interpreter
    python, runtime_like = coldstart.runtime_python(REPO)
    if args.python:
        python, runtime_like = args.python, None  # the caller's choice: whether it is runtime-like is theirs to say
    _say(f"2/4 cold imports: {args.import_runs} fresh processes per handler, interpreter {python}")
    if runtime_like is False:
        _say("    WARNING: no .venv-bench: the dev venv and its extras slow every import (make bench creates it)")
    subjects = _cold_subjects(packages["api-client"], packages["api-backend"])
    imports = coldstart.measure_imports(subjects, python=python, runs=args.import_runs)
    instructions, valgrind_version = _instruction_counts(subjects, python, skip=args.no_instructions)

    _say(
        f"3/4 offline emulation: {args.invocations} warm invocations per client after {args.warmup}, "
        f"then {args.cold_starts} cold starts each"
    )
    # Imported here so --help and bad arguments answer without loading moto and the emulation.
    from bench.warm import run_emulated  # noqa: PLC0415

    emulated = run_emulated(
        invocations=args.invocations,
        rounds=args.rounds,
        warmup=args.warmup,
        cold_starts=args.cold_starts,
        seed=SEED,
        event=WARM_EVENT,
        python=python,
    )
    from bench.idle import ENDPOINT_IDLE_S, GAP_S, run_idle_gaps  # noqa: PLC0415

    _say(
        f"4/4 idle gaps: {args.idle_gaps} invocations per client and idle limit, each after >= {GAP_S:g} s of silence; "
        f"the endpoint forgets a flow after {ENDPOINT_IDLE_S:g} s (350 s scaled)"
    )
    # Its own seed: moto keeps the first emulation's accounts in this process, so the same names would collide.
    idle = run_idle_gaps(gaps=args.idle_gaps, seed=SEED + 1, event=WARM_EVENT, python=python)

    results = _compose(
        packages,
        imports,
        instructions,
        emulated,
        idle,
        python=python,
        runtime_like=runtime_like,
        valgrind=valgrind_version,
        args=args,
    )
    results["duration_s"] = round(time.monotonic() - started, 1)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n")

    print()
    for line in report.format_table(results):
        print(line)
    print()
    print(
        f"zips: api-client {packages['api-client'].zip_bytes} B (both client functions), "
        f"api-backend {packages['api-backend'].zip_bytes} B"
    )
    missed = [target for target, met in report.verdicts(results["summary"]) if not met]
    for line in report.target_lines(results["summary"]):
        print(line)
    print(f"full results: {_shown(args.output)} ({results['duration_s']} s)")
    for line in report.summary_lines(results["summary"]):
        print(line)
    return 1 if args.strict and missed else 0


def _cold_subjects(client_zip: PackageSize, backend_zip: PackageSize) -> list[coldstart.ImportSubject]:
    # Our code comes from the zips themselves; the baselines and floor from copies without bytecode caches.
    code = WORK / "cold"
    shutil.rmtree(code, ignore_errors=True)
    with zipfile.ZipFile(client_zip.zip_path) as archive:
        archive.extractall(code / "client")
    with zipfile.ZipFile(backend_zip.zip_path) as archive:
        archive.extractall(code / "backend")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO / "bench" / "baseline", code / "baseline", ignore=ignore)
    shutil.copytree(REPO / "bench" / "floor", code / "floor", ignore=ignore)
    return [
        coldstart.ImportSubject("ours_direct", code / "client", ("client.direct_auth",)),
        coldstart.ImportSubject("ours_assume_role", code / "client", ("client.assume_role",)),
        coldstart.ImportSubject("baseline", code / "baseline", ("reference_style",)),
        coldstart.ImportSubject("floor", code / "floor", ("floor_loop",)),
        # The least any client meeting issue 3 can import: the floor plus Powertools (Logger is required).
        coldstart.ImportSubject("floor+powertools", code / "floor", ("aws_lambda_powertools", "floor_loop")),
        # The provider's function (issue 18): ours against one written the public sample's way.
        coldstart.ImportSubject("backend", code / "backend", ("backend.app",)),
        coldstart.ImportSubject("backend_baseline", code / "baseline", ("reference_backend",)),
        # The least a backend keeping Powertools' Logger, Metrics and event handler can import (bench/floor).
        coldstart.ImportSubject("backend_floor", code / "floor", ("backend_floor",)),
    ]


def _instruction_counts(
    subjects: Sequence[coldstart.ImportSubject], python: str, *, skip: bool
) -> tuple[dict[str, coldstart.ImportInstructions] | None, str | None]:
    """Each subject's import counted in instructions with callgrind, and valgrind's version; None, None when skipped.

    A cross-check of the CPU-time ratios that does not drift with the machine's load (see
    coldstart.count_import_instructions); without valgrind the run goes on without it.
    """
    if skip:
        _say("    instruction counts skipped (--no-instructions)")
        return None, None
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        _say("    instruction counts skipped: valgrind is not on PATH (install it, or pass --no-instructions)")
        return None, None
    version = subprocess.run(  # noqa: S603 - the valgrind found on PATH, no shell
        [valgrind, "--version"], capture_output=True, text=True, timeout=60, check=False
    ).stdout.strip()
    starts = len({subject.code_dir for subject in subjects})
    _say(
        f"    instruction counts: {version or 'valgrind'} --tool=callgrind, one run per handler and {starts} "
        "interpreter starts, 2 at a time"
    )
    started = time.monotonic()
    counts = coldstart.count_import_instructions(subjects, python=python, valgrind=valgrind, jobs=2)
    _say(f"    counted in {time.monotonic() - started:.0f} s")
    return counts, version or None


def _compose(
    packages: dict[str, PackageSize],
    imports: dict[str, coldstart.ImportTiming],
    instructions: dict[str, coldstart.ImportInstructions] | None,
    emulated: dict[str, Any],
    idle: dict[str, Any],
    *,
    python: str,
    runtime_like: bool | None,
    valgrind: str | None,
    args: argparse.Namespace,
) -> dict[str, Any]:
    floor_median = report.median(emulated["warm"]["floor"]["durations_ms"])
    counted = {key: count.instructions for key, count in instructions.items()} if instructions else {}

    def cold(key: str, base: str = "baseline") -> dict[str, Any]:
        timing, baseline_cpu, baseline_wall = imports[key], imports[base].median_cpu_ms, imports[base].median_wall_ms
        baseline_runs = imports[base].cpu_ms
        # The ratio is the median of same-round ratios (report.paired_ratio); the others are cross-checks.
        paired = report.paired_ratio(timing.cpu_ms, baseline_runs)
        return {
            "modules": list(timing.modules),
            "median_cpu_ms": round(timing.median_cpu_ms, 2),
            "median_wall_ms": round(timing.median_wall_ms, 2),
            "cpu_vs_baseline": round(paired, 3),
            "cpu_medians_ratio": round(timing.median_cpu_ms / baseline_cpu, 3),
            "wall_medians_ratio": round(timing.median_wall_ms / baseline_wall, 3),
            "cpu_fastest_ratio": round(min(timing.cpu_ms) / min(baseline_runs), 3),
            # Deterministic cross-check (callgrind): the import's instructions, and their ratio to the baseline's.
            **report.instructions_section(counted.get(key), counted.get(base)),
            "cpu_runs_ms": [round(v, 2) for v in timing.cpu_ms],
            "wall_runs_ms": [round(v, 2) for v in timing.wall_ms],
        }

    cold_starts = emulated["cold_starts"]
    clients: dict[str, Any] = {}
    for key, warm in emulated["warm"].items():
        durations = warm["durations_ms"]
        median = report.median(durations)
        clients[key] = {
            "label": warm["label"],
            "warm": {
                "invocations": len(durations),
                "sts_calls_per_100": report.per_100(warm["sts_calls"], len(durations)),
                "new_connections_per_100": report.per_100(warm["connections"], len(durations)),
                "requests_seen": warm["requests"],
                "median_ms": round(median, 3),
                "p95_ms": round(report.p95(durations), 3),
                "median_vs_floor": round(median / floor_median, 3),
                "durations_ms": [round(v, 3) for v in durations],
            },
            "cold_start": report.cold_start_section(cold_starts[key], cold_starts["baseline"]),
            "cold_import": cold(key),
            "zip_bytes": packages["api-client"].zip_bytes if key in report.OURS else None,
        }
    results: dict[str, Any] = {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cold_import_python": python,
            "cold_import_runtime_like": runtime_like,
            "cold_start_python": python,  # the clients' sandboxes run the cold-import interpreter too
            "valgrind": valgrind,  # None: instructions not counted
        },
        "parameters": {
            "invocations": args.invocations,
            "rounds": args.rounds,
            "warmup": args.warmup,
            "import_runs": args.import_runs,
            "cold_starts": args.cold_starts,
            "idle_gaps": args.idle_gaps,
            "instructions": instructions is not None,
            "warm_event": WARM_EVENT,
        },
        "clients": clients,
        "cold_import_reference": {"floor+powertools": cold("floor+powertools")},
        "backend_cold_import": {
            key: cold(key, "backend_baseline") for key in ("backend", "backend_baseline", "backend_floor")
        },
        "cold_import_instructions": _instruction_runs(instructions),
        "packages": {
            side: {"zip": _shown(size.zip_path), "zip_bytes": size.zip_bytes, "unzipped_bytes": size.unzipped_bytes}
            for side, size in packages.items()
        },
        "dynamodb": emulated["dynamodb"],
        "idle_gaps": report.idle_gap_section(idle),
    }
    results["summary"] = report.summarize(results)
    results["targets"] = [
        {"key": t.key, "limit": t.limit, "value": results["summary"][t.key], "met": met}
        for t, met in report.verdicts(results["summary"])
    ]
    return results


def _instruction_runs(instructions: dict[str, coldstart.ImportInstructions] | None) -> dict[str, Any] | None:
    if instructions is None:
        return None
    return {
        "method": (
            "valgrind --tool=callgrind <python> -P -s -B -c <probe> <code dir> <modules>, cwd the code dir, "
            "IMPORT_ENV + PYTHONHASHSEED=0; import = total - start (the same probe importing nothing); "
            "both end with os._exit(0), before finalization"
        ),
        "event": "Ir",
        "subjects": {
            key: {
                "modules": list(count.modules),
                "total": count.total,
                "start": count.start,
                "import": count.instructions,
            }
            for key, count in instructions.items()
        },
    }


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def _say(text: str) -> None:
    print(text, flush=True)
