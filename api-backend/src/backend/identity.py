"""The caller as API Gateway authenticated it (requestContext.identity of a REST proxy event)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backend.errors import ForbiddenError

# What GET / returns, in this order; absent fields are null (vpceId/vpcId exist only on private APIs).
IDENTITY_FIELDS = (
    "accountId",
    "caller",
    "user",
    "userArn",
    "accessKey",
    "sourceIp",
    "vpceId",
    "vpcId",
    "principalOrgId",
)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the account that owns their items and the principal recorded on writes."""

    account_id: str
    principal_arn: str


def describe(event: dict[str, Any]) -> dict[str, Any]:
    """The identity fields of the request context plus the stage and request id."""
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    described: dict[str, Any] = {name: identity.get(name) for name in IDENTITY_FIELDS}
    described["stage"] = context.get("stage")
    described["requestId"] = context.get("requestId")
    return described


def caller_of(event: dict[str, Any]) -> Caller:
    """The authenticated caller; IAM auth guarantees both fields, anything else is refused."""
    identity = (event.get("requestContext") or {}).get("identity") or {}
    account_id = identity.get("accountId")
    principal_arn = identity.get("userArn")
    if not isinstance(account_id, str) or not account_id or not isinstance(principal_arn, str) or not principal_arn:
        raise ForbiddenError("The request carries no IAM caller identity (is the method IAM-authorized?)")
    return Caller(account_id=account_id, principal_arn=principal_arn)
