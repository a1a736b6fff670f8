"""api-client.yaml's certificate (mTLS) client: off by default changes nothing; on, every combination renders whole."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cfnrender.render import ParameterError, Rendered
from client.client_cert import secret_region
from client.config import load_config
from tests.templates.test_api_client_template import (
    API_HOST,
    ATTRIBUTES,
    COMBINATIONS,
    CONSUMER,
    REGION,
    REPO,
    ROLE_ARN,
    SG,
    Combination,
    _rules,
    render,
    render_with,
)

SERVICE_NAME = f"com.amazonaws.vpce.{REGION}.vpce-svc-0123456789abcdef0"
DNS_NAME = "api.partner.example.com"
SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{CONSUMER}:secret:mtls-client-AbCdEf"
MTLS_DNS = f"vpce-0fedcba9876543210-abcdefgh.{SERVICE_NAME.rsplit('.', 1)[-1]}.{REGION}.vpce.amazonaws.com"
MTLS_ATTRIBUTES: dict[str, Any] = {
    **ATTRIBUTES,
    "MtlsServiceEndpoint.DnsEntries": [f"Z1HUB22UULQXV:{MTLS_DNS}"],
    "MtlsServiceEndpointSecurityGroup.GroupId": "sg-0mtls",
    "SecretsManagerEndpointSecurityGroup.GroupId": "sg-0secrets",
    "CertificateClientRole.Arn": f"arn:aws:iam::{CONSUMER}:role/certificate",
    "PythonCertificateClientLogGroup.Arn": f"arn:aws:logs:{REGION}:{CONSUMER}:log-group:certificate:*",
}
MTLS_ON = {
    "pEnableMtlsClient": "Yes",
    "pMtlsServiceName": SERVICE_NAME,
    "pMtlsServiceDNSName": DNS_NAME,
    "pMtlsCertificateSecretArn": SECRET_ARN,
}
NEW_RESOURCES = {
    "MtlsServiceEndpointSecurityGroup",
    "MtlsClientEgressToServiceEndpoint",
    "MtlsServiceEndpoint",
    "MtlsHostedZone",
    "MtlsServiceRecord",
    "SecretsManagerEndpointSecurityGroup",
    "MtlsClientEgressToSecretsManagerEndpoint",
    "SecretsManagerEndpoint",
    "PythonCertificateClientLogGroup",
    "CertificateClientRole",
    "PythonCertificateClient",
}
ON_CASES = list(itertools.product(["Yes", "No"], ["Yes", "No"], COMBINATIONS[:1] + COMBINATIONS[-1:]))


def _render_on(zone: str, secrets: str, combination: Combination) -> Rendered:
    overrides = {**MTLS_ON, "pCreateMtlsHostedZone": zone, "pCreateSecretsManagerEndpoint": secrets}
    return render_with(combination, MTLS_ATTRIBUTES, overrides)


@pytest.fixture(scope="module", params=ON_CASES, ids=lambda c: f"zone{c[0]}-secrets{c[1]}-{c[2]}")
def on(request: pytest.FixtureRequest) -> tuple[tuple[str, str, Combination], Rendered]:
    """Each on-combination rendered once (a dangling reference would raise here)."""
    return request.param, _render_on(*request.param)


@pytest.mark.parametrize("combination", COMBINATIONS, ids=str)
def test_api_client_mtls_off_renders_exactly_what_the_defaults_render(combination: Combination) -> None:
    # GIVEN the mTLS client off, with its other parameters filled in (they must not matter when off)
    off = render(combination, **{**MTLS_ON, "pEnableMtlsClient": "No"})

    # WHEN compared with the render that leaves every new parameter at its default
    default = render(combination)

    # THEN resources and outputs are identical, and none of the certificate client's exists
    assert off.resources == default.resources
    assert off.outputs == default.outputs
    assert NEW_RESOURCES.isdisjoint(default.resources)
    assert not any("Certificate" in name or "Mtls" in name for name in default.outputs)


@pytest.mark.parametrize("missing", ["pMtlsServiceName", "pMtlsServiceDNSName", "pMtlsCertificateSecretArn"])
def test_api_client_mtls_on_without_an_input_is_refused_by_the_rule(missing: str) -> None:
    # GIVEN pEnableMtlsClient=Yes with one required value left at None
    # WHEN rendered / THEN the template's Rule refuses it before anything is created
    with pytest.raises(ParameterError, match=missing):
        render(COMBINATIONS[0], **{**MTLS_ON, missing: "None"})


def test_api_client_mtls_on_creates_its_resources(on: tuple[tuple[str, str, Combination], Rendered]) -> None:
    (zone, secrets, _), rendered = on
    expected = NEW_RESOURCES - (set() if zone == "Yes" else {"MtlsHostedZone", "MtlsServiceRecord"})
    if secrets == "No":
        expected -= {"SecretsManagerEndpointSecurityGroup", "MtlsClientEgressToSecretsManagerEndpoint"}
        expected -= {"SecretsManagerEndpoint"}
    assert NEW_RESOURCES & set(rendered.resources) == expected
    assert {"MtlsServiceEndpointID", "PythonCertificateClient", "CertificateClientRole"} <= set(rendered.outputs)


def test_api_client_mtls_endpoint_reaches_the_service_from_the_clients_only(
    on: tuple[tuple[str, str, Combination], Rendered],
) -> None:
    _, rendered = on
    endpoint = rendered.resources["MtlsServiceEndpoint"]["Properties"]
    assert (endpoint["ServiceName"], endpoint["VpcEndpointType"], endpoint["PrivateDnsEnabled"]) == (
        SERVICE_NAME,
        "Interface",
        False,
    )
    assert endpoint["SubnetIds"] == ["subnet-0b1", "subnet-0b2"]
    group = rendered.resources["MtlsServiceEndpointSecurityGroup"]["Properties"]
    assert _rules(group["SecurityGroupIngress"]) == {("tcp", 443, 443, SG["rAPIClientSecurityGroup"])}
    assert _rules(group["SecurityGroupEgress"]) == {("icmp", 252, 86, "255.255.255.255/32")}
    egress = rendered.resources["MtlsClientEgressToServiceEndpoint"]["Properties"]
    assert (egress["GroupId"], egress["DestinationSecurityGroupId"], egress["FromPort"]) == (
        SG["rAPIClientSecurityGroup"],
        "sg-0mtls",
        443,
    )


def test_api_client_mtls_hosted_zone_aliases_the_name_to_the_endpoint(
    on: tuple[tuple[str, str, Combination], Rendered],
) -> None:
    (zone, _, _), rendered = on
    if zone == "No":
        assert "MtlsHostedZone" not in rendered.resources
        return
    hosted = rendered.resources["MtlsHostedZone"]["Properties"]
    assert (hosted["Name"], hosted["VPCs"]) == (DNS_NAME, [{"VPCId": "vpc-0abc", "VPCRegion": REGION}])
    record = rendered.resources["MtlsServiceRecord"]["Properties"]
    assert (record["Name"], record["Type"]) == (DNS_NAME, "A")
    assert record["AliasTarget"] == {
        "DNSName": MTLS_DNS,
        "HostedZoneId": "Z1HUB22UULQXV",
        "EvaluateTargetHealth": False,
    }


def test_api_client_mtls_function_env_is_a_valid_certificate_configuration(
    on: tuple[tuple[str, str, Combination], Rendered],
) -> None:
    # GIVEN the certificate client's function as rendered
    _, rendered = on
    function = rendered.resources["PythonCertificateClient"]["Properties"]
    env = {**function["Environment"]["Variables"], "AWS_REGION": REGION}

    # WHEN the client reads it
    config = load_config(env)

    # THEN it connects to the service's name, sends the API's host, and calls the /mtls routes of the stage
    assert function["Handler"] == "client.certificate.handler"
    assert (config.endpoint, config.api_host, config.api_prefix) == (f"https://{DNS_NAME}", API_HOST, "/Prod/mtls")
    assert env["CLIENT_CERTIFICATE_SECRET_ARN"] == SECRET_ARN
    assert secret_region(env["CLIENT_CERTIFICATE_SECRET_ARN"]) == REGION
    assert function["VpcConfig"]["SecurityGroupIds"] == [SG["rAPIClientSecurityGroup"]]


def test_api_client_mtls_role_reads_only_its_secret_and_never_invokes(
    on: tuple[tuple[str, str, Combination], Rendered],
) -> None:
    _, rendered = on
    role = rendered.resources["CertificateClientRole"]["Properties"]
    statements = [s for p in role["Policies"] for s in p["PolicyDocument"]["Statement"]]
    actions = {(s["Sid"], str(s["Action"]), str(s["Resource"])) for s in statements}
    assert ("ReadClientCertificateSecret", "secretsmanager:GetSecretValue", SECRET_ARN) in actions
    assert not any("execute-api" in str(s["Action"]) or "sts:" in str(s["Action"]) for s in statements)
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]
    # AND the existing clients' shared VPC policy is untouched (still only their roles)
    shared = rendered.resources["rAPIClientVPCAccessPolicy"]["Properties"]["Roles"]
    assert "CertificateClientRole" not in shared


def test_api_client_mtls_secrets_manager_endpoint_allows_only_the_secret(
    on: tuple[tuple[str, str, Combination], Rendered],
) -> None:
    (_, secrets, _), rendered = on
    if secrets == "No":
        assert "SecretsManagerEndpoint" not in rendered.resources
        return
    endpoint = rendered.resources["SecretsManagerEndpoint"]["Properties"]
    assert endpoint["ServiceName"] == f"com.amazonaws.{REGION}.secretsmanager"
    assert endpoint["PrivateDnsEnabled"] is True
    (statement,) = endpoint["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("secretsmanager:GetSecretValue", SECRET_ARN)


@pytest.mark.slow  # cfn-lint takes seconds per run
@pytest.mark.parametrize("template", ["api-client/api-client.yaml", "api-client/vpc-api-client.yaml"])
def test_api_client_mtls_on_cfn_lint_has_zero_findings(template: str) -> None:
    # GIVEN the consumer templates with the certificate client switched on
    parameters = [f"{name}={value}" for name, value in MTLS_ON.items()]
    if template.endswith("/api-client.yaml"):
        parameters += [f"pAPIHost={API_HOST}", "pVPCID=vpc-0abc", "pDNSServerCIDR=10.1.0.2/32"]
        parameters += ["pLambdaSubnetIDs=subnet-0a1,subnet-0a2", "pEndpointSubnetIDs=subnet-0b1,subnet-0b2"]
    else:
        parameters += [f"pAPIHost={API_HOST}", f"pAPIRoleARN={ROLE_ARN}"]
    # WHEN cfn-lint checks it with those values
    completed = subprocess.run(  # noqa: S603 - fixed tool from this virtualenv
        [str(_cfn_lint()), "--regions", REGION, "--parameters", *parameters, "--", template],
        cwd=REPO,
        env={**os.environ, "AWS_DEFAULT_REGION": REGION},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN there is no finding of any level
    assert completed.stdout.strip() == ""
    assert completed.returncode == 0, completed.stderr


def _cfn_lint() -> Path:
    return Path(sys.executable).with_name("cfn-lint")
