"""diagnose.sh --demo: diagnose's real checks run offline against one broken emulated deployment per known cause."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from diagnose.cli import main
from diagnose.results import EXIT_FAILED, EXIT_USAGE
from emulation.demo.diagnose_world import CAUSES, Cause

REPO = Path(__file__).resolve().parents[2]
LABELS = {"direct": "Direct client: ", "assume-role": "Assume-role client: ", "certificate": "Certificate client: "}


def _client_block(text: str, kind: str) -> str:
    """The lines of one client's block in the checklist."""
    start = text.index(LABELS[kind])
    end = text.find("\n\n", start)
    return text[start : end if end >= 0 else None]


def test_diagnose_demo_without_cause_lists_every_cause_and_exits_0() -> None:
    # GIVEN no cause named
    out = io.StringIO()
    # WHEN diagnose runs in demo mode
    status = main(["--demo"], stdout=out)
    # THEN it lists every cause with its summary and how to run one
    text = out.getvalue()
    assert status == 0
    for cause in CAUSES:
        assert f"  {cause.name:<24} {cause.summary}" in text
    assert "./diagnose.sh --demo CAUSE" in text


def test_diagnose_demo_unknown_cause_exits_2_with_the_list() -> None:
    # GIVEN a cause that does not exist
    err = io.StringIO()
    # WHEN diagnose runs in demo mode with it
    status = main(["--demo", "gremlins"], stdout=io.StringIO(), stderr=err)
    # THEN it says so, lists the known causes, exit 2
    assert status == EXIT_USAGE
    assert err.getvalue().startswith("ERROR: unknown demo cause 'gremlins'")
    assert CAUSES[0].name in err.getvalue()


@pytest.mark.parametrize("cause", CAUSES, ids=[c.name for c in CAUSES])
def test_diagnose_demo_cause_reports_that_cause_and_exits_1(cause: Cause) -> None:
    # GIVEN one broken deployment, built offline in two emulated accounts
    out = io.StringIO()
    # WHEN diagnose.sh --demo CAUSE runs
    status = main(["--demo", cause.name], stdout=out)
    # THEN diagnose's own checklist names the cause's check as where the affected client stops, exit 1
    text = out.getvalue()
    assert status == EXIT_FAILED
    assert text.startswith(f"Demo: {cause.name}: {cause.summary}\n")
    block = _client_block(text, cause.client)
    assert f"  => would be denied: the first failing check is {cause.check}\n" in block
    assert "\n     fix: " in block
    assert text.endswith("(exit 1)\n")


def _script(
    *args: str, env: dict[str, str] | None = None, script: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - runs this repo's own script
        [str(script or REPO / "diagnose.sh"), *args], capture_output=True, text=True, check=False, timeout=120, env=env
    )


def test_diagnose_script_demo_runs_a_cause_and_exits_with_diagnose_status() -> None:
    # GIVEN the wrapper script and the dev venv
    # WHEN it runs one demo cause
    result = _script("--demo", "trust-policy")
    # THEN the real report is printed and the exit status is diagnose's
    assert result.returncode == EXIT_FAILED, result.stderr
    assert "=> would be denied: the first failing check is trust-policy" in result.stdout


def test_diagnose_script_demo_without_dev_packages_says_how_to_get_them(tmp_path: Path) -> None:
    # GIVEN a copy of the script with no .venv beside it and a python3 that sees no installed packages
    script = tmp_path / "diagnose.sh"
    script.write_text((REPO / "diagnose.sh").read_text(encoding="utf-8"), encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "python.sh").write_text((REPO / "scripts" / "python.sh").read_text(encoding="utf-8"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "python3"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I -S "$@"\n', encoding="utf-8")
    shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    # WHEN --demo runs
    result = _script("--demo", env=env, script=script)
    # THEN it names the missing packages and the make target, exit 2
    assert result.returncode == EXIT_USAGE
    assert result.stdout == ""
    assert result.stderr == (
        'ERROR: diagnose.sh --demo needs the dev packages (moto and the SAM translator): run "make diagnose-demo" '
        '(it creates .venv), or "make venv" first\n'
    )
