"""One broken deployment per known cause of a 403: diagnose names the first failing check and its fix.

Each world is what the kit's templates deploy (rendered by cfnrender.render, loaded into two moto accounts) with
one thing wrong, changed the way it goes wrong in practice: a stack parameter, or an edit outside the stack.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from diagnose.checks import diagnose
from diagnose.results import EXIT_ALLOWED, EXIT_FAILED, Status
from emulation.demo.diagnose_world import (
    ACCESS_ROLE,
    API_HOST,
    API_ID,
    BACKEND_STACK,
    CLIENT_STACK,
    CONSUMER,
    DIRECT_FUNCTION,
    DIRECT_ROLE,
    OTHER_API_ID,
    OTHER_HOST,
    OTHER_VPCE,
    PROVIDER,
    REGION,
    Setup,
    World,
    endpoint_policy_for,
    log_denial,
    revoke_https_egress,
    update_policy_without_deployment,
)
from tests.diagnose.helpers import check, client, collect, first_failure, fix_of, run

Build = Callable[..., World]


def test_diagnose_healthy_deployment_allows_both_clients(build: Build) -> None:
    # GIVEN both stacks as deploy-all.sh leaves them
    world = build()
    # WHEN diagnose runs with both profiles
    result = run(world)
    # THEN every check passes (the access log has no requests yet) and the exit status is 0
    assert result.exit_code == EXIT_ALLOWED
    assert [c.verdict for c in result.clients] == ["allowed", "allowed"]
    statuses: dict[tuple[str, str], Status] = {(c.kind, k.id): k.status for c in result.clients for k in c.checks}
    assert {s for (_, i), s in statuses.items() if i != "access-log"} == {Status.OK}
    assert statuses[("direct", "access-log")] is Status.INFO


def test_diagnose_healthy_without_private_dns_uses_api_endpoint(build: Build) -> None:
    # GIVEN the client stack deployed with private DNS off (the template then sets API_ENDPOINT)
    world = build(Setup(client={"pEnablePrivateDNS": "False"}))
    # WHEN diagnose runs
    result = run(world)
    # THEN the name check accepts the endpoint's own DNS name and both clients pass
    assert result.exit_code == EXIT_ALLOWED
    dns = check(result, "direct", "dns")
    assert dns.status is Status.OK
    assert dns.detail.startswith(f"the client connects to {world.vpce_id}'s own name")


def test_diagnose_endpoint_not_allowed_names_endpoint_and_allowed_list(build: Build) -> None:
    # GIVEN a resource policy that admits another VPC endpoint only
    world = build(Setup(backend={"pAllowedVPCEndpoints": OTHER_VPCE}))
    # WHEN diagnose runs
    result = run(world)
    # THEN both clients stop at the resource policy's Deny, and the fix names both endpoints and the parameter
    assert result.exit_code == EXIT_FAILED
    for kind in ("direct", "assume-role"):
        failure = first_failure(result, kind, "resource-policy")
        assert "explicit deny in a resource-based policy (statements DenyOutsideAllowedVPCEndpoints)" in failure.detail
        assert failure.fix == (
            f"endpoint {world.vpce_id} is not in the API's allowed list [{OTHER_VPCE}]: re-run ./deploy-all.sh or "
            f"add it to pAllowedVPCEndpoints on stack {BACKEND_STACK}"
        )


def test_diagnose_consumer_role_missing_from_access_list_fails_direct_client_only(build: Build) -> None:
    # GIVEN a provider stack whose pAPIAccessList does not name the direct client's role
    world = build(Setup(backend={"pAPIAccessList": "None"}))
    # WHEN diagnose runs
    result = run(world)
    # THEN the direct client stops at the resource policy (no Allow), the assume-role client still passes
    direct = first_failure(result, "direct", "resource-policy")
    assert result.exit_code == EXIT_FAILED
    assert "because no resource-based policy allows the execute-api:Invoke action" in direct.detail
    assert direct.fix == f"add {DIRECT_ROLE} to pAPIAccessList on stack {BACKEND_STACK} (or re-run ./deploy-all.sh)"
    assert client(result, "assume-role").verdict == "allowed"


def test_diagnose_trust_policy_without_consumer_account_fails_assume_role_client(build: Build) -> None:
    # GIVEN a provider stack deployed with pTrustedPrincipals=Nobody (its role trusts only its own account)
    world = build(Setup(backend={"pTrustedPrincipals": "Nobody"}))
    # WHEN diagnose runs
    result = run(world)
    # THEN the assume-role client stops at the trust policy and the fix names the consumer account
    failure = first_failure(result, "assume-role", "trust-policy")
    assert result.exit_code == EXIT_FAILED
    assert failure.detail.startswith(f"the trust policy of {ACCESS_ROLE} does not trust")
    assert fix_of(failure).startswith(f"add {CONSUMER} (or ")
    assert f"to pTrustedPrincipals on stack {BACKEND_STACK}" in fix_of(failure)
    assert client(result, "direct").verdict == "allowed"


def test_diagnose_endpoint_policy_naming_another_api_fails_at_endpoint_policy(build: Build) -> None:
    # GIVEN the endpoint policy the template writes for another API, set on the endpoint outside the stack
    world = build(Setup(endpoint_policy=endpoint_policy_for(OTHER_HOST)))
    # WHEN diagnose runs
    result = run(world)
    # THEN both clients stop at the endpoint policy, which names the other API, and the fix names the right host
    assert result.exit_code == EXIT_FAILED
    for kind in ("direct", "assume-role"):
        failure = first_failure(result, kind, "endpoint-policy")
        assert "because no VPC endpoint policy allows the execute-api:Invoke action" in failure.detail
        assert f"it allows ['arn:aws:execute-api:{REGION}:{PROVIDER}:{OTHER_API_ID}/Prod/*']" in failure.detail
        assert f"with pAPIHost={API_HOST}, pAPIAccountID={PROVIDER} and pAPIPrefix=/Prod" in fix_of(failure)


def test_diagnose_role_to_assume_mismatch_fails_assume_role_client(build: Build) -> None:
    # GIVEN a client stack still pointing at a role the provider no longer outputs
    old_role = f"arn:aws:iam::{PROVIDER}:role/private-api-backend-ApiAccessRole-OLD"
    world = build(Setup(client={"pAPIRoleARN": old_role}))
    # WHEN diagnose runs
    result = run(world)
    # THEN the assume-role client stops at ROLE_TO_ASSUME and the fix gives the right ARN
    failure = first_failure(result, "assume-role", "role-to-assume")
    assert result.exit_code == EXIT_FAILED
    assert failure.detail == f"ROLE_TO_ASSUME is {old_role} but the provider's APIAccessRole is {ACCESS_ROLE}"
    assert failure.fix == f"re-run ./deploy-all.sh, or update stack {CLIENT_STACK} with pAPIRoleARN={ACCESS_ROLE}"
    assert client(result, "direct").verdict == "allowed"


def test_diagnose_api_host_mismatch_fails_both_clients_at_api_host(build: Build) -> None:
    # GIVEN a client stack deployed against another API host (e.g. the provider's API was re-created)
    world = build(Setup(client={"pAPIHost": OTHER_HOST}))
    # WHEN diagnose runs
    result = run(world)
    # THEN both clients stop at API_HOST, before any policy, and the fix gives the provider's host
    assert result.exit_code == EXIT_FAILED
    for kind in ("direct", "assume-role"):
        failure = first_failure(result, kind, "api-host")
        assert failure.detail == f"API_HOST is {OTHER_HOST} but the provider's API is {API_HOST}"
        assert failure.fix == f"re-run ./deploy-all.sh, or update stack {CLIENT_STACK} with pAPIHost={API_HOST}"


def test_diagnose_private_dns_off_without_api_endpoint_fails_at_dns(build: Build) -> None:
    # GIVEN private DNS turned off on the endpoint while the clients still connect to the API's own host
    world = build(Setup(endpoint_private_dns=False))
    # WHEN diagnose runs
    result = run(world)
    # THEN both clients stop at name resolution with both ways out in the fix
    assert result.exit_code == EXIT_FAILED
    for kind in ("direct", "assume-role"):
        failure = first_failure(result, kind, "dns")
        assert failure.detail.startswith(f"private DNS is off on {world.vpce_id} and the client has no API_ENDPOINT")
        assert fix_of(failure).startswith(f"turn private DNS on for {world.vpce_id} (pEnablePrivateDNS=True)")
        assert "set API_ENDPOINT=https://" in fix_of(failure)


def test_diagnose_stage_not_redeployed_after_policy_change_fails_at_stage(build: Build) -> None:
    # GIVEN a provider stack update that changed the resource policy but made no new deployment
    world = build()
    update_policy_without_deployment(world)
    collected = collect(world)
    provider = collected.provider
    assert provider is not None
    assert provider.stage is not None
    assert provider.api_change is not None
    # moto stamps the deployment and the update in the same second; age the deployment (collected-data layer).
    aged = replace(provider.stage, deployment_created=provider.api_change.at - timedelta(hours=1))
    collected = replace(collected, provider=replace(provider, stage=aged))
    # WHEN the checks run
    result = diagnose(collected)
    # THEN both clients stop at the stage, with the update as the reason and the redeploy command as the fix
    assert result.exit_code == EXIT_FAILED
    for kind in ("direct", "assume-role"):
        failure = first_failure(result, kind, "stage")
        assert f"start of the last update of stack {BACKEND_STACK}" in failure.detail
        assert "the old resource policy is still live" in failure.detail
        assert fix_of(failure).startswith(
            f"aws apigateway create-deployment --rest-api-id {API_ID} --stage-name Prod --profile provider"
        )


def test_diagnose_latest_request_denied_in_access_log_fails_at_access_log(build: Build) -> None:
    # GIVEN a healthy configuration whose access log shows the direct client's latest request denied
    world = build()
    session = f"arn:aws:sts::{CONSUMER}:assumed-role/{DIRECT_ROLE.rsplit('/', 1)[-1]}/{DIRECT_FUNCTION}"
    message = log_denial(world, session)
    # WHEN diagnose runs
    result = run(world)
    # THEN the direct client fails at the access log with API Gateway's message, the summary counts it once,
    # and the assume-role client, with no requests logged, is still allowed
    failure = first_failure(result, "direct", "access-log")
    assert result.exit_code == EXIT_FAILED
    assert failure.detail.endswith(f"answered 403: {message}")
    assert [(g.count, g.status, g.error) for g in result.log_errors] == [(1, 403, message)]
    assert check(result, "assume-role", "access-log").status is Status.INFO
    assert client(result, "assume-role").verdict == "allowed"
    assert json.loads(json.dumps(result.read_errors)) == {"consumer": {}, "provider": {}}


def test_diagnose_security_group_without_https_egress_fails_at_network(build: Build) -> None:
    # GIVEN the client security group's HTTPS rule to the endpoint group removed outside the stack
    world = build()
    client_group, endpoint_group = revoke_https_egress(world)
    # WHEN diagnose runs
    result = run(world)
    # THEN both clients stop at the network path, naming both groups
    assert result.exit_code == EXIT_FAILED
    for kind in ("direct", "assume-role"):
        failure = first_failure(result, kind, "network")
        assert f"security groups ['{client_group}']" in failure.detail
        assert f"allow no HTTPS (443) out to endpoint {world.vpce_id} (groups ['{endpoint_group}'])" in failure.detail
