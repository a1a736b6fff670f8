"""checkov reports no failed check on the templates, as written and as every parameter set deploys them.

checkov lives in its own venv (.venv-checkov, created by `make scan`: it pins an old boto3). The flags and
variables below keep it offline: no platform download, no mapping download, no version check.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cfnrender.render import load_template
from tests.security.resolved import REPO, SPECS, resolved_variants

CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
OFFLINE_ENV = {"CKV_SKIP_PACKAGE_UPDATE_CHECK": "true", "BC_SKIP_MAPPING": "TRUE"}
OFFLINE_FLAGS = ["--skip-download", "--framework", "cloudformation", "--output", "json", "--compact"]
MIN_REASON = 40


def _skips() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path in SPECS:
        for logical_id, resource in load_template(REPO / path).get("Resources", {}).items():
            for skip in ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip", []):
                yield path, logical_id, skip


def test_checkov_every_inline_suppression_names_a_check_and_gives_its_reason() -> None:
    # GIVEN every checkov skip written in the templates' resource Metadata
    skips = list(_skips())
    # WHEN their ids and comments are read
    unexplained = [(p, r, s) for p, r, s in skips if len(str(s.get("comment", "")).strip()) < MIN_REASON]
    # checkov's ids: CKV_AWS_<n> for resource checks, CKV2_AWS_<n> for its graph (cross-resource) checks
    malformed = [(p, r, s) for p, r, s in skips if not re.fullmatch(r"CKV2?_AWS_\d+", str(s.get("id", "")))]
    # THEN each names one check and says why it does not apply, in a sentence
    assert skips
    assert unexplained == []
    assert malformed == []


@pytest.fixture(scope="module")
def checkov_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One offline checkov run over the source templates and every resolved parameter-set variant."""
    if not CHECKOV.exists():
        pytest.skip("checkov is not installed: run `make scan` once (it creates .venv-checkov)")
    resolved: Path = tmp_path_factory.mktemp("resolved")
    for path, spec in SPECS.items():
        for index, document in enumerate(resolved_variants(spec).documents):
            name = f"{Path(path).stem}-{index:03d}.json"
            (resolved / name).write_text(json.dumps(document), encoding="utf-8")
    sources = [arg for path in SPECS for arg in ("-f", str(REPO / path))]
    completed = subprocess.run(  # noqa: S603 - fixed arguments, our own files
        [str(CHECKOV), *OFFLINE_FLAGS, *sources, "-d", str(resolved)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, **OFFLINE_ENV},
        cwd=REPO,
    )
    report = json.loads(completed.stdout)
    reports = report if isinstance(report, list) else [report]
    merged: dict[str, Any] = {"failed_checks": [], "skipped_checks": [], "summary": {}}
    for part in reports:
        for key in ("failed_checks", "skipped_checks"):
            merged[key] += part["results"].get(key, [])
        for key in ("passed", "failed", "skipped", "parsing_errors", "resource_count"):
            merged["summary"][key] = merged["summary"].get(key, 0) + part["summary"][key]
    return merged


@pytest.mark.slow
def test_checkov_sources_and_resolved_variants_have_no_failed_check(checkov_report: dict[str, Any]) -> None:
    # GIVEN checkov's results for the four templates and each parameter set's resolved resources
    summary = checkov_report["summary"]
    # WHEN the failed checks are listed
    failed = [f"{c['check_id']} {c['resource']} {c['file_path']}" for c in checkov_report["failed_checks"]]
    # THEN there are none, every file parsed, and the suppressed checks are only those written in the templates
    print(f"checkov: {summary}")  # the counts are the evidence (pytest -s shows them)
    assert failed == []
    assert summary["failed"] == summary["parsing_errors"] == 0
    assert summary["passed"] > 0
    written = {s["id"] for _, _, s in _skips()}
    assert {c["check_id"] for c in checkov_report["skipped_checks"]} <= written
