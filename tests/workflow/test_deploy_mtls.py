"""deploy-all.sh --mtls (issue 16, docs/mtls.md): the options and their errors, then runs against two moto accounts
and the recorded sam. The recorded sam's control outputs stand in for the stacks' new outputs (MtlsEndpointServiceId,
MtlsServiceEndpointID, PythonCertificateClient); the load balancers, the endpoint service and the consumer's endpoint
are made in moto as the templates would make them, so step 9 reads real moto answers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.models import default_user_config
from moto.ec2.models import ec2_backends

from tests.workflow.deployments import (
    BACKEND_STACK,
    CLIENT_STACK,
    capture,
    default_outputs,
    overrides,
    stack_of,
)
from tests.workflow.harness import CONSUMER, PROVIDER, REGION, Kit
from workflow import deploy_all, mtls
from workflow.output import UsageError

SERVER_CERT = f"arn:aws:acm:{REGION}:420000000002:certificate/0a1b2c3d-0000-4000-8000-000000000001"
SECRET = f"arn:aws:secretsmanager:{REGION}:410000000001:secret:private-api/client-cert-AbCdEf"
DNS_NAME = "api.example.internal"
CLIENTS = "orders:CN=orders client,O=Example;billing:CN=billing,O=Example\\;Sub,C=DE"
CERTIFICATE_FUNCTION = "private-api-client-CertificateClient-CCCC"
OK = {"statusCode": 200, "body": '{"caller": "cert:orders/serial/01"}'}


# ------------------------------------------------------------------------------------------------------- test PKI
def _ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test CA")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate, key


@pytest.fixture(scope="module")
def trust_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A CA bundle and an (empty) CRL of that CA, both PEM."""
    base = tmp_path_factory.mktemp("trust")
    certificate, key = _ca()
    now = datetime.now(UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(certificate.subject)
        .last_update(now)
        .next_update(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    bundle, revocations = base / "ca.pem", base / "crl.pem"
    bundle.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    revocations.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    return bundle, revocations


def mtls_args(bundle: Path, *extra: str, clients: str = CLIENTS) -> list[str]:
    return [
        "--mtls",
        "--mtls-ca-bundle",
        str(bundle),
        "--mtls-server-cert-arn",
        SERVER_CERT,
        "--mtls-dns-name",
        DNS_NAME,
        "--mtls-client-secret-arn",
        SECRET,
        "--mtls-allowed-clients",
        clients,
        *extra,
    ]


# ----------------------------------------------------------------------------------------------- the command line
def test_parse_mtls_option_without_mtls_is_a_usage_error(trust_files: tuple[Path, Path]) -> None:
    # GIVEN a certificate option but no --mtls
    # WHEN the command line is parsed
    # THEN it is refused, naming the option and --mtls
    with pytest.raises(UsageError, match="--mtls-ca-bundle needs --mtls"):
        deploy_all.parse_settings(["--mtls-ca-bundle", str(trust_files[0]), CONSUMER, PROVIDER])


def test_parse_mtls_missing_values_are_named() -> None:
    # GIVEN --mtls alone
    # WHEN parsed
    # THEN every required option is named
    with pytest.raises(UsageError) as refused:
        deploy_all.parse_settings(["--mtls", CONSUMER, PROVIDER])
    assert str(refused.value) == (
        "--mtls needs --mtls-ca-bundle, --mtls-server-cert-arn, --mtls-dns-name, --mtls-client-secret-arn, "
        "--mtls-allowed-clients"
    )


def test_parse_mtls_ca_bundle_not_pem_is_refused(tmp_path: Path) -> None:
    # GIVEN a CA bundle file holding DER bytes, not PEM
    bundle = tmp_path / "ca.der"
    bundle.write_bytes(b"\x30\x82\x01\x00garbage")
    # WHEN parsed
    # THEN it is refused as not PEM
    with pytest.raises(UsageError, match=r"--mtls-ca-bundle .*ca.der: "):
        deploy_all.parse_settings([*mtls_args(bundle), CONSUMER, PROVIDER])


def test_parse_mtls_ca_bundle_with_broken_base64_is_refused(tmp_path: Path) -> None:
    # GIVEN a PEM-looking file whose body is not base64 of DER
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n")
    # WHEN parsed
    # THEN it is refused
    with pytest.raises(UsageError, match="CERTIFICATE block"):
        deploy_all.parse_settings([*mtls_args(bundle), CONSUMER, PROVIDER])


def test_parse_mtls_crl_that_is_a_certificate_is_refused(trust_files: tuple[Path, Path]) -> None:
    # GIVEN a CA certificate passed as the CRL
    bundle, _ = trust_files
    # WHEN parsed
    # THEN it is refused: no X509 CRL block
    with pytest.raises(UsageError, match="no '-----BEGIN X509 CRL-----' block"):
        deploy_all.parse_settings([*mtls_args(bundle, "--mtls-crl", str(bundle)), CONSUMER, PROVIDER])


def test_parse_mtls_missing_file_is_refused(tmp_path: Path) -> None:
    # GIVEN a CA bundle path that does not exist
    # WHEN parsed
    # THEN it is refused, naming the path
    with pytest.raises(UsageError, match="cannot read it"):
        deploy_all.parse_settings([*mtls_args(tmp_path / "missing.pem"), CONSUMER, PROVIDER])


@pytest.mark.parametrize(
    ("clients", "message"),
    [
        ("CN=orders,O=Example", "does not start with a tenant"),
        ("Orders:CN=orders", "does not start with a tenant"),
        ("orders:orders", "is not an RFC 4514 DN"),
        ("orders:CN=a;;billing:CN=b", "an empty entry"),
        ("orders:CN=a;billing:CN=a", "a subject is listed twice"),
        ('orders:CN="quoted"', "quotes in a subject are not supported"),
    ],
)
def test_parse_mtls_allowed_clients_that_do_not_parse_are_refused(
    trust_files: tuple[Path, Path], clients: str, message: str
) -> None:
    # GIVEN an allowed-clients string that does not parse
    # WHEN parsed
    # THEN it is refused with the reason
    with pytest.raises(UsageError, match=message):
        deploy_all.parse_settings([*mtls_args(trust_files[0], clients=clients), CONSUMER, PROVIDER])


def test_allowed_clients_escaped_semicolon_stays_inside_the_dn() -> None:
    # GIVEN a DN holding an escaped ';'
    # WHEN the allowed clients are parsed
    # THEN it splits only at the unescaped one
    assert mtls.allowed_clients(CLIENTS) == [
        ("orders", "CN=orders client,O=Example"),
        ("billing", "CN=billing,O=Example\\;Sub,C=DE"),
    ]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--mtls-server-cert-arn", "arn:aws:iam::420000000002:server-certificate/x"),
        ("--mtls-client-secret-arn", "private-api/client-cert"),
        ("--mtls-dns-name", "API.Example"),
    ],
)
def test_parse_mtls_invalid_arn_or_name_is_refused(trust_files: tuple[Path, Path], option: str, value: str) -> None:
    # GIVEN one invalid value
    argv = mtls_args(trust_files[0])
    argv[argv.index(option) + 1] = value
    # WHEN parsed
    # THEN it is refused, naming the option
    with pytest.raises(UsageError, match=f"invalid {option}"):
        deploy_all.parse_settings([*argv, CONSUMER, PROVIDER])


def test_provider_parameters_quote_a_value_with_spaces_for_sam() -> None:
    # GIVEN allowed clients whose DN holds a space
    settings = mtls.MtlsSettings(enabled=True, server_certificate_arn=SERVER_CERT, allowed_clients=CLIENTS)
    # WHEN the provider's parameters are built
    parameters = mtls.provider_parameters(settings, mtls.TrustKeys("bucket", "mtls/ca.pem"), "410000000001")
    # THEN that value is wrapped in double quotes (sam deploy splits at spaces otherwise), the CRL key is None
    assert f'pMtlsAllowedClients="{CLIENTS}"' in parameters
    assert "pMtlsRevocationListKey=None" in parameters
    assert "pMtlsAllowedPrincipals=arn:aws:iam::410000000001:root" in parameters


def test_parse_mtls_log_bucket_is_sent_to_the_provider_and_checked(trust_files: tuple[Path, Path]) -> None:
    # GIVEN --mtls-log-bucket with a bucket name, then with something that is not one
    settings = deploy_all.parse_settings(
        [*mtls_args(trust_files[0], "--mtls-log-bucket", "elb-logs.example"), CONSUMER, PROVIDER]
    )
    parameters = mtls.provider_parameters(settings.mtls, mtls.TrustKeys("bucket", "mtls/ca.pem"), "410000000001")
    # THEN the provider's stack gets it (and None without the option); a bad name is refused naming the option
    assert "pMtlsLogBucket=elb-logs.example" in parameters
    without = deploy_all.parse_settings([*mtls_args(trust_files[0]), CONSUMER, PROVIDER])
    assert "pMtlsLogBucket=None" in mtls.provider_parameters(without.mtls, mtls.TrustKeys("b", "k"), "410000000001")
    with pytest.raises(UsageError, match="invalid --mtls-log-bucket 'Logs_Bucket'"):
        deploy_all.parse_settings([*mtls_args(trust_files[0], "--mtls-log-bucket", "Logs_Bucket"), CONSUMER, PROVIDER])


@pytest.mark.parametrize(
    ("flags", "zone", "endpoint"),
    [((), "Yes", "Yes"), (("--mtls-no-hosted-zone",), "No", "Yes"), (("--mtls-no-secrets-endpoint",), "Yes", "No")],
)
def test_consumer_parameters_state_both_creation_switches(
    trust_files: tuple[Path, Path], flags: tuple[str, ...], zone: str, endpoint: str
) -> None:
    # GIVEN --mtls with or without the flags for a VPC that already has the zone or the Secrets Manager endpoint
    settings = deploy_all.parse_settings([*mtls_args(trust_files[0], *flags), CONSUMER, PROVIDER]).mtls
    # WHEN the consumer's parameters are built
    parameters = mtls.consumer_parameters(settings, "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0")
    # THEN both switches are stated, Yes unless the flag says the VPC has it already
    assert f"pCreateMtlsHostedZone={zone}" in parameters
    assert f"pCreateSecretsManagerEndpoint={endpoint}" in parameters


@pytest.mark.parametrize("flag", ["--mtls-no-hosted-zone", "--mtls-no-secrets-endpoint"])
def test_parse_mtls_consumer_flag_without_mtls_is_a_usage_error(flag: str) -> None:
    # GIVEN a consumer switch but no --mtls THEN it is refused, naming both
    with pytest.raises(UsageError, match=f"{flag} needs --mtls"):
        deploy_all.parse_settings([flag, CONSUMER, PROVIDER])


def test_usage_lists_every_mtls_option() -> None:
    # GIVEN the help text
    text = deploy_all.usage()
    # WHEN read
    # THEN every option is documented
    for name in (*mtls.VALUES, *mtls.FLAGS):
        assert f"  {name} " in text


# ------------------------------------------------------------------------------------------- runs against moto
@dataclass
class World:
    """What step 9 reads, made in moto as the templates would make it."""

    service_id: str
    service_name: str
    api_target_group: str
    consumer_endpoint: str
    payloads: list[bytes] = field(default_factory=list)
    response: dict[str, Any] = field(default_factory=lambda: dict(OK))


def _provider_side(kit: Kit) -> tuple[str, str, str]:
    ec2, elbv2 = kit.cloud.client("ec2", PROVIDER), kit.cloud.client("elbv2", PROVIDER)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{n}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"][
            "SubnetId"
        ]
        for n, zone in ((1, "a"), (2, "b"))
    ]
    alb = elbv2.create_load_balancer(Name="mtls-alb", Subnets=subnets, Scheme="internal", Type="application")
    nlb = elbv2.create_load_balancer(Name="mtls-nlb", Subnets=subnets, Scheme="internal", Type="network")
    alb_arn, nlb_arn = alb["LoadBalancers"][0]["LoadBalancerArn"], nlb["LoadBalancers"][0]["LoadBalancerArn"]
    api_group = elbv2.create_target_group(Name="mtls-api", Protocol="HTTPS", Port=443, VpcId=vpc, TargetType="ip")
    alb_group = elbv2.create_target_group(Name="mtls-alb", Protocol="TCP", Port=443, VpcId=vpc, TargetType="alb")
    api_arn, alb_group_arn = (
        api_group["TargetGroups"][0]["TargetGroupArn"],
        alb_group["TargetGroups"][0]["TargetGroupArn"],
    )
    forward = {"Type": "forward"}
    elbv2.create_listener(
        LoadBalancerArn=nlb_arn, Protocol="TCP", Port=443, DefaultActions=[{**forward, "TargetGroupArn": alb_group_arn}]
    )
    elbv2.create_listener(
        LoadBalancerArn=alb_arn, Protocol="HTTP", Port=443, DefaultActions=[{**forward, "TargetGroupArn": api_arn}]
    )
    elbv2.register_targets(TargetGroupArn=alb_group_arn, Targets=[{"Id": alb_arn, "Port": 443}])
    elbv2.register_targets(
        TargetGroupArn=api_arn, Targets=[{"Id": "10.20.1.10", "Port": 443}, {"Id": "10.20.2.10", "Port": 443}]
    )
    service = ec2.create_vpc_endpoint_service_configuration(NetworkLoadBalancerArns=[nlb_arn], AcceptanceRequired=False)
    return service["ServiceConfiguration"]["ServiceId"], service["ServiceConfiguration"]["ServiceName"], api_arn


@pytest.fixture
def world(deploy_kit: Kit, monkeypatch: pytest.MonkeyPatch) -> World:
    """The provider's load balancers and endpoint service, the consumer's endpoint to it and certificate client."""
    service_id, service_name, api_arn = _provider_side(deploy_kit)
    ec2 = deploy_kit.cloud.client("ec2", CONSUMER)
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.10.1.0/24")["Subnet"]["SubnetId"]
    endpoint = ec2.create_vpc_endpoint(
        VpcId=vpc, ServiceName=service_name, VpcEndpointType="Interface", SubnetIds=[subnet]
    )["VpcEndpoint"]["VpcEndpointId"]
    built = World(service_id, service_name, api_arn, endpoint)
    # moto runs no function code without Docker: the certificate client answers as the test says.
    monkeypatch.setitem(default_user_config["lambda"], "use_docker", False)

    def answer(backend: LambdaSimpleBackend, name: str, qualifier: str | None, body: Any, *_: Any) -> bytes:
        backend.get_function(name, qualifier)
        built.payloads.append(body if isinstance(body, bytes) else str(body).encode())
        return json.dumps(built.response).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", answer)
    role = deploy_kit.cloud.client("iam", CONSUMER).create_role(RoleName="cert", AssumeRolePolicyDocument="{}")
    deploy_kit.cloud.client("lambda", CONSUMER).create_function(
        FunctionName=CERTIFICATE_FUNCTION,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="client.certificate.handler",
        Code={"ZipFile": b"PK"},
        Timeout=30,
    )
    outputs = default_outputs()
    outputs[BACKEND_STACK]["MtlsEndpointServiceId"] = service_id
    outputs[CLIENT_STACK]["MtlsServiceEndpointID"] = endpoint
    outputs[CLIENT_STACK]["PythonCertificateClient"] = CERTIFICATE_FUNCTION
    deploy_kit.set_outputs(outputs)
    return built


def _run(kit: Kit, moto_extras: Any, *args: str) -> Any:
    return capture(
        kit, moto_extras, "deploy-all.sh", *args, CONSUMER, PROVIDER, env={"DEPLOY_MTLS_HEALTH_WAIT_SECONDS": "0"}
    )


def test_deploy_all_mtls_uploads_trust_files_wires_parameters_and_verifies(
    deploy_kit: Kit, world: World, moto_extras: Any, trust_files: tuple[Path, Path]
) -> None:
    # GIVEN a CA bundle and CRL, and stacks whose outputs name the endpoint service and the certificate client
    bundle, crl = trust_files
    # WHEN deploy-all.sh --mtls runs
    run = _run(deploy_kit, moto_extras, *mtls_args(bundle, "--mtls-crl", str(crl)))
    # THEN it passes all nine steps
    out = run.result.stdout
    assert run.result.returncode == 0, out + run.result.stderr
    assert [line.split("]")[0] for line in out.splitlines() if line.startswith("[")] == [
        f"[{n}/9" for n in range(1, 10)
    ]
    # AND the trust files are in the provider's bucket under mtls/, named by their content
    keys = [key for key in run.buckets[run.bucket(PROVIDER)]["keys"] if key.startswith("mtls/")]
    assert sorted(keys) == sorted([mtls.trust_file_key(bundle, "ca-bundle"), mtls.trust_file_key(crl, "crl")])
    s3 = deploy_kit.cloud.client("s3", PROVIDER)
    assert s3.get_object(Bucket=run.bucket(PROVIDER), Key=mtls.trust_file_key(bundle, "ca-bundle"))["Body"].read() == (
        bundle.read_bytes()
    )
    # AND the provider's first deploy switches the path on with those keys and the consumer account as principal
    provider, consumer = run.deploys()[0], run.deploys()[1]
    assert (stack_of(provider), stack_of(consumer)) == (BACKEND_STACK, CLIENT_STACK)
    sent = overrides(provider)
    assert {key: value for key, value in sent.items() if key.startswith(("pEnableMtls", "pMtls"))} == {
        "pEnableMtls": "Yes",
        "pMtlsTrustStoreBucket": run.bucket(PROVIDER),
        "pMtlsCABundleKey": mtls.trust_file_key(bundle, "ca-bundle"),
        "pMtlsRevocationListKey": mtls.trust_file_key(crl, "crl"),
        "pMtlsServerCertificateArn": SERVER_CERT,
        "pMtlsAllowedPrincipals": f"arn:aws:iam::{run.accounts[CONSUMER]}:root",
        "pMtlsAcceptanceRequired": "No",
        "pMtlsAllowedClients": f'"{CLIENTS}"',
        "pMtlsLogBucket": "None",
    }
    # AND CloudFormation received the allowed clients unquoted (as sam deploy reads the override)
    assert provider["parameters"]["pMtlsAllowedClients"] == CLIENTS
    # AND the consumer got the service name as EC2 reports it, the DNS name and the secret
    assert {key: value for key, value in overrides(consumer).items() if "Mtls" in key} == {
        "pEnableMtlsClient": "Yes",
        "pMtlsServiceName": world.service_name,
        "pMtlsServiceDNSName": DNS_NAME,
        "pMtlsCertificateSecretArn": SECRET,
        "pCreateMtlsHostedZone": "Yes",
    }
    # AND the Secrets Manager endpoint switch is stated too (sam deploy would keep a previous run's value)
    assert overrides(consumer)["pCreateSecretsManagerEndpoint"] == "Yes"
    # AND step 9 saw all three targets healthy and the certificate client got 200 for GET /
    assert "3 load balancer target(s) healthy" in out
    assert "SUCCESS PythonCertificateClient" in out
    assert world.payloads == [deploy_all.CERTIFICATE_PAYLOAD]


def test_deploy_all_mtls_acceptance_pending_prints_the_accept_command_and_does_not_invoke(
    deploy_kit: Kit, world: World, moto_extras: Any, trust_files: tuple[Path, Path]
) -> None:
    # GIVEN an endpoint service requiring acceptance, whose consumer connection awaits it
    ec2_backends[deploy_kit.cloud.accounts[CONSUMER]][REGION].vpc_end_points[
        world.consumer_endpoint
    ].state = "pendingAcceptance"
    # WHEN deploy-all.sh --mtls --mtls-acceptance-required runs
    run = _run(deploy_kit, moto_extras, *mtls_args(trust_files[0], "--mtls-acceptance-required"))
    # THEN it succeeds, says the path is not verified, prints (does not run) the accept command, and invokes nothing
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    assert overrides(run.deploys()[0])["pMtlsAcceptanceRequired"] == "Yes"
    assert overrides(run.deploys()[0])["pMtlsRevocationListKey"] == "None"
    assert (
        f"aws ec2 accept-vpc-endpoint-connections --service-id {world.service_id} --vpc-endpoint-ids "
        f"{world.consumer_endpoint} --profile {PROVIDER} --region {REGION}"
    ) in run.result.stderr
    assert "deployed but not verified" in run.result.stderr
    assert not run.aws("ec2", "AcceptVpcEndpointConnections")
    assert world.payloads == []


def test_deploy_all_mtls_empty_api_target_group_fails_step_9_naming_it(
    deploy_kit: Kit, world: World, moto_extras: Any, trust_files: tuple[Path, Path]
) -> None:
    # GIVEN the API target group without targets (the endpoint-targets custom resource registered none)
    elbv2 = deploy_kit.cloud.client("elbv2", PROVIDER)
    elbv2.deregister_targets(
        TargetGroupArn=world.api_target_group,
        Targets=[{"Id": "10.20.1.10", "Port": 443}, {"Id": "10.20.2.10", "Port": 443}],
    )
    # WHEN deploy-all.sh --mtls runs
    run = _run(deploy_kit, moto_extras, *mtls_args(trust_files[0]))
    # THEN step 9 fails naming that target group, and the certificate client was not invoked
    assert run.result.returncode == 1
    assert f"in {world.api_target_group}: {mtls.NO_TARGETS} no target registered" in run.result.stderr
    assert "failed during step [9/9]" in run.result.stderr
    assert world.payloads == []


def test_deploy_all_mtls_certificate_client_refused_fails_step_9(
    deploy_kit: Kit, world: World, moto_extras: Any, trust_files: tuple[Path, Path]
) -> None:
    # GIVEN a certificate client whose subject the provider does not allow
    world.response = {"statusCode": 403, "body": '{"message": "Certificate subject not allowed: CN=x"}'}
    # WHEN deploy-all.sh --mtls runs
    run = _run(deploy_kit, moto_extras, *mtls_args(trust_files[0]))
    # THEN step 9 fails after the invocation, pointing at diagnose
    assert run.result.returncode == 1
    assert "FAILED PythonCertificateClient" in run.result.stdout
    assert f"./diagnose.sh {CONSUMER} {PROVIDER}" in run.result.stderr
