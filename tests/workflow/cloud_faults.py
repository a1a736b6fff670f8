"""What moto cannot do by itself, added to the in-process moto server: a log of the requests it served, and the
failures, public parameters and timestamps the orchestration's failure paths need.

Requests: `RequestLog` records every request (service, operation, account, region, parameters), so a test can say
what the scripts asked of AWS, and as whom, as the fake CLI's call log did.

moto applies every change set and deletes every stack at once, never fails one, keeps no LastUpdatedTime, and stamps
API deployments in whole seconds. The orchestration's failure paths need those behaviours, so the tests patch them in
(the server runs in this process, so the patches reach the requests the scripts make):
- `Faults.fail_deploy`: the next N executions of a stack's change sets fail like a rollback, leaving
  ROLLBACK_COMPLETE (create) or UPDATE_ROLLBACK_COMPLETE (update) and the given failed events, optionally with a
  nested stack holding its own events (as a failed `AWS::CloudFormation::Stack` resource does);
- `Faults.fail_delete`: the next deletes of a stack end DELETE_FAILED (a security group still in use) or never end;
- `Faults.broken_keys`: STS rejects these access keys (InvalidClientTokenId); `Faults.ssm_denied`: SSM denies;
- S3's HeadBucket answers 403 when the bucket belongs to another account than ExpectedBucketOwner names;
- `publish_parameter`: the public /aws/service/... parameters (Powertools' layer) moto will not let anyone create;
- updates set LastUpdatedTime, and deployments get a sub-second createdDate so "not older than the change" is
  decidable within one second (the fake CLI's one-tick-per-change clock did the same).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.apigateway.models import APIGatewayBackend
from moto.cloudformation.models import CloudFormationBackend, Event, Stack, cloudformation_backends
from moto.core.responses import BaseResponse
from moto.core.utils import utcnow
from moto.s3.exceptions import MissingBucket
from moto.s3.responses import S3Response
from moto.ssm.exceptions import AccessDeniedException
from moto.ssm.models import Parameter, SimpleSystemManagerBackend, ssm_backends
from moto.sts.exceptions import STSClientError
from moto.sts.responses import TokenResponse

# An empty stack moto accepts: the stand-in for a nested stack whose own events explain a failure.
NESTED_TEMPLATE = '{"Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}}}'
# Why a VPC Lambda's security group cannot go yet (the usual DELETE_FAILED of destroy-all).
ENI_IN_USE = {
    "LogicalResourceId": "LambdaSecurityGroup",
    "ResourceType": "AWS::EC2::SecurityGroup",
    "ResourceStatus": "DELETE_FAILED",
    "ResourceStatusReason": "resource sg-0abc has a dependent object",
}
DELETE_NEVER_ENDS = "NEVER"


@dataclass(frozen=True)
class Request:
    """One request moto served."""

    service: str
    operation: str
    account: str
    region: str
    params: dict[str, Any]
    # The recorded sam's own requests say so (AWS_SDK_UA_APP_ID); the rest are the workflow's.
    by_sam: bool = False


@dataclass
class RequestLog:
    """Requests moto served, in order; `mark()` and `since(mark)` delimit one run's."""

    entries: list[Request] = field(default_factory=list)

    def mark(self) -> int:
        """A position to read from later."""
        return len(self.entries)

    def since(self, mark: int = 0) -> list[Request]:
        """The requests after a mark."""
        return list(self.entries[mark:])


def select(requests: list[Request], service: str, *operations: str, account: str | None = None) -> list[Request]:
    """The requests to one service (any of the operations, if named; one account's, if named)."""
    return [
        request
        for request in requests
        if request.service == service
        and (not operations or request.operation in operations)
        and (account is None or request.account == account)
        and not request.by_sam
    ]


def _params(response: BaseResponse) -> dict[str, Any]:
    params = {
        key: value[0] if isinstance(value, list) and value else value for key, value in response.querystring.items()
    }
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        body = json.loads(response.body or "{}")
        if isinstance(body, dict):
            params.update(body)
    return params


@dataclass
class DeployFailure:
    """The next `times` change-set executions of a stack fail with these events (dicts shaped like the API's)."""

    times: int
    events: list[dict[str, Any]]
    nested_events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Faults:
    """Failures waiting to happen, by (account, stack name); cleared between tests."""

    deploys: dict[tuple[str, str], DeployFailure] = field(default_factory=dict)
    deletes: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    # Access keys STS rejects (expired or revoked credentials).
    broken_keys: set[str] = field(default_factory=set)
    # SSM answers AccessDenied to every GetParameter.
    ssm_denied: bool = False

    def fail_deploy(self, account: str, stack: str, failure: DeployFailure) -> None:
        """Make the stack's next deploys fail."""
        self.deploys[(account, stack)] = failure

    def fail_delete(self, account: str, stack: str, *outcomes: str) -> None:
        """Outcomes of the stack's next deletes, in order: DELETE_FAILED, NEVER or DELETE_COMPLETE."""
        self.deletes[(account, stack)] = list(outcomes)

    def clear(self) -> None:
        """Forget every pending failure."""
        self.deploys.clear()
        self.deletes.clear()
        self.broken_keys.clear()
        self.ssm_denied = False


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value)).astimezone(UTC).replace(tzinfo=None)


def _add_event(stack: Stack, event: dict[str, Any], stack_id: str | None = None) -> None:
    """An event on a stack as CloudFormation would record it; the event's own Timestamp (an old one) wins."""
    recorded = Event(
        stack_id=stack_id or stack.stack_id,
        stack_name=stack.name,
        logical_resource_id=event["LogicalResourceId"],
        physical_resource_id=event.get("PhysicalResourceId", ""),
        resource_type=event.get("ResourceType", "AWS::CloudFormation::Stack"),
        resource_status=event["ResourceStatus"],
        resource_status_reason=event.get("ResourceStatusReason"),
        resource_properties=None,
    )
    if "Timestamp" in event:
        recorded.timestamp = _timestamp(event["Timestamp"])
    stack.events.append(recorded)


def _nested_stack(backend: CloudFormationBackend, parent: Stack, logical_id: str) -> Stack:
    """A nested stack of the parent, named as CloudFormation names them."""
    return backend.create_stack(
        name=f"{parent.name}-{logical_id}-{int(time.time() * 1000) % 10**6}", template=NESTED_TEMPLATE, parameters={}
    )


def _fail(backend: CloudFormationBackend, stack: Stack, change_type: str, failure: DeployFailure) -> None:
    failure.times -= 1
    nested_id = ""
    if failure.nested_events:
        owner = next(event for event in failure.events if event.get("ResourceType") == "AWS::CloudFormation::Stack")
        nested = _nested_stack(backend, stack, owner["LogicalResourceId"])
        nested_id = nested.stack_id
        for event in failure.nested_events:
            _add_event(nested, event)
    for event in failure.events:
        physical = nested_id if event.get("ResourceType") == "AWS::CloudFormation::Stack" and nested_id else None
        _add_event(stack, {**event, "PhysicalResourceId": physical or event.get("PhysicalResourceId", "")})
    if change_type == "CREATE":
        stack.status = "ROLLBACK_COMPLETE"
    else:
        stack.status = "UPDATE_ROLLBACK_COMPLETE"
        stack.last_updated_time = utcnow()  # type: ignore[attr-defined]


def publish_parameter(account: str, region: str, name: str, value: str) -> None:
    """A public parameter AWS publishes under /aws/service/ (moto refuses to create those through its API)."""
    parameters = ssm_backends[account][region]._parameters
    parameters[name].append(
        Parameter(  # type: ignore[abstract]  # moto's own data loader builds them the same way
            account_id=account,
            name=name,
            value=value,
            parameter_type="String",
            description=None,
            allowed_pattern=None,
            keyid=None,
            last_modified_date=utcnow(),
            version=1,
            data_type="text",
        )
    )


def set_stack_status(account: str, region: str, name: str, status: str) -> None:
    """Put a live stack in a status moto never reaches by itself (e.g. ROLLBACK_COMPLETE)."""
    backend = cloudformation_backends[account][region]
    stack = next(stack for stack in backend.stacks.values() if stack.name == name)
    stack.status = status


@contextlib.contextmanager
def installed(faults: Faults, log: RequestLog) -> Iterator[None]:
    """moto patched to log requests, honour `faults`, and keep LastUpdatedTime and sub-second deployment dates."""
    original_setup = BaseResponse.setup_class
    original_identity = TokenResponse.get_caller_identity
    original_head_bucket = S3Response.head_bucket
    original_parameter = SimpleSystemManagerBackend.get_parameter
    original_create = CloudFormationBackend.create_stack
    original_update = CloudFormationBackend.update_stack
    original_delete = CloudFormationBackend.delete_stack
    original_deployment = APIGatewayBackend.create_deployment

    def pending(backend: CloudFormationBackend, name: str) -> DeployFailure | None:
        failure = faults.deploys.get((backend.account_id, name))
        return failure if failure and failure.times > 0 else None

    def create_stack(self: CloudFormationBackend, name: str, *args: Any, **kwargs: Any) -> Stack:
        stack = original_create(self, name, *args, **kwargs)
        failure = pending(self, name)
        if failure:
            _fail(self, stack, "CREATE", failure)
        return stack

    def update_stack(self: CloudFormationBackend, name: str, *args: Any, **kwargs: Any) -> Stack:
        failure = pending(self, self.get_stack(name).name)
        if failure:
            stack = self.get_stack(name)
            _fail(self, stack, "UPDATE", failure)
            return stack
        stack = original_update(self, name, *args, **kwargs)
        stack.last_updated_time = utcnow()  # type: ignore[attr-defined]
        return stack

    def delete_stack(self: CloudFormationBackend, name_or_stack_id: str) -> None:
        stack = next((s for s in self.stacks.values() if name_or_stack_id in (s.stack_id, s.name)), None)
        outcomes = faults.deletes.get((self.account_id, stack.name), []) if stack else []
        outcome = outcomes.pop(0) if outcomes else "DELETE_COMPLETE"
        if stack is None or outcome == "DELETE_COMPLETE":
            original_delete(self, name_or_stack_id)
            return
        stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
        stack.status = "DELETE_IN_PROGRESS"
        if outcome != DELETE_NEVER_ENDS:
            _add_event(stack, ENI_IN_USE)
            stack.status = "DELETE_FAILED"

    def create_deployment(self: APIGatewayBackend, *args: Any, **kwargs: Any) -> Any:
        deployment = original_deployment(self, *args, **kwargs)
        deployment.created_date = time.time()  # type: ignore[assignment]
        return deployment

    def setup_class(self: BaseResponse, *args: Any, **kwargs: Any) -> None:
        original_setup(self, *args, **kwargs)
        agent = str(self.headers.get("User-Agent", ""))
        log.entries.append(
            Request(
                str(self.service_name),
                self._get_action(),
                self.current_account,
                self.region,
                _params(self),
                by_sam="app/recorded-sam" in agent,
            )
        )

    def head_bucket(self: S3Response) -> Any:
        # S3 answers 403 when the bucket's owner is not the expected one; moto ignores the header.
        expected = self.headers.get("x-amz-expected-bucket-owner")
        try:
            owner = self.backend.head_bucket(self.bucket_name).account_id
        except MissingBucket:
            owner = None
        if expected and owner and owner != expected:
            return 403, {}, ""
        return original_head_bucket(self)

    def get_caller_identity(self: TokenResponse) -> Any:
        if self.get_access_key() in faults.broken_keys:
            raise STSClientError("InvalidClientTokenId", "The security token included in the request is invalid.")
        return original_identity(self)

    def get_parameter(self: SimpleSystemManagerBackend, name: str) -> Any:
        if faults.ssm_denied:
            raise AccessDeniedException(
                f"User: arn:aws:iam::{self.account_id}:user/admin is not authorized to perform: ssm:GetParameter"
            )
        return original_parameter(self, name)

    patches: dict[tuple[type, str], Callable[..., Any]] = {
        (BaseResponse, "setup_class"): setup_class,
        (TokenResponse, "get_caller_identity"): get_caller_identity,
        (S3Response, "head_bucket"): head_bucket,
        (SimpleSystemManagerBackend, "get_parameter"): get_parameter,
        (CloudFormationBackend, "create_stack"): create_stack,
        (CloudFormationBackend, "update_stack"): update_stack,
        (CloudFormationBackend, "delete_stack"): delete_stack,
        (APIGatewayBackend, "create_deployment"): create_deployment,
    }
    originals = {key: getattr(*key) for key in patches}
    for (owner, name), replacement in patches.items():
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for (owner, name), original in originals.items():
            setattr(owner, name, original)
