"""Custom::EndpointTargets: registers the ENI addresses of a VPC interface endpoint in an IP target group.

CloudFormation returns no ENI addresses for an endpoint, and a list cannot become TargetGroup Targets, so this
function reads them (DescribeVpcEndpoints, DescribeNetworkInterfaces) and registers them itself on port 443.

- Create: wait until the endpoint is available, register its addresses, answer Data.IpAddresses.
- Update: register the new addresses first; with the same endpoint and target group (same physical id), deregister
  the addresses no longer present. A new endpoint or target group gives a new physical id, so CloudFormation then
  sends Delete for the old one, which deregisters the old endpoint's addresses.
- Delete: deregister, tolerating a missing target group or endpoint, and always answer SUCCESS (a rollback or stack
  deletion never gets stuck on it).

The answer to CloudFormation is always sent, before the function's timeout: the work runs in a thread with a
budget that leaves time for the response (a hanging AWS call is cut off), and every failure becomes FAILED with its
reason. Standard library and boto3 only.
"""

from __future__ import annotations

import concurrent.futures
import json
import logging
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

TARGET_PORT = 443
POLL_SECONDS = 5.0
RESPONSE_TIMEOUT_SECONDS = 10.0
# Left for the response after the work's deadline: the PUT's own timeout plus a margin for the runtime.
RESPONSE_RESERVE_SECONDS = RESPONSE_TIMEOUT_SECONDS + 5.0
REASON_LIMIT = 3000  # CloudFormation shows the reason; the whole response must stay under 4 KB
_GONE_STATES = {"deleting", "deleted", "failed", "rejected", "expired"}
_BOTO_CONFIG = Config(connect_timeout=5, read_timeout=10, retries={"mode": "standard", "max_attempts": 3})


class EndpointTargetsError(Exception):
    """A failure CloudFormation should see, worded for the stack event."""


@dataclass(frozen=True)
class Outcome:
    """What the function answers CloudFormation."""

    status: str
    physical_id: str
    reason: str = ""
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Clients:
    """The two AWS APIs the function calls (moto in tests)."""

    ec2: Any
    elbv2: Any

    @classmethod
    def create(cls) -> Clients:
        return cls(ec2=boto3.client("ec2", config=_BOTO_CONFIG), elbv2=boto3.client("elbv2", config=_BOTO_CONFIG))


def physical_id(endpoint_id: str, target_group_arn: str) -> str:
    return f"{endpoint_id}:{target_group_arn}"


def _properties(properties: Mapping[str, Any] | None) -> tuple[str, str]:
    properties = properties or {}
    endpoint_id = str(properties.get("VpcEndpointId", ""))
    target_group_arn = str(properties.get("TargetGroupArn", ""))
    if not endpoint_id.startswith("vpce-") or not target_group_arn.startswith("arn:"):
        raise EndpointTargetsError(
            f"VpcEndpointId (vpce-...) and TargetGroupArn (an ARN) are required, got {endpoint_id!r} and "
            f"{target_group_arn!r}"
        )
    return endpoint_id, target_group_arn


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def endpoint_addresses(
    ec2: Any, endpoint_id: str, *, deadline: float, sleep: Callable[[float], None] = time.sleep
) -> list[str]:
    """The private IPv4 addresses of the endpoint's ENIs (one per subnet), once it is available."""
    while True:
        try:
            endpoints = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
        except ClientError as error:
            if _error_code(error).startswith("InvalidVpcEndpointId"):
                raise EndpointTargetsError(f"VPC endpoint {endpoint_id} does not exist") from error
            raise
        if not endpoints:
            raise EndpointTargetsError(f"VPC endpoint {endpoint_id} does not exist")
        state = str(endpoints[0].get("State", "")).lower()
        interfaces = list(endpoints[0].get("NetworkInterfaceIds") or [])
        if state in _GONE_STATES:
            raise EndpointTargetsError(f"VPC endpoint {endpoint_id} is {state}")
        if state == "available" and interfaces:
            break
        if time.monotonic() + POLL_SECONDS >= deadline:
            raise EndpointTargetsError(
                f"VPC endpoint {endpoint_id} is still {state or 'unknown'} with {len(interfaces)} network "
                "interfaces; gave up before the function's timeout"
            )
        sleep(POLL_SECONDS)
    found = ec2.describe_network_interfaces(NetworkInterfaceIds=interfaces)["NetworkInterfaces"]
    addresses = sorted(str(eni["PrivateIpAddress"]) for eni in found if eni.get("PrivateIpAddress"))
    if len(addresses) != len(interfaces):
        raise EndpointTargetsError(
            f"VPC endpoint {endpoint_id}: {len(interfaces)} network interfaces but {len(addresses)} addresses"
        )
    return addresses


def _targets(addresses: list[str]) -> list[dict[str, Any]]:
    return [{"Id": address, "Port": TARGET_PORT} for address in addresses]


def registered_addresses(elbv2: Any, target_group_arn: str) -> set[str]:
    described = elbv2.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    return {str(d["Target"]["Id"]) for d in described if d["Target"].get("Port", TARGET_PORT) == TARGET_PORT}


def _create_or_update(event: Mapping[str, Any], clients: Clients, deadline: float) -> Outcome:
    endpoint_id, target_group_arn = _properties(event.get("ResourceProperties"))
    addresses = endpoint_addresses(clients.ec2, endpoint_id, deadline=deadline)
    clients.elbv2.register_targets(TargetGroupArn=target_group_arn, Targets=_targets(addresses))
    new_id = physical_id(endpoint_id, target_group_arn)
    if event["RequestType"] == "Update" and event.get("PhysicalResourceId") == new_id:
        # Same endpoint and target group (e.g. the endpoint's subnets changed): no Delete will follow.
        stale = sorted(registered_addresses(clients.elbv2, target_group_arn) - set(addresses))
        if stale:
            clients.elbv2.deregister_targets(TargetGroupArn=target_group_arn, Targets=_targets(stale))
    LOGGER.info("registered %s of %s in %s", addresses, endpoint_id, target_group_arn)
    return Outcome("SUCCESS", new_id, data={"IpAddresses": ",".join(addresses)})


def _delete(event: Mapping[str, Any], clients: Clients, deadline: float) -> Outcome:
    current_id = str(event.get("PhysicalResourceId", ""))
    try:
        endpoint_id, target_group_arn = _properties(event.get("ResourceProperties"))
    except EndpointTargetsError as error:
        return Outcome("SUCCESS", current_id, reason=f"Nothing to deregister: {error}")
    try:
        addresses = endpoint_addresses(clients.ec2, endpoint_id, deadline=min(deadline, time.monotonic()))
    except EndpointTargetsError as error:
        return Outcome("SUCCESS", current_id, reason=f"Nothing to deregister: {error}")
    try:
        clients.elbv2.deregister_targets(TargetGroupArn=target_group_arn, Targets=_targets(addresses))
    except ClientError as error:
        if _error_code(error) not in {"TargetGroupNotFound", "TargetGroupNotFoundException"}:
            raise
        return Outcome("SUCCESS", current_id, reason=f"Target group {target_group_arn} is already gone")
    return Outcome("SUCCESS", current_id, reason=f"Deregistered {', '.join(addresses)}")


def respond_to(event: Mapping[str, Any], clients_factory: Callable[[], Clients], deadline: float) -> Outcome:
    """The outcome of one CloudFormation request; never raises (a failure becomes FAILED, or SUCCESS on Delete)."""
    request = str(event.get("RequestType", ""))
    fallback_id = str(event.get("PhysicalResourceId") or f"failed-{event.get('LogicalResourceId', 'resource')}")
    try:
        clients = clients_factory()
        if request in {"Create", "Update"}:
            return _create_or_update(event, clients, deadline)
        if request == "Delete":
            return _delete(event, clients, deadline)
        raise EndpointTargetsError(f"Unknown RequestType {request!r}")
    except (EndpointTargetsError, ClientError, BotoCoreError, KeyError, ValueError) as error:
        LOGGER.exception("%s failed", request)
        reason = f"{type(error).__name__}: {error}"
        # A Delete that fails must not block a rollback or a stack deletion.
        return Outcome("SUCCESS" if request == "Delete" else "FAILED", fallback_id, reason=reason)


def response_body(event: Mapping[str, Any], outcome: Outcome, log_stream: str) -> bytes:
    reason = f"{outcome.reason} (log stream {log_stream})" if outcome.reason else f"See log stream {log_stream}"
    body = {
        "Status": outcome.status,
        "Reason": reason[:REASON_LIMIT],
        "PhysicalResourceId": outcome.physical_id,
        "StackId": event.get("StackId", ""),
        "RequestId": event.get("RequestId", ""),
        "LogicalResourceId": event.get("LogicalResourceId", ""),
        "NoEcho": False,
        "Data": dict(outcome.data),
    }
    return json.dumps(body).encode("utf-8")


def send(url: str, body: bytes, timeout: float = RESPONSE_TIMEOUT_SECONDS) -> int:
    """PUT the answer to CloudFormation's pre-signed URL (an empty Content-Type, as the signature expects)."""
    if urllib.parse.urlsplit(url).scheme not in {"https", "http"}:
        raise ValueError(f"ResponseURL must be http(s): {url[:40]}")
    request = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})  # noqa: S310
    # The scheme is checked above (no file: or custom schemes).
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  # nosec B310
        return int(response.status)


def _within(event: Mapping[str, Any], clients_factory: Callable[[], Clients], budget: float) -> Outcome:
    """respond_to, cut off after `budget` seconds (an AWS call can hang past the polling deadline)."""
    executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    future = executor.submit(respond_to, event, clients_factory, time.monotonic() + budget)
    try:
        return future.result(timeout=budget)
    except concurrent.futures.TimeoutError:
        request = str(event.get("RequestType", ""))
        LOGGER.error("%s did not finish within %.0f s", request, budget)
        fallback_id = str(event.get("PhysicalResourceId") or f"failed-{event.get('LogicalResourceId', 'resource')}")
        reason = f"{request} did not finish within {budget:.0f} s (an AWS call did not answer in time)"
        return Outcome("SUCCESS" if request == "Delete" else "FAILED", fallback_id, reason=reason)
    finally:
        executor.shutdown(wait=False)


def handler(event: dict[str, Any], context: Any, clients_factory: Callable[[], Clients] = Clients.create) -> None:
    remaining = context.get_remaining_time_in_millis() / 1000.0
    outcome = _within(event, clients_factory, max(0.0, remaining - RESPONSE_RESERVE_SECONDS))
    LOGGER.info("answering %s %s: %s", event.get("RequestType"), outcome.status, outcome.reason)
    try:
        send(str(event["ResponseURL"]), response_body(event, outcome, getattr(context, "log_stream_name", "")))
    except (OSError, ValueError, KeyError):
        # Nothing else can reach CloudFormation; the log is where the operator looks.
        LOGGER.exception("could not send the response to CloudFormation")
