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


@pytest.mark.parametrize(
    "text",
    [
        "2024-05-01T12:00:00.123Z",  # CLI v1, query protocols (CloudFormation)
        "2024-05-01T12:00:00.123000+00:00",  # CLI v2
        "2024-05-01T14:00:00.123+02:00",
        "1714564800.123",  # CLI v1, REST protocols (API Gateway)
    ],
)
def test_parse_timestamp_every_cli_form_gives_the_same_instant(text: str) -> None:
    # GIVEN one instant written the ways the AWS CLI versions print it
    # WHEN parsed
    # THEN all give the same epoch seconds
    assert awsjson.parse_timestamp(text) == pytest.approx(1714564800.123)


def test_parse_timestamp_garbage_raises() -> None:
    # GIVEN text that is no timestamp
    # WHEN parsed
    # THEN it is refused rather than misread
    with pytest.raises(ValueError, match="unrecognised timestamp"):
        awsjson.parse_timestamp("yesterday")


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


def test_failed_events_nested_lists_failed_child_stacks_only(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the parent's own failed event and a failed nested stack resource
    parent = "arn:aws:cloudformation:us-east-1:1:stack/p/1"
    child = "arn:aws:cloudformation:us-east-1:1:stack/p-child/2"
    events = {
        "StackEvents": [
            {
                "StackId": parent,
                "PhysicalResourceId": parent,
                "ResourceType": "AWS::CloudFormation::Stack",
                "ResourceStatus": "UPDATE_ROLLBACK_FAILED",
                "LogicalResourceId": "p",
                "Timestamp": "2030-01-01T00:00:00Z",
            },
            {
                "StackId": parent,
                "PhysicalResourceId": child,
                "ResourceType": "AWS::CloudFormation::Stack",
                "ResourceStatus": "UPDATE_FAILED",
                "LogicalResourceId": "Child",
                "Timestamp": "2030-01-01T00:00:00Z",
            },
        ]
    }
    # WHEN nested failures are listed
    status, captured = run_tool(
        monkeypatch, capsys, json.dumps(events), "failed-events", "--nested", "--since-epoch", "0"
    )
    # THEN only the child stack is named
    assert status == 0
    assert captured.out.split() == [child]


def test_failed_events_none_since_says_so(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN only an old failure
    events = {"StackEvents": [{"ResourceStatus": "CREATE_FAILED", "Timestamp": "2001-01-01T00:00:00Z"}]}
    # WHEN failures since 2020 are listed
    status, captured = run_tool(monkeypatch, capsys, json.dumps(events), "failed-events", "--since-epoch", "1577836800")
    # THEN the tool says there are none, pointing at the command output
    assert status == 0
    assert "no failed events since 2020-01-01T00:00:00Z" in captured.out


def test_version_batch_caps_at_1000_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    # GIVEN 1500 versions and a delete marker
    listing = {
        "Versions": [{"Key": f"k{n}", "VersionId": "v"} for n in range(1500)],
        "DeleteMarkers": [{"Key": "gone", "VersionId": "m"}],
    }
    out = tmp_path / "batch.json"
    # WHEN a delete batch is written
    status, captured = run_tool(monkeypatch, capsys, json.dumps(listing), "version-batch", "--out", str(out))
    # THEN it holds the first 1000 (DeleteObjects' limit), quietly
    batch = json.loads(out.read_text())
    assert (status, captured.out.strip()) == (0, "1000")
    assert len(batch["Objects"]) == 1000
    assert batch["Quiet"] is True
