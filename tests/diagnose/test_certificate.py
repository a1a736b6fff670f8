"""diagnose's certificate (mTLS) path checks (diagnose/certificate.py) against moto: the consumer's endpoint
connection, the consumer allowed on the endpoint service, the targets behind it, the client's secret, and the
certificate client's failure kinds. Both sides live in moto's default account here; the consumer account the checks
compare with is named explicitly."""

from __future__ import annotations

import io
import json
import logging
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import trustme
from moto import mock_aws
from moto.ec2.models import ec2_backends

from client.client_cert import CertificateError
from client.config import load_config
from client.diagnosis import certificate_failure, forbidden_hint, transport_failure
from client.invoke import Invoker
from client.invoke import logger as client_logger
from client.transport import TransportError, TransportFailure, new_pool
from diagnose import certificate
from diagnose.results import Status
from emulation.demo.diagnose_mtls import MotoGaps
from tests.https_server import serving
from tests.unit.client.support import Reply, ScriptedHTTPSServer

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
    session: Any
    gaps: MotoGaps
    listener: str
    trust_store: str

    def read(
        self, *, with_provider: bool = True, secret_arn: str | None = None, **more: Any
    ) -> certificate.CertificatePath:
        def clients(service: str) -> Any:
            return self.session.client(service, region_name=REGION)

        return certificate.read_certificate_path(
            clients,
            clients if with_provider else None,
            consumer_outputs=self.consumer_outputs,
            provider_outputs=self.provider_outputs,
            consumer_account=CONSUMER_ACCOUNT,
            region=REGION,
            provider_profile="provider",
            secret_arn=self.secret_arn if secret_arn is None else secret_arn,
            **more,
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
        # moto keeps no trust stores nor a listener's MutualAuthentication: the demo world's stand-in answers them.
        session, gaps = boto3.Session(region_name=REGION), MotoGaps()
        gaps.install(session)
        ec2, elbv2 = session.client("ec2"), session.client("elbv2")
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
        alb = elbv2.create_load_balancer(Name="alb", Subnets=[subnet], Scheme="internal", Type="application")
        nlb = elbv2.create_load_balancer(Name="nlb", Subnets=[subnet], Scheme="internal", Type="network")
        alb_arn, nlb_arn = alb["LoadBalancers"][0]["LoadBalancerArn"], nlb["LoadBalancers"][0]["LoadBalancerArn"]
        api = elbv2.create_target_group(Name="api", Protocol="HTTPS", Port=443, VpcId=vpc, TargetType="ip")
        to_alb = elbv2.create_target_group(Name="to-alb", Protocol="TCP", Port=443, VpcId=vpc, TargetType="alb")
        api_arn, to_alb_arn = api["TargetGroups"][0]["TargetGroupArn"], to_alb["TargetGroups"][0]["TargetGroupArn"]
        elbv2.create_listener(
            LoadBalancerArn=nlb_arn,
            Protocol="TCP",
            Port=443,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": to_alb_arn}],
        )
        trust_store = gaps.add_trust_store(MOTO_ACCOUNT, REGION, "trust", revoked_entries=1)
        mutual = {"Mode": "verify", "TrustStoreArn": trust_store}
        server = session.client("acm").request_certificate(DomainName="api.example.com")["CertificateArn"]
        listener = elbv2.create_listener(
            LoadBalancerArn=alb_arn,
            Protocol="HTTPS",
            Port=443,
            Certificates=[{"CertificateArn": server}],
            MutualAuthentication=mutual,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": api_arn}],
        )["Listeners"][0]["ListenerArn"]
        gaps.listeners[listener] = mutual
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
        secret = session.client("secretsmanager").create_secret(Name="orders-cert", SecretString="{}")["ARN"]
        role = _role(session.client("iam"), secret)
        yield Path(
            consumer_outputs={"MtlsServiceEndpointID": endpoint, "CertificateClientRole": role},
            provider_outputs={"MtlsEndpointServiceId": service_id},
            secret_arn=secret,
            api_group=api_arn,
            session=session,
            gaps=gaps,
            listener=listener,
            trust_store=trust_store,
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


def test_certificate_working_path_reports_the_trust_store_it_verifies_against(world: Path) -> None:
    # GIVEN the working path (one CA in the bundle, one revoked entry)
    # WHEN checked
    status, detail, _ = run_all(world.read())["mtls-trust-store"]
    # THEN the listener's trust store is named with its counts
    assert (status, detail) == (
        Status.OK,
        f"client certificates verified against ACTIVE trust store {world.trust_store} (1 CA certificate, 1 revoked "
        "entry)",
    )


@pytest.mark.parametrize("mode", ["off", "passthrough"])
def test_certificate_listener_not_verifying_client_certificates_fails(world: Path, mode: str) -> None:
    # GIVEN the HTTPS listener's mutual authentication switched away from verify
    world.gaps.listeners[world.listener] = {"Mode": mode}
    # WHEN checked
    status, detail, fix = run_all(world.read())["mtls-trust-store"]
    # THEN it fails naming the mode, and the fix is the redeploy that sets verify
    assert (status, detail) == (
        Status.FAIL,
        f"listener {world.listener} checks no client certificate (mutual authentication {mode})",
    )
    assert fix is not None
    assert "./deploy-all.sh --mtls" in fix


def test_certificate_trust_store_being_created_is_unknown_and_deleted_one_fails(world: Path) -> None:
    # GIVEN the trust store still being created
    world.gaps.trust_stores[world.trust_store]["Status"] = "CREATING"
    # WHEN checked THEN it cannot be judged yet
    assert run_all(world.read())["mtls-trust-store"][0] is Status.UNKNOWN
    # GIVEN the trust store deleted while the listener still names it (DescribeTrustStores: TrustStoreNotFound)
    del world.gaps.trust_stores[world.trust_store]
    # WHEN checked THEN it fails as missing
    status, detail, _ = run_all(world.read())["mtls-trust-store"]
    assert (status, detail) == (
        Status.FAIL,
        f"listener {world.listener} names trust store {world.trust_store}, which is missing",
    )


def test_certificate_provider_stack_without_the_service_fails_the_provider_checks(world: Path) -> None:
    # GIVEN a provider stack that was read but deployed without pEnableMtls (no MtlsEndpointServiceId output)
    world.provider_outputs.clear()
    # WHEN checked
    results = run_all(world.read())
    # THEN each provider-side check fails saying the provider needs the certificate path
    for check_id in ("mtls-principal", "mtls-targets", "mtls-trust-store"):
        status, detail, fix = results[check_id]
        assert status is Status.FAIL, check_id
        assert "no MtlsEndpointServiceId output" in detail
        assert fix is not None
        assert "pEnableMtls=Yes" in fix


# The certificate client's own explanations (api-client/src/client/diagnosis.py), as its answer and its log carry
# them: diagnose must recognise each kind from the client's real texts, not from copies.
def _refused() -> dict[str, object]:
    error = TransportError(TransportFailure.TLS, "[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca", 1)
    return transport_failure(error, custom_endpoint=True, client_certificate=True).result()


def _forbidden(message: str) -> dict[str, object]:
    body = json.dumps({"message": message})
    return {"statusCode": 403, "body": body, "hint": forbidden_hint(body, {}, certificate_path=True)}


CLIENT_TEXTS: dict[str, Callable[[], dict[str, object]]] = {
    "tls-refused": _refused,
    "subject-not-allowed": lambda: _forbidden("Certificate subject not allowed: CN=x,O=Example"),
    "explicit-deny": lambda: _forbidden(
        "User: anonymous is not authorized to perform: execute-api:Invoke on resource: x with an explicit deny"
    ),
    "path-off": lambda: _forbidden("The certificate path is not enabled"),
    "certificate-unavailable": lambda: certificate_failure(CertificateError("access-denied", "AccessDenied")).result(),
}


@pytest.mark.parametrize("kind", sorted(CLIENT_TEXTS))
def test_certificate_client_answers_are_classified_from_the_clients_own_texts(kind: str) -> None:
    # GIVEN the answer the certificate client itself builds for this failure
    answer = CLIENT_TEXTS[kind]()
    # WHEN classified from the answer, and from the hint alone (what its log records, without the body)
    from_log = {"statusCode": answer["statusCode"], "error": answer.get("error", ""), "hint": answer["hint"]}
    # THEN both name the kind
    assert certificate.classify_client_error(answer) == kind
    assert certificate.classify_client_error(from_log) == kind


def _log_line(message: str, **fields: object) -> str:
    """One record as the client's Powertools logger writes it (level, message, then the `extra` fields)."""
    return json.dumps({"level": "WARNING", "location": "invoke:178", "message": message, **fields})


def _write_client_log(world: Path, *lines: str) -> str:
    logs, group = world.session.client("logs"), "/aws/lambda/certificate-client"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(datetime.now(UTC).timestamp() * 1000)
    events = [{"timestamp": now - 1000 * (len(lines) - i), "message": line} for i, line in enumerate(lines)]
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)
    return group


def test_certificate_client_result_explains_its_latest_logged_failure(world: Path) -> None:
    # GIVEN the client's log: a success, then a refused certificate (what invoke.py logs for each), then Lambda's END
    refused = _refused()
    group = _write_client_log(
        world,
        _log_line("API call succeeded", method="GET", status=200, attempts=1),
        _log_line("API unreachable", error=refused["error"], hint=refused["hint"]),
        "END RequestId: 0f0e",
    )
    # WHEN the path is read with the client's log group
    path = world.read(client_log_group=group, since=datetime.now(UTC) - timedelta(minutes=5))
    outcome = certificate.client_result(path)
    # THEN the latest call is explained as a TLS refusal with the trust-store fix
    assert outcome.status is Status.FAIL
    assert "the certificate client failed: tls-refused" in outcome.detail
    assert outcome.fix is not None
    assert "the trust store's bundle" in outcome.fix


def test_certificate_client_result_success_passes_and_a_failure_older_than_the_function_is_a_note(
    world: Path,
) -> None:
    # GIVEN a logged 403 (subject not allowed)
    failed = _forbidden("Certificate subject not allowed: CN=x")
    group = _write_client_log(world, _log_line("API call failed", status=403, hint=failed["hint"]))
    since = datetime.now(UTC) - timedelta(minutes=5)
    # WHEN the function changed after that call THEN it is only a note (invoke again)
    stale = certificate.client_result(
        world.read(client_log_group=group, since=since, client_modified=datetime.now(UTC))
    )
    assert stale.status is Status.INFO
    assert "predates the function's last change" in stale.detail
    # WHEN it did not THEN the subject kind fails with the allow-list fix
    current = certificate.client_result(world.read(client_log_group=group, since=since))
    assert current.status is Status.FAIL
    assert current.fix is not None
    assert "pMtlsAllowedClients" in current.fix


def test_certificate_client_result_without_calls_is_a_note_and_unreadable_log_unknown(world: Path) -> None:
    # GIVEN a log group with no client calls, one that does not exist (a function never invoked), and a log the
    # consumer profile may not read
    group = _write_client_log(world, "START RequestId: 0f0e")
    since = datetime.now(UTC) - timedelta(minutes=5)
    denied = world.read(client_log_group=group, since=since)
    denied.client_events = None
    denied.errors["client-log"] = "AccessDeniedException: not authorized to perform: logs:FilterLogEvents"
    # WHEN checked
    empty = certificate.client_result(world.read(client_log_group=group, since=since))
    missing = certificate.client_result(world.read(client_log_group="/aws/lambda/gone", since=since))
    unreadable = certificate.client_result(denied)
    # THEN nothing to judge twice, and not checked (never a failure)
    assert empty.status is Status.INFO
    assert (missing.status, missing.detail) == (
        Status.INFO,
        "no log group /aws/lambda/gone: the certificate client has not run yet (./invoke.sh runs it)",
    )
    assert unreadable.status is Status.UNKNOWN
    assert unreadable.needs is not None
    assert "logs:FilterLogEvents" in unreadable.needs


@pytest.mark.parametrize(
    ("states", "fix_mentions", "fix_lacks"),
    [
        (("no-targets",), "registered nothing", "security groups"),
        (("unhealthy",), "security groups", "registered nothing"),
        (("no-targets", "unhealthy"), "for the others, check the security groups", None),
    ],
)
def test_certificate_target_fix_depends_on_empty_or_unhealthy(
    states: tuple[str, ...], fix_mentions: str, fix_lacks: str | None
) -> None:
    # GIVEN targets behind the service in these states (besides a healthy ALB)
    targets = (
        certificate.Target("tg/to-alb", "alb", "healthy"),
        *(certificate.Target(f"tg/{i}", "10.0.1.10", state, "why") for i, state in enumerate(states)),
    )
    path = certificate.CertificatePath(REGION, CONSUMER_ACCOUNT, "provider", service_id="vpce-svc-1", targets=targets)
    # WHEN checked
    outcome = certificate.target_health(path)
    # THEN it fails with the fix for what is wrong
    assert outcome.status is Status.FAIL
    assert outcome.fix is not None
    assert fix_mentions in outcome.fix
    if fix_lacks:
        assert fix_lacks not in outcome.fix


# The certificate client's real log, end to end: its own Invoker calls a local TLS server (one refusing a handshake
# without a client certificate as the ALB in verify mode does, one answering the backend's 403), its Powertools logger
# writes what Lambda would ship to CloudWatch, and diagnose reads those lines back from the log group in moto.
@pytest.fixture(scope="module")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def ca_bundle(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


def _server_context(tls_ca: trustme.CA, *, require_client_certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    if require_client_certificate:
        context.maximum_version = ssl.TLSVersion.TLSv1_2  # the refusal is an alert inside the handshake
        context.verify_mode = ssl.CERT_REQUIRED
        trustme.CA().configure_trust(context)  # a CA the client's (absent) certificate is not from
    return context


def _real_client_log(server: ScriptedHTTPSServer, ca_bundle: str) -> list[str]:
    """The JSON lines the certificate client's logger writes for one call (no certificate, as if none loaded)."""
    env = {"API_HOST": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", "API_PREFIX": "/Prod/mtls"}
    config = load_config({**env, "API_ENDPOINT": server.url, "API_CA_BUNDLE": ca_bundle, "AWS_REGION": REGION})
    # The logger's own formatter on a second handler: the lines its stdout handler gives Lambda to ship.
    shipped = io.StringIO()
    handler = logging.StreamHandler(shipped)
    handler.setFormatter(client_logger.registered_formatter)
    underlying = logging.getLogger(client_logger.name)  # Powertools logs through this standard logger
    underlying.addHandler(handler)
    try:
        Invoker(config, None, pool=new_pool(config.endpoint, ca_bundle, client_cert=None)).invoke({"path": "/"})
    finally:
        underlying.removeHandler(handler)
    return shipped.getvalue().splitlines()


@pytest.mark.parametrize(
    ("refuse", "reply", "kind"),
    [
        (True, None, "tls-refused"),
        (
            False,
            Reply(status=403, body=json.dumps({"message": "Certificate subject not allowed: CN=x"})),
            "subject-not-allowed",
        ),
    ],
    ids=["tls-refused", "subject-not-allowed"],
)
def test_certificate_client_result_reads_the_real_clients_log(
    world: Path,
    tls_ca: trustme.CA,
    ca_bundle: str,
    refuse: bool,
    reply: Reply | None,
    kind: str,
) -> None:
    # GIVEN the lines the real certificate client logged for a failed call, shipped to its log group
    server = ScriptedHTTPSServer(_server_context(tls_ca, require_client_certificate=refuse))
    if reply is not None:
        server.script = [reply]
    with serving(server):
        lines = _real_client_log(server, ca_bundle)
    assert lines, "the client logged nothing"
    group = _write_client_log(world, *lines)
    # WHEN diagnose reads the path with that log group
    outcome = certificate.client_result(
        world.read(client_log_group=group, since=datetime.now(UTC) - timedelta(minutes=5))
    )
    # THEN it names the failure kind the client met
    assert outcome.status is Status.FAIL
    assert f"the certificate client failed: {kind}" in outcome.detail, outcome.detail
