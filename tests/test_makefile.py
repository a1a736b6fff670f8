"""The Makefile's entry points: what `make demo` and `make diagnose-demo` run, what `make clean` removes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="needs GNU make")


def _dry_run(*args: str) -> list[str]:
    """The recipe lines `make -n` would run (stamps assumed up to date with -o)."""
    assert MAKE is not None
    done = subprocess.run(  # noqa: S603 - make on this repo's own Makefile
        [MAKE, "--no-print-directory", "-n", "-o", ".venv/.installed", "-o", ".venv/.demo-installed", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_make_demo_passes_args_to_the_demo() -> None:
    # GIVEN options for the demo in ARGS
    # WHEN `make demo ARGS=...` runs
    lines = _dry_run("demo", "ARGS=--help --seed 3")
    # THEN the demo's command line carries them, after the module name
    assert lines[-1] == ".venv/bin/python -m emulation.demo --help --seed 3", lines


def test_make_demo_without_args_runs_the_plain_demo() -> None:
    assert _dry_run("demo")[-1] == ".venv/bin/python -m emulation.demo"


def test_make_diagnose_demo_keeps_cause() -> None:
    # GIVEN a cause name in CAUSE
    # WHEN `make diagnose-demo CAUSE=...` runs
    # THEN diagnose.sh gets it after --demo
    assert _dry_run("diagnose-demo", "CAUSE=vpce-not-allowed")[-1] == "./diagnose.sh --demo vpce-not-allowed"
