"""Cold imports counted in instructions: callgrind's totals, the subtraction, and counts that repeat exactly."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from bench import run
from bench.coldstart import ImportInstructions, ImportSubject, callgrind_total, count_import_instructions

# The shape of a file written by `valgrind --tool=callgrind --callgrind-out-file=...` (3.19), body shortened.
_CALLGRIND_OUT = """# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 19560
cmd:  /work/.venv-bench/bin/python -P -s -B -c import importlib
part: 1


desc: I1 cache:
desc: D1 cache:
desc: LL cache:

desc: Timerange: Basic block 0 - 22632735
desc: Trigger: Program termination

positions: line
events: Ir
summary: 98175827


ob=(10) /root/.pyenv/versions/3.11.7/lib/python3.11/lib-dynload/math.cpython-311-x86_64-linux-gnu.so
fl=(561) ???
fn=(10494) 0x00000000000035b0
0 5

fn=(10484) 0x0000000000003620
0 9
calls=1 650
* 40
* 1

totals: 98175827
"""


@pytest.fixture
def valgrind() -> str:
    """valgrind on PATH; the test is skipped without it."""
    path = shutil.which("valgrind")
    if path is None:
        pytest.skip("valgrind is not on PATH")
    return path


def test_callgrind_total_sample_output_file_is_its_ir_total() -> None:
    # GIVEN a callgrind output file counting instructions only
    # WHEN its total is read
    # THEN it is the number on its totals line, not the sum of the body's cost lines
    assert callgrind_total(_CALLGRIND_OUT) == 98_175_827


def test_callgrind_total_several_events_is_the_ir_column() -> None:
    # GIVEN a file counting data reads and instructions, in that order, with a totals line
    text = "events: Dr Ir\nsummary: 7 100\nfn=(1) main\n0 7 100\ntotals: 7 100\n"
    # WHEN the instruction total is read
    # THEN the column follows the events line
    assert callgrind_total(text) == 100
    assert callgrind_total(text, "Dr") == 7


def test_callgrind_total_without_totals_line_is_the_summary_and_parts_add_up() -> None:
    # GIVEN an older-style file with summary lines only, from two dumps (callgrind zeroes its counters at each)
    text = "events: Ir\npart: 1\nsummary: 300\n0 300\npart: 2\nsummary: 45\n0 45\n"
    # WHEN its total is read
    # THEN the parts' summaries add up
    assert callgrind_total(text) == 345


@pytest.mark.parametrize(
    "text",
    ["", "events: Ir\n0 5\n", "events: Dr\ntotals: 5\n", "events: Dr Ir\ntotals: 5\n"],
    ids=["empty", "no-total", "no-ir-event", "short-total"],
)
def test_callgrind_total_missing_ir_total_raises(text: str) -> None:
    # GIVEN output that has no instruction total (a truncated file, another event set)
    # WHEN its total is read
    # THEN it is refused rather than read as zero
    with pytest.raises(ValueError, match="Ir"):
        callgrind_total(text)


def test_import_instructions_are_the_run_less_the_interpreter_start() -> None:
    # GIVEN a counted import and the same probe's count importing nothing
    counted = ImportInstructions("ours", ("client.direct_auth",), total=575_168_997, start=87_280_943)
    # WHEN the import's own instructions are taken
    # THEN they are the difference
    assert counted.instructions == 487_888_054


def test_count_import_instructions_real_callgrind_is_positive_and_repeats_exactly(
    tmp_path: Path, valgrind: str
) -> None:
    # GIVEN a handler module, compiled from source at each start, that imports a module the probe does not preload
    (tmp_path / "tiny_handler.py").write_text("import fractions\n\nHALF = fractions.Fraction(1, 2)\n")
    subject = ImportSubject("tiny", tmp_path, ("tiny_handler",))
    # WHEN its import is counted twice under callgrind with this interpreter
    first, second = (
        count_import_instructions([subject], python=sys.executable, valgrind=valgrind)["tiny"] for _ in range(2)
    )
    # THEN the interpreter start and the import both count instructions, and a second count repeats the first exactly
    assert first.start > 1_000_000
    assert first.instructions > 1_000_000
    assert (second.total, second.start) == (first.total, first.start)
    assert not list(tmp_path.glob("**/__pycache__"))  # -B: the module was compiled, never cached


def test_instruction_counts_valgrind_not_on_path_skips_with_a_note(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a PATH without valgrind
    monkeypatch.setenv("PATH", str(tmp_path))
    subjects = [ImportSubject("tiny", tmp_path, ("json",))]
    # WHEN the benchmark asks for instruction counts, or when --no-instructions is given
    counted = run._instruction_counts(subjects, sys.executable, skip=False)
    skipped = run._instruction_counts(subjects, sys.executable, skip=True)
    # THEN nothing is counted (None in the JSON) and the run says why
    assert counted == skipped == (None, None)
    printed = capsys.readouterr().out
    assert "valgrind is not on PATH" in printed
    assert "--no-instructions" in printed


def test_count_import_instructions_module_failing_to_import_raises_with_its_error(
    tmp_path: Path, valgrind: str
) -> None:
    # GIVEN a handler module that fails at import
    (tmp_path / "broken_handler.py").write_text("raise ValueError('API_HOST is empty')\n")
    subject = ImportSubject("broken", tmp_path, ("broken_handler",))
    # WHEN it is counted
    # THEN the run stops with the module name and its error rather than counting a failure
    with pytest.raises(RuntimeError, match=r"broken_handler under callgrind failed:[\s\S]*API_HOST is empty"):
        count_import_instructions([subject], python=sys.executable, valgrind=valgrind)
