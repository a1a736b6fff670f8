"""CloudFormation for the scripts: a stack's status and outputs, the reasons of its failed events (nested stacks
included), and deleting a create that rolled back. Functions take a cloudformation client, so tests pass moto's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError, WaiterError

from workflow.aws import error_text
from workflow.output import Fatal, Output

__all__ = [
    "EVENT_CLOCK_SLACK_SECONDS",
    "NO_STACK",
    "delete_failed_create",
    "failed_event_lines",
    "is_missing_stack",
    "optional_output",
    "print_failed_events",
    "require_deployable_stack",
    "required_output",
    "stack_outputs",
    "stack_status",
]

NO_STACK = "NONE"
# Stack events this much older than the step's start are from an earlier run; the slack absorbs clock skew.
EVENT_CLOCK_SLACK_SECONDS = 120
# How deep print_failed_events follows failed nested stacks.
MAX_NESTED_DEPTH = 3
_UNDEPLOYABLE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")


def is_missing_stack(error: ClientError) -> bool:
    """True for CloudFormation's answer about a stack that does not exist."""
    return "does not exist" in str(error)


def stack_status(cfn: Any, stack: str) -> str:
    """The stack's status, or NO_STACK when there is no such stack."""
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as error:
        if is_missing_stack(error):
            return NO_STACK
        raise Fatal(f"cannot describe stack {stack}: {error_text(error)}") from error
    return str(stacks[0]["StackStatus"]) if stacks else NO_STACK


def require_deployable_stack(cfn: Any, stack: str, profile: str, region: str) -> str:
    """The stack's status; stops early with advice when CloudFormation would refuse an update anyway."""
    status = stack_status(cfn, stack)
    if status in _UNDEPLOYABLE:
        raise Fatal(
            f"stack {stack} is {status} and cannot be updated; delete it first (./destroy-all.sh, or aws "
            f"cloudformation delete-stack --stack-name {stack} --profile {profile} --region {region}) and run again"
        )
    if status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise Fatal(f"stack {stack} is busy ({status}); wait for it to finish and run again")
    return status


def stack_outputs(cfn: Any, stack: str) -> dict[str, str]:
    """The stack's Outputs as key -> value."""
    try:
        described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    except ClientError as error:
        raise Fatal(f"cannot read the outputs of stack {stack}: {error_text(error)}") from error
    return {output["OutputKey"]: str(output.get("OutputValue", "")) for output in described.get("Outputs") or []}


def required_output(outputs: dict[str, str], key: str, stack: str) -> str:
    """One output's value; a missing output stops the run with the stack and key named."""
    if key not in outputs:
        raise Fatal(
            f"stack {stack} has no output {key}; the template must export it (is the stack from an older template?)"
        )
    return outputs[key]


def optional_output(outputs: dict[str, str], key: str) -> str:
    """An output that may legitimately be absent ("" then)."""
    return outputs.get(key, "")


def _format_epoch(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _failed(events: list[dict[str, Any]], since_epoch: float) -> list[dict[str, Any]]:
    return [
        event
        for event in events
        if "FAILED" in event.get("ResourceStatus", "") and event["Timestamp"].timestamp() >= since_epoch
    ]


def failed_event_lines(events: list[dict[str, Any]], since_epoch: float) -> list[str]:
    """The FAILED events since a moment (events as the API lists them, newest first), oldest first, one per line."""
    failed = _failed(events, since_epoch)
    if not failed:
        return [f"  (no failed events since {_format_epoch(since_epoch)}; see the command output above)"]
    return [
        f"  {event.get('LogicalResourceId', '?')} ({event.get('ResourceType', '?')}) "
        f"{event.get('ResourceStatus', '?')}: {event.get('ResourceStatusReason', '(no reason given)')}"
        for event in reversed(failed)  # the API lists newest first; causes read better in order
    ]


def _failed_nested_stacks(events: list[dict[str, Any]], since_epoch: float) -> list[str]:
    return sorted(
        {
            event["PhysicalResourceId"]
            for event in _failed(events, since_epoch)
            if event.get("ResourceType") == "AWS::CloudFormation::Stack"
            and event.get("PhysicalResourceId", "").startswith("arn:")
            and event.get("PhysicalResourceId") != event.get("StackId")
        }
    )


def print_failed_events(out: Output, cfn: Any, stack: str, since_epoch: float, depth: int = 0) -> list[str]:
    """Print (stderr) the reasons of the FAILED events since a moment, for the stack and its failed nested stacks;
    return the printed reason lines so a caller can tell a retryable cause from the rest."""
    try:
        events: list[dict[str, Any]] = []
        for page in cfn.get_paginator("describe_stack_events").paginate(StackName=stack):
            events += page["StackEvents"]
    except ClientError:
        out.warn(f"could not read the events of stack {stack}")
        return []
    lines = failed_event_lines(events, since_epoch)
    out.stderr.write(f"Failed events of {stack}:\n" + "".join(f"{line}\n" for line in lines))
    out.stderr.flush()
    if depth < MAX_NESTED_DEPTH:
        for nested in _failed_nested_stacks(events, since_epoch):
            lines += print_failed_events(out, cfn, nested, since_epoch, depth + 1)
    return lines


def delete_failed_create(out: Output, cfn: Any, stack: str) -> None:
    """Delete a stack left ROLLBACK_COMPLETE by a failed create, by its ARN so only that stack goes."""
    arn = cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"]
    out.info(f"deleting stack {stack} (ROLLBACK_COMPLETE after the failed create) before creating it again")
    cfn.delete_stack(StackName=arn)
    try:
        cfn.get_waiter("stack_delete_complete").wait(StackName=arn)
    except WaiterError as error:
        raise Fatal(
            f"could not delete the rolled-back stack {stack}; delete it (./destroy-all.sh) and run again"
        ) from error
