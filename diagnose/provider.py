"""Read the provider account: its stack, the API (policy, endpoints, stage, last change), roles and access log."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from diagnose.collect import (
    aware,
    caller_account,
    parse_api_policy,
    read,
    read_log_events,
    read_org_id,
    read_role,
    read_stack,
)
from diagnose.facts import ApiChange, Provider, RestApi, Role, Stack, Stage

__all__ = ["collect_provider"]

_MAX_EVENT_PAGES = 20  # stack events are newest first; the RestApi's last change is near the top
_NESTED_DEPTH = 3


def _rest_api(apigw: Any, api_id: str, errors: dict[str, str]) -> RestApi | None:
    raw = read(errors, "api", lambda: apigw.get_rest_api(restApiId=api_id))
    if raw is None:
        return None
    config = raw.get("endpointConfiguration") or {}
    try:
        policy = parse_api_policy(raw.get("policy"))
    except ValueError as error:
        errors["api-policy"] = f"the resource policy is not valid JSON: {error}"
        policy = None
    return RestApi(
        id=raw["id"],
        endpoint_types=tuple(config.get("types") or ()),
        vpc_endpoint_ids=tuple(config.get("vpcEndpointIds") or ()),
        policy=policy,
    )


def _stage(apigw: Any, api_id: str, name: str, errors: dict[str, str]) -> Stage | None:
    raw = read(errors, "stage", lambda: apigw.get_stage(restApiId=api_id, stageName=name))
    if raw is None:
        return None
    deployment_id = raw.get("deploymentId")
    created = None
    if deployment_id:
        deployment = read(
            errors, "deployment", lambda: apigw.get_deployment(restApiId=api_id, deploymentId=deployment_id)
        )
        created = aware(deployment.get("createdDate")) if deployment else None
    return Stage(
        name=name,
        deployment_id=deployment_id,
        deployment_created=created,
        access_log_destination=(raw.get("accessLogSettings") or {}).get("destinationArn"),
    )


def _find_rest_api(cfn: Any, stack: str, api_id: str, depth: int = 0) -> tuple[str, str] | None:
    """(stack, logical id) of the RestApi resource, looking into nested stacks (the vpc- templates nest it)."""
    nested: list[str] = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for summary in page["StackResourceSummaries"]:
            kind, physical = summary.get("ResourceType"), summary.get("PhysicalResourceId")
            if kind == "AWS::ApiGateway::RestApi" and physical == api_id:
                return stack, summary["LogicalResourceId"]
            if kind == "AWS::CloudFormation::Stack" and physical:
                nested.append(physical)
    if depth >= _NESTED_DEPTH:
        return None
    for child in nested:
        found = _find_rest_api(cfn, child, api_id, depth + 1)
        if found:
            return found
    return None


def _stack_label(stack_id: str) -> str:
    # arn:aws:cloudformation:region:account:stack/NAME/uuid -> NAME
    return stack_id.split("/")[1] if stack_id.startswith("arn:") and stack_id.count("/") >= 2 else stack_id


def _last_event(cfn: Any, stack_id: str, logical_id: str, statuses: tuple[str, ...]) -> datetime | None:
    pages = cfn.get_paginator("describe_stack_events").paginate(
        StackName=stack_id, PaginationConfig={"MaxItems": _MAX_EVENT_PAGES * 100}
    )
    for page in pages:
        for event in page["StackEvents"]:
            if event["LogicalResourceId"] == logical_id and event["ResourceStatus"] in statuses:
                return aware(event["Timestamp"])
    return None


def _api_change(cfn: Any, stack: Stack, api_id: str) -> ApiChange | None:
    """When the API last changed: its RestApi resource's last *_COMPLETE event, else the stack's last update start.

    API Gateway keeps no policy-change time, so this is a heuristic (see docs/troubleshooting.md).
    """
    found = _find_rest_api(cfn, stack.stack_id, api_id)
    if found:
        owner, logical = found
        at = _last_event(cfn, owner, logical, ("CREATE_COMPLETE", "UPDATE_COMPLETE"))
        if at:
            return ApiChange(at=at, source=f"last change of RestApi {logical} in stack {_stack_label(owner)}")
    if stack.updated:
        return ApiChange(at=stack.updated, source=f"start of the last update of stack {stack.name}")
    # Some CloudFormation implementations omit LastUpdatedTime; the stack's own events still carry it.
    started = _last_event(cfn, stack.stack_id, stack.name, ("UPDATE_IN_PROGRESS",))
    if started:
        return ApiChange(at=started, source=f"start of the last update of stack {stack.name}")
    if stack.created:
        return ApiChange(at=stack.created, source=f"creation of stack {stack.name}")
    return None


def _log_group(stack: Stack, stage: Stage | None) -> str | None:
    if stack.outputs.get("APIAccessLogGroup"):
        return stack.outputs["APIAccessLogGroup"]
    destination = stage.access_log_destination if stage else None
    # arn:aws:logs:region:account:log-group:NAME(:*)
    if destination and ":log-group:" in destination:
        return destination.split(":log-group:", 1)[1].removesuffix(":*")
    return None


def collect_provider(
    session: Any,
    *,
    profile: str,
    region: str,
    stack_name: str,
    stage_hint: str | None,
    role_arns: Iterable[str],
    since_minutes: int,
    now: datetime,
) -> Provider:
    """The provider stack, its API (policy, endpoints, stage, last change), the roles clients assume, access logs."""
    errors: dict[str, str] = {}
    account = caller_account(session, region, errors)
    if account is None:
        return Provider(profile=profile, account=None, errors=errors)
    cfn, apigw, iam, logs = (
        session.client(n, region_name=region) for n in ("cloudformation", "apigateway", "iam", "logs")
    )
    org_id = read_org_id(session, region, errors)
    stack = read_stack(cfn, stack_name, errors)
    if stack is None:
        return Provider(profile=profile, account=account, org_id=org_id, errors=errors)
    api_id = stack.outputs.get("APIGatewayID")
    api = _rest_api(apigw, api_id, errors) if api_id else None
    stage_name = stack.outputs.get("APIStageName") or stage_hint
    stage = _stage(apigw, api_id, stage_name, errors) if api_id and stage_name else None
    change = read(errors, "api-change", lambda: _api_change(cfn, stack, api_id)) if api_id else None
    wanted = {stack.outputs.get("APIAccessRole", ""), *role_arns}
    roles: dict[str, Role] = {}
    for arn in sorted(a for a in wanted if a.split(":")[4:5] == [account]):
        role = read_role(iam, arn, errors)
        if role is not None:
            roles[arn] = role
    group = _log_group(stack, stage)
    since = now - timedelta(minutes=since_minutes)
    events = read(errors, "access-log", lambda: read_log_events(logs, group, since)) if group else None
    return Provider(
        profile=profile,
        account=account,
        org_id=org_id,
        stack=stack,
        api=api,
        stage=stage,
        api_change=change,
        roles=roles,
        log_group=group,
        log_events=events,
        errors=errors,
    )
