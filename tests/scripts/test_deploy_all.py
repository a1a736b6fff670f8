"""deploy-all.sh against recorded AWS/SAM CLIs: order of work, values handed between stacks, failure paths."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.scripts.fakecli import new_stack, prefix_list_id
from tests.scripts.helpers import (
    API_HOST,
    API_ROLE,
    BACKEND_STACK,
    CLIENT_ROLE,
    CLIENT_STACK,
    CONSUMER,
    CONSUMER_ACCOUNT,
    CONSUMER_BUCKET,
    ENDPOINT_ID,
    PROVIDER,
    PROVIDER_ACCOUNT,
    PROVIDER_BUCKET,
    Kit,
    Run,
    make_kit,
    seed_deployed,
)

POWERTOOLS_LATEST = "/aws/service/powertools/python/arm64/python3.14/latest"


def overrides(call: dict[str, Any]) -> dict[str, str]:
    """The --parameter-overrides of a recorded sam deploy call."""
    argv = call["argv"]
    if "--parameter-overrides" not in argv:
        return {}
    values = []
    for token in argv[argv.index("--parameter-overrides") + 1 :]:
        if token.startswith("--"):
            break
        values.append(token)
    return dict(value.split("=", 1) for value in values)


def deploys(source: Kit | Run) -> list[dict[str, Any]]:
    return source.calls("sam", "deploy")


def stack_of(call: dict[str, Any]) -> str:
    return call["argv"][call["argv"].index("--stack-name") + 1]


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
    sequence = [(call["argv"][0], stack_of(call) if call["argv"][0] == "deploy" else "") for call in run.calls("sam")]
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
    first = deploys(run)[0]
    # WHEN its parameters are inspected
    # THEN it sends the looked-up DynamoDB prefix list and, explicitly, the closed authorization values and the
    # Powertools layer (sam deploy would otherwise send UsePreviousValue for them), with the vpc- packaged template
    [lookup] = run.calls("aws", "ec2", "describe-managed-prefix-lists")
    assert overrides(first) == {
        "pDynamoDBPrefixListID": prefix_list_id("us-east-1", "dynamodb"),
        "pTrustedPrincipals": "Nobody",
        "pAPIAccessList": "None",
        "pAllowedVPCEndpoints": "None",
        "pPowertoolsLayerArn": POWERTOOLS_LATEST,
    }
    assert (lookup["profile"], lookup["region"]) == (PROVIDER, "us-east-1")
    assert first["argv"][first["argv"].index("--template-file") + 1].endswith("api-backend/vpc-api-backend-deploy.yaml")


def test_deploy_all_provider_outputs_reach_consumer_parameters(first_deploy: Run) -> None:
    # GIVEN the consumer deploy
    run = first_deploy
    consumer = deploys(run)[1]
    # WHEN its parameters are inspected
    # THEN the provider's host, stage, account and access role were passed on
    assert overrides(consumer) == {
        "pAPIHost": API_HOST,
        "pAPIPrefix": "/Prod",
        "pAPIAccountID": PROVIDER_ACCOUNT,
        "pAPIRoleARN": API_ROLE,
        "pPowertoolsLayerArn": POWERTOOLS_LATEST,
    }
    assert consumer["profile"] == CONSUMER


def test_deploy_all_consumer_endpoint_reaches_pAllowedVPCEndpoints(first_deploy: Run) -> None:
    # GIVEN the provider update
    run = first_deploy
    update = deploys(run)[2]
    # WHEN its parameters are inspected
    # THEN the consumer's endpoint id is the allowed endpoint, on the provider's profile
    assert overrides(update)["pAllowedVPCEndpoints"] == ENDPOINT_ID
    assert update["profile"] == PROVIDER


def test_deploy_all_client_role_reaches_pAPIAccessList(first_deploy: Run) -> None:
    # GIVEN the provider update
    run = first_deploy
    # WHEN its parameters are inspected
    # THEN the consumer's direct client role is on the access list
    assert overrides(deploys(run)[2])["pAPIAccessList"] == CLIENT_ROLE


def test_deploy_all_consumer_account_reaches_pTrustedPrincipals(first_deploy: Run) -> None:
    # GIVEN the provider update
    run = first_deploy
    # WHEN its parameters are inspected
    # THEN the consumer account may assume the provider's API role; only the grants and the layer were overridden
    assert overrides(deploys(run)[2]) == {
        "pTrustedPrincipals": CONSUMER_ACCOUNT,
        "pAPIAccessList": CLIENT_ROLE,
        "pAllowedVPCEndpoints": ENDPOINT_ID,
        "pPowertoolsLayerArn": POWERTOOLS_LATEST,
    }


def test_deploy_all_live_policy_lists_the_consumer_endpoint(first_deploy: Run) -> None:
    # GIVEN the run's verification step
    run, result = first_deploy, first_deploy.result
    # WHEN the recorded apigateway calls are inspected
    operations = [call["argv"][1] for call in run.calls("aws", "apigateway")]
    # THEN the policy, the stage and its deployment were read with the provider's profile and the check passed
    assert operations == ["get-rest-api", "get-stage", "get-deployment"]
    assert {call["profile"] for call in run.calls("aws", "apigateway")} == {PROVIDER}
    assert f"resource policy of a1b2c3d4e5 allows endpoint {ENDPOINT_ID}" in result.stdout
    assert run.state["stacks"][f"{PROVIDER_ACCOUNT}/{BACKEND_STACK}"]["parameters"]["pAllowedVPCEndpoints"] == (
        ENDPOINT_ID
    )


def test_deploy_all_sam_deploy_runs_unattended_with_all_capabilities(first_deploy: Run) -> None:
    # GIVEN every sam deploy of the run
    run = first_deploy
    for call in deploys(run):
        argv = call["argv"]
        # WHEN its flags are inspected
        capabilities = argv[argv.index("--capabilities") + 1 : argv.index("--capabilities") + 4]
        # THEN it tolerates empty change sets, never prompts, and may expand nested stacks
        assert capabilities == ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
        assert "--no-fail-on-empty-changeset" in argv
        assert "--no-confirm-changeset" in argv
        assert call["region"] == "us-east-1"


def test_deploy_all_buckets_are_per_account_encrypted_and_private(first_deploy: Run) -> None:
    # GIVEN the run created one artifact bucket per account
    run = first_deploy
    buckets = run.state["buckets"]
    # WHEN their settings are inspected
    # THEN each belongs to its account, is SSE-S3 encrypted and blocks all public access
    assert {name: bucket["owner"] for name, bucket in buckets.items()} == {
        PROVIDER_BUCKET: PROVIDER_ACCOUNT,
        CONSUMER_BUCKET: CONSUMER_ACCOUNT,
    }
    for bucket in buckets.values():
        assert bucket["encryption"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert bucket["public_access_block"] == (
            "BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true"
        )


def test_deploy_all_each_side_packages_into_its_own_accounts_bucket(first_deploy: Run) -> None:
    # GIVEN the four sam package calls
    run = first_deploy
    # WHEN bucket and profile of each are paired
    pairs = {
        (call["argv"][call["argv"].index("--s3-bucket") + 1], call["profile"]) for call in run.calls("sam", "package")
    }
    # THEN the backend went to the provider's bucket and the client to the consumer's
    assert pairs == {(PROVIDER_BUCKET, PROVIDER), (CONSUMER_BUCKET, CONSUMER)}


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
    assert second_deploy.calls("aws", "s3api", "create-bucket") == []
    backend = second_deploy.state["stacks"][f"{PROVIDER_ACCOUNT}/{BACKEND_STACK}"]
    assert backend["parameters"]["pAllowedVPCEndpoints"] == ENDPOINT_ID


def test_deploy_all_rerun_with_existing_consumer_deploys_provider_once(second_deploy: Run) -> None:
    # GIVEN a completed deployment (first_deploy); every provider deploy makes a new API deployment (AlwaysDeploy)
    # WHEN deploy-all runs again with nothing changed (second_deploy)
    run = second_deploy
    # THEN step 5 deploys the provider with the final parameters and step 7 says there is nothing to do
    assert run.result.returncode == 0, run.result.stderr
    assert [stack_of(call) for call in deploys(run)] == [BACKEND_STACK, CLIENT_STACK]
    assert overrides(deploys(run)[0]) == {
        "pDynamoDBPrefixListID": prefix_list_id("us-east-1", "dynamodb"),
        "pTrustedPrincipals": CONSUMER_ACCOUNT,
        "pAPIAccessList": CLIENT_ROLE,
        "pAllowedVPCEndpoints": ENDPOINT_ID,
        "pPowertoolsLayerArn": POWERTOOLS_LATEST,
    }
    assert f"consumer already authorized: {CLIENT_ROLE} through {ENDPOINT_ID} unchanged" in run.result.stdout
    assert re.findall(r"^\[(\d)/8\]", run.result.stdout, flags=re.MULTILINE) == [str(n) for n in range(1, 9)]
    assert "is not older than the change" in run.result.stdout


NEW_CLIENT_ROLE = f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/private-api-client-DirectAuthClientRole-NEW999"


def replace_consumer_role(state: dict[str, Any], *, recreated: bool) -> None:
    """A deployed pair whose consumer stack was deleted (and, if recreated, created again) with a new role."""
    seed_deployed(state)
    state["outputs"][CLIENT_STACK]["DirectAuthClientRole"] = NEW_CLIENT_ROLE
    old = state["stacks"].pop(f"{CONSUMER_ACCOUNT}/{CLIENT_STACK}")
    old["status"] = "DELETE_COMPLETE"
    state["stacks"][f"{CONSUMER_ACCOUNT}/{CLIENT_STACK}-deleted"] = old
    if recreated:
        client = new_stack(state, CLIENT_STACK, CONSUMER_ACCOUNT, "us-east-1")
        client.update(status="CREATE_COMPLETE", template_hash="recreated", parameters=dict(old["parameters"]))
        state["stacks"][f"{CONSUMER_ACCOUNT}/{CLIENT_STACK}"] = client


def test_deploy_all_consumer_deleted_before_rerun_never_resubmits_the_old_role(kit: Kit) -> None:
    # GIVEN an authorized provider whose consumer stack has since been deleted; re-creating it makes a new role
    kit.change_state(lambda state: replace_consumer_role(state, recreated=False))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN step 5 closes the API (no consumer stack, no principals), step 7 opens it to the new role only
    assert result.returncode == 0, result.stderr
    provider = [call for call in deploys(kit) if stack_of(call) == BACKEND_STACK]
    assert [call["parameters"]["pAPIAccessList"] for call in provider] == ["None", NEW_CLIENT_ROLE]
    assert [call["parameters"]["pTrustedPrincipals"] for call in provider] == ["Nobody", CONSUMER_ACCOUNT]
    assert all(CLIENT_ROLE not in call["parameters"].values() for call in provider)


def test_deploy_all_consumer_recreated_before_rerun_provider_gets_the_new_role(kit: Kit) -> None:
    # GIVEN an authorized provider whose consumer stack was deleted and created again (new role ARN)
    kit.change_state(lambda state: replace_consumer_role(state, recreated=True))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN the one provider deploy carries the consumer stack's current role, never the old one
    assert result.returncode == 0, result.stderr
    provider = [call for call in deploys(kit) if stack_of(call) == BACKEND_STACK]
    assert [call["parameters"]["pAPIAccessList"] for call in provider] == [NEW_CLIENT_ROLE]
    assert all(CLIENT_ROLE not in call["parameters"].values() for call in provider)


def test_deploy_all_rerun_uploads_identical_packages(first_deploy: Run, second_deploy: Run) -> None:
    # GIVEN both runs' packaged templates
    # WHEN the artifacts in the buckets are compared (keys are content hashes)
    def keys(run: Run) -> list[list[str]]:
        return sorted(key for bucket in run.state["buckets"].values() for key in bucket["objects"])

    # THEN the rebuilt zips were byte-identical, so nothing new was uploaded
    assert second_deploy.result.returncode == 0
    assert keys(second_deploy) == keys(first_deploy)
    assert len(keys(first_deploy)) == 4


def test_deploy_all_unknown_profile_exits_1_before_changing_anything(kit: Kit) -> None:
    # GIVEN a provider profile the CLI does not know
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, "nope", "--region", "us-east-1")
    # THEN it names the profile and the preflight step, and neither buckets nor stacks are touched
    assert result.returncode == 1
    assert f"profile 'nope' does not exist; known profiles: {CONSUMER}, {PROVIDER}" in result.stderr
    assert "failed during step [1/8] Preflight" in result.stderr
    assert kit.calls("aws", "s3api") == []
    assert kit.calls("sam") == []


def test_deploy_all_expired_credentials_exit_1(kit: Kit) -> None:
    # GIVEN consumer credentials that STS rejects
    kit.change_state(lambda state: state["profiles"][CONSUMER].update(broken=True))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN the STS error is shown and nothing is deployed
    assert result.returncode == 1
    assert "InvalidClientTokenId" in result.stderr
    assert kit.calls("sam") == []


def test_deploy_all_region_mismatch_exits_1_naming_both_regions(kit: Kit) -> None:
    # GIVEN profiles configured for different regions and no --region
    kit.change_state(lambda state: state["profiles"][PROVIDER].update(region="eu-west-1"))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it refuses, naming each profile's region, before any account call
    assert result.returncode == 1
    assert "profiles use different regions ('consumer': us-east-1, 'provider': eu-west-1)" in result.stderr
    assert "pass --region" in result.stderr
    assert kit.calls("aws", "sts") == []


@pytest.fixture(scope="module")
def eu_v1_deploy(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """deploy-all.sh --region eu-west-1 with profiles in different regions and an AWS CLI v1 (epoch timestamps)."""
    kit = make_kit(tmp_path_factory.mktemp("eu-v1"))

    def v1_in_two_regions(state: dict[str, Any]) -> None:
        state["profiles"][PROVIDER]["region"] = "eu-west-1"
        state["cli_version"] = 1

    kit.change_state(v1_in_two_regions)
    return kit.capture("deploy-all.sh", CONSUMER, PROVIDER, "--region", "eu-west-1")


def test_deploy_all_region_flag_wins_over_profile_regions(eu_v1_deploy: Run) -> None:
    # GIVEN profiles configured for different regions
    # WHEN --region picks eu-west-1 for both
    # THEN it succeeds and every account call and deploy uses that region
    assert eu_v1_deploy.result.returncode == 0, eu_v1_deploy.result.stderr
    regions = {call["region"] for call in eu_v1_deploy.calls("aws", "sts") + eu_v1_deploy.calls("sam")}
    assert regions == {"eu-west-1"}


def test_deploy_all_buckets_outside_us_east_1_get_a_location_constraint(eu_v1_deploy: Run) -> None:
    # GIVEN a deployment to eu-west-1
    # WHEN the buckets are created
    creates = eu_v1_deploy.calls("aws", "s3api", "create-bucket")
    # THEN each create names the region (S3 rejects it otherwise) and the bucket name carries it
    assert len(creates) == 2
    assert all("LocationConstraint=eu-west-1" in call["argv"] for call in creates)
    assert f"private-api-artifacts-{PROVIDER_ACCOUNT}-eu-west-1" in eu_v1_deploy.state["buckets"]


def test_deploy_all_prefix_list_is_the_deploy_regions(eu_v1_deploy: Run) -> None:
    # GIVEN a deployment to eu-west-1
    # WHEN the provider is first deployed
    first = deploys(eu_v1_deploy)[0]
    # THEN it gets eu-west-1's DynamoDB prefix list, not us-east-1's
    assert overrides(first)["pDynamoDBPrefixListID"] == prefix_list_id("eu-west-1", "dynamodb")
    assert prefix_list_id("eu-west-1", "dynamodb") != prefix_list_id("us-east-1", "dynamodb")


def test_deploy_all_verification_reads_cli_v1_epoch_timestamps(eu_v1_deploy: Run) -> None:
    # GIVEN an AWS CLI v1, which prints API Gateway dates as epoch numbers and CloudFormation ones as ISO 8601
    # WHEN the stage freshness is checked
    # THEN both forms are understood (v2's ISO form is covered by first_deploy)
    assert eu_v1_deploy.result.returncode == 0, eu_v1_deploy.result.stderr
    assert "is not older than the change" in eu_v1_deploy.result.stdout


def test_deploy_all_same_account_warns_and_succeeds(kit: Kit) -> None:
    # GIVEN both profiles in the same account
    kit.change_state(lambda state: state["profiles"][CONSUMER].update(account=PROVIDER_ACCOUNT))
    kit.change_state(
        lambda state: state["outputs"][CLIENT_STACK].update(
            DirectAuthClientRole=f"arn:aws:iam::{PROVIDER_ACCOUNT}:role/client-role"
        )
    )
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it warns about same-account IAM evaluation, shares one bucket, and still completes
    assert result.returncode == 0, result.stderr
    assert f"WARNING: both profiles are account {PROVIDER_ACCOUNT}" in result.stderr
    assert list(kit.state()["buckets"]) == [PROVIDER_BUCKET]


def test_deploy_all_failed_consumer_deploy_prints_failed_event_reasons(kit: Kit) -> None:
    # GIVEN the consumer stack fails in a nested stack, and an old unrelated failure is in its history
    nested_arn = f"arn:aws:cloudformation:us-east-1:{CONSUMER_ACCOUNT}:stack/{CLIENT_STACK}-rAPIClientStack-1/abc"

    def fail_consumer(state: dict[str, Any]) -> None:
        state["deploy_failures"][CLIENT_STACK] = {
            "events": [
                {
                    "LogicalResourceId": "rAPIClientStack",
                    "ResourceType": "AWS::CloudFormation::Stack",
                    "ResourceStatus": "CREATE_FAILED",
                    "PhysicalResourceId": nested_arn,
                    "ResourceStatusReason": "Embedded stack was not successfully created",
                },
                {"LogicalResourceId": CLIENT_STACK, "ResourceStatus": "ROLLBACK_COMPLETE"},
            ]
        }
        state["nested_events"][nested_arn] = [
            {
                "StackId": nested_arn,
                "LogicalResourceId": "rAPIEndpoint",
                "ResourceType": "AWS::EC2::VPCEndpoint",
                "ResourceStatus": "CREATE_FAILED",
                "PhysicalResourceId": "",
                "ResourceStatusReason": "private-dns-enabled cannot be set because there is already a conflicting DNS",
                "Timestamp": "2099-01-01T00:00:00+00:00",
            },
            {
                "StackId": nested_arn,
                "LogicalResourceId": "rOldThing",
                "ResourceType": "AWS::IAM::Role",
                "ResourceStatus": "UPDATE_FAILED",
                "ResourceStatusReason": "an old failure from another day",
                "Timestamp": "2001-01-01T00:00:00+00:00",
            },
        ]

    kit.change_state(fail_consumer)
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it names the step, prints this run's failed events including the nested cause, and stops there
    assert result.returncode == 1
    assert "failed during step [6/8] Deploy consumer stack private-api-client" in result.stderr
    assert "rAPIClientStack (AWS::CloudFormation::Stack) CREATE_FAILED: Embedded stack" in result.stderr
    assert "rAPIEndpoint (AWS::EC2::VPCEndpoint) CREATE_FAILED: private-dns-enabled cannot be set" in result.stderr
    assert "an old failure from another day" not in result.stderr
    assert "sam deploy of stack private-api-client failed" in result.stderr
    assert [stack_of(call) for call in deploys(kit)] == [BACKEND_STACK, CLIENT_STACK]


def test_deploy_all_stack_in_rollback_complete_stops_with_advice(kit: Kit) -> None:
    # GIVEN a provider stack left ROLLBACK_COMPLETE by a failed first create
    def rolled_back(state: dict[str, Any]) -> None:
        stack = new_stack(state, BACKEND_STACK, PROVIDER_ACCOUNT, "us-east-1")
        stack["status"] = "ROLLBACK_COMPLETE"
        state["stacks"][f"{PROVIDER_ACCOUNT}/{BACKEND_STACK}"] = stack

    kit.change_state(rolled_back)
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it explains that the stack must be deleted first instead of calling sam deploy
    assert result.returncode == 1
    assert "stack private-api-backend is ROLLBACK_COMPLETE and cannot be updated; delete it first" in result.stderr
    assert deploys(kit) == []


def test_deploy_all_missing_provider_output_exits_1_naming_it(kit: Kit) -> None:
    # GIVEN a provider stack without the APIAccessRole output (older template)
    kit.change_state(lambda state: state.setdefault("omit_outputs", {}).update({BACKEND_STACK: ["APIAccessRole"]}))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it names the stack and the output, and the consumer is never deployed
    assert result.returncode == 1
    assert "stack private-api-backend has no output APIAccessRole" in result.stderr
    assert [stack_of(call) for call in deploys(kit)] == [BACKEND_STACK]


def test_deploy_all_missing_consumer_output_exits_1_naming_it(kit: Kit) -> None:
    # GIVEN a consumer stack without the endpoint id output
    kit.change_state(
        lambda state: state.setdefault("omit_outputs", {}).update({CLIENT_STACK: ["APIGatewayEndpointID"]})
    )
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN the provider is not updated with an empty endpoint list
    assert result.returncode == 1
    assert "stack private-api-client has no output APIGatewayEndpointID" in result.stderr
    assert [stack_of(call) for call in deploys(kit)] == [BACKEND_STACK, CLIENT_STACK]


def test_deploy_all_stale_stage_deployment_fails_verification(kit: Kit) -> None:
    # GIVEN an API whose stage keeps its first deployment when the policy changes (no AlwaysDeploy)
    kit.change_state(lambda state: state.update(stale_deployment=True))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN verification fails, saying the old policy is live and why
    assert result.returncode == 1
    assert "failed during step [8/8] Verify the live stage" in result.stderr
    assert "made before the policy change, so the old policy is live" in result.stderr
    assert "AlwaysDeploy: true" in result.stderr


def test_deploy_all_policy_without_endpoint_fails_verification(kit: Kit) -> None:
    # GIVEN an API whose live policy ignores the stack's parameters (e.g. a template wiring mistake)
    kit.change_state(lambda state: state.update(policy_ignores_parameters=True))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN verification fails, naming the API, the missing endpoint and the parameter to check
    assert result.returncode == 1
    assert f"the resource policy of API a1b2c3d4e5 does not mention endpoint {ENDPOINT_ID}" in result.stderr
    assert "check pAllowedVPCEndpoints on stack private-api-backend" in result.stderr


def test_deploy_all_bucket_name_taken_by_another_account_exits_1(kit: Kit) -> None:
    # GIVEN the provider's artifact bucket name already owned by someone else
    kit.change_state(
        lambda state: state["buckets"].update(
            {PROVIDER_BUCKET: {"owner": "999999999999", "region": "us-east-1", "objects": [], "markers": []}}
        )
    )
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it explains the clash and suggests another prefix
    assert result.returncode == 1
    assert f"bucket {PROVIDER_BUCKET}: access denied" in result.stderr
    assert "--stack-prefix" in result.stderr
    assert kit.calls("sam") == []


def test_deploy_all_missing_sam_exits_1_naming_it(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> None:
    # GIVEN a PATH with aws and python3 but no sam
    bin_dir = tmp_path_factory.mktemp("nosam")
    fakes = kit.env["PATH"].split(":")[0]
    for tool in ("aws", "python3"):
        (bin_dir / tool).symlink_to(f"{fakes}/{tool}")
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    # THEN it lists the missing tool and does nothing else
    assert result.returncode == 1
    assert "missing required command(s): sam" in result.stderr
    assert kit.calls() == []


IAM_NOT_YET = "The role ARN does not have required permissions set to API Gateway"


def fail_provider_create(state: dict[str, Any], *, times: int, reason: str) -> None:
    """The provider's next `times` creates fail in the nested backend stack's AWS::ApiGateway::Account."""
    nested_arn = f"arn:aws:cloudformation:us-east-1:{PROVIDER_ACCOUNT}:stack/{BACKEND_STACK}-BackendStack-1/def"
    state["deploy_failures"][BACKEND_STACK] = {
        "times": times,
        "events": [
            {
                "LogicalResourceId": "BackendStack",
                "ResourceType": "AWS::CloudFormation::Stack",
                "ResourceStatus": "CREATE_FAILED",
                "PhysicalResourceId": nested_arn,
                "ResourceStatusReason": "Embedded stack was not successfully created: The following resource(s) "
                "failed to create: [ApiGatewayAccount].",
            },
            {"LogicalResourceId": BACKEND_STACK, "ResourceStatus": "ROLLBACK_COMPLETE"},
        ],
    }
    state["nested_events"][nested_arn] = [
        {
            "StackId": nested_arn,
            "LogicalResourceId": "ApiGatewayAccount",
            "ResourceType": "AWS::ApiGateway::Account",
            "ResourceStatus": "CREATE_FAILED",
            "PhysicalResourceId": "",
            "ResourceStatusReason": reason,
            "Timestamp": "2099-01-01T00:00:00+00:00",
        }
    ]


def test_deploy_all_iam_propagation_failure_on_first_create_is_retried_once(kit: Kit) -> None:
    # GIVEN a fresh provider account whose first create fails while IAM propagates the API Gateway logging role
    kit.change_state(lambda state: fail_provider_create(state, times=1, reason=f"{IAM_NOT_YET} (Service: ApiGateway)"))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it says why it retries, deletes the rolled-back stack it just created, creates it again and completes
    assert result.returncode == 0, result.stderr
    assert "WARNING: stack private-api-backend failed while IAM propagates a new role" in result.stderr
    assert IAM_NOT_YET in result.stderr
    [delete] = kit.calls("aws", "cloudformation", "delete-stack")
    assert delete["profile"] == PROVIDER
    assert delete["argv"][delete["argv"].index("--stack-name") + 1].startswith("arn:aws:cloudformation:")
    assert f"deleting stack {BACKEND_STACK} (ROLLBACK_COMPLETE after the failed create)" in result.stdout
    assert [stack_of(call) for call in deploys(kit)] == [BACKEND_STACK, BACKEND_STACK, CLIENT_STACK, BACKEND_STACK]


def test_deploy_all_other_provider_create_failure_is_not_retried(kit: Kit) -> None:
    # GIVEN a provider create that fails for a reason other than IAM propagation
    reason = "Resource limit exceeded: too many VPCs"
    kit.change_state(lambda state: fail_provider_create(state, times=1, reason=reason))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it shows the reason and stops after one attempt, leaving the stack for the user to inspect
    assert result.returncode == 1
    assert f"ApiGatewayAccount (AWS::ApiGateway::Account) CREATE_FAILED: {reason}" in result.stderr
    assert "sam deploy of stack private-api-backend failed" in result.stderr
    assert "WARNING" not in result.stderr
    assert kit.calls("aws", "cloudformation", "delete-stack") == []
    assert [stack_of(call) for call in deploys(kit)] == [BACKEND_STACK]


def test_deploy_all_iam_propagation_failure_twice_exits_with_the_reason(kit: Kit) -> None:
    # GIVEN a provider create that fails with the IAM propagation reason on both attempts
    kit.change_state(lambda state: fail_provider_create(state, times=2, reason=IAM_NOT_YET))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it retried exactly once, then stops naming the reason and the step
    assert result.returncode == 1
    assert [stack_of(call) for call in deploys(kit)] == [BACKEND_STACK, BACKEND_STACK]
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


def test_deploy_all_value_over_a_quota_is_refused_before_any_stack_or_bucket_call(kit: Kit) -> None:
    # GIVEN a region name (the one input without a length bound) that makes pAPIHost longer than 4,096 bytes
    region = "us-" + "x" * 4100 + "-1"
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER, "--region", region)
    # THEN step 1 refuses, saying which quota and by how much, before any bucket, package or stack call
    assert result.returncode == 1
    assert re.search(r"pAPIHost\) is [\d,]+ bytes over the quota of 4,096 bytes", result.stderr)
    assert "nothing was deployed" in result.stderr
    # (the profile check reads local configuration only; sts proves the credentials)
    assert [c["argv"][:2] for c in kit.calls("aws") if c["argv"][0] not in ("sts", "configure")] == []
    assert kit.calls("sam") == []


def test_deploy_all_every_sam_call_runs_with_telemetry_off(first_deploy: Run) -> None:
    # GIVEN a caller whose environment says nothing about SAM telemetry
    # WHEN deploy-all runs sam (package and deploy)
    calls = first_deploy.calls("sam")
    # THEN every call has SAM_CLI_TELEMETRY=0, set by the scripts themselves
    assert calls
    assert [call["env"].get("SAM_CLI_TELEMETRY") for call in calls] == ["0"] * len(calls)


def test_deploy_all_does_not_relay_sams_deploy_advice(first_deploy: Run) -> None:
    # GIVEN sam package, which ends each of its four runs advising `sam deploy ... --stack-name <YOUR STACK NAME>`
    assert len(first_deploy.calls("sam", "package")) == 4
    output = first_deploy.result.stdout + first_deploy.result.stderr
    # WHEN deploy-all has packaged and deployed both sides
    # THEN that advice never reaches its output (deploy-all deploys the stacks itself), its own lines do
    assert "<YOUR STACK NAME>" not in output
    assert "Execute the following command" not in output
    assert "packaged api-backend/vpc-api-backend-deploy.yaml" in first_deploy.result.stdout
