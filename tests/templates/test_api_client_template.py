"""api-client.yaml after the SAM transform, for every Yes/No x True/False x None/role x Local/account combination."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cfnrender.render import ParameterError, Rendered, render_template
from client.config import load_config

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "api-client" / "api-client.yaml"
REGION = "us-east-1"
CONSUMER = "222222222222"
PROVIDER = "111111111111"
API_HOST = f"abc123defg.execute-api.{REGION}.amazonaws.com"
ROLE_ARN = f"arn:aws:iam::{PROVIDER}:role/private-api-backend-APIAccessRole"
LAYER_ARN = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:7"
DNS_CIDR = "10.1.0.2/32"
ENDPOINT_DNS = "vpce-0123456789abcdef0-abcdefgh.execute-api.us-east-1.vpce.amazonaws.com"
SG = {
    "rAPIClientSecurityGroup": "sg-0client",
    "rAPIEndpointSecurityGroup": "sg-0executeapi",
    "rSTSEndpointSecurityGroup": "sg-0sts",
}
ATTRIBUTES: dict[str, Any] = {
    "rAPIGatewayEndpoint.DnsEntries": [
        f"Z7HUB22UULQXV:{ENDPOINT_DNS}",
        f"Z7HUB22UULQXV:vpce-0123456789abcdef0-abcdefgh-{REGION}a.execute-api.{REGION}.vpce.amazonaws.com",
    ],
    **{f"{logical_id}.GroupId": group_id for logical_id, group_id in SG.items()},
    "rPythonDirectAuthClientRole.Arn": f"arn:aws:iam::{CONSUMER}:role/direct",
    "rPythonAssumeRoleClientRole.Arn": f"arn:aws:iam::{CONSUMER}:role/assume",
    "rPythonDirectAuthClientLogGroup.Arn": f"arn:aws:logs:{REGION}:{CONSUMER}:log-group:direct:*",
    "rPythonAssumeRoleClientLogGroup.Arn": f"arn:aws:logs:{REGION}:{CONSUMER}:log-group:assume:*",
}
PHYSICAL_IDS = {
    "rAPIGatewayEndpoint": "vpce-0123456789abcdef0",
    "rPythonDirectAuthClientLogGroup": "direct",
    "rPythonAssumeRoleClientLogGroup": "assume",
}
ENI_ACTIONS = {
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
}


@dataclass(frozen=True)
class Combination:
    """One consumer parameter set."""

    create_sts: str
    private_dns: str
    role: str
    account: str

    @property
    def has_role(self) -> bool:
        return self.role != "None"

    @property
    def has_sts_endpoint(self) -> bool:
        return self.create_sts == "Yes" and self.has_role

    @property
    def api_arn(self) -> str:
        account = CONSUMER if self.account == "Local" else self.account
        return f"arn:aws:execute-api:{REGION}:{account}:abc123defg/Prod/*"

    def __str__(self) -> str:
        role = "role" if self.has_role else "norole"
        return f"sts{self.create_sts}-dns{self.private_dns}-{role}-{self.account}"


COMBINATIONS = [
    Combination(*values)
    for values in itertools.product(["Yes", "No"], ["True", "False"], ["None", ROLE_ARN], ["Local", PROVIDER])
]


def render(combination: Combination, **overrides: str) -> Rendered:
    """Render api-client.yaml for one combination in the consumer account."""
    return render_with(combination, ATTRIBUTES, overrides)


def render_with(combination: Combination, attributes: dict[str, Any], overrides: dict[str, str]) -> Rendered:
    """render(), with the attributes of the resources a feature's overrides add."""
    parameters = {
        "pAPIHost": API_HOST,
        "pAPIAccountID": combination.account,
        "pAPIRoleARN": combination.role,
        "pVPCID": "vpc-0abc",
        "pLambdaSubnetIDs": "subnet-0a1,subnet-0a2",
        "pEndpointSubnetIDs": "subnet-0b1,subnet-0b2",
        "pCreateSTSEndpoint": combination.create_sts,
        "pEnablePrivateDNS": combination.private_dns,
        "pDNSServerCIDR": DNS_CIDR,
        "pPowertoolsLayerArn": LAYER_ARN,
        **overrides,
    }
    return render_template(
        TEMPLATE,
        parameters,
        account_id=CONSUMER,
        region=REGION,
        physical_ids=PHYSICAL_IDS,
        attributes=attributes,
    )


@pytest.fixture(scope="module", params=COMBINATIONS, ids=str)
def case(request: pytest.FixtureRequest) -> tuple[Combination, Rendered]:
    """Each combination rendered once (a dangling reference would raise RenderError here)."""
    return request.param, render(request.param)


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**s, "Action": _as_set(s["Action"]), "Resource": _as_set(s["Resource"])} for s in policy["Statement"]]


def _external_policies(rendered: Rendered, role_id: str) -> dict[str, dict[str, Any]]:
    """AWS::IAM::Policy resources attached to a role (its Ref, the logical id when no physical id is given)."""
    role_name = PHYSICAL_IDS.get(role_id, role_id)
    return {
        logical_id: policy
        for logical_id, policy in rendered.of_type("AWS::IAM::Policy").items()
        if role_name in policy["Properties"]["Roles"]
    }


def _as_set(value: str | list[str]) -> set[str]:
    return {value} if isinstance(value, str) else set(value)


def _rules(rules: list[dict[str, Any]]) -> set[tuple[str, int, int, str]]:
    return {
        (
            r["IpProtocol"],
            r["FromPort"],
            r["ToPort"],
            r.get("CidrIp") or r.get("DestinationSecurityGroupId") or r["SourceSecurityGroupId"],
        )
        for r in rules
    }


def test_api_client_combination_creates_expected_resources(case: tuple[Combination, Rendered]) -> None:
    # GIVEN one parameter combination, rendered
    combination, rendered = case
    # WHEN its resources are listed
    ids = set(rendered.resources)
    # THEN the assume-role client exists only with a role, the STS endpoint only when asked for AND useful
    always = {"rAPIGatewayEndpoint", "rAPIClientSecurityGroup", "rAPIEndpointSecurityGroup", "rPythonDirectAuthClient"}
    assert always <= ids
    assert ("rPythonAssumeRoleClient" in ids) == combination.has_role
    assert ("rPythonAssumeRoleClientRole" in ids) == combination.has_role
    assert ("rSTSEndpoint" in ids) == combination.has_sts_endpoint
    assert ("rSTSEndpointSecurityGroup" in ids) == combination.has_sts_endpoint
    assert ("rAPIClientEgressToSTSEndpoint" in ids) == combination.has_sts_endpoint


def test_api_client_execute_api_endpoint_policy_allows_only_provider_api_stage(
    case: tuple[Combination, Rendered],
) -> None:
    # GIVEN one combination
    combination, rendered = case
    # WHEN the execute-api endpoint is read
    endpoint = rendered.resources["rAPIGatewayEndpoint"]["Properties"]
    # THEN it is an interface endpoint whose policy allows only Invoke on the provider's API and stage
    assert endpoint["ServiceName"] == f"com.amazonaws.{REGION}.execute-api"
    assert endpoint["VpcEndpointType"] == "Interface"
    assert endpoint["PrivateDnsEnabled"] is (combination.private_dns == "True")
    (statement,) = _statements(endpoint["PolicyDocument"])
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == {"execute-api:Invoke"}
    assert statement["Resource"] == {combination.api_arn}
    assert endpoint["SecurityGroupIds"] == [SG["rAPIEndpointSecurityGroup"]]
    assert endpoint["SubnetIds"] == ["subnet-0b1", "subnet-0b2"]


def test_api_client_sts_endpoint_policy_allows_only_assume_role_on_provider_role(
    case: tuple[Combination, Rendered],
) -> None:
    # GIVEN one combination
    combination, rendered = case
    # WHEN the STS endpoint is looked up
    sts = rendered.resources.get("rSTSEndpoint")
    # THEN it exists only when requested with a role, with private DNS and a policy naming only that role
    if not combination.has_sts_endpoint:
        assert sts is None
        return
    assert sts is not None
    properties = sts["Properties"]
    assert properties["ServiceName"] == f"com.amazonaws.{REGION}.sts"
    assert properties["PrivateDnsEnabled"] is True
    (statement,) = _statements(properties["PolicyDocument"])
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == (
        "Allow",
        {"sts:AssumeRole"},
        {ROLE_ARN},
    )
    assert properties["SecurityGroupIds"] == [SG["rSTSEndpointSecurityGroup"]]


def test_api_client_client_security_group_egress_only_to_endpoints_and_dns(case: tuple[Combination, Rendered]) -> None:
    # GIVEN one combination
    combination, rendered = case
    # WHEN every egress rule of the client group is collected (inline and standalone)
    client = rendered.resources["rAPIClientSecurityGroup"]["Properties"]
    standalone = [
        r["Properties"]
        for r in rendered.of_type("AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == SG["rAPIClientSecurityGroup"]
    ]
    # THEN it allows DNS to the DNS CIDR and 443 to the endpoint groups that exist, nothing else
    expected = {
        ("udp", 53, 53, DNS_CIDR),
        ("tcp", 53, 53, DNS_CIDR),
        ("tcp", 443, 443, SG["rAPIEndpointSecurityGroup"]),
    }
    if combination.has_sts_endpoint:
        expected.add(("tcp", 443, 443, SG["rSTSEndpointSecurityGroup"]))
    assert _rules(client["SecurityGroupEgress"]) | _rules(standalone) == expected
    assert "SecurityGroupIngress" not in client
    assert rendered.of_type("AWS::EC2::SecurityGroupIngress") == {}


def test_api_client_endpoint_security_groups_accept_443_from_clients_only(case: tuple[Combination, Rendered]) -> None:
    # GIVEN one combination
    _, rendered = case
    # WHEN each endpoint security group is read
    endpoint_groups = [
        rendered.resources[i]["Properties"]
        for i in ("rAPIEndpointSecurityGroup", "rSTSEndpointSecurityGroup")
        if i in rendered.resources
    ]
    # THEN each accepts only HTTPS from the client group and has no usable egress
    for group in endpoint_groups:
        assert _rules(group["SecurityGroupIngress"]) == {("tcp", 443, 443, SG["rAPIClientSecurityGroup"])}
        assert _rules(group["SecurityGroupEgress"]) == {("icmp", 252, 86, "255.255.255.255/32")}


def test_api_client_functions_share_runtime_layer_network_and_env(case: tuple[Combination, Rendered]) -> None:
    # GIVEN one combination
    combination, rendered = case
    # WHEN each function is read
    functions = rendered.of_type("AWS::Lambda::Function")
    # THEN both run python3.14 on arm64 with the Powertools layer, in the client subnets and group
    assert set(functions) == {"rPythonDirectAuthClient"} | (
        {"rPythonAssumeRoleClient"} if combination.has_role else set()
    )
    for function in functions.values():
        properties = function["Properties"]
        assert (properties["Runtime"], properties["Architectures"], properties["Layers"]) == (
            "python3.14",
            ["arm64"],
            [LAYER_ARN],
        )
        assert properties["VpcConfig"] == {
            "SecurityGroupIds": [SG["rAPIClientSecurityGroup"]],
            "SubnetIds": ["subnet-0a1", "subnet-0a2"],
        }
        env = properties["Environment"]["Variables"]
        assert (env["API_HOST"], env["API_PREFIX"], env["API_TIMEOUT"]) == (API_HOST, "/Prod", "10")
        assert env["AWS_STS_REGIONAL_ENDPOINTS"] == "regional"
        # Without private DNS the client must connect to the endpoint's own name.
        assert env.get("API_ENDPOINT") == (None if combination.private_dns == "True" else f"https://{ENDPOINT_DNS}")


def test_api_client_function_env_is_a_valid_client_configuration(case: tuple[Combination, Rendered]) -> None:
    # GIVEN one combination
    combination, rendered = case
    for logical_id, function in rendered.of_type("AWS::Lambda::Function").items():
        is_assume_role = logical_id == "rPythonAssumeRoleClient"
        env = {**function["Properties"]["Environment"]["Variables"], "AWS_REGION": REGION}
        # WHEN the client loads the variables the template sets
        config = load_config(env, needs_role=is_assume_role)
        # THEN they pass the client's own validation, with the right connect target and role
        expected_endpoint = f"https://{API_HOST}" if combination.private_dns == "True" else f"https://{ENDPOINT_DNS}"
        assert config.endpoint == expected_endpoint
        assert config.role_arn == (ROLE_ARN if is_assume_role else None)
        expected_handler = "client.assume_role.handler" if is_assume_role else "client.direct_auth.handler"
        assert function["Properties"]["Handler"] == expected_handler


def test_api_client_roles_grant_only_what_each_client_needs(case: tuple[Combination, Rendered]) -> None:
    # GIVEN one combination
    combination, rendered = case
    expected = {
        "rPythonDirectAuthClientRole": ({"execute-api:Invoke"}, {combination.api_arn}, "direct"),
        "rPythonAssumeRoleClientRole": ({"sts:AssumeRole"}, {ROLE_ARN}, "assume"),
    }
    for role_id, role in rendered.of_type("AWS::IAM::Role").items():
        # WHEN all statements of the role's policies are collected (inline and AWS::IAM::Policy resources naming it)
        properties = role["Properties"]
        documents = [p["PolicyDocument"] for p in properties["Policies"]] + [
            p["Properties"]["PolicyDocument"] for p in _external_policies(rendered, role_id).values()
        ]
        statements = [s for document in documents for s in _statements(document)]
        actions, resources, log_group = expected[role_id]
        # THEN it has its one API-related permission, ENI management for VPC access and its own log group only
        assert properties.get("ManagedPolicyArns") is None
        assert {(frozenset(s["Action"]), frozenset(s["Resource"])) for s in statements} == {
            (frozenset(actions), frozenset(resources)),
            (frozenset(ENI_ACTIONS), frozenset({"*"})),
            (
                frozenset({"logs:CreateLogStream", "logs:PutLogEvents"}),
                frozenset({ATTRIBUTES[f"{role_id[:-4]}LogGroup.Arn"]}),
            ),
        }
        assert all(s["Effect"] == "Allow" for s in statements)
        assert log_group in ATTRIBUTES[f"{role_id[:-4]}LogGroup.Arn"]
        trust = properties["AssumeRolePolicyDocument"]["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "lambda.amazonaws.com"}]
    assert ("rPythonAssumeRoleClientRole" in rendered.resources) == combination.has_role


def test_api_client_functions_wait_for_their_roles_external_policies(case: tuple[Combination, Rendered]) -> None:
    # GIVEN one combination
    _, rendered = case
    for function_id, function in rendered.of_type("AWS::Lambda::Function").items():
        # WHEN the AWS::IAM::Policy resources attached to the function's role are listed
        external = _external_policies(rendered, f"{function_id}Role")
        depends_on = function.get("DependsOn", [])
        depends_on = {depends_on} if isinstance(depends_on, str) else set(depends_on)
        # THEN the function is created after them: Lambda checks the ENI permissions when it creates a VPC function
        assert external
        assert set(external) <= depends_on


def test_api_client_log_groups_have_retention_and_are_used(case: tuple[Combination, Rendered]) -> None:
    # GIVEN one combination
    _, rendered = case
    # WHEN each function's logging configuration is read
    for function_id, function in rendered.of_type("AWS::Lambda::Function").items():
        log_group_id = f"{function_id}LogGroup"
        # THEN it writes to its own log group, which keeps logs for a bounded time
        assert function["Properties"]["LoggingConfig"] == {"LogGroup": PHYSICAL_IDS[log_group_id]}
        assert rendered.resources[log_group_id]["Properties"]["RetentionInDays"] == 30


def test_api_client_outputs_follow_role_parameter(case: tuple[Combination, Rendered]) -> None:
    # GIVEN one combination
    combination, rendered = case
    # WHEN the outputs are resolved
    outputs = rendered.outputs
    # THEN the reference's names are present, assume-role ones only with a role, and the DNS name is the regional one
    expected = {
        "APIGatewayEndpointID",
        "APIGatewayEndpointDNS",
        "APIClientSecurityGroup",
        "DirectAuthClientRole",
        "PythonDirectAuthClient",
    }
    if combination.has_role:
        expected |= {"PythonAssumeRoleClient", "AssumeRoleClientRole"}
    assert set(outputs) == expected
    assert outputs["APIGatewayEndpointID"] == "vpce-0123456789abcdef0"
    assert outputs["APIGatewayEndpointDNS"] == ENDPOINT_DNS
    assert outputs["DirectAuthClientRole"] == ATTRIBUTES["rPythonDirectAuthClientRole.Arn"]


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("pAPIHost", "https://abc123defg.execute-api.us-east-1.amazonaws.com"),
        ("pAPIHost", "api.example.com"),
        ("pAPIPrefix", "Prod"),
        ("pAPIPrefix", "/Prod/v1"),
        ("pAPIAccountID", "12345"),
        ("pAPIRoleARN", "private-api-access"),
        ("pCreateSTSEndpoint", "true"),
        ("pEnablePrivateDNS", "Yes"),
        ("pDNSServerCIDR", "10.1.0.2"),
        ("pAPITimeout", "31"),
    ],
)
def test_api_client_bad_parameter_value_is_rejected(parameter: str, value: str) -> None:
    # GIVEN a parameter value outside the template's constraints
    # WHEN the template is rendered with it
    # THEN CloudFormation's parameter validation rejects it before anything is created
    with pytest.raises(ParameterError, match=parameter):
        render(COMBINATIONS[0], **{parameter: value})


@pytest.mark.parametrize(
    ("region", "execute_api", "sts"),
    [
        ("us-east-1", "com.amazonaws.us-east-1.execute-api", "com.amazonaws.us-east-1.sts"),
        ("us-gov-west-1", "com.amazonaws.us-gov-west-1.execute-api", "com.amazonaws.us-gov-west-1.sts"),
        ("cn-north-1", "cn.com.amazonaws.cn-north-1.execute-api", "cn.com.amazonaws.cn-north-1.sts"),
        ("cn-northwest-1", "cn.com.amazonaws.cn-northwest-1.execute-api", "cn.com.amazonaws.cn-northwest-1.sts"),
    ],
)
def test_api_client_endpoint_service_names_are_the_partitions_own(region: str, execute_api: str, sts: str) -> None:
    # GIVEN a consumer stack in a region of each partition (China names these endpoint services cn.com.amazonaws.*)
    partition = "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    parameters = {
        "pAPIHost": f"abc123defg.execute-api.{region}.{suffix}",
        "pAPIAccountID": PROVIDER,
        "pAPIRoleARN": f"arn:{partition}:iam::{PROVIDER}:role/private-api-backend-APIAccessRole",
        "pVPCID": "vpc-0abc",
        "pLambdaSubnetIDs": "subnet-0a1,subnet-0a2",
        "pEndpointSubnetIDs": "subnet-0b1,subnet-0b2",
        "pCreateSTSEndpoint": "Yes",
        "pDNSServerCIDR": DNS_CIDR,
        "pPowertoolsLayerArn": f"arn:{partition}:lambda:{region}:017000801446:layer:Powertools:7",
    }
    # WHEN it is rendered there
    rendered = render_template(
        TEMPLATE, parameters, account_id=CONSUMER, region=region, physical_ids=PHYSICAL_IDS, attributes=ATTRIBUTES
    )
    # THEN each interface endpoint names the service as that partition's describe-vpc-endpoint-services lists it
    resources = rendered.resources
    assert resources["rAPIGatewayEndpoint"]["Properties"]["ServiceName"] == execute_api
    assert resources["rSTSEndpoint"]["Properties"]["ServiceName"] == sts
