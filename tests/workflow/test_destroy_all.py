"""destroy-all.sh against two moto accounts: order, waiting, the DELETE_FAILED retry, buckets, confirmation."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable

import pytest

from tests.workflow.cloud_faults import Faults, Request, RequestLog, select
from tests.workflow.deployments import (
    BACKEND_STACK,
    CLIENT_STACK,
    seed_deployed,
    stack_status,
)
from tests.workflow.harness import CONSUMER, PROVIDER, Kit


def profile_of(kit: Kit, account: str) -> str:
    """The profile whose account this is."""
    return next(profile for profile, owned in kit.cloud.accounts.items() if owned == account)


@pytest.fixture
def deployed(deploy_kit: Kit) -> Kit:
    """A kit whose accounts hold both stacks and both artifact buckets."""
    seed_deployed(deploy_kit)
    return deploy_kit


@pytest.fixture
def made(request_log: RequestLog) -> Callable[[], list[Request]]:
    """The requests moto has served since the test started."""
    mark = request_log.mark()
    return lambda: request_log.since(mark)


def delete_calls(requests: list[Request]) -> list[Request]:
    """The DeleteStack requests among these."""
    return select(requests, "cloudformation", "DeleteStack")


def deleted_stacks(requests: list[Request]) -> list[str]:
    """Stack names in DeleteStack requests (which pass the ARN), in request order."""
    return [request.params["StackName"].split("/")[1] for request in delete_calls(requests)]


def test_destroy_all_deletes_consumer_then_provider_and_waits(deployed: Kit, made: Callable[[], list[Request]]) -> None:
    # GIVEN both stacks deployed
    # WHEN destroy-all runs with --yes
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN the consumer goes first, each with its own profile, and both end DELETE_COMPLETE
    assert result.returncode == 0, result.stderr
    assert deleted_stacks(made()) == [CLIENT_STACK, BACKEND_STACK]
    deletes = delete_calls(made())
    assert [profile_of(deployed, request.account) for request in deletes] == [CONSUMER, PROVIDER]
    assert [stack_status(deployed.cloud, profile_of(deployed, d.account), d.params["StackName"]) for d in deletes] == [
        "DELETE_COMPLETE",
        "DELETE_COMPLETE",
    ]
    assert "deleted private-api-client" in result.stdout
    assert "Done in" in result.stdout


def test_destroy_all_keeps_buckets_without_the_flag(deployed: Kit, made: Callable[[], list[Request]]) -> None:
    # GIVEN both artifact buckets exist
    # WHEN destroy-all runs without --delete-buckets
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN the buckets stay and the output says how to remove them
    assert result.returncode == 0
    assert {bucket["Name"] for bucket in deployed.cloud.client("s3", PROVIDER).list_buckets()["Buckets"]} == {
        deployed.cloud.bucket(PROVIDER)
    }
    assert {bucket["Name"] for bucket in deployed.cloud.client("s3", CONSUMER).list_buckets()["Buckets"]} == {
        deployed.cloud.bucket(CONSUMER)
    }
    assert "pass --delete-buckets to remove them" in result.stdout
    assert select(made(), "s3", "DeleteBucket") == []


def test_destroy_all_delete_buckets_removes_every_version_then_the_buckets(
    deployed: Kit, made: Callable[[], list[Request]]
) -> None:
    # GIVEN buckets holding several object versions and a delete marker each
    # WHEN destroy-all runs with --delete-buckets
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes", "--delete-buckets")
    # THEN versions and markers are deleted before each bucket, in the owning account
    assert result.returncode == 0, result.stderr
    for profile in (CONSUMER, PROVIDER):
        assert deployed.cloud.client("s3", profile).list_buckets()["Buckets"] == []
    assert "(4 object version(s) removed first)" in result.stdout
    deletions = [
        (request.operation, profile_of(deployed, request.account))
        for request in select(made(), "s3")
        if request.operation.startswith("Delete")
    ]
    assert deletions == [
        ("DeleteObjects", CONSUMER),
        ("DeleteBucket", CONSUMER),
        ("DeleteObjects", PROVIDER),
        ("DeleteBucket", PROVIDER),
    ]


def test_destroy_all_delete_failed_retries_once_and_explains(
    deployed: Kit, faults: Faults, made: Callable[[], list[Request]]
) -> None:
    # GIVEN the consumer stack fails to delete once (VPC Lambda ENIs not yet released)
    faults.fail_delete(deployed.cloud.accounts[CONSUMER], CLIENT_STACK, "DELETE_FAILED", "DELETE_COMPLETE")
    # WHEN destroy-all runs
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN it prints the failed resource, explains the ENI delay, retries, and finishes
    assert result.returncode == 0, result.stderr
    assert "LambdaSecurityGroup (AWS::EC2::SecurityGroup) DELETE_FAILED: resource sg-0abc has a dependent object" in (
        result.stderr
    )
    assert "Lambda has not yet released the network interfaces" in result.stderr
    assert deleted_stacks(made()) == [CLIENT_STACK, CLIENT_STACK, BACKEND_STACK]
    client_arn = delete_calls(made())[0].params["StackName"]
    assert stack_status(deployed.cloud, CONSUMER, client_arn) == "DELETE_COMPLETE"


def test_destroy_all_delete_failed_twice_exits_1_and_keeps_the_provider(
    deployed: Kit, faults: Faults, made: Callable[[], list[Request]]
) -> None:
    # GIVEN the consumer stack keeps failing to delete
    faults.fail_delete(deployed.cloud.accounts[CONSUMER], CLIENT_STACK, "DELETE_FAILED", "DELETE_FAILED")
    # WHEN destroy-all runs
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN it gives up after the retry with advice, and does not touch the provider
    assert result.returncode == 1
    assert "stack private-api-client could not be deleted" in result.stderr
    assert "describe-network-interfaces --filters Name=interface-type,Values=lambda" in result.stderr
    assert "failed during step [2/4] Delete consumer stack" in result.stderr
    assert deleted_stacks(made()) == [CLIENT_STACK, CLIENT_STACK]
    assert stack_status(deployed.cloud, PROVIDER, BACKEND_STACK) == "CREATE_COMPLETE"


def test_destroy_all_stack_still_deleting_at_timeout_exits_1(deployed: Kit, faults: Faults) -> None:
    # GIVEN a delete that never finishes and a zero timeout
    faults.fail_delete(deployed.cloud.accounts[CONSUMER], CLIENT_STACK, "NEVER")
    # WHEN destroy-all runs
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes", env={"DESTROY_TIMEOUT_SECONDS": "0"})
    # THEN it stops waiting with a clear message instead of hanging
    assert result.returncode == 1
    assert "stack private-api-client is still deleting after 0m00s" in result.stderr
    assert "re-run this script" in result.stderr


def test_destroy_all_without_yes_and_no_terminal_exits_2_deleting_nothing(
    deployed: Kit, made: Callable[[], list[Request]]
) -> None:
    # GIVEN stdin is not a terminal (CI, pipes)
    # WHEN destroy-all runs without --yes
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER)
    # THEN it lists what it would delete, refuses, and deletes nothing
    assert result.returncode == 2
    assert "will delete stack private-api-client" in result.stdout
    assert "not deleting without confirmation: stdin is not a terminal, pass --yes" in result.stderr
    assert delete_calls(made()) == []


def test_destroy_all_missing_stacks_is_a_no_op(deploy_kit: Kit, made: Callable[[], list[Request]]) -> None:
    # GIVEN accounts without the stacks
    # WHEN destroy-all runs
    result = deploy_kit.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN it says so for each and succeeds
    assert result.returncode == 0, result.stderr
    assert "stack private-api-client does not exist for profile 'consumer': nothing to delete" in result.stdout
    assert "stack private-api-backend does not exist for profile 'provider': nothing to delete" in result.stdout
    assert delete_calls(made()) == []


def test_destroy_all_region_mismatch_exits_1_before_deleting(deployed: Kit, made: Callable[[], list[Request]]) -> None:
    # GIVEN profiles in different regions
    deployed.cloud.write_profiles({CONSUMER: "eu-west-1"})
    # WHEN destroy-all runs without --region
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN it refuses and deletes nothing
    assert result.returncode == 1
    assert "profiles use different regions" in result.stderr
    assert select(made(), "cloudformation") == []


def answer_prompt(kit: Kit, answer: str) -> subprocess.CompletedProcess[str]:
    """Run destroy-all.sh with a terminal on stdin that has the answer typed in already."""
    controller, terminal = os.openpty()
    try:
        os.write(controller, f"{answer}\n".encode())
        return subprocess.run(  # noqa: S603 - runs this repo's own script
            [str(kit.root / "destroy-all.sh"), CONSUMER, PROVIDER],
            env=kit.env,
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)


def test_destroy_all_interactive_answer_other_than_yes_cancels(
    deployed: Kit, made: Callable[[], list[Request]]
) -> None:
    # GIVEN someone at a terminal
    # WHEN they answer the confirmation with anything but "yes"
    result = answer_prompt(deployed, "y")
    # THEN nothing is deleted and the run says it was cancelled
    assert result.returncode == 1
    assert "Type 'yes' to continue" in result.stderr
    assert "cancelled; nothing was deleted" in result.stderr
    assert delete_calls(made()) == []


def test_destroy_all_interactive_yes_deletes(deployed: Kit, made: Callable[[], list[Request]]) -> None:
    # GIVEN someone at a terminal
    # WHEN they type "yes"
    result = answer_prompt(deployed, "yes")
    # THEN both stacks are deleted
    assert result.returncode == 0, result.stderr
    assert deleted_stacks(made()) == [CLIENT_STACK, BACKEND_STACK]


@pytest.mark.parametrize("flags", [(), ("--delete-buckets",)], ids=["keep", "delete"])
def test_destroy_all_one_account_names_its_bucket_once(deploy_kit: Kit, flags: tuple[str, ...]) -> None:
    # GIVEN both profiles in one account, so both sides share one artifact bucket
    deploy_kit.cloud.keys[PROVIDER] = deploy_kit.cloud.keys[CONSUMER]
    deploy_kit.cloud.write_profiles()
    # WHEN destroy-all runs, keeping or deleting the buckets
    result = deploy_kit.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes", *flags)
    # THEN every line that lists the buckets names that bucket once
    assert result.returncode == 0, result.stderr
    listing = [line for line in result.stdout.splitlines() if "will empty and delete" in line or "kept s3://" in line]
    assert listing, result.stdout
    assert [line.count(f"s3://{deploy_kit.cloud.bucket(CONSUMER)}") for line in listing] == [1] * len(listing)
