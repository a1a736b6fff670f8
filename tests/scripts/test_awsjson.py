"""scripts/awsjson.py: the JSON questions the shell scripts ask about AWS CLI output."""

from __future__ import annotations

import io
import json
import sys

import pytest

from scripts import awsjson


def run_tool(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str, *argv: str):
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    status = awsjson.main(list(argv))
    return status, capsys.readouterr()


def test_output_missing_key_exits_3(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN outputs without the asked key
    outputs = json.dumps([{"OutputKey": "A", "OutputValue": "1"}])
    # WHEN asked for it, required and optional
    required = run_tool(monkeypatch, capsys, outputs, "output", "B")
    optional = run_tool(monkeypatch, capsys, outputs, "output", "--optional", "B")
    # THEN required fails with 3 and optional prints nothing successfully
    assert (required[0], required[1].out) == (3, "")
    assert (optional[0], optional[1].out) == (0, "")


def test_output_of_stack_without_outputs_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the CLI's answer for a stack without outputs (--query Stacks[0].Outputs gives null)
    # WHEN a key is asked for
    status, captured = run_tool(monkeypatch, capsys, "null", "output", "A")
    # THEN it is missing
    assert (status, captured.out) == (3, "")


@pytest.mark.parametrize(("status_code", "expected"), [(200, 0), (204, 0), (301, 1), (403, 1), (500, 1)])
def test_lambda_result_only_2xx_is_success(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path, status_code: int, expected: int
) -> None:
    # GIVEN a client result with a status code
    meta, response = tmp_path / "meta.json", tmp_path / "response.json"
    meta.write_text('{"StatusCode": 200}')
    response.write_text(json.dumps({"statusCode": status_code, "headers": {}, "body": "x"}))
    # WHEN it is judged
    status, captured = run_tool(
        monkeypatch, capsys, "", "lambda-result", "--meta", str(meta), "--response", str(response)
    )
    # THEN only 2xx passes, and the response is printed either way
    assert status == expected
    assert f'"statusCode": {status_code}' in captured.out


def test_lambda_result_without_status_code_fails_showing_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    # GIVEN a client result that never reached the API
    meta, response = tmp_path / "meta.json", tmp_path / "response.json"
    meta.write_text('{"StatusCode": 200}')
    response.write_text(json.dumps({"error": "connection refused", "hint": "is the endpoint in this VPC?"}))
    # WHEN it is judged
    status, captured = run_tool(
        monkeypatch, capsys, "", "lambda-result", "--meta", str(meta), "--response", str(response)
    )
    # THEN it fails and still shows why
    assert status == 1
    assert "error: connection refused" in captured.out
    assert "hint: is the endpoint in this VPC?" in captured.out
    assert "no integer statusCode" in captured.out
