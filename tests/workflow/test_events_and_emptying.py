"""Reading failed stack events (nested stacks included, old ones left out) and emptying a bucket in batches: the
parts of deploy-all and destroy-all that scripts/awsjson.py did (failed-events, version-batch)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from workflow import buckets, stacks
from workflow.output import Output

PARENT = "arn:aws:cloudformation:us-east-1:111111111111:stack/p/1"
CHILD = "arn:aws:cloudformation:us-east-1:111111111111:stack/p-child/2"
MOMENT = datetime(2030, 1, 1, tzinfo=UTC)


class EventsClient:
    """CloudFormation's describe_stack_events, one page per stack, from a dict."""

    def __init__(self, events: dict[str, list[dict[str, Any]]]) -> None:
        self.events = events

    def get_paginator(self, operation: str) -> Any:
        assert operation == "describe_stack_events"
        client = self

        class Pages:
            def paginate(self, StackName: str) -> list[dict[str, Any]]:
                return [{"StackEvents": client.events[StackName]}]

        return Pages()


def quiet_output() -> tuple[Output, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    return Output(stdout=out, stderr=err, env={}), out, err


def test_failed_events_follow_failed_child_stacks_only() -> None:
    # GIVEN the parent's own failed event and a failed nested stack resource whose stack has its own failure
    events = {
        PARENT: [
            {
                "StackId": PARENT,
                "PhysicalResourceId": PARENT,
                "ResourceType": "AWS::CloudFormation::Stack",
                "ResourceStatus": "UPDATE_ROLLBACK_FAILED",
                "LogicalResourceId": "p",
                "Timestamp": MOMENT,
            },
            {
                "StackId": PARENT,
                "PhysicalResourceId": CHILD,
                "ResourceType": "AWS::CloudFormation::Stack",
                "ResourceStatus": "UPDATE_FAILED",
                "LogicalResourceId": "Child",
                "Timestamp": MOMENT,
            },
        ],
        CHILD: [
            {
                "StackId": CHILD,
                "PhysicalResourceId": "",
                "ResourceType": "AWS::IAM::Role",
                "ResourceStatus": "UPDATE_FAILED",
                "LogicalResourceId": "Role",
                "ResourceStatusReason": "denied",
                "Timestamp": MOMENT,
            }
        ],
    }
    out, _stdout, err = quiet_output()
    # WHEN the failures since then are printed
    lines = stacks.print_failed_events(out, EventsClient(events), PARENT, 0)
    # THEN only the child stack is followed (the parent's own event is not a nested stack), and its cause shown
    assert err.getvalue().count("Failed events of ") == 2
    assert f"Failed events of {CHILD}:" in err.getvalue()
    assert "  Role (AWS::IAM::Role) UPDATE_FAILED: denied" in lines


def test_failed_events_none_since_says_so() -> None:
    # GIVEN only an old failure
    events = [{"ResourceStatus": "CREATE_FAILED", "Timestamp": datetime(2001, 1, 1, tzinfo=UTC)}]
    # WHEN failures since 2020 are listed
    lines = stacks.failed_event_lines(events, 1577836800)
    # THEN there are none, and the line says so, pointing at the command output
    assert len(lines) == 1
    assert "no failed events since 2020-01-01T00:00:00Z" in lines[0]


class VersionedBucket:
    """S3's list_object_versions / delete_objects / delete_bucket over an in-memory versioned bucket."""

    def __init__(self, versions: int) -> None:
        self.versions = [{"Key": f"k{n}", "VersionId": "v"} for n in range(versions)]
        self.markers = [{"Key": "gone", "VersionId": "m"}]
        self.batches: list[dict[str, Any]] = []
        self.deleted = False

    def head_bucket(self, **_: Any) -> dict[str, Any]:
        return {}

    def list_object_versions(self, **_: Any) -> dict[str, Any]:
        return {"Versions": self.versions[:1000], "DeleteMarkers": self.markers if len(self.versions) < 1000 else []}

    def delete_objects(self, Delete: dict[str, Any], **_: Any) -> dict[str, Any]:
        self.batches.append(Delete)
        doomed = {(item["Key"], item["VersionId"]) for item in Delete["Objects"]}
        self.versions = [item for item in self.versions if (item["Key"], item["VersionId"]) not in doomed]
        self.markers = [item for item in self.markers if (item["Key"], item["VersionId"]) not in doomed]
        return {}

    def delete_bucket(self, **_: Any) -> None:
        self.deleted = True


def test_emptying_a_bucket_deletes_at_most_1000_versions_per_call() -> None:
    # GIVEN 1500 versions and a delete marker
    bucket = VersionedBucket(1500)
    out, stdout, _err = quiet_output()
    # WHEN the bucket is emptied and deleted
    buckets.empty_and_delete_bucket(out, bucket, "b", account="111111111111", profile="p")
    # THEN each DeleteObjects call held at most 1000 keys (its limit), quietly, and every version went first
    assert [len(batch["Objects"]) for batch in bucket.batches] == [1000, 501]
    assert all(batch["Quiet"] is True for batch in bucket.batches)
    assert bucket.deleted
    assert "(1501 object version(s) removed first)" in stdout.getvalue()
