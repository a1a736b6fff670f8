"""api-backend.yaml in an existing (shared) VPC: no DynamoDB endpoint unless asked for (its policy binds everyone)."""

from __future__ import annotations

from pathlib import Path

from cfnrender.render import render_template

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "api-backend" / "api-backend.yaml"
EXISTING_VPC = {
    "pVPCID": "vpc-0a1b2c3d4e5f60718",
    "pLambdaSubnetIDs": "subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718",
    "pDynamoDBPrefixListID": "pl-02cd2c6b",
    "pLambdaSubnetRouteTable": "rtb-0a1b2c3d4e5f60718",
}


def test_render_existing_vpc_by_default_creates_no_dynamodb_endpoint():
    # GIVEN an existing VPC whose route tables other workloads share (and may already carry a DynamoDB endpoint)
    # WHEN the backend is attached to it with the defaults
    result = render_template(BACKEND, EXISTING_VPC)

    # THEN no gateway endpoint is created: its this-stack-only policy would bind every workload on those route
    # tables, and a second DynamoDB endpoint on a route table fails to create
    assert result.conditions["IsVPCAttached"] is True
    assert result.of_type("AWS::EC2::VPCEndpoint") == {}


def test_render_existing_vpc_endpoint_on_request_is_created_on_the_given_route_tables():
    # GIVEN a VPC owned by this workload alone, and the endpoint asked for explicitly
    # WHEN the template is rendered
    result = render_template(BACKEND, {**EXISTING_VPC, "pCreateDDBEndpoint": "Yes"})

    # THEN the endpoint exists on the given route tables
    endpoint = result.one("AWS::EC2::VPCEndpoint")["Properties"]
    assert endpoint["RouteTableIds"] == ["rtb-0a1b2c3d4e5f60718"]


def test_render_existing_vpc_without_endpoint_still_lets_the_function_reach_dynamodb_by_prefix_list():
    # GIVEN an existing VPC and no endpoint from this stack (the path to DynamoDB is the VPC's: NAT or its endpoint)
    result = render_template(BACKEND, EXISTING_VPC)

    # WHEN the function's security group is read
    egress = result.resources["BackendSecurityGroup"]["Properties"]["SecurityGroupEgress"]

    # THEN HTTPS to DynamoDB's prefix list is allowed, whichever route the VPC gives it
    assert {(e["FromPort"], e.get("DestinationPrefixListId")) for e in egress if e["IpProtocol"] == "tcp"} >= {
        (443, "pl-02cd2c6b")
    }
