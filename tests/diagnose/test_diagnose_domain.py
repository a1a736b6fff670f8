"""diagnose.sh on the private custom domain path: both accounts as deploy-all.sh --domain leaves them
(emulation/demo/diagnose_world.py with emulation/demo/diagnose_domain.py for what moto lacks), each fault made the
way it happens, and what the report says about it.

With the domain off, the report must not change: no domain checks, no note, no extra read errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from botocore.awsrequest import AWSResponse, HTTPHeaders

from diagnose.report import to_text
from diagnose.results import EXIT_ALLOWED, EXIT_FAILED, EXIT_UNKNOWN, Status
from emulation.demo.diagnose_domain import DOMAIN_ARN, DOMAIN_ID, DOMAIN_NAME, SHARE_ARN, provider_parameters
from emulation.demo.diagnose_world import (
    API_HOST,
    CONSUMER,
    OTHER_ACCOUNT,
    OTHER_VPCE,
    Setup,
    World,
    delete_association,
    endpoint_policy_for,
    leave_share_pending,
    restrict_domain_policy,
)
from tests.diagnose.helpers import check, client, first_failure, fix_of, run

Build = Callable[..., World]
DOMAIN_CHECKS = ("domain-vpce-policy", "domain-share", "domain-association", "domain-policy", "domain-base-path")


def test_diagnose_domain_healthy_path_allows_both_clients(build: Build) -> None:
    # GIVEN both stacks as deploy-all.sh --domain leaves them
    world = build(Setup(domain=True))
    # WHEN diagnose runs with both profiles
    result = run(world)
    # THEN both IAM clients pass every check, the domain's included, and the exit status is 0
    assert result.exit_code == EXIT_ALLOWED, to_text(result)
    for kind in ("direct", "assume-role"):
        ids = [c.id for c in client(result, kind).checks]
        assert [i for i in ids if i.startswith("domain-")] == list(DOMAIN_CHECKS)
        # at API Gateway the domain comes first, then the API's own policy
        assert ids.index("domain-base-path") < ids.index("invoke-permission")
        assert {c.status for c in client(result, kind).checks if c.id != "access-log"} == {Status.OK}
    assert check(result, "direct", "api-host").detail == f"API_HOST {DOMAIN_NAME} is the private custom domain name"
    assert "private hosted zone" in check(result, "direct", "dns").detail
    assert "v1 -> API a1b2c3d4e5 stage Prod" in check(result, "direct", "domain-base-path").detail
    assert CONSUMER in check(result, "direct", "domain-share").detail
    assert result.read_errors["domain"] == {}


def test_diagnose_domain_off_reports_nothing_new(build: Build) -> None:
    # GIVEN the kit deployed without --domain
    world = build()
    # WHEN diagnose runs
    result = run(world)
    # THEN no domain check, no note about the domain and no domain reads
    assert result.exit_code == EXIT_ALLOWED
    assert not [c.id for r in result.clients for c in r.checks if c.id.startswith("domain-")]
    assert not [n for n in result.notes if "domain" in n]
    assert "domain" not in result.read_errors


def test_diagnose_domain_only_on_provider_is_a_note(build: Build) -> None:
    # GIVEN the provider deployed with the domain, the consumer without it
    world = build(Setup(backend=provider_parameters(CONSUMER)))
    # WHEN diagnose runs
    result = run(world)
    # THEN the clients are checked on the execute-api path as before and a note says the domain is not used
    assert result.exit_code == EXIT_ALLOWED
    assert not [c.id for r in result.clients for c in r.checks if c.id.startswith("domain-")]
    assert [n for n in result.notes if "pPrivateDomainName" in n and DOMAIN_NAME in n]


def test_diagnose_domain_share_not_accepted_names_the_invitation(build: Build) -> None:
    # GIVEN a new share of the domain whose RAM invitation the consumer has not accepted
    world = build(Setup(domain=True))
    leave_share_pending(world)
    # WHEN diagnose runs
    result = run(world)
    # THEN both IAM clients stop at the share, and the fix is the consumer accepting the invitation
    assert result.exit_code == EXIT_FAILED
    for kind in ("direct", "assume-role"):
        failure = first_failure(result, kind, "domain-share")
        assert "PENDING" in failure.detail
        assert "accept-resource-share-invitation" in fix_of(failure)
        assert "--profile consumer" in fix_of(failure)


def test_diagnose_domain_no_association_names_the_endpoint(build: Build) -> None:
    # GIVEN the consumer's access association deleted outside its stack
    world = build(Setup(domain=True))
    delete_association(world)
    # WHEN diagnose runs
    result = run(world)
    # THEN the association check fails naming the endpoint and the domain, and the fix re-creates it
    failure = first_failure(result, "direct", "domain-association")
    assert world.vpce_id in failure.detail
    assert DOMAIN_ARN in failure.detail
    assert "deploy-all.sh --domain" in fix_of(failure)


def test_diagnose_domain_policy_denying_the_endpoint_is_named(build: Build) -> None:
    # GIVEN the domain's own policy admitting another endpoint only (the API's resource policy still admits it)
    world = build(Setup(domain=True))
    restrict_domain_policy(world)
    # WHEN diagnose runs
    result = run(world)
    # THEN the domain policy check fails with AWS's explicit-deny wording and the allowed list; the API's own
    # resource policy still passes
    failure = first_failure(result, "direct", "domain-policy")
    assert "explicit deny" in failure.detail
    assert DOMAIN_NAME in failure.detail
    assert world.vpce_id in fix_of(failure)
    assert OTHER_VPCE in fix_of(failure)
    assert check(result, "direct", "resource-policy").status is Status.OK


def test_diagnose_domain_unknown_base_path_names_the_mapped_ones(build: Build) -> None:
    # GIVEN clients deployed with base path v2 while the provider maps v1
    world = build(Setup(domain=True, client={"pPrivateDomainBasePath": "v2"}))
    # WHEN diagnose runs
    result = run(world)
    # THEN the base path check fails naming what is mapped, and the fix sets the consumer's base path
    failure = first_failure(result, "direct", "domain-base-path")
    assert "/v2" in failure.detail
    assert "maps v1" in failure.detail
    assert "pPrivateDomainBasePath=v1" in fix_of(failure)


def test_diagnose_domain_endpoint_policy_without_the_domain_arn_fails(build: Build) -> None:
    # GIVEN the consumer's endpoint policy, edited outside the stack, naming the API only (not the domain)
    world = build(Setup(domain=True, endpoint_policy=endpoint_policy_for(API_HOST)))
    # WHEN diagnose runs
    result = run(world)
    # THEN the API's ARN passes the endpoint policy but the domain's execute-api ARN does not
    assert check(result, "direct", "endpoint-policy").status is Status.OK
    failure = first_failure(result, "direct", "domain-vpce-policy")
    assert "/domainnames/orders.example.com+" in failure.detail
    assert "pPrivateDomainNameArn" in fix_of(failure)


def test_diagnose_domain_without_hosted_zone_notes_the_vpc_must_resolve_it(build: Build) -> None:
    # GIVEN the consumer deployed without the hosted zone (the VPC resolves the name some other way)
    world = build(Setup(domain=True, client={"pCreatePrivateDomainHostedZone": "No"}))
    # WHEN diagnose runs
    result = run(world)
    # THEN name resolution is a note (nothing diagnose can read proves it), not a failure
    dns = check(result, "direct", "dns")
    assert dns.status is Status.INFO
    assert "pCreatePrivateDomainHostedZone=No" in dns.detail


def test_diagnose_domain_without_provider_profile_leaves_provider_checks_open(build: Build) -> None:
    # GIVEN a healthy domain deployment, diagnosed with the consumer profile only
    world = build(Setup(domain=True))
    # WHEN diagnose runs without the provider
    result = run(world, with_provider=False)
    # THEN the consumer-side checks still run (the API's ARN comes from the stack's pAPIHost and pAPIPrefix, not
    # from API_HOST and API_PREFIX, which name the domain and its base path); the domain's policy and mappings need
    # the provider
    assert check(result, "direct", "endpoint-policy").status is Status.OK
    assert check(result, "direct", "invoke-permission").status is Status.OK
    assert check(result, "direct", "domain-association").status is Status.OK
    assert check(result, "direct", "domain-share").status is Status.OK
    assert check(result, "direct", "domain-policy").status is Status.UNKNOWN
    assert check(result, "direct", "domain-base-path").status is Status.UNKNOWN
    assert SHARE_ARN not in check(result, "direct", "domain-share").detail  # the share's ARN is a provider output


def test_diagnose_domain_expired_invitation_asks_the_provider_to_share_again(build: Build) -> None:
    # GIVEN the consumer's invitation left unaccepted for 12 hours
    world = build(Setup(domain=True))
    leave_share_pending(world)
    world.domain.invitation = "EXPIRED"
    # WHEN diagnose runs
    result = run(world)
    # THEN the share check fails on the expiry and only the provider can fix it
    failure = first_failure(result, "direct", "domain-share")
    assert "EXPIRED" in failure.detail
    assert "the provider shares the domain again" in fix_of(failure)


def test_diagnose_domain_share_naming_another_account_fails(build: Build) -> None:
    # GIVEN the provider's share redeployed for another account only
    world = build(Setup(domain=True))
    world.domain.principals = [OTHER_ACCOUNT]
    # WHEN diagnose runs
    result = run(world)
    # THEN the share check names who the share is for and the provider's fix
    failure = first_failure(result, "direct", "domain-share")
    assert f"names {OTHER_ACCOUNT}, not account {CONSUMER}" in failure.detail
    assert f"--share-principals {CONSUMER}" in fix_of(failure)


def test_diagnose_domain_consumer_naming_another_domain_arn_fails_on_the_arn(build: Build) -> None:
    # GIVEN the consumer deployed with the ARN of another domain (a stale pPrivateDomainNameArn)
    other = DOMAIN_ARN.replace(DOMAIN_ID, "zz99yy88xx")
    world = build(Setup(domain=True, client={"pPrivateDomainNameArn": other}))
    # WHEN diagnose runs
    result = run(world)
    # THEN the first domain check at API Gateway names both ARNs and the consumer's fix
    failure = first_failure(result, "direct", "domain-share")
    assert other in failure.detail
    assert DOMAIN_ARN in failure.detail
    assert f"pPrivateDomainNameArn={DOMAIN_ARN}" in fix_of(failure)


def test_diagnose_domain_association_of_another_endpoint_names_it(build: Build) -> None:
    # GIVEN the account's association with the domain made for another endpoint
    world = build(Setup(domain=True))
    world.domain.associations[0]["accessAssociationSource"] = OTHER_VPCE
    # WHEN diagnose runs
    result = run(world)
    # THEN the association check names the endpoint that has one
    failure = first_failure(result, "direct", "domain-association")
    assert f"(associated: {OTHER_VPCE})" in failure.detail


def test_diagnose_domain_policy_returned_expanded_and_escaped_is_read(build: Build) -> None:
    # GIVEN API Gateway returning the domain's policy with its own ARN in place of execute-api:/*, JSON-escaped as it
    # returns a REST API's policy
    world = build(Setup(domain=True))
    assert world.domain.domain is not None
    execute_api = DOMAIN_ARN.replace(":apigateway:", ":execute-api:")
    expanded = world.domain.domain["policy"].replace('"execute-api:/*"', f'"{execute_api}"')
    world.domain.domain["policy"] = json.dumps(expanded)[1:-1].replace("/", "\\/")
    # WHEN diagnose runs
    result = run(world)
    # THEN the domain's policy still admits both clients
    assert result.exit_code == EXIT_ALLOWED
    assert check(result, "assume-role", "domain-policy").status is Status.OK


def test_diagnose_domain_unreadable_ram_is_not_checked_never_denied(build: Build) -> None:
    # GIVEN a consumer profile that may not list what RAM shares with it
    world = build(Setup(domain=True))

    def refuse(**_: object) -> tuple[AWSResponse, dict[str, object]]:
        error = {"Code": "AccessDeniedException", "Message": "not authorized to perform: ram:ListResources"}
        return AWSResponse("", 403, HTTPHeaders(), None), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}

    world.consumer.events.register_first("before-call.ram.ListResources", refuse)
    # WHEN diagnose runs
    result = run(world)
    # THEN the share check is '?' with the permission it needs, the read error is listed, and the exit status is 3
    share = check(result, "direct", "domain-share")
    assert share.status is Status.UNKNOWN
    assert share.needs == "ram:ListResources and ram:GetResourceShareInvitations for profile 'consumer'"
    assert result.read_errors["domain"]["shared-resources"].startswith("AccessDeniedException")
    assert result.exit_code == EXIT_UNKNOWN


def test_diagnose_domain_root_mapping_allows_clients_without_a_base_path(build: Build) -> None:
    # GIVEN both stacks deployed with --base-path None: the provider maps the domain's root, the clients send no prefix
    world = build(
        Setup(domain=True, backend={"pPrivateDomainBasePath": "None"}, client={"pPrivateDomainBasePath": "None"})
    )
    # WHEN diagnose runs
    result = run(world)
    # THEN the root mapping (listed by API Gateway as "(none)") is the one the clients use
    assert result.exit_code == EXIT_ALLOWED, to_text(result)
    assert check(result, "direct", "api-prefix").detail.startswith("API_PREFIX (empty) is the domain's base path")
    assert (
        check(result, "direct", "domain-base-path").detail == f"{DOMAIN_NAME} maps (none) -> API a1b2c3d4e5 stage Prod"
    )


def test_diagnose_domain_deleted_on_the_provider_is_named(build: Build) -> None:
    # GIVEN the provider's domain deleted outside its stack (the consumer's association and share listing remain)
    world = build(Setup(domain=True))
    world.domain.domain = None
    # WHEN diagnose runs
    result = run(world)
    # THEN the domain check says it does not exist and the provider's stack re-creates it
    failure = first_failure(result, "direct", "domain-policy")
    assert failure.detail == f"domain {DOMAIN_ARN} does not exist"
    assert "private-api-backend" in fix_of(failure)
