"""api-backend.yaml's certificate (mTLS) path: off by default, and as the design says when on (issue 16)."""

from __future__ import annotations

import copy
import functools
import itertools
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cfnrender.render import ParameterError, Rendered, load_template, render_template
from cfnrender.stacks import generate_ids

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "api-backend" / "api-backend.yaml"
PARENT = ROOT / "api-backend" / "vpc-api-backend.yaml"
ACCOUNT = "222222222222"
REGION = "us-east-1"
STACK = "private-api-backend"
SUBNETS_3 = "subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718,subnet-2a1b2c3d4e5f60718"
VPC = {
    "pVPCID": "vpc-0a1b2c3d4e5f60718",
    "pLambdaSubnetIDs": "subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718",
    "pDynamoDBPrefixListID": "pl-02cd2c6b",
}
CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
CONSUMER_ROOT = "arn:aws:iam::111111111111:root"
CLIENTS = "acme:CN=client.acme.example,O=Acme;beta:CN=svc,O=Beta\\, Inc."
MTLS = {
    **VPC,
    "pEnableMtls": "Yes",
    "pMtlsTrustStoreBucket": "provider-artifacts",
    "pMtlsCABundleKey": "mtls/ca.pem",
    "pMtlsServerCertificateArn": CERTIFICATE,
    "pMtlsAllowedPrincipals": CONSUMER_ROOT,
    "pMtlsAllowedClients": CLIENTS,
}
MTLS_RESOURCES = {
    "MtlsApiEndpointSecurityGroup",
    "MtlsLoadBalancerSecurityGroup",
    "MtlsNetworkLoadBalancerSecurityGroup",
    "MtlsEndpointFromAlbIngress",
    "MtlsAlbFromNlbIngress",
    "MtlsAlbFromNlbHealthIngress",
    "MtlsApiEndpoint",
    "MtlsTrustStore",
    "MtlsApplicationLoadBalancer",
    "MtlsHttpsListener",
    "MtlsHealthListener",
    "MtlsApiListenerRule",
    "MtlsApiTargetGroup",
    "MtlsEndpointTargets",
    "MtlsEndpointTargetsFunction",
    "MtlsEndpointTargetsRole",
    "MtlsEndpointTargetsLogGroup",
    "MtlsNetworkLoadBalancer",
    "MtlsAlbTargetGroup",
    "MtlsNlbListener",
    "MtlsEndpointService",
    "MtlsEndpointServicePermissions",
}
MTLS_OUTPUTS = {"MtlsEndpointServiceId", "MtlsEndpointServiceName", "MtlsApiEndpointID", "MtlsLoadBalancerDNS"}
CERTIFICATE_PATHS = ["execute-api:/*/*/mtls", "execute-api:/*/*/mtls/*"]
# on x CRL/no CRL x acceptance/none x 2/3 AZs
ON_SETS = {
    f"crl-{crl}-acceptance-{acceptance}-azs-{azs}": {
        **MTLS,
        "pMtlsRevocationListKey": "mtls/crl.pem" if crl == "yes" else "None",
        "pMtlsAcceptanceRequired": "Yes" if acceptance == "yes" else "No",
        "pLambdaSubnetIDs": SUBNETS_3 if azs == "3" else VPC["pLambdaSubnetIDs"],
    }
    for crl, acceptance, azs in itertools.product(["yes", "no"], ["yes", "no"], ["2", "3"])
}
OFF_SETS = {"defaults": {}, "vpc": VPC, "switch-without-vpc-is-refused-so-vpc-only": {**VPC, "pEnableMtls": "No"}}


@functools.cache
def source() -> dict[str, Any]:
    return load_template(BACKEND)


@functools.cache
def ids() -> Any:
    return generate_ids(BACKEND, stack=STACK, account=ACCOUNT, region=REGION, rng=random.Random(16))


def render(parameters: dict[str, str]) -> Rendered:
    return render_template(
        copy.deepcopy(source()),
        parameters,
        account_id=ACCOUNT,
        region=REGION,
        stack_name=STACK,
        physical_ids=ids().physical_ids,
        attributes=ids().attributes,
    )


@functools.cache
def rendered_on(name: str) -> Rendered:
    return render(ON_SETS[name])


def walk(node: Any) -> Iterator[Any]:
    """Every node of a rendered template, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def policy_of(result: Rendered) -> dict[str, Any]:
    body: dict[str, Any] = result.resources["BackendApi"]["Properties"]["Body"]
    return body["x-amazon-apigateway-policy"]  # type: ignore[no-any-return]


def statement(result: Rendered, sid: str) -> dict[str, Any]:
    [found] = [s for s in policy_of(result)["Statement"] if s.get("Sid") == sid]
    return found  # type: ignore[no-any-return]


def operations(result: Rendered) -> dict[tuple[str, str], dict[str, Any]]:
    paths = result.resources["BackendApi"]["Properties"]["Body"]["paths"]
    return {(path, verb): op for path, item in paths.items() for verb, op in item.items() if verb != "parameters"}


# --- off ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["defaults", "vpc"])
def test_mtls_off_creates_no_certificate_resource_or_output(name: str) -> None:
    # GIVEN the template with the mTLS parameters at their defaults
    result = render(OFF_SETS[name])
    # THEN no Mtls resource or output exists, and the function's mTLS variables are empty
    assert not {rid for rid in result.resources if rid.startswith("Mtls")}
    assert not set(result.outputs) & MTLS_OUTPUTS
    variables = result.resources["BackendFunction"]["Properties"]["Environment"]["Variables"]
    assert (variables["MTLS_ENDPOINT_ID"], variables["MTLS_ALLOWED_CLIENTS"]) == ("", "")


@pytest.mark.parametrize("name", ["defaults", "vpc"])
def test_mtls_off_denies_the_certificate_path_to_everyone(name: str) -> None:
    # GIVEN the template with mTLS off
    result = render(OFF_SETS[name])
    # THEN the always-present Deny has no condition (everyone), and no Allow names the certificate path
    assert statement(result, "DenyCertificatePathElsewhere") == {
        "Sid": "DenyCertificatePathElsewhere",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Resource": CERTIFICATE_PATHS,
    }
    assert not [s for s in policy_of(result)["Statement"] if s.get("Sid") == "AllowCertificatePath"]


# --- the /mtls routes (always present) ------------------------------------------------------------------------


@pytest.mark.parametrize("parameters", [{}, ON_SETS["crl-no-acceptance-no-azs-2"]], ids=["off", "on"])
def test_mtls_routes_mirror_the_iam_routes_with_authorization_none(parameters: dict[str, str]) -> None:
    # GIVEN the rendered API, with mTLS off and on
    ops = operations(render(parameters))
    iam = {key: op for key, op in ops.items() if not key[0].startswith("/mtls")}
    certificate = {key: op for key, op in ops.items() if key[0].startswith("/mtls")}
    # THEN each IAM route has a /mtls twin: the same validator, parameters and body, no IAM, the same function
    assert {("/mtls" + path.rstrip("/"), verb) for path, verb in iam} == set(certificate)
    for (path, verb), op in iam.items():
        twin = certificate[("/mtls" + path.rstrip("/"), verb)]
        assert twin["security"] == [{"NONE": []}]
        assert op["security"] == [{"AWS_IAM": []}]
        for key in ("x-amazon-apigateway-request-validator", "parameters", "requestBody"):
            assert twin.get(key) == op.get(key), (path, verb, key)
        assert twin["x-amazon-apigateway-integration"] == op["x-amazon-apigateway-integration"]
        assert twin["operationId"] == "mtls" + op["operationId"][0].upper() + op["operationId"][1:]


# --- on -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ON_SETS))
def test_mtls_on_creates_the_design_resources_and_outputs(name: str) -> None:
    # GIVEN mTLS on, with or without a CRL and acceptance, in 2 or 3 AZs
    result = rendered_on(name)
    parameters = ON_SETS[name]
    # THEN exactly the design's resources exist (the revocation only with a CRL) and the four outputs
    expected = MTLS_RESOURCES | (
        {"MtlsTrustStoreRevocation"} if parameters["pMtlsRevocationListKey"] != "None" else set()
    )
    assert {rid for rid in result.resources if rid.startswith("Mtls")} == expected
    assert set(result.outputs) >= MTLS_OUTPUTS
    service = result.resources["MtlsEndpointService"]["Properties"]
    assert service["AcceptanceRequired"] is (parameters["pMtlsAcceptanceRequired"] == "Yes")
    subnets = parameters["pLambdaSubnetIDs"].split(",")
    for logical_id in ("MtlsApplicationLoadBalancer", "MtlsNetworkLoadBalancer"):
        assert result.resources[logical_id]["Properties"]["Subnets"] == subnets
    assert result.resources["MtlsApiEndpoint"]["Properties"]["SubnetIds"] == subnets


@pytest.mark.parametrize("name", sorted(ON_SETS))
def test_mtls_on_leaves_no_unresolved_reference(name: str) -> None:
    # GIVEN mTLS on
    result = rendered_on(name)
    # WHEN every rendered value is walked
    leftovers = [
        node
        for node in walk({"Resources": result.resources, "Outputs": result.outputs})
        if isinstance(node, dict) and {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Join", "Fn::Split"} & set(node)
    ]
    # THEN no Ref/GetAtt/Sub/If is left (each named a resource or condition that exists)
    assert leftovers == []


def test_mtls_on_policy_admits_the_certificate_path_only_through_the_provider_endpoint() -> None:
    # GIVEN mTLS on with consumer endpoints listed
    result = render({**ON_SETS["crl-no-acceptance-no-azs-2"], "pAllowedVPCEndpoints": "vpce-11112222"})
    endpoint = ids().physical_ids["MtlsApiEndpoint"]
    # THEN the certificate path is allowed from the provider endpoint and denied from everywhere else
    assert statement(result, "AllowCertificatePath") == {
        "Sid": "AllowCertificatePath",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Resource": CERTIFICATE_PATHS,
        "Condition": {"StringEquals": {"aws:SourceVpce": endpoint}},
    }
    deny = statement(result, "DenyCertificatePathElsewhere")
    assert deny["Condition"] == {"StringNotEquals": {"aws:SourceVpce": endpoint}}
    assert deny["Resource"] == CERTIFICATE_PATHS
    # AND the endpoint allow-list gains the provider endpoint (else it would deny the load balancer's way in)
    outside = statement(result, "DenyOutsideAllowedVPCEndpoints")
    assert outside["Condition"] == {"StringNotEquals": {"aws:SourceVpce": ["vpce-11112222", endpoint]}}


def test_mtls_on_function_gets_the_endpoint_and_the_allowed_clients() -> None:
    result = rendered_on("crl-no-acceptance-no-azs-2")
    variables = result.resources["BackendFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["MTLS_ENDPOINT_ID"] == ids().physical_ids["MtlsApiEndpoint"]
    assert variables["MTLS_ALLOWED_CLIENTS"] == CLIENTS


def test_mtls_on_listener_verifies_client_certificates_and_routes_only_this_api() -> None:
    # GIVEN mTLS on with a CRL
    result = rendered_on("crl-yes-acceptance-no-azs-2")
    listener = result.resources["MtlsHttpsListener"]["Properties"]
    rule = result.resources["MtlsApiListenerRule"]["Properties"]
    # THEN the HTTPS listener is in verify mode against the trust store, expiry checked, CA names not advertised
    assert listener["MutualAuthentication"] == {
        "Mode": "verify",
        "TrustStoreArn": ids().physical_ids["MtlsTrustStore"],
        "IgnoreClientCertificateExpiry": False,
        "AdvertiseTrustStoreCaNames": "off",
    }
    assert (listener["Protocol"], listener["Port"], listener["Certificates"]) == (
        "HTTPS",
        443,
        [{"CertificateArn": CERTIFICATE}],
    )
    assert listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
    # AND only this API's host and stage's /mtls paths are forwarded
    assert [c["Field"] for c in rule["Conditions"]] == ["host-header", "path-pattern"]
    assert rule["Conditions"][1]["PathPatternConfig"] == {"Values": ["/Prod/mtls", "/Prod/mtls/*"]}
    api_id = ids().physical_ids["BackendApi"]
    assert rule["Conditions"][0]["HostHeaderConfig"]["Values"] == [f"{api_id}.execute-api.{REGION}.amazonaws.com"]
    assert rule["Actions"] == [{"Type": "forward", "TargetGroupArn": ids().physical_ids["MtlsApiTargetGroup"]}]
    # AND the CRL is read from the same bucket
    revocation = result.resources["MtlsTrustStoreRevocation"]["Properties"]
    assert revocation["RevocationContents"] == [
        {"RevocationType": "CRL", "S3Bucket": "provider-artifacts", "S3Key": "mtls/crl.pem"}
    ]


def test_mtls_on_provider_endpoint_is_private_dns_off_and_admits_only_the_alb() -> None:
    result = rendered_on("crl-no-acceptance-no-azs-2")
    endpoint = result.resources["MtlsApiEndpoint"]["Properties"]
    ingress = result.resources["MtlsEndpointFromAlbIngress"]["Properties"]
    assert endpoint["PrivateDnsEnabled"] is False
    assert endpoint["ServiceName"] == f"com.amazonaws.{REGION}.execute-api"
    [allow] = endpoint["PolicyDocument"]["Statement"]
    assert allow["Resource"] == f"arn:aws:execute-api:{REGION}:{ACCOUNT}:*/*/*/mtls*"
    assert endpoint["SecurityGroupIds"] == [ids().physical_ids["MtlsApiEndpointSecurityGroup"]]
    assert (ingress["FromPort"], ingress["ToPort"], ingress["SourceSecurityGroupId"]) == (
        443,
        443,
        ids().physical_ids["MtlsLoadBalancerSecurityGroup"],
    )


def test_mtls_on_custom_resource_function_is_least_privilege_python314_arm64() -> None:
    # GIVEN mTLS on
    result = rendered_on("crl-no-acceptance-no-azs-3")
    function = result.resources["MtlsEndpointTargetsFunction"]["Properties"]
    role = result.resources["MtlsEndpointTargetsRole"]["Properties"]
    custom = result.resources["MtlsEndpointTargets"]["Properties"]
    group = ids().physical_ids["MtlsApiTargetGroup"]
    # THEN the function runs the tested handler on python3.14 arm64 and logs to its own group
    assert (function["Handler"], function["Runtime"], function["Architectures"]) == (
        "endpoint_targets.app.handler",
        "python3.14",
        ["arm64"],
    )
    assert result.resources["MtlsEndpointTargetsLogGroup"]["Properties"]["RetentionInDays"] == "60"
    # AND its role may change the targets of this target group only
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["ThisTargetGroupOnly"]["Resource"] == group
    assert set(statements["ThisTargetGroupOnly"]["Action"]) == {
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
    }
    assert {
        a for s in statements.values() for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    } == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeNetworkInterfaces",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:DescribeTargetHealth",
    }
    assert custom["VpcEndpointId"] == ids().physical_ids["MtlsApiEndpoint"]
    assert custom["TargetGroupArn"] == group


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ({"pEnableMtls": "Yes"}, "pEnableMtls needs pVPCID"),
        ({**MTLS, "pMtlsTrustStoreBucket": ""}, "pEnableMtls needs pMtlsTrustStoreBucket"),
        ({**MTLS, "pMtlsCABundleKey": ""}, "pEnableMtls needs pMtlsCABundleKey"),
        ({**MTLS, "pMtlsServerCertificateArn": ""}, "pEnableMtls needs pMtlsServerCertificateArn"),
        ({**MTLS, "pMtlsAllowedPrincipals": "None"}, "pEnableMtls needs pMtlsAllowedPrincipals"),
        ({**MTLS, "pMtlsAllowedClients": "None"}, "pEnableMtls needs pMtlsAllowedClients"),
        ({"pMtlsAllowedPrincipals": f"None,{CONSUMER_ROOT}"}, "pMtlsAllowedPrincipals is either None"),
        ({"pMtlsAllowedClients": "Bad Tenant:CN=x"}, "does not match"),
    ],
)
def test_mtls_invalid_parameters_rejected_before_deploy(parameters: dict[str, str], reason: str) -> None:
    with pytest.raises(ParameterError) as raised:
        render(parameters)
    assert reason in str(raised.value)


# --- vpc-api-backend.yaml ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("enabled", ["No", "Yes"])
def test_vpc_template_passes_mtls_through_and_exports_its_outputs_only_when_on(enabled: str) -> None:
    # GIVEN the parent with mTLS off or on
    values = {k: v for k, v in MTLS.items() if k.startswith("pMtls")}
    parameters = {"pDynamoDBPrefixListID": "pl-02cd2c6b", "pSubnetCount": "3", "pEnableMtls": enabled, **values}
    result = render_template(PARENT, parameters, attributes={"VPC.CidrBlock": "10.0.0.0/16"})
    nested = result.of_type("AWS::CloudFormation::Stack")["BackendStack"]["Properties"]["Parameters"]
    # THEN every mTLS value reaches the child and the mTLS outputs exist only when on
    assert {k: nested[k] for k in values} == values
    assert nested["pEnableMtls"] == enabled
    assert (set(result.outputs) & MTLS_OUTPUTS) == (MTLS_OUTPUTS if enabled == "Yes" else set())


@pytest.mark.parametrize(("bucket", "expected"), [("None", {}), ("elb-logs.example", {"bucket": "elb-logs.example"})])
def test_mtls_log_bucket_switches_connection_and_access_logs(bucket: str, expected: dict[str, str]) -> None:
    # GIVEN mTLS on with pMtlsLogBucket None, then naming a bucket
    result = render({**MTLS, "pMtlsLogBucket": bucket})
    attributes = {
        item["Key"]: item["Value"]
        for item in result.resources["MtlsApplicationLoadBalancer"]["Properties"]["LoadBalancerAttributes"]
    }
    # THEN both logs are off with None; with a bucket both go to it under mtls/ (ELB's attribute names)
    on = "true" if expected else "false"
    assert (attributes["connection_logs.s3.enabled"], attributes["access_logs.s3.enabled"]) == (on, on)
    logs = {key: value for key, value in attributes.items() if key.endswith((".s3.bucket", ".s3.prefix"))}
    if expected:
        assert logs == {
            "connection_logs.s3.bucket": bucket,
            "connection_logs.s3.prefix": "mtls",
            "access_logs.s3.bucket": bucket,
            "access_logs.s3.prefix": "mtls",
        }
    else:
        assert logs == {}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
