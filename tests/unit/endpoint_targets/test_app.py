"""Custom::EndpointTargets on moto EC2 + ELBv2: the endpoint's ENI addresses registered in the IP target group.

Each test runs the real handler and reads the answer CloudFormation would receive from a local HTTP server standing
in for the pre-signed ResponseURL.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from endpoint_targets import app

# moto builds an EC2 backend (default VPC, subnets, prefix lists) for every test's account: about a second each.
pytestmark = pytest.mark.slow

REGION = "us-east-1"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


@dataclass
class Context:
    """The Lambda context attributes the handler reads."""

    remaining_ms: int = 300_000  # the template's Timeout: 300
    log_stream_name: str = "2026/12/05/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class CloudFormation:
    """Receives the PUT answers at a local ResponseURL."""

    url: str
    answers: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str | None] = field(default_factory=list)


@pytest.fixture
def cloudformation() -> Iterator[CloudFormation]:
    received = CloudFormation(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            received.answers.append(json.loads(self.rfile.read(length)))
            received.content_types.append(self.headers.get("Content-Type"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    received.url = f"http://127.0.0.1:{server.server_address[1]}/cloudformation-response?X-Amz-Signature=abc"
    yield received
    server.shutdown()
    server.server_close()


@dataclass
class Network:
    ec2: Any
    elbv2: Any
    vpc_id: str
    subnets: list[str]
    target_group_arn: str

    def endpoint(self, zones: int) -> str:
        """A new execute-api interface endpoint in the first `zones` subnets (one ENI each)."""
        created = self.ec2.create_vpc_endpoint(
            VpcEndpointType="Interface",
            VpcId=self.vpc_id,
            ServiceName=f"com.amazonaws.{REGION}.execute-api",
            SubnetIds=self.subnets[:zones],
            PrivateDnsEnabled=False,
        )
        return str(created["VpcEndpoint"]["VpcEndpointId"])

    def addresses(self, endpoint_id: str) -> list[str]:
        endpoint = self.ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"][0]
        enis = self.ec2.describe_network_interfaces(NetworkInterfaceIds=endpoint["NetworkInterfaceIds"])
        return sorted(eni["PrivateIpAddress"] for eni in enis["NetworkInterfaces"])

    def registered(self) -> list[tuple[str, int]]:
        described = self.elbv2.describe_target_health(TargetGroupArn=self.target_group_arn)
        return sorted((d["Target"]["Id"], d["Target"]["Port"]) for d in described["TargetHealthDescriptions"])


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[Network]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        elbv2 = boto3.client("elbv2", region_name=REGION)
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=zone)["Subnet"]["SubnetId"]
            for i, zone in enumerate(ZONES)
        ]
        group = elbv2.create_target_group(
            Name="mtls-api", Protocol="HTTPS", Port=443, VpcId=vpc_id, TargetType="ip", HealthCheckProtocol="HTTPS"
        )
        yield Network(ec2, elbv2, vpc_id, subnets, group["TargetGroups"][0]["TargetGroupArn"])


def event(
    cloudformation: CloudFormation,
    request: str,
    properties: dict[str, str],
    *,
    physical_id: str | None = None,
    old: dict[str, str] | None = None,
) -> dict[str, Any]:
    built: dict[str, Any] = {
        "RequestType": request,
        "ResponseURL": cloudformation.url,
        "StackId": f"arn:aws:cloudformation:{REGION}:222222222222:stack/private-api-backend/0a1b2c3d",
        "RequestId": f"request-{request.lower()}",
        "LogicalResourceId": "MtlsEndpointTargets",
        "ResourceType": "Custom::EndpointTargets",
        "ResourceProperties": {"ServiceToken": "arn:aws:lambda:us-east-1:222222222222:function:x", **properties},
    }
    if physical_id is not None:
        built["PhysicalResourceId"] = physical_id
    if old is not None:
        built["OldResourceProperties"] = {"ServiceToken": "arn:aws:lambda:us-east-1:222222222222:function:x", **old}
    return built


def props(endpoint_id: str, target_group_arn: str) -> dict[str, str]:
    return {"VpcEndpointId": endpoint_id, "TargetGroupArn": target_group_arn}


@pytest.mark.parametrize("zones", [2, 3])
def test_create_registers_every_endpoint_address_on_443_and_answers_them(
    network: Network, cloudformation: CloudFormation, zones: int
) -> None:
    # GIVEN an interface endpoint in 2 or 3 Availability Zones
    endpoint_id = network.endpoint(zones)
    addresses = network.addresses(endpoint_id)
    # WHEN CloudFormation creates the custom resource
    app.handler(event(cloudformation, "Create", props(endpoint_id, network.target_group_arn)), Context())
    # THEN each ENI address is a target on 443, and CloudFormation gets SUCCESS with the addresses and the ids
    assert len(addresses) == zones
    assert network.registered() == [(address, 443) for address in addresses]
    [answer] = cloudformation.answers
    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == f"{endpoint_id}:{network.target_group_arn}"
    assert answer["Data"] == {"IpAddresses": ",".join(addresses)}
    assert (answer["StackId"], answer["RequestId"], answer["LogicalResourceId"]) == (
        f"arn:aws:cloudformation:{REGION}:222222222222:stack/private-api-backend/0a1b2c3d",
        "request-create",
        "MtlsEndpointTargets",
    )
    # (the pre-signed URL is signed for an empty Content-Type)
    assert cloudformation.content_types == [""]


def test_replaced_endpoint_update_registers_new_then_delete_removes_only_the_old(
    network: Network, cloudformation: CloudFormation
) -> None:
    # GIVEN the resource created for endpoint A, then A replaced by endpoint B (a new endpoint id)
    old_endpoint, new_endpoint = network.endpoint(2), network.endpoint(3)
    old_props, new_props = props(old_endpoint, network.target_group_arn), props(new_endpoint, network.target_group_arn)
    app.handler(event(cloudformation, "Create", old_props), Context())
    old_id = cloudformation.answers[-1]["PhysicalResourceId"]
    # WHEN CloudFormation sends Update with the new endpoint id
    app.handler(event(cloudformation, "Update", new_props, physical_id=old_id, old=old_props), Context())
    update = cloudformation.answers[-1]
    # THEN B's addresses are registered first (A's stay until the old resource's Delete) under a new physical id
    assert update["Status"] == "SUCCESS"
    assert update["PhysicalResourceId"] == f"{new_endpoint}:{network.target_group_arn}"
    both = sorted(network.addresses(old_endpoint) + network.addresses(new_endpoint))
    assert network.registered() == [(address, 443) for address in both]
    # WHEN CloudFormation then deletes the old physical id (its cleanup phase)
    app.handler(event(cloudformation, "Delete", old_props, physical_id=old_id), Context())
    # THEN only A's addresses are gone and the answer keeps the old physical id
    assert cloudformation.answers[-1]["Status"] == "SUCCESS"
    assert cloudformation.answers[-1]["PhysicalResourceId"] == old_id
    assert network.registered() == [(address, 443) for address in network.addresses(new_endpoint)]


def test_update_with_same_endpoint_deregisters_addresses_it_no_longer_has(
    network: Network, cloudformation: CloudFormation
) -> None:
    # GIVEN a created resource and a stale address left in the target group (the endpoint left a subnet)
    endpoint_id = network.endpoint(2)
    properties = props(endpoint_id, network.target_group_arn)
    app.handler(event(cloudformation, "Create", properties), Context())
    same_id = cloudformation.answers[-1]["PhysicalResourceId"]
    network.elbv2.register_targets(TargetGroupArn=network.target_group_arn, Targets=[{"Id": "10.0.2.99", "Port": 443}])
    # WHEN CloudFormation updates it with the same endpoint and target group (no Delete will follow)
    app.handler(event(cloudformation, "Update", properties, physical_id=same_id, old=properties), Context())
    # THEN the stale address is deregistered and the endpoint's own stay
    assert cloudformation.answers[-1]["PhysicalResourceId"] == same_id
    assert network.registered() == [(address, 443) for address in network.addresses(endpoint_id)]


def test_delete_succeeds_when_the_target_group_is_already_gone(
    network: Network, cloudformation: CloudFormation
) -> None:
    # GIVEN a created resource whose target group was deleted first
    endpoint_id = network.endpoint(2)
    properties = props(endpoint_id, network.target_group_arn)
    app.handler(event(cloudformation, "Create", properties), Context())
    physical_id = cloudformation.answers[-1]["PhysicalResourceId"]
    network.elbv2.delete_target_group(TargetGroupArn=network.target_group_arn)
    # WHEN CloudFormation deletes the resource
    app.handler(event(cloudformation, "Delete", properties, physical_id=physical_id), Context())
    # THEN it answers SUCCESS (nothing left to deregister)
    answer = cloudformation.answers[-1]
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", physical_id)


def test_delete_succeeds_when_the_endpoint_is_already_gone(network: Network, cloudformation: CloudFormation) -> None:
    # GIVEN a created resource whose endpoint was deleted first
    endpoint_id = network.endpoint(2)
    properties = props(endpoint_id, network.target_group_arn)
    app.handler(event(cloudformation, "Create", properties), Context())
    physical_id = cloudformation.answers[-1]["PhysicalResourceId"]
    network.ec2.delete_vpc_endpoints(VpcEndpointIds=[endpoint_id])
    # WHEN CloudFormation deletes the resource
    app.handler(event(cloudformation, "Delete", properties, physical_id=physical_id), Context())
    # THEN it answers SUCCESS
    assert cloudformation.answers[-1]["Status"] == "SUCCESS"


def test_delete_of_a_resource_whose_create_failed_succeeds(network: Network, cloudformation: CloudFormation) -> None:
    # GIVEN a rollback's Delete for a resource that never got valid properties
    broken = {"VpcEndpointId": "", "TargetGroupArn": ""}
    # WHEN CloudFormation deletes it
    app.handler(event(cloudformation, "Delete", broken, physical_id="failed-MtlsEndpointTargets"), Context())
    # THEN it answers SUCCESS with the same physical id, so the rollback completes
    answer = cloudformation.answers[-1]
    assert (answer["Status"], answer["PhysicalResourceId"]) == ("SUCCESS", "failed-MtlsEndpointTargets")


def test_create_with_a_missing_endpoint_fails_with_its_reason(network: Network, cloudformation: CloudFormation) -> None:
    # GIVEN an endpoint id that does not exist
    properties = props("vpce-0123456789abcdef0", network.target_group_arn)
    # WHEN CloudFormation creates the resource
    app.handler(event(cloudformation, "Create", properties), Context())
    # THEN it answers FAILED, naming the endpoint and the log stream, and registers nothing
    answer = cloudformation.answers[-1]
    assert answer["Status"] == "FAILED"
    assert "vpce-0123456789abcdef0" in answer["Reason"]
    assert Context().log_stream_name in answer["Reason"]
    assert network.registered() == []


def test_create_into_a_missing_target_group_fails_with_its_reason(
    network: Network, cloudformation: CloudFormation
) -> None:
    # GIVEN a target group ARN that does not exist
    endpoint_id = network.endpoint(2)
    missing = network.target_group_arn.replace("mtls-api", "deleted-group")
    # WHEN CloudFormation creates the resource
    app.handler(event(cloudformation, "Create", props(endpoint_id, missing)), Context())
    # THEN it answers FAILED with the API's error
    answer = cloudformation.answers[-1]
    assert answer["Status"] == "FAILED"
    assert "TargetGroupNotFound" in answer["Reason"]


class PendingEc2:
    """An endpoint that never becomes available."""

    def __init__(self) -> None:
        self.calls = 0

    def describe_vpc_endpoints(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        return {"VpcEndpoints": [{"State": "pending", "NetworkInterfaceIds": []}]}


def test_endpoint_never_available_fails_before_the_timeout_without_hanging(cloudformation: CloudFormation) -> None:
    # GIVEN an endpoint stuck pending and a function with 20 s left (less than the response reserve + one poll)
    pending = PendingEc2()
    clients = app.Clients(ec2=pending, elbv2=None)
    properties = props("vpce-0123456789abcdef0", "arn:aws:elasticloadbalancing:us-east-1:2:targetgroup/x/1")
    # WHEN CloudFormation creates the resource
    app.handler(event(cloudformation, "Create", properties), Context(remaining_ms=20_000), lambda: clients)
    # THEN the answer is FAILED at once, saying the endpoint is still pending
    answer = cloudformation.answers[-1]
    assert answer["Status"] == "FAILED"
    assert "still pending" in answer["Reason"]
    assert pending.calls == 1


def test_aws_error_building_clients_is_reported_not_raised(cloudformation: CloudFormation) -> None:
    # GIVEN clients that cannot be built (e.g. no credentials reachable)
    def broken() -> app.Clients:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "DescribeVpcEndpoints")

    properties = props("vpce-0123456789abcdef0", "arn:aws:elasticloadbalancing:us-east-1:2:targetgroup/x/1")
    # WHEN CloudFormation creates, then deletes the resource
    app.handler(event(cloudformation, "Create", properties), Context(), broken)
    app.handler(
        event(cloudformation, "Delete", properties, physical_id="failed-MtlsEndpointTargets"), Context(), broken
    )
    # THEN Create answers FAILED with the reason and Delete still answers SUCCESS
    assert [a["Status"] for a in cloudformation.answers] == ["FAILED", "SUCCESS"]
    assert "AccessDenied" in cloudformation.answers[0]["Reason"]


def test_unreachable_response_url_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN a ResponseURL nobody listens on
    properties = props("vpce-0123456789abcdef0", "arn:aws:elasticloadbalancing:us-east-1:2:targetgroup/x/1")
    unreachable = {**event(CloudFormation(url="http://127.0.0.1:9/x"), "Delete", properties, physical_id="p")}

    def broken() -> app.Clients:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "denied"}}, "DescribeVpcEndpoints")

    # WHEN the handler answers
    app.handler(unreachable, Context(), broken)
    # THEN the function returns normally and the log says why CloudFormation got nothing
    assert "could not send the response to CloudFormation" in caplog.text


class HangingEc2:
    """An AWS call that does not answer (longer than the function may wait)."""

    def describe_vpc_endpoints(self, **_: Any) -> dict[str, Any]:
        time.sleep(3)
        return {"VpcEndpoints": [{"State": "available", "NetworkInterfaceIds": ["eni-0"]}]}


@pytest.mark.parametrize(("request_type", "status"), [("Create", "FAILED"), ("Delete", "SUCCESS")])
def test_hanging_aws_call_is_cut_off_and_answered_before_the_timeout(
    cloudformation: CloudFormation, request_type: str, status: str
) -> None:
    # GIVEN an AWS call that hangs and a function with half a second left beyond the response reserve
    clients = app.Clients(ec2=HangingEc2(), elbv2=None)
    properties = props("vpce-0123456789abcdef0", "arn:aws:elasticloadbalancing:us-east-1:2:targetgroup/x/1")
    remaining_ms = int((app.RESPONSE_RESERVE_SECONDS + 0.5) * 1000)
    started = time.monotonic()
    # WHEN CloudFormation sends the request
    app.handler(
        event(cloudformation, request_type, properties, physical_id="p"), Context(remaining_ms), lambda: clients
    )
    # THEN the answer arrives after about the budget (not after the hanging call), saying why
    assert time.monotonic() - started < 2.5
    answer = cloudformation.answers[-1]
    assert answer["Status"] == status
    assert "did not finish within" in answer["Reason"]
