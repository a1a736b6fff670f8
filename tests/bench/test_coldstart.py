"""Cold imports: every sample comes from a new interpreter, and a broken handler module stops the run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench.coldstart import ImportSubject, measure_imports


def test_measure_imports_each_sample_is_a_fresh_process(tmp_path: Path) -> None:
    # GIVEN a handler module that records the id of the process importing it
    (tmp_path / "probe_handler.py").write_text(
        f"import os\nwith open({str(tmp_path / 'pids')!r}, 'a') as f:\n    f.write(f'{{os.getpid()}}\\n')\n"
    )
    subject = ImportSubject("probe", tmp_path, ("probe_handler",))
    # WHEN it is timed five times
    timings = measure_imports([subject], python=sys.executable, runs=5)
    # THEN five samples are kept, and every import (the discarded warm-up too) ran in its own process
    assert len(timings["probe"].wall_ms) == 5
    assert len(timings["probe"].cpu_ms) == 5
    pids = (tmp_path / "pids").read_text().split()
    assert len(pids) == len(set(pids)) == 6


def test_measure_imports_module_failing_to_import_raises_with_its_error(tmp_path: Path) -> None:
    # GIVEN a handler module that fails at import, as a misconfigured handler would
    (tmp_path / "broken_handler.py").write_text("raise ValueError('API_HOST is empty')\n")
    subject = ImportSubject("broken", tmp_path, ("broken_handler",))
    # WHEN it is timed
    # THEN the run stops with the module name and its error rather than timing a failure
    with pytest.raises(RuntimeError, match=r"broken_handler failed:[\s\S]*API_HOST is empty"):
        measure_imports([subject], python=sys.executable, runs=5)
