"""Stack status, outputs and failed events as the commands read them (moto's CloudFormation, or event lists)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.workflow.harness import CONSUMER, REGION, Cloud
from workflow import aws, stacks
from workflow.output import Fatal

LATER = datetime(2030, 1, 1, tzinfo=UTC)


def event(status: str, logical: str, when: datetime = LATER, **extra: Any) -> dict[str, Any]:
    return {"ResourceStatus": status, "LogicalResourceId": logical, "Timestamp": when, **extra}


def test_failed_event_lines_oldest_first_with_type_and_reason() -> None:
    # GIVEN two failures, newest first as the API lists them, and a success
    events = [
        event("UPDATE_ROLLBACK_FAILED", "Api", ResourceType="AWS::ApiGateway::RestApi"),
        event("CREATE_COMPLETE", "Table", ResourceType="AWS::DynamoDB::Table"),
        event("CREATE_FAILED", "Role", ResourceType="AWS::IAM::Role", ResourceStatusReason="denied"),
    ]
    # WHEN the failures are listed
    # THEN oldest first, each with its type, status and reason (or a placeholder)
    assert stacks.failed_event_lines(events, 0) == [
        "  Role (AWS::IAM::Role) CREATE_FAILED: denied",
        "  Api (AWS::ApiGateway::RestApi) UPDATE_ROLLBACK_FAILED: (no reason given)",
    ]


def test_failed_event_lines_none_since_says_so() -> None:
    # GIVEN only an old failure
    events = [event("CREATE_FAILED", "Old", datetime(2001, 1, 1, tzinfo=UTC))]
    # WHEN failures since 2020 are listed
    # THEN it says there are none, pointing at the command output
    assert stacks.failed_event_lines(events, 1577836800) == [
        "  (no failed events since 2020-01-01T00:00:00Z; see the command output above)"
    ]


def test_stack_status_missing_stack_is_none(in_cloud: Cloud) -> None:
    assert stacks.stack_status(aws.client(CONSUMER, REGION, "cloudformation"), "nothing-here") == stacks.NO_STACK


def test_stack_outputs_and_required_output(in_cloud: Cloud) -> None:
    # GIVEN a stack with one output
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"APIGatewayID": {"Value": "abc123"}},
    }
    in_cloud.client("cloudformation", CONSUMER).create_stack(StackName="demo-client", TemplateBody=json.dumps(template))
    cfn = aws.client(CONSUMER, REGION, "cloudformation")
    # WHEN its status and outputs are read
    outputs = stacks.stack_outputs(cfn, "demo-client")
    # THEN the output is there, and a missing one stops naming the stack and key
    assert stacks.stack_status(cfn, "demo-client") == "CREATE_COMPLETE"
    assert stacks.required_output(outputs, "APIGatewayID", "demo-client") == "abc123"
    assert stacks.optional_output(outputs, "APIStageName") == ""
    with pytest.raises(Fatal, match=r"^stack demo-client has no output APIStageName; the template must export it"):
        stacks.required_output(outputs, "APIStageName", "demo-client")
