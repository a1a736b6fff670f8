"""vpc-api-backend.yaml: isolated VPC, the nested provider stack with every parameter, and `sam package`."""

from __future__ import annotations

import functools
import ipaddress
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from cfnrender.render import ParameterError, Rendered, load_template, render_template
from tests.moto_server import running_moto

ROOT = Path(__file__).resolve().parents[2]
PARENT = ROOT / "api-backend" / "vpc-api-backend.yaml"
CHILD = ROOT / "api-backend" / "api-backend.yaml"
PREFIX_LIST = "pl-02cd2c6b"
PHYSICAL_IDS = {
    "VPC": "vpc-0a1b2c3d4e5f60718",
    "PrivateSubnet1": "subnet-0000000000000aaa1",
    "PrivateSubnet2": "subnet-0000000000000aaa2",
    "PrivateSubnet3": "subnet-0000000000000aaa3",
    "PrivateRouteTable": "rtb-0a1b2c3d4e5f60718",
}
FORBIDDEN_TYPES = {
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::NatGateway",
    "AWS::EC2::EIP",
    "AWS::EC2::EgressOnlyInternetGateway",
    "AWS::EC2::Route",
}


@functools.cache
def render_parent(subnets: str = "2", cidr: str = "10.0.0.0/16") -> Rendered:
    """The parent template for one subnet count, with realistic ids for its own resources."""
    parameters = {"pDynamoDBPrefixListID": PREFIX_LIST, "pSubnetCount": subnets, "pVPCCIDR": cidr}
    return render_template(PARENT, parameters, physical_ids=PHYSICAL_IDS, attributes={"VPC.CidrBlock": cidr})


def render_child(parameters: dict[str, str]) -> Rendered:
    """The nested template for the parameters the parent passes (render_template packages CodeUri like sam)."""
    return render_template(CHILD, parameters)


@pytest.mark.parametrize("subnets", ["2", "3"])
def test_vpc_template_subnets_in_distinct_azs_inside_the_vpc(subnets):
    # GIVEN the parent rendered for a subnet count
    result = render_parent(subnets)

    # WHEN its subnets are read
    found = result.of_type("AWS::EC2::Subnet")

    # THEN there are that many, each private, in its own AZ, non-overlapping and inside the VPC CIDR
    assert len(found) == int(subnets)
    zones = {s["Properties"]["AvailabilityZone"] for s in found.values()}
    assert len(zones) == int(subnets)
    networks = [ipaddress.ip_network(s["Properties"]["CidrBlock"]) for s in found.values()]
    vpc = ipaddress.ip_network(result.resources["VPC"]["Properties"]["CidrBlock"])
    assert all(n.subnet_of(vpc) for n in networks)
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in found.values())


@pytest.mark.parametrize("subnets", ["2", "3"])
def test_vpc_template_no_internet_path_and_one_route_table(subnets):
    # GIVEN the parent rendered for a subnet count
    result = render_parent(subnets)

    # WHEN its network resources are listed
    types = {r["Type"] for r in result.resources.values()}
    associations = result.of_type("AWS::EC2::SubnetRouteTableAssociation")

    # THEN no internet or NAT gateway or route exists, and every subnet uses the single route table
    assert not types & FORBIDDEN_TYPES
    assert len(result.of_type("AWS::EC2::RouteTable")) == 1
    subnet_ids = sorted(PHYSICAL_IDS[logical_id] for logical_id in result.of_type("AWS::EC2::Subnet"))
    assert sorted(a["Properties"]["SubnetId"] for a in associations.values()) == subnet_ids
    assert {a["Properties"]["RouteTableId"] for a in associations.values()} == {PHYSICAL_IDS["PrivateRouteTable"]}


def test_vpc_template_vpc_has_dns_support_and_hostnames():
    # GIVEN the parent with defaults
    vpc = render_parent().resources["VPC"]["Properties"]

    # WHEN the DNS attributes are read
    dns = (vpc["EnableDnsSupport"], vpc["EnableDnsHostnames"])

    # THEN both are on, as interface endpoints with private DNS need
    assert dns == (True, True)


def test_vpc_template_passes_every_child_parameter_explicitly():
    # GIVEN the nested stack and the child template
    nested = render_parent().one("AWS::CloudFormation::Stack")["Properties"]
    child_parameters = set(load_template(CHILD)["Parameters"])

    # WHEN the passed parameter names are compared
    passed = set(nested["Parameters"])

    # THEN nothing is left to the child's defaults
    assert passed == child_parameters
    assert nested["TemplateURL"].endswith("api-backend.yaml")


@pytest.mark.parametrize("subnets", ["2", "3"])
def test_vpc_template_values_passed_to_child_deploy_vpc_attached_backend(subnets):
    # GIVEN the parameters the parent passes to the child
    passed = render_parent(subnets).one("AWS::CloudFormation::Stack")["Properties"]["Parameters"]

    # WHEN the child is rendered with them (its Rules and patterns apply)
    child = render_child(passed)

    # THEN the function is attached to all subnets, with the endpoint routed through the parent's route table
    assert child.conditions["IsVPCAttached"] is True
    assert child.conditions["ShouldCreateDDBEndpoint"] is True
    function = child.resources["BackendFunction"]["Properties"]
    assert function["VpcConfig"]["SubnetIds"] == [PHYSICAL_IDS[f"PrivateSubnet{n}"] for n in range(1, int(subnets) + 1)]
    assert child.resources["DynamoDBEndpoint"]["Properties"]["RouteTableIds"] == [PHYSICAL_IDS["PrivateRouteTable"]]
    assert child.resources["DynamoDBEndpoint"]["Properties"]["VpcId"] == PHYSICAL_IDS["VPC"]


def test_vpc_template_access_lists_reach_child_unchanged():
    # GIVEN access parameters given to the parent as lists
    access = {
        "pTrustedPrincipals": "111111111111,222222222222",
        "pAPIAccessList": "arn:aws:iam::111111111111:role/a,arn:aws:iam::111111111111:role/b",
        "pAllowedPrincipalPatterns": "arn:aws:iam::111111111111:role/team-*",
        "pAllowedOrgID": "o-a1b2c3d4e5",
        "pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718,vpce-11112222",
        "pAssociateVPCEndpoints": "Yes",
    }
    parent = render_template(
        PARENT,
        {**access, "pDynamoDBPrefixListID": PREFIX_LIST},
        physical_ids=PHYSICAL_IDS,
        attributes={"VPC.CidrBlock": "10.0.0.0/16"},
    )

    # WHEN the nested stack's parameters are read
    passed = parent.one("AWS::CloudFormation::Stack")["Properties"]["Parameters"]

    # THEN each list arrives as the same comma-delimited string
    assert {name: passed[name] for name in access} == access


def test_vpc_template_reexports_every_child_output_by_name():
    # GIVEN the child's outputs and the parent's
    child_outputs = set(load_template(CHILD)["Outputs"])
    parent_outputs = load_template(PARENT)["Outputs"]

    # WHEN the parent's values for those names are read
    values = {name: parent_outputs[name]["Value"] for name in child_outputs}

    # THEN each one is the child's output of the same name
    assert values == {name: {"Fn::GetAtt": ["BackendStack", f"Outputs.{name}"]} for name in child_outputs}


def test_vpc_template_missing_prefix_list_rejected():
    # GIVEN no DynamoDB prefix list id (CloudFormation cannot look it up)
    parameters = {"pSubnetCount": "2"}

    # WHEN the parent is rendered
    with pytest.raises(ParameterError) as raised:
        render_template(PARENT, parameters)

    # THEN the parameter is reported as required
    assert "pDynamoDBPrefixListID" in str(raised.value)


def test_vpc_template_cidr_too_small_for_three_subnets_rejected():
    # GIVEN a /23 VPC, too small for three /24 subnets
    parameters = {"pDynamoDBPrefixListID": PREFIX_LIST, "pVPCCIDR": "10.0.0.0/23"}

    # WHEN the parent is rendered
    with pytest.raises(ParameterError) as raised:
        render_template(PARENT, parameters)

    # THEN the CIDR constraint refuses it
    assert "pVPCCIDR" in str(raised.value)


@pytest.fixture
def s3_on_loopback() -> Iterator[str]:
    """Moto's S3 on a free loopback port; yields its endpoint URL."""
    with running_moto() as url:
        yield url


@pytest.fixture
def artifacts_s3(s3_on_loopback: str) -> Any:
    """An S3 client of the loopback server, with the artifacts bucket created."""
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_on_loopback,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    s3.create_bucket(Bucket="artifacts")
    return s3


@pytest.mark.slow
def test_sam_package_vpc_template_uploads_nested_template_and_code(s3_on_loopback, artifacts_s3, tmp_path):
    # GIVEN the parent template and an S3 bucket (moto on loopback)
    output = tmp_path / "vpc-api-backend-deploy.yaml"
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": s3_on_loopback,
        "SAM_CLI_TELEMETRY": "0",
    }

    # WHEN sam package runs on it
    completed = subprocess.run(  # noqa: S603 - fixed argv
        [
            str(Path(sys.executable).parent / "sam"),
            "package",
            "--template-file",
            str(PARENT),
            "--s3-bucket",
            "artifacts",
            "--output-template-file",
            str(output),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    # THEN the nested Location became an uploaded template whose CodeUri is an uploaded zip
    assert completed.returncode == 0, completed.stderr
    packaged = load_template(output)
    location = packaged["Resources"]["BackendStack"]["Properties"]["Location"]
    assert location.startswith(f"{s3_on_loopback}/artifacts/")
    child_file = tmp_path / "api-backend-deploy.yaml"
    child_file.write_bytes(artifacts_s3.get_object(Bucket="artifacts", Key=location.rsplit("/", 1)[1])["Body"].read())
    child = load_template(child_file)
    code_uri = child["Resources"]["BackendFunction"]["Properties"]["CodeUri"]
    assert code_uri.startswith("s3://artifacts/")
    assert child["Parameters"].keys() == load_template(CHILD)["Parameters"].keys()
