"""deploy-all.sh --domain (issue 17, docs/private-domain.md): the options and their errors, the stacks' parameters, the
ACM preflight against moto's ACM, and the RAM share / access association steps.

moto 5.2.5 answers 404 "Not yet implemented" to RAM's GetResourceShareInvitations and ListResources and to API
Gateway's GetDomainNameAccessAssociations, so those steps are tested in-process with
botocore's Stubber, which checks every request and answer against the API model; the runs of deploy-all.sh against
moto and the recorded sam cover the preflight, the parameters each stack gets and the order of the steps.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.models import default_user_config

from tests.workflow.cloud_faults import RequestLog, select
from tests.workflow.deployments import (
    BACKEND_STACK,
    CLIENT_STACK,
    capture,
    default_outputs,
    overrides,
    seed_stack,
    stack_of,
)
from tests.workflow.harness import CONSUMER, PROVIDER, REGION, Cloud, Kit
from workflow import aws, deploy_all, destroy_all, private_domain
from workflow.output import Fatal, Output, UsageError

NAME = "api.example.com"
CERTIFICATE = f"arn:aws:acm:{REGION}:222222222222:certificate/0a1b2c3d-0000-4000-8000-000000000002"
DOMAIN_ARN = f"arn:aws:apigateway:{REGION}:222222222222:/domainnames/{NAME}+abcd1234"
SHARE_ARN = f"arn:aws:ram:{REGION}:222222222222:resource-share/7ab63972-b505-4e2a-9d5f-0e3a2c5d1f10"
INVITATION_ARN = f"arn:aws:ram:{REGION}:222222222222:resource-share-invitation/1a2b3c4d-0000-4000-8000-000000000003"
ENDPOINT = "vpce-0123456789abcdef0"
DIRECT_FUNCTION = "private-api-client-DirectAuthClient-AAAA"
ORGANIZATION = "arn:aws:organizations::123456789012:organization/o-abcdefghij"


def domain_args(*extra: str, certificate: str = CERTIFICATE) -> list[str]:
    return ["--domain", NAME, "--certificate-arn", certificate, *extra]


def stubbed(service: str) -> tuple[Any, Stubber]:
    """A client of the service whose answers the test queues (no credentials or network used)."""
    made = botocore.session.get_session().create_client(
        service, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    return made, Stubber(made)


def invitation(status: str) -> dict[str, Any]:
    return {
        "resourceShareInvitationArn": INVITATION_ARN,
        "resourceShareArn": SHARE_ARN,
        "senderAccountId": "222222222222",
        "receiverAccountId": "111111111111",
        "status": status,
    }


def association(arn: str = DOMAIN_ARN, source: str = ENDPOINT) -> dict[str, str]:
    return {
        "domainNameAccessAssociationArn": f"arn:aws:apigateway:{REGION}:111111111111:/domainnameaccessassociations/"
        f"domainname/{NAME}+abcd1234/vpcesource/{source}",
        "domainNameArn": arn,
        "accessAssociationSourceType": "VPCE",
        "accessAssociationSource": source,
    }


def quiet() -> tuple[Output, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return Output(stdout, stderr, env={"NO_COLOR": "1"}), stdout, stderr


# ----------------------------------------------------------------------------------------------- the command line
@pytest.mark.parametrize("option", ["--certificate-arn", "--base-path", "--share-principals"])
def test_parse_domain_option_without_domain_is_a_usage_error(option: str) -> None:
    # GIVEN a domain option but no --domain WHEN parsed THEN it is refused, naming both
    with pytest.raises(UsageError, match=f"{option} needs --domain"):
        deploy_all.parse_settings([option, "x", CONSUMER, PROVIDER])


def test_parse_domain_no_hosted_zone_without_domain_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--domain-no-hosted-zone needs --domain"):
        deploy_all.parse_settings(["--domain-no-hosted-zone", CONSUMER, PROVIDER])


def test_parse_domain_without_certificate_is_refused() -> None:
    # GIVEN --domain alone WHEN parsed THEN the certificate is asked for
    with pytest.raises(UsageError, match="--domain needs --certificate-arn"):
        deploy_all.parse_settings(["--domain", NAME, CONSUMER, PROVIDER])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--domain", "*.example.com", "--certificate-arn", CERTIFICATE], "invalid --domain"),
        (["--domain", "API.example.com", "--certificate-arn", CERTIFICATE], "invalid --domain"),
        (domain_args(certificate="arn:aws:iam::222222222222:server-certificate/x"), "invalid --certificate-arn"),
        (domain_args("--base-path", "v1/orders"), "no multi-level base path"),
        (domain_args("--share-principals", "1234"), "invalid --share-principals entry '1234'"),
        (domain_args("--share-principals", f"111111111111, {ORGANIZATION}"), "entry ' arn:"),
    ],
)
def test_parse_domain_invalid_values_are_refused(argv: list[str], message: str) -> None:
    # GIVEN one invalid value WHEN parsed THEN it is refused with the reason
    with pytest.raises(UsageError, match=message):
        deploy_all.parse_settings([*argv, CONSUMER, PROVIDER])


def test_parse_domain_defaults_and_explicit_values() -> None:
    # GIVEN --domain with only the certificate
    default = deploy_all.parse_settings([*domain_args(), CONSUMER, PROVIDER]).domain
    # THEN base path v1, share with the consumer (decided later), a hosted zone
    assert default == private_domain.DomainSettings(True, NAME, CERTIFICATE, "v1", "", True)
    assert default.url() == f"https://{NAME}/v1"
    # GIVEN every option WHEN parsed THEN each is kept
    given = deploy_all.parse_settings(
        [
            *domain_args("--base-path", "None", "--share-principals", f"333333333333,{ORGANIZATION}"),
            "--domain-no-hosted-zone",
            CONSUMER,
            PROVIDER,
        ]
    ).domain
    assert (given.base_path, given.share_principals, given.hosted_zone) == (
        "None",
        f"333333333333,{ORGANIZATION}",
        False,
    )
    assert given.url() == f"https://{NAME}"


def test_usage_lists_every_domain_option_and_setting() -> None:
    text = deploy_all.usage()
    for name in (*private_domain.VALUES, *private_domain.FLAGS):
        assert f"  {name} " in text
    assert "DEPLOY_DOMAIN_WAIT_SECONDS (1200)" in text
    assert "DEPLOY_SHARE_WAIT_SECONDS (300)" in text


# ------------------------------------------------------------------------------------------------ the parameters
def test_parameters_without_domain_state_the_path_off() -> None:
    # GIVEN no --domain WHEN the parameters are built
    # THEN the provider says No and the consumer None for name and ARN: sam deploy would keep a previous run's values
    off = private_domain.DomainSettings()
    assert private_domain.provider_parameters(off, "111111111111") == ["pEnablePrivateDomain=No"]
    assert private_domain.consumer_parameters(off, "") == ["pPrivateDomainName=None", "pPrivateDomainNameArn=None"]


def test_parameters_with_domain_name_every_value() -> None:
    on = private_domain.DomainSettings(True, NAME, CERTIFICATE, "None", "", False)
    assert private_domain.provider_parameters(on, "111111111111") == [
        "pEnablePrivateDomain=Yes",
        f"pPrivateDomainName={NAME}",
        f"pPrivateDomainCertificateArn={CERTIFICATE}",
        "pPrivateDomainBasePath=None",
        "pPrivateDomainSharePrincipals=111111111111",
    ]
    assert private_domain.consumer_parameters(on, DOMAIN_ARN) == [
        f"pPrivateDomainName={NAME}",
        f"pPrivateDomainNameArn={DOMAIN_ARN}",
        "pPrivateDomainBasePath=None",
        "pCreatePrivateDomainHostedZone=No",
    ]
    shared = private_domain.DomainSettings(True, NAME, CERTIFICATE, "v1", ORGANIZATION)
    assert f"pPrivateDomainSharePrincipals={ORGANIZATION}" in private_domain.provider_parameters(shared, "1")
    # AND with both sides in one account the default is no share (the account owns the domain)
    assert "pPrivateDomainSharePrincipals=None" in private_domain.provider_parameters(on, "1", "1")


# ---------------------------------------------------------------------------------------------- the certificate
@pytest.mark.parametrize(
    ("certificate_name", "covered"),
    [
        (NAME, True),
        ("*.example.com", True),
        ("*.EXAMPLE.com", True),
        ("example.com", False),
        ("*.com", False),
        ("*.api.example.com", False),
        ("other.example.com", False),
    ],
)
def test_covers_exact_or_one_level_wildcard(certificate_name: str, covered: bool) -> None:
    assert private_domain.covers(certificate_name, NAME) is covered
    assert private_domain.covers("*.example.com", "a.b.example.com") is False


def test_certificate_problems_name_each_reason() -> None:
    # GIVEN a pending RSA 4096 certificate for another name
    detail = {"Status": "PENDING_VALIDATION", "DomainName": "www.example.org", "KeyAlgorithm": "RSA_4096"}
    # WHEN checked THEN all three reasons are given
    assert private_domain.certificate_problems(detail, NAME) == [
        "its status is PENDING_VALIDATION, not ISSUED",
        f"it does not cover {NAME} (it names www.example.org)",
        "its key is RSA_4096; a private custom domain takes RSA_2048, EC_prime256v1, EC_secp384r1",
    ]
    # AND a SAN wildcard covering it, issued, EC P-384 has none
    fine = {"Status": "ISSUED", "DomainName": "example.com", "SubjectAlternativeNames": ["*.example.com"]}
    assert private_domain.certificate_problems({**fine, "KeyAlgorithm": "EC_secp384r1"}, NAME) == []


def _certificate_pem(name: str, key: Any) -> tuple[bytes, bytes]:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return certificate.public_bytes(serialization.Encoding.PEM), private


def import_certificate(cloud: Cloud, name: str, key: Any) -> str:
    """A certificate imported into the provider's ACM (moto marks it ISSUED, IMPORTED, with the key's algorithm)."""
    body, private = _certificate_pem(name, key)
    acm = cloud.client("acm", PROVIDER)
    return str(acm.import_certificate(Certificate=body, PrivateKey=private)["CertificateArn"])


def test_check_certificate_against_moto_acm(cloud: Cloud) -> None:
    # GIVEN certificates in the provider's ACM: one for the name (RSA 2048), one for another name, one RSA 4096
    good = import_certificate(cloud, NAME, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    other = import_certificate(cloud, "other.example.org", ec.generate_private_key(ec.SECP256R1()))
    big = import_certificate(cloud, NAME, rsa.generate_private_key(public_exponent=65537, key_size=4096))
    acm = cloud.client("acm", PROVIDER)
    out, stdout, stderr = quiet()
    # WHEN the good one is checked THEN it passes, and the warning names the imported kind
    private_domain.check_certificate(out, acm, private_domain.DomainSettings(True, NAME, good))
    assert f"certificate {good}: ISSUED, covers {NAME}, RSA_2048, IMPORTED" in stdout.getvalue()
    assert "is IMPORTED" in stderr.getvalue()
    # AND the others are refused with their reason
    with pytest.raises(Fatal, match=f"it does not cover {NAME}"):
        private_domain.check_certificate(out, acm, private_domain.DomainSettings(True, NAME, other))
    with pytest.raises(Fatal, match="its key is RSA_4096"):
        private_domain.check_certificate(out, acm, private_domain.DomainSettings(True, NAME, big))
    # AND a certificate that does not exist is named
    missing = good[:-4] + "0000"
    with pytest.raises(Fatal, match=f"cannot describe --certificate-arn {missing}"):
        private_domain.check_certificate(out, acm, private_domain.DomainSettings(True, NAME, missing))


def test_check_regions_refuses_another_region_or_account() -> None:
    settings = private_domain.DomainSettings(True, NAME, CERTIFICATE)
    private_domain.check_regions(settings, REGION, "222222222222")
    with pytest.raises(Fatal, match=f"is in {REGION}, not the deployment's eu-west-1"):
        private_domain.check_regions(settings, "eu-west-1", "222222222222")
    with pytest.raises(Fatal, match="belongs to account 222222222222, not the provider's 333333333333"):
        private_domain.check_regions(settings, REGION, "333333333333")


# -------------------------------------------------------------------------------------------------- the RAM share
def test_accept_share_accepts_a_pending_invitation() -> None:
    # GIVEN a PENDING invitation for the share, on a second page
    ram, stub = stubbed("ram")
    stub.add_response(
        "get_resource_share_invitations",
        {"resourceShareInvitations": [], "nextToken": "page2"},
        {"resourceShareArns": [SHARE_ARN]},
    )
    stub.add_response(
        "get_resource_share_invitations",
        {"resourceShareInvitations": [invitation("PENDING")]},
        {"resourceShareArns": [SHARE_ARN], "nextToken": "page2"},
    )
    stub.add_response(
        "accept_resource_share_invitation",
        {"resourceShareInvitation": invitation("ACCEPTED")},
        {"resourceShareInvitationArn": INVITATION_ARN},
    )
    out, stdout, _ = quiet()
    # WHEN the consumer's side runs THEN the invitation is accepted
    with stub:
        assert private_domain.accept_share(out, ram, SHARE_ARN) == "PENDING"
    stub.assert_no_pending_responses()
    assert f"accepted RAM invitation {INVITATION_ARN}" in stdout.getvalue()


@pytest.mark.parametrize(("invitations", "found"), [([invitation("ACCEPTED")], "ACCEPTED"), ([], "")])
def test_accept_share_accepted_or_organization_share_accepts_nothing(
    invitations: list[dict[str, Any]], found: str
) -> None:
    # GIVEN an invitation already accepted, or none (a share within the organization) WHEN run
    ram, stub = stubbed("ram")
    stub.add_response("get_resource_share_invitations", {"resourceShareInvitations": invitations})
    # THEN nothing is accepted (the Stubber would refuse an unqueued call)
    with stub:
        assert private_domain.accept_share(quiet()[0], ram, SHARE_ARN) == found
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("status", "message"), [("EXPIRED", "not accepted within 12 hours"), ("REJECTED", "turned it down")]
)
def test_accept_share_expired_or_rejected_stops_naming_the_fix(status: str, message: str) -> None:
    ram, stub = stubbed("ram")
    stub.add_response("get_resource_share_invitations", {"resourceShareInvitations": [invitation(status)]})
    with stub, pytest.raises(Fatal, match=message):
        private_domain.accept_share(quiet()[0], ram, SHARE_ARN)


def test_accept_share_unreadable_invitations_stop() -> None:
    ram, stub = stubbed("ram")
    stub.add_client_error("get_resource_share_invitations", "UnauthorizedException", "not authorized")
    with stub, pytest.raises(Fatal, match=f"cannot read the RAM invitations for share {SHARE_ARN}"):
        private_domain.accept_share(quiet()[0], ram, SHARE_ARN)


def test_shared_domain_listed_reads_other_accounts_domains() -> None:
    ram, stub = stubbed("ram")
    expected = {"resourceOwner": "OTHER-ACCOUNTS", "resourceType": "apigateway:Domainnames"}
    stub.add_response("list_resources", {"resources": [{"arn": "arn:other"}]}, expected)
    stub.add_response("list_resources", {"resources": [{"arn": "arn:other"}, {"arn": DOMAIN_ARN}]}, expected)
    with stub:
        assert private_domain.shared_domain_listed(ram, DOMAIN_ARN) is False
        assert private_domain.shared_domain_listed(ram, DOMAIN_ARN) is True


# ---------------------------------------------------------------------------------------------- the associations
def test_association_listed_needs_this_endpoint_and_domain() -> None:
    apigateway, stub = stubbed("apigateway")
    expected = {"resourceOwner": "SELF", "limit": 500}
    stub.add_response("get_domain_name_access_associations", {"items": [association(source="vpce-0other")]}, expected)
    stub.add_response("get_domain_name_access_associations", {"items": [association()]}, expected)
    with stub:
        assert private_domain.association_listed(apigateway, DOMAIN_ARN, ENDPOINT) is False
        assert private_domain.association_listed(apigateway, DOMAIN_ARN, ENDPOINT) is True


def test_foreign_associations_of_this_domain_only() -> None:
    apigateway, stub = stubbed("apigateway")
    items = [association(), association(arn=DOMAIN_ARN.replace("abcd1234", "zzzz9999"), source="vpce-0other")]
    stub.add_response(
        "get_domain_name_access_associations",
        {"items": items},
        {"resourceOwner": "OTHER_ACCOUNTS", "limit": 500},
    )
    with stub:
        assert private_domain.foreign_associations(apigateway, DOMAIN_ARN) == [
            items[0]["domainNameAccessAssociationArn"]
        ]


# ---------------------------------------------------------------------------- the steps, in-process with Stubber
class StubbedDeployment(deploy_all.Deployment):
    """A Deployment whose RAM and API Gateway clients are stubbed; other services reach moto."""

    def __init__(self, stubs: dict[tuple[str, str], Any], *args: Any) -> None:
        super().__init__(*args)
        self.stubs = stubs

    def client(self, side: deploy_all.Side, service: str) -> Any:
        return self.stubs.get((side.profile, service)) or super().client(side, service)


def deployment(stubs: dict[tuple[str, str], Any], cloud: Cloud | None = None) -> tuple[StubbedDeployment, Output]:
    out = Output(env={"NO_COLOR": "1"})
    accounts = cloud.accounts if cloud else {CONSUMER: "111111111111", PROVIDER: "222222222222"}
    settings = deploy_all.parse_settings([*domain_args(), CONSUMER, PROVIDER])
    consumer = deploy_all.Side(CONSUMER, accounts[CONSUMER], CLIENT_STACK)
    provider = deploy_all.Side(PROVIDER, accounts[PROVIDER], BACKEND_STACK)
    return StubbedDeployment(stubs, out, settings, REGION, consumer, provider), out


def provider_with_domain(share: str = SHARE_ARN) -> deploy_all.Provider:
    return deploy_all.Provider("h", "r", "a1b2c3d4e5", "Prod", domain_arn=DOMAIN_ARN, share_arn=share)


def test_accept_domain_share_accepts_then_waits_until_the_domain_is_listed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a pending invitation, and RAM listing the domain only on the second look
    monkeypatch.setenv("DEPLOY_SHARE_WAIT_SECONDS", "1")
    ram, stub = stubbed("ram")
    stub.add_response("get_resource_share_invitations", {"resourceShareInvitations": [invitation("PENDING")]})
    stub.add_response("accept_resource_share_invitation", {"resourceShareInvitation": invitation("ACCEPTED")})
    stub.add_response("list_resources", {"resources": []})
    stub.add_response("list_resources", {"resources": [{"arn": DOMAIN_ARN}]})
    run, _ = deployment({(CONSUMER, "ram"): ram})
    # WHEN step 6 runs THEN the invitation is accepted and the step ends once the domain is listed
    with stub:
        run.accept_domain_share(provider_with_domain())
    stub.assert_no_pending_responses()
    assert f"the consumer account sees {DOMAIN_ARN} as shared with it" in capsys.readouterr().out


def test_accept_domain_share_accepts_an_invitation_that_arrives_while_waiting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN no invitation yet right after the provider's deploy (RAM takes minutes to associate a principal), then a
    # pending one on the next look, and the domain listed once it is accepted
    monkeypatch.setenv("DEPLOY_SHARE_WAIT_SECONDS", "1")
    ram, stub = stubbed("ram")
    stub.add_response("get_resource_share_invitations", {"resourceShareInvitations": []})
    stub.add_response("list_resources", {"resources": []})
    stub.add_response("get_resource_share_invitations", {"resourceShareInvitations": [invitation("PENDING")]})
    stub.add_response("accept_resource_share_invitation", {"resourceShareInvitation": invitation("ACCEPTED")})
    stub.add_response("list_resources", {"resources": [{"arn": DOMAIN_ARN}]})
    run, _ = deployment({(CONSUMER, "ram"): ram})
    # WHEN step 6 runs
    with stub:
        run.accept_domain_share(provider_with_domain())
    # THEN the late invitation was accepted while waiting, and the step ended once the domain was listed
    stub.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert f"accepted RAM invitation {invitation('PENDING')['resourceShareInvitationArn']}" in out
    assert f"the consumer account sees {DOMAIN_ARN} as shared with it" in out


def test_accept_domain_share_never_listed_stops_after_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPLOY_SHARE_WAIT_SECONDS", "0")
    ram, stub = stubbed("ram")
    stub.add_response("get_resource_share_invitations", {"resourceShareInvitations": [invitation("ACCEPTED")]})
    stub.add_response("list_resources", {"resources": []})
    run, _ = deployment({(CONSUMER, "ram"): ram})
    with stub, pytest.raises(Fatal, match="check pPrivateDomainSharePrincipals on stack private-api-backend"):
        run.accept_domain_share(provider_with_domain())


def test_accept_domain_share_in_one_account_asks_ram_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN both sides in one account (the RAM client would refuse any call: nothing is queued)
    ram, stub = stubbed("ram")
    run, _ = deployment({(CONSUMER, "ram"): ram})
    run.consumer.account = run.provider.account
    with stub:
        run.accept_domain_share(provider_with_domain())
    assert "no RAM share to accept" in capsys.readouterr().out


@dataclass
class Answers:
    """What the direct client answers, one per invocation, and how often it was invoked."""

    responses: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0


@pytest.fixture
def direct_client(in_cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Answers:
    """The consumer's direct client in moto, answering as the test queues (moto runs no code without Docker)."""
    monkeypatch.setitem(default_user_config["lambda"], "use_docker", False)
    answers = Answers()

    def answer(backend: LambdaSimpleBackend, name: str, qualifier: str | None, body: Any, *_: Any) -> bytes:
        backend.get_function(name, qualifier)
        answers.calls += 1
        return json.dumps(answers.responses.pop(0)).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", answer)
    role = in_cloud.client("iam", CONSUMER).create_role(RoleName="direct", AssumeRolePolicyDocument="{}")
    in_cloud.client("lambda", CONSUMER).create_function(
        FunctionName=DIRECT_FUNCTION,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="client.direct_auth.handler",
        Code={"ZipFile": b"PK"},
        Timeout=30,
    )
    return answers


def test_verify_domain_path_retries_the_client_until_the_association_carries_calls(
    direct_client: Answers, in_cloud: Cloud, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the association listed, and the client refused (403) once while API Gateway sets it up, then answered
    monkeypatch.setenv("DEPLOY_DOMAIN_WAIT_SECONDS", "5")
    direct_client.responses = [{"statusCode": 403, "body": '{"message":"Forbidden"}'}, {"statusCode": 200}]
    apigateway, stub = stubbed("apigateway")
    stub.add_response("get_domain_name_access_associations", {"items": [association()]})
    run, _ = deployment({(CONSUMER, "apigateway"): apigateway}, in_cloud)
    consumer = deploy_all.Consumer(ENDPOINT, "role", direct_client=DIRECT_FUNCTION)
    # WHEN the last step runs THEN it invokes twice, shows both answers and ends with the domain's URL
    with stub:
        run.verify_domain_path(provider_with_domain(), consumer)
    out = capsys.readouterr().out
    assert direct_client.calls == 2
    assert "FAILED PythonDirectAuthClient" in out
    assert "SUCCESS PythonDirectAuthClient" in out
    assert f"the private domain answers: https://{NAME}/v1" in out


def test_verify_domain_path_without_association_stops_before_invoking(direct_client: Answers, in_cloud: Cloud) -> None:
    apigateway, stub = stubbed("apigateway")
    stub.add_response("get_domain_name_access_associations", {"items": []})
    run, _ = deployment({(CONSUMER, "apigateway"): apigateway}, in_cloud)
    consumer = deploy_all.Consumer(ENDPOINT, "role", direct_client=DIRECT_FUNCTION)
    with stub, pytest.raises(Fatal, match=re.escape(f"no access association of endpoint {ENDPOINT} with {DOMAIN_ARN}")):
        run.verify_domain_path(provider_with_domain(), consumer)
    assert direct_client.calls == 0


def test_verify_domain_path_still_refused_after_the_wait_points_at_diagnose(
    direct_client: Answers, in_cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEPLOY_DOMAIN_WAIT_SECONDS", "0")
    direct_client.responses = [{"statusCode": 403, "body": '{"message":"Forbidden"}'}]
    apigateway, stub = stubbed("apigateway")
    stub.add_response("get_domain_name_access_associations", {"items": [association()]})
    run, _ = deployment({(CONSUMER, "apigateway"): apigateway}, in_cloud)
    consumer = deploy_all.Consumer(ENDPOINT, "role", direct_client=DIRECT_FUNCTION)
    with stub, pytest.raises(Fatal, match=r"after 0s PythonDirectAuthClient still gets no 2xx .*diagnose\.sh"):
        run.verify_domain_path(provider_with_domain(), consumer)
    assert direct_client.calls == 1


# -------------------------------------------------------------------------- runs of deploy-all.sh against moto
def _domain_outputs(kit: Kit, share: bool = True) -> None:
    outputs = default_outputs()
    account = kit.cloud.accounts[PROVIDER]
    outputs[BACKEND_STACK]["PrivateDomainNameArn"] = f"arn:aws:apigateway:{REGION}:{account}:/domainnames/{NAME}+ab12"
    if share:
        outputs[BACKEND_STACK]["PrivateDomainShareArn"] = f"arn:aws:ram:{REGION}:{account}:resource-share/1-2-3"
    kit.set_outputs(outputs)


def test_deploy_all_domain_certificate_not_covering_the_name_stops_in_preflight(
    deploy_kit: Kit, moto_extras: Any
) -> None:
    # GIVEN a certificate in the provider's ACM for another name
    other = import_certificate(deploy_kit.cloud, "other.example.org", ec.generate_private_key(ec.SECP256R1()))
    # WHEN deploy-all.sh --domain runs with it
    run = capture(deploy_kit, moto_extras, "deploy-all.sh", *domain_args(certificate=other), CONSUMER, PROVIDER)
    # THEN step 1 refuses it, naming the reason, and nothing was built or deployed
    assert run.result.returncode == 1
    assert f"it does not cover {NAME}" in run.result.stderr
    assert "failed during step [1/10]" in run.result.stderr
    assert run.deploys() == []


def test_deploy_all_domain_sends_provider_parameters_and_stops_when_the_share_cannot_be_read(
    deploy_kit: Kit, moto_extras: Any
) -> None:
    # GIVEN a good certificate and a provider stack whose outputs name the domain and its share
    good = import_certificate(deploy_kit.cloud, NAME, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    _domain_outputs(deploy_kit)
    # WHEN deploy-all.sh --domain runs (moto answers RAM's GetResourceShareInvitations 404, as any RAM error)
    run = capture(
        deploy_kit,
        moto_extras,
        "deploy-all.sh",
        *domain_args("--base-path", "orders", certificate=good),
        CONSUMER,
        PROVIDER,
    )
    # THEN the provider deploy switched the path on with the consumer account as share principal
    assert run.result.returncode == 1
    [provider] = run.deploys()
    assert stack_of(provider) == BACKEND_STACK
    assert {key: value for key, value in overrides(provider).items() if "PrivateDomain" in key} == {
        "pEnablePrivateDomain": "Yes",
        "pPrivateDomainName": NAME,
        "pPrivateDomainCertificateArn": good,
        "pPrivateDomainBasePath": "orders",
        "pPrivateDomainSharePrincipals": run.accounts[CONSUMER],
    }
    # AND step 6 stopped before the consumer deploy, naming the share
    assert "failed during step [6/10]" in run.result.stderr
    assert "cannot read the RAM invitations for share" in run.result.stderr


def test_deploy_all_domain_in_one_account_wires_the_consumer_and_checks_the_association(
    deploy_kit: Kit, moto_extras: Any
) -> None:
    # GIVEN both profiles in one account (no RAM share to accept) and the provider stack naming its domain
    deploy_kit.cloud.keys[CONSUMER] = deploy_kit.cloud.keys[PROVIDER]
    deploy_kit.cloud.write_profiles()
    good = import_certificate(deploy_kit.cloud, NAME, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    _domain_outputs(deploy_kit, share=False)
    # WHEN deploy-all.sh --domain --domain-no-hosted-zone runs (moto answers GetDomainNameAccessAssociations 404)
    run = capture(
        deploy_kit,
        moto_extras,
        "deploy-all.sh",
        *domain_args("--domain-no-hosted-zone", certificate=good),
        CONSUMER,
        PROVIDER,
    )
    out = run.result.stdout
    # THEN steps 1-9 pass, step 6 accepting nothing, and the consumer gets the domain's ARN from the provider stack
    assert "no RAM share to accept" in out
    account = run.accounts[PROVIDER]
    consumer = run.deploys()[1]
    assert stack_of(consumer) == CLIENT_STACK
    assert {key: value for key, value in overrides(consumer).items() if "PrivateDomain" in key} == {
        "pPrivateDomainName": NAME,
        "pPrivateDomainNameArn": f"arn:aws:apigateway:{REGION}:{account}:/domainnames/{NAME}+ab12",
        "pPrivateDomainBasePath": "v1",
        "pCreatePrivateDomainHostedZone": "No",
    }
    # AND the provider shared the domain with nobody: one account owns it
    assert overrides(run.deploys()[0])["pPrivateDomainSharePrincipals"] == "None"
    # AND the last step asks for the association and stops, naming what it could not read
    assert "failed during step [10/10]" in run.result.stderr
    assert "cannot list the consumer's domain name access associations" in run.result.stderr


# ------------------------------------------------------------------------------------------------- destroy-all.sh
def _seed_provider_with_domain(cloud: Cloud) -> str:
    account = cloud.accounts[PROVIDER]
    domain_arn = f"arn:aws:apigateway:{REGION}:{account}:/domainnames/{NAME}+ab12"
    seed_stack(cloud, PROVIDER, BACKEND_STACK, {"pEnablePrivateDomain": "Yes"}, {"PrivateDomainNameArn": domain_arn})
    return domain_arn


def test_destroy_rejects_other_accounts_associations_before_the_provider_stack(
    in_cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the provider stack with a private domain, and another account's association with it left
    domain_arn = _seed_provider_with_domain(in_cloud)
    apigateway, stub = stubbed("apigateway")
    left = association(arn=domain_arn, source="vpce-0otheraccount00")
    stub.add_response(
        "get_domain_name_access_associations", {"items": [left]}, {"resourceOwner": "OTHER_ACCOUNTS", "limit": 500}
    )
    stub.add_response(
        "reject_domain_name_access_association",
        {},
        {"domainNameAccessAssociationArn": left["domainNameAccessAssociationArn"], "domainNameArn": domain_arn},
    )
    real = aws.client
    monkeypatch.setattr(
        destroy_all,
        "client",
        lambda profile, region, service: apigateway if service == "apigateway" else real(profile, region, service),
    )
    out, stdout, _ = quiet()
    account = destroy_all.Account(PROVIDER, in_cloud.accounts[PROVIDER], BACKEND_STACK, "bucket")
    # WHEN the step before the provider's delete runs THEN it rejects that association
    with stub:
        destroy_all.reject_foreign_associations(out, REGION, account)
    stub.assert_no_pending_responses()
    assert f"rejected access association {left['domainNameAccessAssociationArn']}" in stdout.getvalue()


def test_destroy_all_with_a_domain_deletes_consumer_first_even_when_associations_cannot_be_read(
    deploy_kit: Kit, request_log: RequestLog
) -> None:
    # GIVEN both stacks, the provider's with a private domain (moto answers GetDomainNameAccessAssociations 404)
    domain_arn = _seed_provider_with_domain(deploy_kit.cloud)
    seed_stack(deploy_kit.cloud, CONSUMER, CLIENT_STACK, {}, default_outputs()[CLIENT_STACK])
    mark = request_log.mark()
    # WHEN destroy-all.sh runs
    result = deploy_kit.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN it warns that it could not reject the other accounts' associations, and still deletes both, consumer first
    assert result.returncode == 0, result.stderr
    assert f"could not reject the other accounts' associations with {domain_arn}" in result.stderr
    deletes = select(request_log.since(mark), "cloudformation", "DeleteStack")
    assert [request.params["StackName"].split("/")[1] for request in deletes] == [CLIENT_STACK, BACKEND_STACK]
