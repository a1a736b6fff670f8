"""deploy-all.sh against two moto accounts and a recorded sam: order of work, values handed between stacks, failure
paths."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.workflow.cloud_faults import DeployFailure, Faults, RequestLog, select, set_stack_status
from tests.workflow.deployments import (
    API_HOST,
    API_ROLE,
    BACKEND_STACK,
    CLIENT_ROLE,
    CLIENT_STACK,
    ENDPOINT_ID,
    POWERTOOLS_LATEST,
    Run,
    capture,
    option,
    overrides,
    prepare_deploy_kit,
    seed_deployed,
    seed_stack,
    set_control,
    set_output,
    stack_of,
)
from tests.workflow.harness import (
    CONSUMER,
    PROVIDER,
    REGION,
    Kit,
    admin_client,
    make_cloud,
    make_kit,
    reset_accounts,
)
from workflow import deploy_all
from workflow.output import Fatal, Output

ALL_PUBLIC_ACCESS_BLOCKED = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@pytest.fixture(scope="module")
def deploy_runs(
    moto_url: str, moto_extras: tuple[Faults, RequestLog], sam_service: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Run, Run]:
    """deploy-all.sh on empty accounts, then again at once with nothing changed (one pair of accounts for both)."""
    base = tmp_path_factory.mktemp("deployed")
    kit = prepare_deploy_kit(make_kit(base / "kit", make_cloud(moto_url, base / "cloud")), sam_service)
    first = capture(kit, moto_extras, "deploy-all.sh", CONSUMER, PROVIDER)
    assert first.result.returncode == 0, first.result.stdout + first.result.stderr
    second = capture(kit, moto_extras, "deploy-all.sh", CONSUMER, PROVIDER)
    return first, second


@pytest.fixture(scope="module")
def first_deploy(deploy_runs: tuple[Run, Run]) -> Run:
    """deploy-all.sh on empty accounts."""
    return deploy_runs[0]


@pytest.fixture(scope="module")
def second_deploy(deploy_runs: tuple[Run, Run]) -> Run:
    """deploy-all.sh again right after first_deploy, with nothing changed."""
    return deploy_runs[1]


def deploys(kit: Kit) -> list[dict[str, Any]]:
    return kit.sam_calls("deploy")


# ---------------------------------------------------------------------------------------------------------------------
# One successful run, many read-only checks
# ---------------------------------------------------------------------------------------------------------------------


def test_deploy_all_happy_path_numbers_steps_and_reports_total_time(first_deploy: Run) -> None:
    # GIVEN two working profiles in one region
    result = first_deploy.result
    # WHEN deploy-all ran (module fixture)
    # THEN it succeeded through all eight numbered steps and printed the total time, without colours
    assert result.returncode == 0
    assert re.findall(r"^\[(\d)/8\]", result.stdout, flags=re.MULTILINE) == [str(n) for n in range(1, 9)]
    assert re.search(r"^Done in \dm\d\ds\.$", result.stdout, flags=re.MULTILINE)
    assert "\x1b[" not in result.stdout + result.stderr


def test_deploy_all_deploys_provider_then_consumer_then_provider_again(first_deploy: Run) -> None:
    # GIVEN the recorded sam calls of the run
    run = first_deploy
    # WHEN they are listed in order
    sequence = [(call["argv"][0], stack_of(call) if call["argv"][0] == "deploy" else "") for call in run.sam]
    # THEN both sides were packaged before the provider, consumer, provider deploys
    assert sequence == [
        ("package", ""),
        ("package", ""),
        ("package", ""),
        ("package", ""),
        ("deploy", BACKEND_STACK),
        ("deploy", CLIENT_STACK),
        ("deploy", BACKEND_STACK),
    ]


def test_deploy_all_first_provider_deploy_without_consumer_sends_closed_authorization(first_deploy: Run) -> None:
    # GIVEN the first provider deploy, made while no consumer stack exists
    run = first_deploy
    first = run.deploys()[0]
    # WHEN its parameters are inspected
    # THEN it sends the looked-up DynamoDB prefix list and, explicitly, the closed authorization values and the
    # Powertools layer (sam deploy would otherwise send UsePreviousValue for them), with the vpc- packaged template
    [lookup] = run.aws("ec2", "DescribeManagedPrefixLists")
    assert overrides(first) == {
        "pDynamoDBPrefixListID": run.prefix_lists[REGION],
        "pTrustedPrincipals": "Nobody",
        "pAPIAccessList": "None",
        "pAllowedVPCEndpoints": "None",
        "pPowertoolsLayerArn": POWERTOOLS_LATEST,
        # issue 16: the certificate path is switched off explicitly (sam deploy would keep a previous Yes)
        "pEnableMtls": "No",
        # issue 17: so is the private custom domain name
        "pEnablePrivateDomain": "No",
    }
    assert (lookup.account, lookup.region) == (first_deploy.accounts[PROVIDER], REGION)
    assert option(first, "--template-file").endswith("api-backend/vpc-api-backend-deploy.yaml")


def test_deploy_all_provider_outputs_reach_consumer_parameters(first_deploy: Run) -> None:
    # GIVEN the consumer deploy
    consumer = first_deploy.deploys()[1]
    # WHEN its parameters are inspected
    # THEN the provider's host, stage, account and access role were passed on
    assert overrides(consumer) == {
        "pAPIHost": API_HOST,
        "pAPIPrefix": "/Prod",
        "pAPIAccountID": first_deploy.accounts[PROVIDER],
        "pAPIRoleARN": API_ROLE,
        "pPowertoolsLayerArn": POWERTOOLS_LATEST,
        "pEnableMtlsClient": "No",
        # issue 17: no domain, stated (sam deploy would keep a previous run's name, ARN and so the association)
        "pPrivateDomainName": "None",
        "pPrivateDomainNameArn": "None",
    }
    assert option(consumer, "--profile") == CONSUMER


def test_deploy_all_consumer_endpoint_reaches_pAllowedVPCEndpoints(first_deploy: Run) -> None:
    # GIVEN the provider update
    update = first_deploy.deploys()[2]
    # WHEN its parameters are inspected
    # THEN the consumer's endpoint id is the allowed endpoint, on the provider's profile
    assert overrides(update)["pAllowedVPCEndpoints"] == ENDPOINT_ID
    assert option(update, "--profile") == PROVIDER


def test_deploy_all_client_role_reaches_pAPIAccessList(first_deploy: Run) -> None:
    # GIVEN the provider update
    # WHEN its parameters are inspected
    # THEN the consumer's direct client role is on the access list
    assert overrides(first_deploy.deploys()[2])["pAPIAccessList"] == CLIENT_ROLE


def test_deploy_all_consumer_account_reaches_pTrustedPrincipals(first_deploy: Run) -> None:
    # GIVEN the provider update
    # WHEN its parameters are inspected
    # THEN the consumer account may assume the provider's API role; only the grants and the layer were overridden
    assert overrides(first_deploy.deploys()[2]) == {
        "pTrustedPrincipals": first_deploy.accounts[CONSUMER],
        "pAPIAccessList": CLIENT_ROLE,
        "pAllowedVPCEndpoints": ENDPOINT_ID,
        "pPowertoolsLayerArn": POWERTOOLS_LATEST,
    }


def test_deploy_all_live_policy_lists_the_consumer_endpoint(first_deploy: Run) -> None:
    # GIVEN the run's verification step
    run, result = first_deploy, first_deploy.result
    # WHEN the workflow's own API Gateway requests are inspected
    operations = [request.operation for request in run.aws("apigateway")]
    # THEN the policy, the stage and its deployment were read in the provider's account and the check passed
    assert operations == ["GetRestApi", "GetStage", "GetDeployment"]
    assert {request.account for request in run.aws("apigateway")} == {first_deploy.accounts[PROVIDER]}
    assert f"resource policy of a1b2c3d4e5 allows endpoint {ENDPOINT_ID}" in result.stdout
    assert run.backend_parameters["pAllowedVPCEndpoints"] == ENDPOINT_ID


def test_deploy_all_sam_deploy_runs_unattended_with_all_capabilities(first_deploy: Run) -> None:
    # GIVEN every sam deploy of the run
    for call in first_deploy.deploys():
        argv = call["argv"]
        # WHEN its flags are inspected
        capabilities = argv[argv.index("--capabilities") + 1 : argv.index("--capabilities") + 4]
        # THEN it tolerates empty change sets, never prompts, and may expand nested stacks
        assert capabilities == ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
        assert "--no-fail-on-empty-changeset" in argv
        assert "--no-confirm-changeset" in argv
        assert option(call, "--region") == REGION


def test_deploy_all_buckets_are_per_account_encrypted_and_private(first_deploy: Run) -> None:
    # GIVEN the run created one artifact bucket per account
    buckets = first_deploy.buckets
    # WHEN their settings are inspected
    # THEN each belongs to its account, is SSE-S3 encrypted and blocks all public access
    assert {name: bucket["owner"] for name, bucket in buckets.items()} == {
        first_deploy.bucket(PROVIDER): first_deploy.accounts[PROVIDER],
        first_deploy.bucket(CONSUMER): first_deploy.accounts[CONSUMER],
    }
    for bucket in buckets.values():
        assert bucket["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert bucket["public_access_block"] == ALL_PUBLIC_ACCESS_BLOCKED


def test_deploy_all_each_side_packages_into_its_own_accounts_bucket(first_deploy: Run) -> None:
    # GIVEN the four sam package calls
    # WHEN bucket and profile of each are paired
    pairs = {(option(call, "--s3-bucket"), option(call, "--profile")) for call in first_deploy.sam_calls("package")}
    # THEN the backend went to the provider's bucket and the client to the consumer's
    assert pairs == {(first_deploy.bucket(PROVIDER), PROVIDER), (first_deploy.bucket(CONSUMER), CONSUMER)}


# ---------------------------------------------------------------------------------------------------------------------
# Runs of their own
# ---------------------------------------------------------------------------------------------------------------------


def test_deploy_all_rerun_with_nothing_changed_succeeds_and_keeps_authorization(second_deploy: Run) -> None:
    # GIVEN a completed deployment (first_deploy)
    # WHEN deploy-all runs again with nothing changed (second_deploy)
    result = second_deploy.result
    # THEN the consumer deploy is an empty change set (the provider's never is: AlwaysDeploy), no bucket is
    # created, and the consumer stays authorized
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("No changes to deploy") == 1
    assert f"No changes to deploy. Stack {CLIENT_STACK} is up to date" in result.stdout
    assert second_deploy.aws("s3", "CreateBucket") == []
    assert second_deploy.backend_parameters["pAllowedVPCEndpoints"] == ENDPOINT_ID


def test_deploy_all_rerun_with_existing_consumer_deploys_provider_once(second_deploy: Run) -> None:
    # GIVEN a completed deployment (first_deploy); every provider deploy makes a new API deployment (AlwaysDeploy)
    # WHEN deploy-all runs again with nothing changed (second_deploy)
    run = second_deploy
    # THEN step 5 deploys the provider with the final parameters and step 7 says there is nothing to do
    assert run.result.returncode == 0, run.result.stderr
    assert [stack_of(call) for call in run.deploys()] == [BACKEND_STACK, CLIENT_STACK]
    assert overrides(run.deploys()[0]) == {
        "pDynamoDBPrefixListID": run.prefix_lists[REGION],
        "pTrustedPrincipals": second_deploy.accounts[CONSUMER],
        "pAPIAccessList": CLIENT_ROLE,
        "pAllowedVPCEndpoints": ENDPOINT_ID,
        "pPowertoolsLayerArn": POWERTOOLS_LATEST,
        "pEnableMtls": "No",
        "pEnablePrivateDomain": "No",
    }
    assert f"consumer already authorized: {CLIENT_ROLE} through {ENDPOINT_ID} unchanged" in run.result.stdout
    assert re.findall(r"^\[(\d)/8\]", run.result.stdout, flags=re.MULTILINE) == [str(n) for n in range(1, 9)]
    assert "is not older than the change" in run.result.stdout


NEW_CLIENT_ROLE = "arn:aws:iam::111111111111:role/private-api-client-DirectAuthClientRole-NEW999"


def replace_consumer_role(kit: Kit, *, recreated: bool) -> None:
    """A deployed pair whose consumer stack was deleted (and, if recreated, created again) with a new role."""
    seed_deployed(kit)
    kit.cloud.client("cloudformation", CONSUMER).delete_stack(StackName=CLIENT_STACK)
    set_output(kit, CLIENT_STACK, "DirectAuthClientRole", NEW_CLIENT_ROLE)
    if recreated:
        outputs = {"APIGatewayEndpointID": ENDPOINT_ID, "DirectAuthClientRole": NEW_CLIENT_ROLE}
        seed_stack(
            kit.cloud,
            CONSUMER,
            CLIENT_STACK,
            {"pAPIHost": API_HOST, "pAPIAccountID": kit.cloud.accounts[PROVIDER]},
            outputs,
        )


def test_deploy_all_consumer_deleted_before_rerun_never_resubmits_the_old_role(deploy_kit: Kit) -> None:
    # GIVEN an authorized provider whose consumer stack has since been deleted; re-creating it makes a new role
    replace_consumer_role(deploy_kit, recreated=False)
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN step 5 closes the API (no consumer stack, no principals), step 7 opens it to the new role only
    assert result.returncode == 0, result.stderr
    provider = [call for call in deploys(deploy_kit) if stack_of(call) == BACKEND_STACK]
    assert [call["parameters"]["pAPIAccessList"] for call in provider] == ["None", NEW_CLIENT_ROLE]
    assert [call["parameters"]["pTrustedPrincipals"] for call in provider] == [
        "Nobody",
        deploy_kit.cloud.accounts[CONSUMER],
    ]
    assert all(CLIENT_ROLE not in call["parameters"].values() for call in provider)


def test_deploy_all_consumer_recreated_before_rerun_provider_gets_the_new_role(deploy_kit: Kit) -> None:
    # GIVEN an authorized provider whose consumer stack was deleted and created again (new role ARN)
    replace_consumer_role(deploy_kit, recreated=True)
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN the one provider deploy carries the consumer stack's current role, never the old one
    assert result.returncode == 0, result.stderr
    provider = [call for call in deploys(deploy_kit) if stack_of(call) == BACKEND_STACK]
    assert [call["parameters"]["pAPIAccessList"] for call in provider] == [NEW_CLIENT_ROLE]
    assert all(CLIENT_ROLE not in call["parameters"].values() for call in provider)


def test_deploy_all_rerun_uploads_identical_packages(first_deploy: Run, second_deploy: Run) -> None:
    # GIVEN both runs' packaged templates
    # WHEN the artifacts in the buckets are compared (keys are content hashes)
    def keys(run: Run) -> list[str]:
        return sorted(key for bucket in run.buckets.values() for key in bucket["keys"])

    # THEN the rebuilt zips were byte-identical, so nothing new was uploaded
    assert second_deploy.result.returncode == 0
    assert keys(second_deploy) == keys(first_deploy)
    assert len(keys(first_deploy)) == 4


def test_deploy_all_unknown_profile_exits_1_before_changing_anything(deploy_kit: Kit, request_log: RequestLog) -> None:
    # GIVEN a provider profile the AWS config files do not know
    mark = request_log.mark()
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, "nope", "--region", "us-east-1")
    # THEN it names the profile and the preflight step, and neither buckets nor stacks are touched
    assert result.returncode == 1
    assert f"profile 'nope' does not exist; known profiles: {CONSUMER}, {PROVIDER}" in result.stderr
    assert "failed during step [1/8] Preflight" in result.stderr
    assert select(request_log.since(mark), "s3") == []
    assert deploy_kit.sam_calls() == []


def test_deploy_all_expired_credentials_exit_1(deploy_kit: Kit, faults: Faults) -> None:
    # GIVEN consumer credentials that STS rejects
    faults.broken_keys.add(deploy_kit.cloud.keys[CONSUMER][0])
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN the STS error is shown and nothing is deployed
    assert result.returncode == 1
    assert "InvalidClientTokenId" in result.stderr
    assert deploy_kit.sam_calls() == []


def test_deploy_all_region_mismatch_exits_1_naming_both_regions(deploy_kit: Kit, request_log: RequestLog) -> None:
    # GIVEN profiles configured for different regions and no --region
    deploy_kit.cloud.write_profiles({PROVIDER: "eu-west-1"})
    mark = request_log.mark()
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it refuses, naming each profile's region, before any account call
    assert result.returncode == 1
    assert "profiles use different regions ('consumer': us-east-1, 'provider': eu-west-1)" in result.stderr
    assert "pass --region" in result.stderr
    assert select(request_log.since(mark), "sts") == []


@pytest.fixture(scope="module")
def eu_deploy(
    moto_url: str, moto_extras: tuple[Faults, RequestLog], sam_service: str, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    """deploy-all.sh --region eu-west-1 with profiles in different regions."""
    base = tmp_path_factory.mktemp("eu")
    kit = prepare_deploy_kit(make_kit(base / "kit", make_cloud(moto_url, base / "cloud")), sam_service)
    kit.cloud.write_profiles({PROVIDER: "eu-west-1"})
    return capture(kit, moto_extras, "deploy-all.sh", CONSUMER, PROVIDER, "--region", "eu-west-1")


def test_deploy_all_region_flag_wins_over_profile_regions(eu_deploy: Run) -> None:
    # GIVEN profiles configured for different regions
    # WHEN --region picks eu-west-1 for both
    # THEN it succeeds and every account call and deploy uses that region
    assert eu_deploy.result.returncode == 0, eu_deploy.result.stderr
    regions = {request.region for request in eu_deploy.aws("sts")} | {option(c, "--region") for c in eu_deploy.sam}
    assert regions == {"eu-west-1"}


def test_deploy_all_buckets_outside_us_east_1_get_a_location_constraint(eu_deploy: Run) -> None:
    # GIVEN a deployment to eu-west-1
    # WHEN the buckets are created
    creates = eu_deploy.aws("s3", "CreateBucket")
    # THEN each is created in the region (S3 rejects a create without the constraint) and its name carries it
    assert len(creates) == 2
    assert {bucket["region"] for bucket in eu_deploy.buckets.values()} == {"eu-west-1"}
    assert f"private-api-artifacts-{eu_deploy.accounts[PROVIDER]}-eu-west-1" in eu_deploy.buckets


def test_deploy_all_prefix_list_is_the_deploy_regions(eu_deploy: Run) -> None:
    # GIVEN a deployment to eu-west-1
    # WHEN the provider is first deployed
    first = eu_deploy.deploys()[0]
    # THEN it gets eu-west-1's DynamoDB prefix list, not us-east-1's
    assert overrides(first)["pDynamoDBPrefixListID"] == eu_deploy.prefix_lists["eu-west-1"]
    assert eu_deploy.prefix_lists["eu-west-1"] != eu_deploy.prefix_lists[REGION]


def test_deploy_all_verification_compares_the_deployment_with_the_stack_change(eu_deploy: Run) -> None:
    # GIVEN API Gateway's deployment date and CloudFormation's change date, as boto3 parses them
    # WHEN the stage freshness is checked
    # THEN the comparison passes and says so
    assert eu_deploy.result.returncode == 0, eu_deploy.result.stderr
    assert "is not older than the change" in eu_deploy.result.stdout


def test_deploy_all_same_account_warns_and_succeeds(deploy_kit: Kit) -> None:
    # GIVEN both profiles in the same account
    deploy_kit.cloud.keys[CONSUMER] = deploy_kit.cloud.keys[PROVIDER]
    deploy_kit.cloud.write_profiles()
    set_output(
        deploy_kit,
        CLIENT_STACK,
        "DirectAuthClientRole",
        f"arn:aws:iam::{deploy_kit.cloud.accounts[PROVIDER]}:role/client-role",
    )
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it warns about same-account IAM evaluation, shares one bucket, and still completes
    assert result.returncode == 0, result.stderr
    assert f"WARNING: both profiles are account {deploy_kit.cloud.accounts[PROVIDER]}" in result.stderr
    listed = deploy_kit.cloud.client("s3", PROVIDER).list_buckets()["Buckets"]
    assert [bucket["Name"] for bucket in listed] == [deploy_kit.cloud.bucket(PROVIDER)]


def test_deploy_all_failed_consumer_deploy_prints_failed_event_reasons(deploy_kit: Kit, faults: Faults) -> None:
    # GIVEN the consumer stack fails in a nested stack, and an old unrelated failure is in its history
    faults.fail_deploy(
        deploy_kit.cloud.accounts[CONSUMER],
        CLIENT_STACK,
        DeployFailure(
            times=1,
            events=[
                {
                    "LogicalResourceId": "rAPIClientStack",
                    "ResourceType": "AWS::CloudFormation::Stack",
                    "ResourceStatus": "CREATE_FAILED",
                    "ResourceStatusReason": "Embedded stack was not successfully created",
                },
                {"LogicalResourceId": CLIENT_STACK, "ResourceStatus": "ROLLBACK_COMPLETE"},
            ],
            nested_events=[
                {
                    "LogicalResourceId": "rAPIEndpoint",
                    "ResourceType": "AWS::EC2::VPCEndpoint",
                    "ResourceStatus": "CREATE_FAILED",
                    "ResourceStatusReason": "private-dns-enabled cannot be set because there is already a "
                    "conflicting DNS",
                    "Timestamp": "2099-01-01T00:00:00+00:00",
                },
                {
                    "LogicalResourceId": "rOldThing",
                    "ResourceType": "AWS::IAM::Role",
                    "ResourceStatus": "UPDATE_FAILED",
                    "ResourceStatusReason": "an old failure from another day",
                    "Timestamp": "2001-01-01T00:00:00+00:00",
                },
            ],
        ),
    )
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it names the step, prints this run's failed events including the nested cause, and stops there
    assert result.returncode == 1
    assert "failed during step [6/8] Deploy consumer stack private-api-client" in result.stderr
    assert "rAPIClientStack (AWS::CloudFormation::Stack) CREATE_FAILED: Embedded stack" in result.stderr
    assert "rAPIEndpoint (AWS::EC2::VPCEndpoint) CREATE_FAILED: private-dns-enabled cannot be set" in result.stderr
    assert "an old failure from another day" not in result.stderr
    assert "sam deploy of stack private-api-client failed" in result.stderr
    assert [stack_of(call) for call in deploys(deploy_kit)] == [BACKEND_STACK, CLIENT_STACK]


def test_deploy_all_stack_in_rollback_complete_stops_with_advice(deploy_kit: Kit) -> None:
    # GIVEN a provider stack left ROLLBACK_COMPLETE by a failed first create
    seed_stack(deploy_kit.cloud, PROVIDER, BACKEND_STACK, {}, {})
    set_stack_status(deploy_kit.cloud.accounts[PROVIDER], REGION, BACKEND_STACK, "ROLLBACK_COMPLETE")
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it explains that the stack must be deleted first instead of calling sam deploy
    assert result.returncode == 1
    assert "stack private-api-backend is ROLLBACK_COMPLETE and cannot be updated; delete it first" in result.stderr
    assert deploys(deploy_kit) == []


def test_deploy_all_missing_provider_output_exits_1_naming_it(deploy_kit: Kit) -> None:
    # GIVEN a provider stack without the APIAccessRole output (older template)
    set_output(deploy_kit, BACKEND_STACK, "APIAccessRole", None)
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it names the stack and the output, and the consumer is never deployed
    assert result.returncode == 1
    assert "stack private-api-backend has no output APIAccessRole" in result.stderr
    assert [stack_of(call) for call in deploys(deploy_kit)] == [BACKEND_STACK]


def test_deploy_all_missing_consumer_output_exits_1_naming_it(deploy_kit: Kit) -> None:
    # GIVEN a consumer stack without the endpoint id output
    set_output(deploy_kit, CLIENT_STACK, "APIGatewayEndpointID", None)
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN the provider is not updated with an empty endpoint list
    assert result.returncode == 1
    assert "stack private-api-client has no output APIGatewayEndpointID" in result.stderr
    assert [stack_of(call) for call in deploys(deploy_kit)] == [BACKEND_STACK, CLIENT_STACK]


def test_deploy_all_stale_stage_deployment_fails_verification(deploy_kit: Kit) -> None:
    # GIVEN an API whose stage keeps its first deployment when the policy changes (no AlwaysDeploy)
    set_control(deploy_kit, stale_deployment=True)
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN verification fails, saying the old policy is live and why
    assert result.returncode == 1
    assert "failed during step [8/8] Verify the live stage" in result.stderr
    assert "made before the policy change, so the old policy is live" in result.stderr
    assert "AlwaysDeploy: true" in result.stderr


def test_deploy_all_policy_without_endpoint_fails_verification(deploy_kit: Kit) -> None:
    # GIVEN an API whose live policy ignores the stack's parameters (e.g. a template wiring mistake)
    set_control(deploy_kit, policy_ignores_parameters=True)
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN verification fails, naming the API, the missing endpoint and the parameter to check
    assert result.returncode == 1
    assert f"the resource policy of API a1b2c3d4e5 does not mention endpoint {ENDPOINT_ID}" in result.stderr
    assert "check pAllowedVPCEndpoints on stack private-api-backend" in result.stderr


@pytest.fixture
def someone_else(deploy_kit: Kit) -> Iterator[str]:
    """An account outside the kit's two, emptied afterwards (bucket names are global: its buckets would outlive the
    test and clash with later ones)."""
    account = "999999999999"
    yield account
    reset_accounts([account])


def test_deploy_all_bucket_name_taken_by_another_account_exits_1(deploy_kit: Kit, someone_else: str) -> None:
    # GIVEN the provider's artifact bucket name already owned by someone else
    admin_client(deploy_kit.cloud.url, "s3", someone_else).create_bucket(Bucket=deploy_kit.cloud.bucket(PROVIDER))
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it explains the clash and suggests another prefix
    assert result.returncode == 1
    assert f"bucket {deploy_kit.cloud.bucket(PROVIDER)}: access denied" in result.stderr
    assert "--stack-prefix" in result.stderr
    assert deploy_kit.sam_calls() == []


def test_deploy_all_missing_sam_exits_1_naming_it(
    deploy_kit: Kit, request_log: RequestLog, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # GIVEN a PATH with python3 (which has boto3) but no sam
    bin_dir = tmp_path_factory.mktemp("nosam")
    (bin_dir / "python3").symlink_to(deploy_kit.base / "bin" / "python3")
    mark = request_log.mark()
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    # THEN it lists the missing tool and does nothing else
    assert result.returncode == 1
    assert "missing required command(s): sam" in result.stderr
    assert request_log.since(mark) == []
    assert deploy_kit.sam_calls() == []


IAM_NOT_YET = "The role ARN does not have required permissions set to API Gateway"


def fail_provider_create(kit: Kit, faults: Faults, *, times: int, reason: str) -> None:
    """The provider's next `times` deploys fail in the nested backend stack's AWS::ApiGateway::Account."""
    faults.fail_deploy(
        kit.cloud.accounts[PROVIDER],
        BACKEND_STACK,
        DeployFailure(
            times=times,
            events=[
                {
                    "LogicalResourceId": "BackendStack",
                    "ResourceType": "AWS::CloudFormation::Stack",
                    "ResourceStatus": "CREATE_FAILED",
                    "ResourceStatusReason": "Embedded stack was not successfully created: The following resource(s) "
                    "failed to create: [ApiGatewayAccount].",
                },
                {"LogicalResourceId": BACKEND_STACK, "ResourceStatus": "ROLLBACK_COMPLETE"},
            ],
            nested_events=[
                {
                    "LogicalResourceId": "ApiGatewayAccount",
                    "ResourceType": "AWS::ApiGateway::Account",
                    "ResourceStatus": "CREATE_FAILED",
                    "ResourceStatusReason": reason,
                    "Timestamp": "2099-01-01T00:00:00+00:00",
                }
            ],
        ),
    )


def test_deploy_all_iam_propagation_failure_on_first_create_is_retried_once(
    deploy_kit: Kit, faults: Faults, request_log: RequestLog
) -> None:
    # GIVEN a fresh provider account whose first create fails while IAM propagates the API Gateway logging role
    fail_provider_create(deploy_kit, faults, times=1, reason=f"{IAM_NOT_YET} (Service: ApiGateway)")
    mark = request_log.mark()
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it says why it retries, deletes the rolled-back stack it just created, creates it again and completes
    assert result.returncode == 0, result.stderr
    assert "WARNING: stack private-api-backend failed while IAM propagates a new role" in result.stderr
    assert IAM_NOT_YET in result.stderr
    [delete] = select(request_log.since(mark), "cloudformation", "DeleteStack")
    assert delete.account == deploy_kit.cloud.accounts[PROVIDER]
    assert delete.params["StackName"].startswith("arn:aws:cloudformation:")
    assert f"deleting stack {BACKEND_STACK} (ROLLBACK_COMPLETE after the failed create)" in result.stdout
    assert [stack_of(call) for call in deploys(deploy_kit)] == [
        BACKEND_STACK,
        BACKEND_STACK,
        CLIENT_STACK,
        BACKEND_STACK,
    ]


def test_deploy_all_other_provider_create_failure_is_not_retried(
    deploy_kit: Kit, faults: Faults, request_log: RequestLog
) -> None:
    # GIVEN a provider create that fails for a reason other than IAM propagation
    reason = "Resource limit exceeded: too many VPCs"
    fail_provider_create(deploy_kit, faults, times=1, reason=reason)
    mark = request_log.mark()
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it shows the reason and stops after one attempt, leaving the stack for the user to inspect
    assert result.returncode == 1
    assert f"ApiGatewayAccount (AWS::ApiGateway::Account) CREATE_FAILED: {reason}" in result.stderr
    assert "sam deploy of stack private-api-backend failed" in result.stderr
    assert "WARNING" not in result.stderr
    assert select(request_log.since(mark), "cloudformation", "DeleteStack") == []
    assert [stack_of(call) for call in deploys(deploy_kit)] == [BACKEND_STACK]


def test_deploy_all_iam_propagation_failure_twice_exits_with_the_reason(deploy_kit: Kit, faults: Faults) -> None:
    # GIVEN a provider create that fails with the IAM propagation reason on both attempts
    fail_provider_create(deploy_kit, faults, times=2, reason=IAM_NOT_YET)
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it retried exactly once, then stops naming the reason and the step
    assert result.returncode == 1
    assert [stack_of(call) for call in deploys(deploy_kit)] == [BACKEND_STACK, BACKEND_STACK]
    assert result.stderr.count(f"CREATE_FAILED: {IAM_NOT_YET}") == 2
    assert "sam deploy of stack private-api-backend failed" in result.stderr
    assert "failed during step [5/8] Deploy provider stack" in result.stderr


# ---------------------------------------------------------------------------------------------------------------------
# Size quotas (docs/quotas.md), checked in step 1
# ---------------------------------------------------------------------------------------------------------------------


def test_deploy_all_preflight_reports_the_quotas_of_both_stacks(first_deploy: Run) -> None:
    # GIVEN a normal run
    stdout = first_deploy.result.stdout
    # WHEN step 1's output is read
    preflight = stdout[: stdout.index("[2/8]")]
    # THEN it measured the provider's policies and the consumer's endpoint policy against their quotas
    assert re.search(rf"{BACKEND_STACK}: API resource policy: [\d,]+ of 8,192 characters", preflight)
    assert re.search(rf"{BACKEND_STACK}: Access role trust policy: [\d,]+ of 2,048 characters", preflight)
    assert re.search(rf"{CLIENT_STACK}: execute-api endpoint policy: [\d,]+ of 20,480 characters", preflight)


def test_deploy_all_value_over_a_quota_is_refused_before_any_stack_or_bucket_call(
    capfd: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a region name (the one input without a length bound) that makes pAPIHost longer than 4,096 bytes; boto3
    # refuses such a region before any request, so the check (which runs before any bucket, package or stack call,
    # right after the accounts are known) is called directly with it
    region = "us-" + "x" * 4100 + "-1"
    consumer = deploy_all.Side(CONSUMER, "111111111111", CLIENT_STACK)
    provider = deploy_all.Side(PROVIDER, "222222222222", BACKEND_STACK)
    # WHEN the quotas are checked
    with pytest.raises(Fatal) as refused:
        deploy_all.check_quotas(Output(), region, consumer, provider)
    # THEN it refuses, saying which quota and by how much
    assert re.search(r"pAPIHost\) is [\d,]+ bytes over the quota of 4,096 bytes", capfd.readouterr().err)
    assert "nothing was deployed" in str(refused.value.message)


def test_deploy_all_every_sam_call_runs_with_telemetry_off(first_deploy: Run) -> None:
    # GIVEN a caller whose environment says nothing about SAM telemetry
    # WHEN deploy-all runs sam (package and deploy)
    calls = first_deploy.sam
    # THEN every call has SAM_CLI_TELEMETRY=0, set by the workflow itself
    assert calls
    assert [call["telemetry"] for call in calls] == ["0"] * len(calls)


def test_deploy_all_does_not_relay_sams_deploy_advice(first_deploy: Run) -> None:
    # GIVEN sam package, which ends each of its four runs advising `sam deploy ... --stack-name <YOUR STACK NAME>`
    assert len(first_deploy.sam_calls("package")) == 4
    output = first_deploy.result.stdout + first_deploy.result.stderr
    # WHEN deploy-all has packaged and deployed both sides
    # THEN that advice never reaches its output (deploy-all deploys the stacks itself), its own lines do
    assert "<YOUR STACK NAME>" not in output
    assert "Execute the following command" not in output
    assert "packaged api-backend/vpc-api-backend-deploy.yaml" in first_deploy.result.stdout


def test_deploy_all_default_layer_is_checked_and_passed_explicitly(first_deploy: Run) -> None:
    # GIVEN a published region and no Powertools option (first_deploy)
    run = first_deploy
    # WHEN the run's SSM lookups and deploys are read
    # THEN the parameter was checked in the provider's account and sent to both stacks (so a previous
    # --bundle-powertools run's None is not kept by sam deploy's UsePreviousValue)
    assert [request.params.get("Name") for request in run.aws("ssm")] == [POWERTOOLS_LATEST]
    assert {request.account for request in run.aws("ssm")} == {first_deploy.accounts[PROVIDER]}
    assert {overrides(call).get("pPowertoolsLayerArn") for call in run.deploys()[:2]} == {POWERTOOLS_LATEST}
    assert "Powertools layer arn:aws:lambda:us-east-1:017000801446:" in run.result.stdout
