"""diagnose.sh on the certificate (mTLS) path: both accounts built in moto as deploy-all.sh --mtls leaves them
(emulation/demo/diagnose_mtls.py), each fault made the way it happens, and what the report says about it.

With the path off, the report must not change: no certificate block, no note, no extra read errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from diagnose.report import to_json, to_text
from diagnose.results import EXIT_ALLOWED, EXIT_FAILED, EXIT_UNKNOWN, Status
from emulation.demo.diagnose_world import (
    CERTIFICATE_FUNCTION,
    CONSUMER,
    OTHER_ACCOUNT,
    PROVIDER,
    REGION,
    Setup,
    World,
    disallow_consumer,
    point_client_at_unreadable_secret,
    reject_consumer_connection,
)
from tests.diagnose.helpers import check, client, first_failure, fix_of, run

Build = Callable[..., World]
CERTIFICATE = "certificate"
PROVIDER_SIDE = ("mtls-principal", "mtls-targets", "mtls-trust-store")


def _mtls(world: World) -> tuple[str, str, str]:
    """(service id, consumer endpoint id, API target group) of a world built with the certificate path."""
    assert world.mtls is not None
    return world.mtls.service_id, world.mtls.consumer_endpoint, world.mtls.api_target_group


def test_diagnose_mtls_healthy_path_allows_all_three_clients(build: Build) -> None:
    # GIVEN both stacks as deploy-all.sh --mtls leaves them
    world = build(Setup(mtls=True))
    # WHEN diagnose runs with both profiles
    result = run(world)
    # THEN the certificate client is checked after the two signing clients and every check passes (its log and the
    # access log have no calls yet): exit 0
    assert result.exit_code == EXIT_ALLOWED
    assert [(c.kind, c.verdict) for c in result.clients] == [
        ("direct", "allowed"),
        ("assume-role", "allowed"),
        (CERTIFICATE, "allowed"),
    ]
    certificate = client(result, CERTIFICATE)
    assert certificate.function == CERTIFICATE_FUNCTION
    assert certificate.principal is None  # it signs nothing: TLS authenticates it
    assert [c.id for c in certificate.checks] == [
        "consumer-stack",
        "provider-stack",
        "function",
        "mtls-secret",
        "mtls-endpoint",
        "mtls-principal",
        "mtls-targets",
        "mtls-trust-store",
        "mtls-answer",
    ]
    assert {c.id for c in certificate.checks if c.status is not Status.OK} == {"mtls-answer"}
    assert check(result, CERTIFICATE, "mtls-answer").status is Status.INFO
    # the NLB's group holds the ALB, the ALB's group the provider endpoint's two addresses
    assert check(result, CERTIFICATE, "mtls-targets").detail == "3 load balancer target(s) healthy"
    assert result.read_errors["certificate"] == {}  # its reads, listed with the others in --json
    text = to_text(result)
    assert "Certificate client: " in text
    assert "presents a client certificate" in text


def test_diagnose_mtls_off_reports_nothing_new(build: Build) -> None:
    # GIVEN the kit deployed without --mtls
    world = build()
    # WHEN diagnose runs
    result = run(world)
    # THEN no certificate client, no note about it, no extra reads: the report is the two signing clients only
    assert [c.kind for c in result.clients] == ["direct", "assume-role"]
    assert not any("certificate" in note.lower() or "mtls" in note.lower() for note in result.notes)
    text, document = to_text(result), json.loads(to_json(result))
    assert "mtls" not in text.lower()
    assert "certificate" not in text.lower()
    assert set(document["read_errors"]) == {"consumer", "provider"}


def test_diagnose_mtls_provider_only_is_a_note_not_a_check(build: Build) -> None:
    # GIVEN the provider deployed with pEnableMtls=Yes and the consumer without its certificate client
    world = build(Setup(mtls=True, client={"pEnableMtlsClient": "No"}))
    # WHEN diagnose runs
    result = run(world)
    # THEN the two signing clients are checked as before and a note says the certificate client was not
    assert [c.kind for c in result.clients] == ["direct", "assume-role"]
    assert result.exit_code == EXIT_ALLOWED
    assert any("pEnableMtls=Yes" in note and "no certificate client" in note for note in result.notes)


def test_diagnose_mtls_consumer_profile_only_leaves_the_provider_side_unknown(build: Build) -> None:
    # GIVEN the certificate path, and only the consumer's credentials
    world = build(Setup(mtls=True))
    # WHEN diagnose runs without the provider profile
    result = run(world, with_provider=False)
    # THEN the consumer side is checked and the provider side is '?', needing the provider profile: exit 3
    assert check(result, CERTIFICATE, "mtls-secret").status is Status.OK
    assert check(result, CERTIFICATE, "mtls-endpoint").status is Status.OK
    for check_id in PROVIDER_SIDE:
        found = check(result, CERTIFICATE, check_id)
        assert found.status is Status.UNKNOWN, check_id
        assert found.needs is not None
        assert "provider profile" in found.needs
    assert result.exit_code == EXIT_UNKNOWN


def test_diagnose_mtls_pending_acceptance_names_the_accept_command(build: Build) -> None:
    # GIVEN a service that requires acceptance, and nobody accepted the consumer's connection
    world = build(Setup(mtls=True, backend={"pMtlsAcceptanceRequired": "Yes"}))
    service, endpoint, _ = _mtls(world)
    # WHEN diagnose runs
    result = run(world)
    # THEN the certificate client stops at its endpoint, and the fix is the command the provider runs
    failure = first_failure(result, CERTIFICATE, "mtls-endpoint")
    assert failure.detail == f"endpoint {endpoint} awaits the provider's acceptance (pMtlsAcceptanceRequired=Yes)"
    assert fix_of(failure) == (
        f"the provider runs: aws ec2 accept-vpc-endpoint-connections --service-id {service} --vpc-endpoint-ids "
        f"{endpoint} --profile provider --region {REGION}"
    )
    # the signing clients are unaffected
    assert [c.verdict for c in result.clients] == ["allowed", "allowed", "denied"]
    assert result.exit_code == EXIT_FAILED


def test_diagnose_mtls_rejected_connection(build: Build) -> None:
    # GIVEN the provider rejected the consumer's connection
    world = build(Setup(mtls=True))
    reject_consumer_connection(world)
    _, endpoint, _ = _mtls(world)
    # WHEN diagnose runs
    failure = first_failure(run(world), CERTIFICATE, "mtls-endpoint")
    # THEN it says so, and the fix is a new endpoint once the provider allows it
    assert failure.detail == f"the provider rejected endpoint {endpoint}"
    assert "deploy again once the provider allows it" in fix_of(failure)


def test_diagnose_mtls_consumer_not_among_the_allowed_principals(build: Build) -> None:
    # GIVEN the service's allowed principals changed to another account after the consumer connected
    world = build(Setup(mtls=True))
    other = disallow_consumer(world)
    service, _, _ = _mtls(world)
    # WHEN diagnose runs
    failure = first_failure(run(world), CERTIFICATE, "mtls-principal")
    # THEN it names the consumer account, the service and who is allowed instead, and the parameter to fix
    assert other == f"arn:aws:iam::{OTHER_ACCOUNT}:root"
    assert failure.detail == f"account {CONSUMER} is not among the allowed principals of {service} ({other})"
    assert f"pMtlsAllowedPrincipals=arn:aws:iam::{CONSUMER}:root" in fix_of(failure)


def test_diagnose_mtls_empty_api_target_group(build: Build) -> None:
    # GIVEN the provider's endpoint-targets custom resource registered nothing
    world = build(Setup(mtls=True, endpoint_targets=False))
    _, _, group = _mtls(world)
    # WHEN diagnose runs
    failure = first_failure(run(world), CERTIFICATE, "mtls-targets")
    # THEN it names the empty group (the ALB in the NLB's group is still healthy) and where to look
    assert failure.detail == f"(none) in {group}: no-targets no target registered"
    assert group.startswith(f"arn:aws:elasticloadbalancing:{REGION}:{PROVIDER}:targetgroup/")
    assert "endpoint-targets function's log group" in fix_of(failure)


def test_diagnose_mtls_secret_the_role_may_not_read(build: Build) -> None:
    # GIVEN the certificate client pointed, outside the stack, at a new secret its role does not name
    world = build(Setup(mtls=True))
    secret = point_client_at_unreadable_secret(world)
    # WHEN diagnose runs
    failure = first_failure(run(world), CERTIFICATE, "mtls-secret")
    # THEN it names the role and the secret it may not read
    assert failure.detail.startswith(f"arn:aws:iam::{CONSUMER}:role/")
    assert f"may not read {secret}" in failure.detail
    assert "pMtlsCertificateSecretArn" in fix_of(failure)
