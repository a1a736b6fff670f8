"""Read the live configuration of each side with boto3; never decide anything here (the checks do).

Every read that fails (no permission, not found, throttled) is recorded under a key in `errors` instead of raising,
so one missing permission turns one check into '?' rather than ending the run. This module holds the readers both
sides share; diagnose.consumer and diagnose.provider read one side each.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from client.names import ClientKind
from diagnose.facts import LogEvent, Role, Stack
from iampolicy.authz import policies_from
from iampolicy.policy import Policy

__all__ = [
    "CLIENT_OUTPUTS",
    "aware",
    "caller_account",
    "describe_error",
    "parse_api_policy",
    "parse_policy",
    "read",
    "read_log_events",
    "read_org_id",
    "read_role",
    "read_stack",
]

T = TypeVar("T")
# The client template's outputs that name each client function.
CLIENT_OUTPUTS = {
    ClientKind.DIRECT: "PythonDirectAuthClient",
    ClientKind.ASSUME_ROLE: "PythonAssumeRoleClient",
    ClientKind.CERTIFICATE: "PythonCertificateClient",  # only with pEnableMtlsClient=Yes (docs/mtls.md)
}
_MAX_LOG_EVENTS = 10_000


def describe_error(error: Exception) -> str:
    """An AWS error as "Code: message"."""
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        return f"{details.get('Code', 'Error')}: {details.get('Message', str(error))}"
    return f"{type(error).__name__}: {error}"


def read(errors: dict[str, str], key: str, call: Callable[[], T]) -> T | None:
    """Run one AWS read; on failure remember why under `key` and return None."""
    try:
        return call()
    except (ClientError, BotoCoreError) as error:
        errors[key] = describe_error(error)
        return None


def aware(value: Any) -> datetime | None:
    """A timestamp from boto3 as a timezone-aware datetime (UTC when it has no zone), else None."""
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def caller_account(session: Any, region: str, errors: dict[str, str]) -> str | None:
    """The profile's account id, or None when its credentials do not work (reason under "credentials")."""
    identity = read(errors, "credentials", lambda: session.client("sts", region_name=region).get_caller_identity())
    return str(identity["Account"]) if identity else None


def read_org_id(session: Any, region: str, errors: dict[str, str]) -> str | None:
    """The account's AWS Organization (aws:PrincipalOrgID of its principals), None outside one."""
    try:
        found = session.client("organizations", region_name=region).describe_organization()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "AWSOrganizationsNotInUseException":
            errors["organization"] = describe_error(error)
        return None
    except BotoCoreError as error:
        errors["organization"] = describe_error(error)
        return None
    return str(found["Organization"]["Id"])


def parse_api_policy(text: str | None) -> Policy | None:
    """API Gateway returns its resource policy JSON-escaped ({\\"Version\\":...}, \\/); accept both forms."""
    if not text:
        return None
    try:
        return policies_from([text])[0]
    except ValueError:
        # The escaped form is the body of a JSON string literal: decode that first.
        return policies_from([json.loads(f'"{text}"')])[0]


def parse_policy(text: Policy | str | None) -> Policy | None:
    """A policy document as IAM or EC2 return it (a dict, JSON text or URL-encoded JSON)."""
    return policies_from([text])[0] if text else None


def read_stack(cfn: Any, name: str, errors: dict[str, str]) -> Stack | None:
    """One stack's status, outputs and parameters (None when missing or unreadable: reason under "stack")."""
    found = read(errors, "stack", lambda: cfn.describe_stacks(StackName=name)["Stacks"])
    if not found:
        return None
    raw = found[0]
    return Stack(
        name=raw["StackName"],
        stack_id=raw["StackId"],
        status=raw["StackStatus"],
        outputs={o["OutputKey"]: str(o.get("OutputValue", "")) for o in raw.get("Outputs", [])},
        parameters={p["ParameterKey"]: str(p.get("ParameterValue", "")) for p in raw.get("Parameters", [])},
        created=aware(raw.get("CreationTime")),
        updated=aware(raw.get("LastUpdatedTime")),
    )


def read_role(iam: Any, arn: str, errors: dict[str, str]) -> Role | None:
    """A role of this account with its trust policy and identity policies."""
    name = arn.rsplit("/", 1)[-1]
    raw = read(errors, f"role:{arn}", lambda: iam.get_role(RoleName=name)["Role"])
    if raw is None:
        return None
    return Role(
        arn=raw["Arn"],
        role_id=raw.get("RoleId"),
        trust_policy=parse_policy(raw.get("AssumeRolePolicyDocument")),
        policies=read(errors, f"policies:{arn}", lambda: role_policies(iam, name)),
    )


def role_policies(iam: Any, name: str) -> tuple[Policy, ...]:
    """A role's inline and attached managed policies (default versions); group policies do not apply to roles."""
    documents: list[Any] = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
        for policy_name in page["PolicyNames"]:
            documents.append(iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"])
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
        for attached in page["AttachedPolicies"]:
            version = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
            found = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)
            documents.append(found["PolicyVersion"]["Document"])
    return tuple(policies_from(documents))


def read_log_events(logs: Any, group: str, since: datetime) -> tuple[LogEvent, ...]:
    """A log group's events since a time, oldest first (at most the latest 10,000)."""
    events: list[LogEvent] = []
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, startTime=int(since.timestamp() * 1000), PaginationConfig={"MaxItems": _MAX_LOG_EVENTS}
    )
    for page in pages:
        for raw in page.get("events", []):
            events.append(LogEvent(at=datetime.fromtimestamp(raw["timestamp"] / 1000, UTC), message=raw["message"]))
    return tuple(sorted(events, key=lambda e: e.at))
