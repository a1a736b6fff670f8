"""The Makefile's entry points: what `make demo` and `make diagnose-demo` run, what `make clean` removes."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

MAKE = shutil.which("make")

pytestmark = pytest.mark.skipif(MAKE is None, reason="needs GNU make")


def _dry_run(*args: str, fresh: bool = False) -> list[str]:
    """The recipe lines `make -n` would run: stamps up to date (-o), or on a fresh clone (-B, nothing built yet)."""
    assert MAKE is not None
    stamps = ["-B"] if fresh else ["-o", ".venv/.installed", "-o", ".venv/.demo-installed"]
    done = subprocess.run(  # noqa: S603 - make on this repo's own Makefile
        [MAKE, "--no-print-directory", "-n", *stamps, *args],
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


def test_make_demo_on_a_fresh_clone_installs_the_demo_requirements_only() -> None:
    # GIVEN a clone where no venv exists yet
    # WHEN `make demo` runs
    lines = _dry_run("demo", fresh=True)
    # THEN it installs requirements-demo.txt into .venv, never the test toolchain of requirements-dev.txt
    assert ".venv/bin/python -m pip install --quiet -r requirements-demo.txt" in lines
    assert not any("requirements-dev.txt" in line for line in lines), lines
    assert lines[-1] == ".venv/bin/python -m emulation.demo"


def test_make_unit_on_a_fresh_clone_installs_everything_into_the_same_venv() -> None:
    # GIVEN a clone where no venv exists yet
    # WHEN `make unit` (and so `make test`) runs
    lines = _dry_run("unit", fresh=True)
    # THEN it installs the demo's requirements, then the dev requirements, into the one .venv
    demo = lines.index(".venv/bin/python -m pip install --quiet -r requirements-demo.txt")
    dev = lines.index(".venv/bin/python -m pip install --quiet -r requirements-dev.txt")
    assert demo < dev
    assert lines.count("python3 -m venv --without-pip .venv") == 1


# Every kind of file the repo generates (.gitignore lists them), where the tools write it.
_GENERATED = [
    ".venv/bin/python",
    ".venv-bench/bin/python",
    ".venv-checkov/bin/python",
    ".pytest_cache/README.md",
    ".ruff_cache/CACHEDIR.TAG",
    ".mypy_cache/CACHEDIR.TAG",
    ".hypothesis/examples/x",
    ".aws-sam/build/template.yaml",
    "api-backend/.aws-sam/build.toml",
    "build/api-client.zip",
    "dist/x.whl",
    "api-backend/api-backend-deploy.yaml",
    "api-backend/vpc-api-backend-deploy.yaml",
    "api-client/api-client-deploy.yaml",
    "api-client/vpc-api-client-deploy.yaml",
    "bench/results.json",
    "bench/results-strict.json",
    ".samlocal/sam-backend.log",
    "emulation/__pycache__/demo.cpython-311.pyc",
    "tests/unit/__pycache__/test_x.cpython-311.pyc",
    "api-client/src/client/__pycache__/invoke.cpython-311.pyc",
    "scripts/stray.pyc",
    "moto_recording",
]
_KEPT = ["api-backend/api-backend.yaml", "bench/report.py", "emulation/demo/run.py", "requirements-dev.txt"]


def test_make_clean_removes_everything_the_repo_generates(tmp_path: Path) -> None:
    # GIVEN a copy of the Makefile next to source files and every kind of generated file
    shutil.copy(REPO / "Makefile", tmp_path / "Makefile")
    for name in [*_GENERATED, *_KEPT]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n", encoding="utf-8")
    assert MAKE is not None
    # WHEN `make clean` runs there
    subprocess.run([MAKE, "--no-print-directory", "clean"], cwd=tmp_path, check=True, capture_output=True)  # noqa: S603
    # THEN the generated files are gone and the sources are not
    assert sorted(name for name in _GENERATED if (tmp_path / name).exists()) == []
    assert sorted(name for name in _KEPT if not (tmp_path / name).exists()) == []
    assert not list(tmp_path.rglob("__pycache__"))
