"""diagnose's certificate (mTLS) path checks (diagnose/certificate.py) against moto: the consumer's endpoint
connection, the consumer allowed on the endpoint service, the targets behind it, the client's secret, and the
certificate client's failure kinds. Both sides live in moto's default account here; the consumer account the checks
compare with is named explicitly."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.ec2.models import ec2_backends

from diagnose import certificate
from diagnose.results import Status

REGION = "us-east-1"
CONSUMER_ACCOUNT = "111111111111"
MOTO_ACCOUNT = "123456789012"


@dataclass
class Path:
    """The moto world and what diagnose read from it."""

    consumer_outputs: dict[str, str]
    provider_outputs: dict[str, str]
    secret_arn: str
    api_group: str

    def read(self, *, with_provider: bool = True, secret_arn: str | None = None) -> certificate.CertificatePath:
        def clients(service: str) -> Any:
            return boto3.client(service, region_name=REGION)  # type: ignore[call-overload]

        return certificate.read_certificate_path(
            clients,
            clients if with_provider else None,
            consumer_outputs=self.consumer_outputs,
            provider_outputs=self.provider_outputs,
            consumer_account=CONSUMER_ACCOUNT,
            region=REGION,
            provider_profile="provider",
            secret_arn=self.secret_arn if secret_arn is None else secret_arn,
        )


def _role(iam: Any, secret_arn: str) -> str:
    role = iam.create_role(RoleName="CertificateClientRole", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn}],
    }
    iam.put_role_policy(RoleName="CertificateClientRole", PolicyName="secret", PolicyDocument=json.dumps(policy))
    return str(role)


@pytest.fixture
def world() -> Iterator[Path]:
    """Provider NLB -> ALB -> endpoint addresses behind an endpoint service, the consumer's endpoint, secret, role."""
    with mock_aws():
        ec2, elbv2 = boto3.client("ec2", REGION), boto3.client("elbv2", REGION)
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
        alb = elbv2.create_load_balancer(Name="alb", Subnets=[subnet], Scheme="internal", Type="application")
        nlb = elbv2.create_load_balancer(Name="nlb", Subnets=[subnet], Scheme="internal", Type="network")
        alb_arn, nlb_arn = alb["LoadBalancers"][0]["LoadBalancerArn"], nlb["LoadBalancers"][0]["LoadBalancerArn"]
        api = elbv2.create_target_group(Name="api", Protocol="HTTPS", Port=443, VpcId=vpc, TargetType="ip")
        to_alb = elbv2.create_target_group(Name="to-alb", Protocol="TCP", Port=443, VpcId=vpc, TargetType="alb")
        api_arn, to_alb_arn = api["TargetGroups"][0]["TargetGroupArn"], to_alb["TargetGroups"][0]["TargetGroupArn"]
        for balancer, group, protocol in ((nlb_arn, to_alb_arn, "TCP"), (alb_arn, api_arn, "HTTP")):
            elbv2.create_listener(
                LoadBalancerArn=balancer,
                Protocol=protocol,
                Port=443,
                DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
            )
        elbv2.register_targets(TargetGroupArn=to_alb_arn, Targets=[{"Id": alb_arn, "Port": 443}])
        elbv2.register_targets(TargetGroupArn=api_arn, Targets=[{"Id": "10.20.1.10", "Port": 443}])
        service = ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[nlb_arn])
        service_id = service["ServiceConfiguration"]["ServiceId"]
        ec2.modify_vpc_endpoint_service_permissions(
            ServiceId=service_id, AddAllowedPrincipals=[f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"]
        )
        endpoint = ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=service["ServiceConfiguration"]["ServiceName"],
            VpcEndpointType="Interface",
            SubnetIds=[subnet],
        )["VpcEndpoint"]["VpcEndpointId"]
        secret = boto3.client("secretsmanager", REGION).create_secret(Name="orders-cert", SecretString="{}")["ARN"]
        role = _role(boto3.client("iam", REGION), secret)
        yield Path(
            consumer_outputs={"MtlsServiceEndpointID": endpoint, "CertificateClientRole": role},
            provider_outputs={"MtlsEndpointServiceId": service_id},
            secret_arn=secret,
            api_group=api_arn,
        )


def run_all(path: certificate.CertificatePath) -> dict[str, tuple[Status, str, str | None]]:
    results = {}
    for check_id, _, check in certificate.CERTIFICATE_CHECKS:
        outcome = check(path)
        results[check_id] = (outcome.status, outcome.detail, outcome.fix)
    return results


def test_certificate_checks_working_path_all_pass(world: Path) -> None:
    # GIVEN a deployed certificate path
    # WHEN diagnose reads and checks it
    results = run_all(world.read())
    # THEN every check passes, with what it saw
    assert {check: status for check, (status, _, _) in results.items()} == dict.fromkeys(results, Status.OK)
    assert results["mtls-targets"][1] == "2 load balancer target(s) healthy"
    assert results["mtls-principal"][1].startswith(f"arn:aws:iam::{CONSUMER_ACCOUNT}:root may connect")


def test_certificate_endpoint_pending_acceptance_fails_with_the_accept_command(world: Path) -> None:
    # GIVEN the consumer's connection awaiting the provider's acceptance
    endpoint = world.consumer_outputs["MtlsServiceEndpointID"]
    ec2_backends[MOTO_ACCOUNT][REGION].vpc_end_points[endpoint].state = "pendingAcceptance"
    # WHEN checked
    status, detail, fix = run_all(world.read())["mtls-endpoint"]
    # THEN it fails, naming the state, with the command the provider runs
    assert status is Status.FAIL
    assert "awaits the provider's acceptance" in detail
    assert fix == (
        f"the provider runs: aws ec2 accept-vpc-endpoint-connections --service-id "
        f"{world.provider_outputs['MtlsEndpointServiceId']} --vpc-endpoint-ids {endpoint} --profile provider "
        f"--region {REGION}"
    )


def test_certificate_endpoint_rejected_fails(world: Path) -> None:
    # GIVEN a rejected connection
    endpoint = world.consumer_outputs["MtlsServiceEndpointID"]
    ec2_backends[MOTO_ACCOUNT][REGION].vpc_end_points[endpoint].state = "rejected"
    # WHEN checked THEN it fails as rejected
    status, detail, _ = run_all(world.read())["mtls-endpoint"]
    assert (status, detail) == (Status.FAIL, f"the provider rejected endpoint {endpoint}")


def test_certificate_consumer_not_allowed_on_the_service_fails(world: Path) -> None:
    # GIVEN the service allows another account only
    ec2 = boto3.client("ec2", REGION)
    service_id = world.provider_outputs["MtlsEndpointServiceId"]
    ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=service_id,
        RemoveAllowedPrincipals=[f"arn:aws:iam::{CONSUMER_ACCOUNT}:root"],
        AddAllowedPrincipals=["arn:aws:iam::999999999999:root"],
    )
    # WHEN checked
    status, detail, fix = run_all(world.read())["mtls-principal"]
    # THEN it fails naming the consumer account and the parameter
    assert status is Status.FAIL
    assert f"account {CONSUMER_ACCOUNT} is not among the allowed principals" in detail
    assert fix is not None
    assert f"pMtlsAllowedPrincipals=arn:aws:iam::{CONSUMER_ACCOUNT}:root" in fix


def test_certificate_empty_api_target_group_fails_naming_it(world: Path) -> None:
    # GIVEN the endpoint-targets custom resource registered nothing
    boto3.client("elbv2", REGION).deregister_targets(
        TargetGroupArn=world.api_group, Targets=[{"Id": "10.20.1.10", "Port": 443}]
    )
    # WHEN checked
    status, detail, _ = run_all(world.read())["mtls-targets"]
    # THEN it fails naming that group
    assert status is Status.FAIL
    assert detail == f"(none) in {world.api_group}: no-targets no target registered"


def test_certificate_missing_secret_fails(world: Path) -> None:
    # GIVEN a secret ARN that does not exist
    missing = world.secret_arn.replace("orders-cert", "gone-cert")
    # WHEN checked
    status, detail, _ = run_all(world.read(secret_arn=missing))["mtls-secret"]
    # THEN it fails saying so
    assert (status, detail) == (Status.FAIL, f"secret {missing} does not exist")


def test_certificate_role_without_get_secret_value_fails(world: Path) -> None:
    # GIVEN a role whose policy names another secret
    iam = boto3.client("iam", REGION)
    other = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    iam.put_role_policy(RoleName="CertificateClientRole", PolicyName="secret", PolicyDocument=json.dumps(other))
    # WHEN checked
    status, detail, _ = run_all(world.read())["mtls-secret"]
    # THEN it fails: the role may not read the secret
    assert status is Status.FAIL
    assert f"may not read {world.secret_arn}" in detail


def test_certificate_without_provider_profile_leaves_provider_checks_unknown(world: Path) -> None:
    # GIVEN only the consumer's credentials
    # WHEN checked
    results = run_all(world.read(with_provider=False))
    # THEN the consumer-side checks run and the provider-side ones are unknown, never guessed
    assert results["mtls-endpoint"][0] is Status.OK
    assert results["mtls-secret"][0] is Status.OK
    assert results["mtls-principal"][0] is Status.UNKNOWN
    assert results["mtls-targets"][0] is Status.UNKNOWN


@pytest.mark.parametrize(
    ("answer", "kind", "fix_mentions"),
    [
        (
            {"statusCode": 502, "error": "TLS refused by the provider's load balancer: unknown ca"},
            "tls-refused",
            "the trust store's bundle",
        ),
        (
            {"statusCode": 403, "body": '{"message": "Certificate subject not allowed: CN=x"}'},
            "subject-not-allowed",
            "pMtlsAllowedClients",
        ),
        (
            {"statusCode": 403, "error": "API Gateway denied the request", "hint": "explicit deny on /mtls"},
            "explicit-deny",
            "through the endpoint service",
        ),
    ],
)
def test_certificate_client_failure_kinds_are_named_with_their_fix(
    answer: dict[str, Any], kind: str, fix_mentions: str
) -> None:
    # GIVEN a certificate client's failed answer
    # WHEN classified and judged
    outcome = certificate.client_answer(answer)
    # THEN the kind is named and the fix fits it
    assert certificate.classify_client_error(answer) == kind
    assert outcome.status is Status.FAIL
    assert kind in outcome.detail
    assert outcome.fix is not None
    assert fix_mentions in outcome.fix


def test_certificate_client_2xx_passes_and_no_answer_is_unknown() -> None:
    # GIVEN a 200 answer, and no answer
    judge: Callable[[Any], Status] = lambda answer: certificate.client_answer(answer).status  # noqa: E731
    # WHEN judged THEN 200 passes and a missing answer is unknown
    assert judge({"statusCode": 200}) is Status.OK
    assert judge(None) is Status.UNKNOWN
