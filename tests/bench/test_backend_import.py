"""The backend's cold import against a backend written the public sample's way: its section, table rows, closing line
and target (issue 18)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bench import report
from tests.bench.test_report import _CLEAN, _results, _table_results


def _backend(cpu: float, instructions: float | None) -> dict[str, Any]:
    return {
        "modules": ["backend.app"],
        "median_cpu_ms": 150.0,
        "median_wall_ms": 151.0,
        "cpu_vs_baseline": cpu,
        "instructions": None if instructions is None else 1_000,
        "instructions_vs_baseline": instructions,
    }


def _with_backend(cpu: float, instructions: float | None) -> dict[str, Any]:
    results = _results(_CLEAN, _CLEAN)
    results["backend_cold_import"] = {
        "backend": _backend(cpu, instructions),
        "backend_baseline": _backend(1.0, None if instructions is None else 1.0),
    }
    return results


def test_summary_lines_backend_cold_import_is_the_last_line_by_instructions() -> None:
    # GIVEN a backend import at 0.85x the sample-style backend's instructions and 1.3x its CPU time
    summary = report.summarize(_with_backend(cpu=1.3, instructions=0.85))
    # WHEN the closing lines are rendered
    lines = report.summary_lines(summary)
    # THEN the last line is the instruction ratio (exact; CPU time drifts with the machine's load), after the others
    assert lines[-1] == "backend_cold_import_vs_baseline: 0.85"
    assert [line.split(": ")[0] for line in lines] == list(report.SUMMARY_KEYS)
    assert report.SUMMARY_KEYS[-1] == "backend_cold_import_vs_baseline"


def test_summary_lines_backend_cold_import_without_instruction_counts_is_the_cpu_ratio() -> None:
    # GIVEN a run without valgrind: no instruction ratio, a same-round CPU-time ratio of 0.92
    summary = report.summarize(_with_backend(cpu=0.92, instructions=None))
    # WHEN the closing lines are rendered
    # THEN the backend's line is the CPU-time ratio
    assert report.summary_lines(summary)[-1] == "backend_cold_import_vs_baseline: 0.92"


def test_verdicts_backend_cold_import_above_the_sample_style_backend_is_missed() -> None:
    # GIVEN backends at exactly the baseline and 1% above it, everything else within target
    at_limit = report.summarize(_with_backend(cpu=1.5, instructions=1.0))
    above = report.summarize(_with_backend(cpu=0.9, instructions=1.01))
    # WHEN the targets are checked
    # THEN the limit is inclusive, and above it only the backend's target is missed
    assert [t.key for t, met in report.verdicts(at_limit) if not met] == []
    assert [t.key for t, met in report.verdicts(above) if not met] == ["backend_cold_import_vs_baseline"]


def test_format_table_backend_cold_import_rows_for_ours_and_the_sample_style_backend() -> None:
    # GIVEN table results with the backend's section
    results = {**_table_results(None), "backend_cold_import": _with_backend(0.8, 0.75)["backend_cold_import"]}
    # WHEN the table is rendered
    lines = report.format_table(results)
    # THEN our backend and the sample-style one each have a row: CPU ms, wall ms, CPU and instruction ratios
    rows = {
        line.split()[0]: line.split()[1:]
        for line in lines
        if line.split()[:1] in (["backend"], ["backend_baseline"]) and ":" not in line
    }
    assert rows["backend"] == ["150.0", "151.0", "0.80", "0.750"]
    assert rows["backend_baseline"] == ["150.0", "151.0", "1.00", "1.000"]
    assert any(line.startswith("backend import: backend.app") for line in lines)


def test_reference_backend_stores_the_request_context_and_echoes_the_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the sample-style backend imported in moto with its table (key `id`: the sample stores the request id there)
    for name, value in {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": "reference-items",
    }.items():
        monkeypatch.setenv(name, value)
    event = json.loads((Path(__file__).parents[2] / "api-backend" / "events" / "whoami.json").read_text())
    with mock_aws():
        dynamodb = boto3.resource("dynamodb")
        dynamodb.create_table(
            TableName="reference-items",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        module = importlib.reload(importlib.import_module("bench.baseline.reference_backend"))
        # WHEN it handles the shipped whoami event
        answer = module.handler(event, None)
        stored = dynamodb.Table("reference-items").scan()["Items"]
    # THEN it answers 200 with the caller's identity and has stored the request context under its request id
    assert answer["statusCode"] == 200
    assert json.loads(answer["body"]) == event["requestContext"]["identity"]
    assert [item["id"] for item in stored] == [event["requestContext"]["requestId"]]


def test_backend_floor_builds_powertools_and_a_botocore_client_without_boto3() -> None:
    # GIVEN the backend floor module, imported in a fresh interpreter as a cold start would
    probe = (
        "import sys, backend_floor; "
        "print(sys.modules.get('boto3') is None, type(backend_floor.app).__name__, "
        "backend_floor.dynamodb.meta.service_model.service_name)"
    )
    # Lambda sets both region variables; botocore reads AWS_DEFAULT_REGION.
    env = {
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    # WHEN it is imported
    completed = subprocess.run(  # noqa: S603 - this interpreter, a fixed probe
        [sys.executable, "-c", probe],
        cwd=Path(__file__).parents[2] / "bench" / "floor",
        env={**env, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # THEN it has Powertools' REST resolver and a DynamoDB client, and boto3 was never imported
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["True", "APIGatewayRestResolver", "dynamodb"]
