"""Reads AWS CLI JSON for the shell scripts: stack outputs, failed events, timestamps, S3 versions."""

# Runs under the user's python3 (any 3.8+), so: standard library only, no 3.10+ syntax at runtime.
from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

EXIT_MISSING = 3
DELETE_BATCH_SIZE = 1000  # DeleteObjects accepts at most 1000 keys per call
UTC_ZONE = timezone(timedelta(0))  # datetime.UTC only exists from Python 3.11
_ISO_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2})(?P<fraction>\.\d+)?"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_timestamp(value: str) -> float:
    """Epoch seconds from the CLI's ISO 8601 (v2, or v1's query APIs) or epoch-number (v1 REST APIs) timestamps."""
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    match = _ISO_TIMESTAMP.match(text)
    if not match:
        raise ValueError(f"unrecognised timestamp: {value!r}")
    moment = datetime.strptime(f"{match['date']}T{match['time']}", "%Y-%m-%dT%H:%M:%S")
    offset = match["offset"] or "Z"
    if offset == "Z":
        zone = UTC_ZONE
    else:
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    fraction = float(match["fraction"]) if match["fraction"] else 0.0
    return moment.replace(tzinfo=zone).timestamp() + fraction


def format_epoch(epoch: float) -> str:
    """UTC ISO 8601 at second precision, for messages."""
    return datetime.fromtimestamp(epoch, tz=UTC_ZONE).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_json_stdin() -> Any:
    """Parse stdin as JSON; empty input counts as null."""
    text = sys.stdin.read().strip()
    return json.loads(text) if text else None


def cmd_output(args: argparse.Namespace) -> int:
    """Print one stack output's value from a describe-stacks Outputs list."""
    outputs = read_json_stdin() or []
    for output in outputs:
        if output.get("OutputKey") == args.key:
            print(output.get("OutputValue", ""))
            return 0
    return 0 if args.optional else EXIT_MISSING


def _failed_events(events: list[dict[str, Any]], since_epoch: float) -> list[dict[str, Any]]:
    return [
        event
        for event in events
        if "FAILED" in event.get("ResourceStatus", "") and parse_timestamp(event["Timestamp"]) >= since_epoch
    ]


def cmd_failed_events(args: argparse.Namespace) -> int:
    """Print FAILED events (oldest first) since a moment, or with --nested the ids of failed nested stacks."""
    document = read_json_stdin() or {}
    failed = _failed_events(document.get("StackEvents", []), args.since_epoch)
    if args.nested:
        nested = {
            event["PhysicalResourceId"]
            for event in failed
            if event.get("ResourceType") == "AWS::CloudFormation::Stack"
            and event.get("PhysicalResourceId", "").startswith("arn:")
            and event.get("PhysicalResourceId") != event.get("StackId")
        }
        for stack_id in sorted(nested):
            print(stack_id)
        return 0
    if not failed:
        print(f"  (no failed events since {format_epoch(args.since_epoch)}; see the command output above)")
        return 0
    for event in reversed(failed):  # the API lists newest first; causes read better in order
        print(
            f"  {event.get('LogicalResourceId', '?')} ({event.get('ResourceType', '?')}) "
            f"{event.get('ResourceStatus', '?')}: {event.get('ResourceStatusReason', '(no reason given)')}"
        )
    return 0


def cmd_not_older(args: argparse.Namespace) -> int:
    """Exit 0 when the stage's deployment is not older than the stack's last change, else explain and exit 1."""
    deployed = parse_timestamp(args.deployed)
    changed = parse_timestamp(args.changed)
    if deployed >= changed:
        print(f"      stage deployment {format_epoch(deployed)} is not older than the change {format_epoch(changed)}")
        return 0
    print(
        f"stage deployment {format_epoch(deployed)} is older than the stack change {format_epoch(changed)}",
        file=sys.stderr,
    )
    return 1


def cmd_version_batch(args: argparse.Namespace) -> int:
    """Write a DeleteObjects request for up to 1000 object versions/delete markers; print how many."""
    document = read_json_stdin() or {}
    entries = (document.get("Versions") or []) + (document.get("DeleteMarkers") or [])
    objects = [{"Key": item["Key"], "VersionId": item["VersionId"]} for item in entries[:DELETE_BATCH_SIZE]]
    Path(args.out).write_text(json.dumps({"Objects": objects, "Quiet": True}))
    print(len(objects))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Command line: one sub-command per question the scripts ask."""
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    output = commands.add_parser("output", help="value of one stack output (stdin: Outputs list)")
    output.add_argument("key")
    output.add_argument("--optional", action="store_true", help="print nothing instead of failing when absent")
    output.set_defaults(handler=cmd_output)

    events = commands.add_parser("failed-events", help="FAILED stack events (stdin: describe-stack-events)")
    events.add_argument("--since-epoch", type=float, required=True)
    events.add_argument("--nested", action="store_true", help="print the ids of failed nested stacks instead")
    events.set_defaults(handler=cmd_failed_events)

    not_older = commands.add_parser("not-older", help="compare a deployment time with a stack change time")
    not_older.add_argument("--deployed", required=True)
    not_older.add_argument("--changed", required=True)
    not_older.set_defaults(handler=cmd_not_older)

    batch = commands.add_parser("version-batch", help="DeleteObjects request (stdin: list-object-versions)")
    batch.add_argument("--out", required=True)
    batch.set_defaults(handler=cmd_version_batch)

    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
