"""Checks on what the API is serving now: the stage's deployment, and what the access log says happened."""

from __future__ import annotations

from datetime import datetime, timedelta

from diagnose.access_log import parse_lines
from diagnose.context import ClientContext, required
from diagnose.errors import not_read
from diagnose.results import Outcome, bad, note, ok, unknown

__all__ = ["DEPLOYMENT_SLACK", "access_log", "stage"]

# API Gateway reports createdDate in whole seconds, and CloudFormation creates a new deployment right after it updates
# the RestApi, so a deployment up to this much older than the change still counts as made after it.
DEPLOYMENT_SLACK = timedelta(seconds=2)


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%SZ")


def stage(ctx: ClientContext) -> Outcome:
    """The stage exists and serves a deployment made after the API (and so its policy) last changed."""
    provider = required(ctx.provider, "provider")
    api_id, name = ctx.target.api_id, ctx.target.stage
    found = provider.stage
    if found is None:
        error = provider.errors.get("stage", "")
        if "NotFound" in error:
            return bad(
                f"API {api_id} has no stage {name}", f"update stack {ctx.collected.provider_stack} (./deploy-all.sh)"
            )
        return not_read(f"stage {name}", error, permission="apigateway:GET on the stage", profile=provider.profile)
    change = provider.api_change
    if found.deployment_created is None or change is None:
        return unknown(
            f"stage {name} serves deployment {found.deployment_id}; when it or the API last changed is unknown",
            "apigateway:GET on deployments and cloudformation:DescribeStackEvents for the provider profile",
        )
    if found.deployment_created + DEPLOYMENT_SLACK < change.at:
        return bad(
            f"stage {name} serves deployment {found.deployment_id} made {_time(found.deployment_created)}, before the "
            f"API last changed ({_time(change.at)}, {change.source}): the old resource policy is still live",
            f"aws apigateway create-deployment --rest-api-id {api_id} --stage-name {name} --profile {provider.profile} "
            f"--region {ctx.collected.region} (the kit's template redeploys on every update with AlwaysDeploy)",
        )
    return ok(
        f"stage {name} serves deployment {found.deployment_id} made {_time(found.deployment_created)}, after the API "
        f"last changed ({_time(change.at)}, {change.source})"
    )


def access_log(ctx: ClientContext) -> Outcome:
    """This client's latest request in the access log, and whether it failed after the last configuration change."""
    provider, signer = required(ctx.provider, "provider"), required(ctx.signer, "signer")
    if provider.log_group is None:
        return unknown("no access log group found (output APIAccessLogGroup or the stage's setting)", "access logging")
    if provider.log_events is None:
        return not_read(
            provider.log_group,
            provider.errors.get("access-log"),
            permission="logs:FilterLogEvents",
            profile=provider.profile,
        )
    lines, _ = parse_lines(provider.log_events)
    mine = [line for line in lines if line.user_arn == signer.arn]
    minutes = ctx.collected.since_minutes
    if not mine:
        return note(f"no requests from {signer.arn} in {provider.log_group} in the last {minutes} minutes")
    latest, failures = mine[-1], sum(1 for line in mine if line.failed)
    if not latest.failed:
        return ok(f"latest request ({_time(latest.at)}) answered {latest.status}; {failures} failed in {minutes} min")
    changes = [t for t in (ctx.function.last_modified if ctx.function else None,) if t]
    if provider.stage and provider.stage.deployment_created:
        changes.append(provider.stage.deployment_created)
    described = f"latest request ({_time(latest.at)}) answered {latest.status}: {latest.error or 'no error text'}"
    if changes and latest.at < max(changes):
        return note(f"{described}; it predates the last change ({_time(max(changes))}): invoke again to confirm")
    return bad(
        described,
        f"invoke again (./invoke.sh {ctx.consumer.profile}) after fixing the checks above; if they all pass, read "
        f"{provider.log_group} for the request's authorize, authenticate and waf fields",
    )
