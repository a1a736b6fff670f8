"""vpc-api-client.yaml: isolated VPC, subnets in distinct AZs, resolver CIDR, and a fully parameterised nested stack."""

from __future__ import annotations

import ipaddress
import itertools
from pathlib import Path
from typing import Any

import pytest

from cfnrender.render import Rendered, load_template, render_template

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "api-client" / "vpc-api-client.yaml"
CHILD = REPO / "api-client" / "api-client.yaml"
API_HOST = "abc123defg.execute-api.us-east-1.amazonaws.com"
ROLE_ARN = "arn:aws:iam::111111111111:role/private-api-backend-APIAccessRole"
LAMBDA_SUBNETS = ["rLambdaSubnet1", "rLambdaSubnet2", "rLambdaSubnet3"]
ENDPOINT_SUBNETS = ["rEndpointSubnet1", "rEndpointSubnet2", "rEndpointSubnet3"]
SUBNET_IDS = {logical_id: f"subnet-0{index:02x}" for index, logical_id in enumerate(LAMBDA_SUBNETS + ENDPOINT_SUBNETS)}
FORBIDDEN_TYPES = {
    "AWS::EC2::InternetGateway",
    "AWS::EC2::EgressOnlyInternetGateway",
    "AWS::EC2::NatGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::Route",
}
ENDPOINT_DNS_ENTRIES = ["Z1:vpce-1-a.execute-api.us-east-1.vpce.amazonaws.com"]
MTLS_OUTPUTS = {"MtlsServiceEndpointID", "PythonCertificateClient", "CertificateClientRole"}
DOMAIN_OUTPUTS = {"PrivateDomainAccessAssociationArn", "PrivateDomainHostedZoneId"}
CASES = list(itertools.product(["2", "3"], ["None", ROLE_ARN], ["", "us-east-1b,us-east-1c,us-east-1d"]))


def render(azs: str, role: str, zones: str, vpc_cidr: str = "10.20.0.0/16") -> Rendered:
    """Render the parent for one case; the VPC's CidrBlock attribute is what EC2 would return."""
    parameters = {
        "pAPIHost": API_HOST,
        "pAPIRoleARN": role,
        "pNumberOfAZs": azs,
        "pAvailabilityZones": zones,
        "pVPCCIDR": vpc_cidr,
    }
    physical = {"rVPC": "vpc-0abc", **SUBNET_IDS}
    return render_template(
        TEMPLATE, parameters, physical_ids=physical, attributes={"rVPC.CidrBlock": vpc_cidr}, account_id="222222222222"
    )


@pytest.fixture(
    scope="module",
    params=CASES,
    ids=lambda c: f"az{c[0]}-{'role' if c[1] != 'None' else 'norole'}-{'zones' if c[2] else 'getazs'}",
)
def case(request: pytest.FixtureRequest) -> tuple[tuple[str, str, str], Rendered]:
    """Each case rendered once."""
    return request.param, render(*request.param)


def _nested(rendered: Rendered) -> dict[str, Any]:
    return rendered.resources["rAPIClientStack"]["Properties"]


def test_vpc_api_client_vpc_has_dns_and_no_internet_path(case: tuple[tuple[str, str, str], Rendered]) -> None:
    # GIVEN one case
    _, rendered = case
    # WHEN the network resources are read
    vpc = rendered.one("AWS::EC2::VPC")["Properties"]
    types = {r["Type"] for r in rendered.resources.values()}
    # THEN the VPC has DNS support and host names, and there is no gateway or route out
    assert (vpc["EnableDnsSupport"], vpc["EnableDnsHostnames"]) == (True, True)
    forbidden = {
        "AWS::EC2::InternetGateway",
        "AWS::EC2::NatGateway",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::Route",
        "AWS::EC2::EgressOnlyInternetGateway",
    }
    assert types & forbidden == set()


def test_vpc_api_client_subnets_are_in_distinct_azs_inside_the_vpc(case: tuple[tuple[str, str, str], Rendered]) -> None:
    # GIVEN one case
    (azs, _, zones), rendered = case
    count = int(azs)
    subnets = rendered.of_type("AWS::EC2::Subnet")
    # WHEN the Lambda and endpoint subnets are grouped
    groups = [[subnets[i]["Properties"] for i in ids[:count]] for ids in (LAMBDA_SUBNETS, ENDPOINT_SUBNETS)]
    # THEN there are N of each, each group in N distinct AZs (the chosen ones when given), CIDRs disjoint in the VPC
    assert len(subnets) == 2 * count
    for group in groups:
        zones_used = [s["AvailabilityZone"] for s in group]
        assert len(set(zones_used)) == count
        if zones:
            assert zones_used == zones.split(",")[:count]
    networks = [ipaddress.IPv4Network(s["Properties"]["CidrBlock"]) for s in subnets.values()]
    vpc = ipaddress.IPv4Network("10.20.0.0/16")
    assert all(n.subnet_of(vpc) for n in networks)
    assert all(not a.overlaps(b) for a, b in itertools.combinations(networks, 2))


def test_vpc_api_client_nested_stack_gets_every_child_parameter(case: tuple[tuple[str, str, str], Rendered]) -> None:
    # GIVEN one case
    (azs, role, _), rendered = case
    # WHEN the nested stack's parameters are compared with the child template's
    passed = _nested(rendered)["Parameters"]
    child = load_template(CHILD)["Parameters"]
    # THEN every child parameter is passed explicitly, with the subnets of this VPC and the resolver address
    assert set(passed) == set(child)
    count = int(azs)
    assert passed["pLambdaSubnetIDs"].split(",") == [SUBNET_IDS[s] for s in LAMBDA_SUBNETS[:count]]
    assert passed["pEndpointSubnetIDs"].split(",") == [SUBNET_IDS[s] for s in ENDPOINT_SUBNETS[:count]]
    assert (passed["pVPCID"], passed["pDNSServerCIDR"], passed["pAPIRoleARN"]) == ("vpc-0abc", "10.20.0.2/32", role)
    # AND the source nests the local child template, which `sam package` uploads
    assert load_template(TEMPLATE)["Resources"]["rAPIClientStack"]["Properties"]["Location"] == "api-client.yaml"
    assert _nested(rendered)["TemplateURL"].endswith("/api-client.yaml")


def test_vpc_api_client_nested_parameters_satisfy_child_constraints(
    case: tuple[tuple[str, str, str], Rendered],
) -> None:
    # GIVEN one case's nested-stack parameters
    _, rendered = case
    passed = dict(_nested(rendered)["Parameters"])
    # WHEN the child is rendered with exactly those values (as CloudFormation would create it)
    nested = render_template(
        CHILD,
        passed,
        attributes={"rAPIGatewayEndpoint.DnsEntries": ["Z1:vpce-1-a.execute-api.us-east-1.vpce.amazonaws.com"]},
    )
    # THEN they pass its constraints and the SSM layer name is handed down unresolved
    assert nested.parameters["pPowertoolsLayerArn"] == "/aws/service/powertools/python/arm64/python3.14/latest"
    assert ("PythonAssumeRoleClient" in nested.outputs) == (passed["pAPIRoleARN"] != "None")


@pytest.mark.parametrize(("vpc_cidr", "resolver"), [("10.1.0.0/16", "10.1.0.2/32"), ("172.16.8.0/21", "172.16.8.2/32")])
def test_vpc_api_client_dns_server_cidr_is_vpc_base_plus_two(vpc_cidr: str, resolver: str) -> None:
    # GIVEN a VPC CIDR
    # WHEN the parent is rendered
    rendered = render("2", "None", "", vpc_cidr=vpc_cidr)
    # THEN the clients may query exactly the Amazon-provided resolver at base + 2
    assert _nested(rendered)["Parameters"]["pDNSServerCIDR"] == resolver


def test_vpc_api_client_outputs_re_export_child_outputs(case: tuple[tuple[str, str, str], Rendered]) -> None:
    # GIVEN one case
    (_, role, _), rendered = case
    # WHEN the parent's outputs are resolved
    outputs = rendered.outputs
    # THEN every child output is re-exported from the nested stack; assume-role ones only with a role, the
    # certificate client's only with pEnableMtlsClient=Yes, the domain's only with pPrivateDomainName set (off, the
    # default, in these cases)
    child_outputs = set(load_template(CHILD)["Outputs"]) - MTLS_OUTPUTS - DOMAIN_OUTPUTS
    expected = child_outputs - (set() if role != "None" else {"PythonAssumeRoleClient", "AssumeRoleClientRole"})
    assert set(outputs) == expected | {"VPCID"}
    for name in expected:
        assert outputs[name] == f"rAPIClientStack.Outputs.{name}"


@pytest.mark.parametrize("zone", ["Yes", "No"])
def test_vpc_api_client_private_domain_reaches_the_child_and_its_outputs(zone: str) -> None:
    # GIVEN the parent with the provider's private custom domain configured
    domain = "orders.example.com"
    arn = f"arn:aws:apigateway:us-east-1:111111111111:/domainnames/{domain}+a1b2c3d4"
    values = {
        "pPrivateDomainName": domain,
        "pPrivateDomainNameArn": arn,
        "pPrivateDomainBasePath": "None",
        "pCreatePrivateDomainHostedZone": zone,
    }
    parameters = {"pAPIHost": API_HOST, "pAPIRoleARN": "None", "pNumberOfAZs": "2", **values}
    rendered = render_template(
        TEMPLATE,
        parameters,
        physical_ids={"rVPC": "vpc-0abc", **SUBNET_IDS},
        attributes={"rVPC.CidrBlock": "10.20.0.0/16"},
        account_id="222222222222",
    )
    # WHEN the nested stack's parameters and the parent's outputs are read
    passed = dict(_nested(rendered)["Parameters"])
    # THEN the four values reach the child as given, the child accepts them, and its domain outputs are re-exported
    assert {name: passed[name] for name in values} == values
    nested = render_template(CHILD, passed, attributes={"rAPIGatewayEndpoint.DnsEntries": ENDPOINT_DNS_ENTRIES})
    expected = DOMAIN_OUTPUTS - (set() if zone == "Yes" else {"PrivateDomainHostedZoneId"})
    assert DOMAIN_OUTPUTS & set(nested.outputs) == expected
    assert DOMAIN_OUTPUTS & set(rendered.outputs) == expected
    for name in expected:
        assert rendered.outputs[name] == f"rAPIClientStack.Outputs.{name}"
