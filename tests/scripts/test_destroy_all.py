"""destroy-all.sh against recorded accounts: order, waiting, the DELETE_FAILED retry, buckets, confirmation."""

from __future__ import annotations

import os
import subprocess
from typing import Any

import pytest

from tests.scripts.helpers import (
    BACKEND_STACK,
    CLIENT_STACK,
    CONSUMER,
    CONSUMER_ACCOUNT,
    CONSUMER_BUCKET,
    PROVIDER,
    PROVIDER_ACCOUNT,
    PROVIDER_BUCKET,
    Kit,
    seed_deployed,
)


@pytest.fixture
def deployed(kit: Kit) -> Kit:
    """A kit whose accounts hold both stacks and both artifact buckets."""
    kit.change_state(seed_deployed)
    return kit


def status(kit: Kit, account: str, stack: str) -> str:
    return kit.state()["stacks"][f"{account}/{stack}"]["status"]


def deleted_stacks(kit: Kit) -> list[str]:
    """Stack names in delete-stack calls (which pass the ARN), in call order."""
    return [
        call["argv"][call["argv"].index("--stack-name") + 1].split("/")[1]
        for call in kit.calls("aws", "cloudformation", "delete-stack")
    ]


def fail_delete(stack: str, *outcomes: str) -> Any:
    def change(state: dict[str, Any]) -> None:
        state["delete_outcomes"][stack] = list(outcomes)

    return change


def test_destroy_all_deletes_consumer_then_provider_and_waits(deployed: Kit) -> None:
    # GIVEN both stacks deployed
    # WHEN destroy-all runs with --yes
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN the consumer goes first, each with its own profile, and both end DELETE_COMPLETE
    assert result.returncode == 0, result.stderr
    assert deleted_stacks(deployed) == [CLIENT_STACK, BACKEND_STACK]
    assert [call["profile"] for call in deployed.calls("aws", "cloudformation", "delete-stack")] == [CONSUMER, PROVIDER]
    assert status(deployed, CONSUMER_ACCOUNT, CLIENT_STACK) == "DELETE_COMPLETE"
    assert status(deployed, PROVIDER_ACCOUNT, BACKEND_STACK) == "DELETE_COMPLETE"
    assert "deleted private-api-client" in result.stdout
    assert "Done in" in result.stdout


def test_destroy_all_keeps_buckets_without_the_flag(deployed: Kit) -> None:
    # GIVEN both artifact buckets exist
    # WHEN destroy-all runs without --delete-buckets
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN the buckets stay and the output says how to remove them
    assert result.returncode == 0
    assert set(deployed.state()["buckets"]) == {PROVIDER_BUCKET, CONSUMER_BUCKET}
    assert "pass --delete-buckets to remove them" in result.stdout
    assert deployed.calls("aws", "s3api", "delete-bucket") == []


def test_destroy_all_delete_buckets_removes_every_version_then_the_buckets(deployed: Kit) -> None:
    # GIVEN buckets holding several object versions and a delete marker each
    # WHEN destroy-all runs with --delete-buckets
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes", "--delete-buckets")
    # THEN versions and markers are deleted before each bucket, with the owning account's profile
    assert result.returncode == 0, result.stderr
    assert deployed.state()["buckets"] == {}
    assert "(4 object version(s) removed first)" in result.stdout
    deletions = [
        (call["argv"][1], call["profile"])
        for call in deployed.calls("aws", "s3api")
        if call["argv"][1].startswith("delete")
    ]
    assert deletions == [
        ("delete-objects", CONSUMER),
        ("delete-bucket", CONSUMER),
        ("delete-objects", PROVIDER),
        ("delete-bucket", PROVIDER),
    ]


def test_destroy_all_delete_failed_retries_once_and_explains(deployed: Kit) -> None:
    # GIVEN the consumer stack fails to delete once (VPC Lambda ENIs not yet released)
    deployed.change_state(fail_delete(CLIENT_STACK, "DELETE_FAILED", "DELETE_COMPLETE"))
    # WHEN destroy-all runs
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN it prints the failed resource, explains the ENI delay, retries, and finishes
    assert result.returncode == 0, result.stderr
    assert "LambdaSecurityGroup (AWS::EC2::SecurityGroup) DELETE_FAILED: resource sg-0abc has a dependent object" in (
        result.stderr
    )
    assert "Lambda has not yet released the network interfaces" in result.stderr
    assert deleted_stacks(deployed) == [CLIENT_STACK, CLIENT_STACK, BACKEND_STACK]
    assert status(deployed, CONSUMER_ACCOUNT, CLIENT_STACK) == "DELETE_COMPLETE"


def test_destroy_all_delete_failed_twice_exits_1_and_keeps_the_provider(deployed: Kit) -> None:
    # GIVEN the consumer stack keeps failing to delete
    deployed.change_state(fail_delete(CLIENT_STACK, "DELETE_FAILED", "DELETE_FAILED"))
    # WHEN destroy-all runs
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN it gives up after the retry with advice, and does not touch the provider
    assert result.returncode == 1
    assert "stack private-api-client could not be deleted" in result.stderr
    assert "describe-network-interfaces --filters Name=interface-type,Values=lambda" in result.stderr
    assert "failed during step [2/4] Delete consumer stack" in result.stderr
    assert deleted_stacks(deployed) == [CLIENT_STACK, CLIENT_STACK]
    assert status(deployed, PROVIDER_ACCOUNT, BACKEND_STACK) == "UPDATE_COMPLETE"


def test_destroy_all_stack_still_deleting_at_timeout_exits_1(deployed: Kit) -> None:
    # GIVEN a delete that never finishes and a zero timeout
    deployed.change_state(fail_delete(CLIENT_STACK, "NEVER"))
    # WHEN destroy-all runs
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes", env={"DESTROY_TIMEOUT_SECONDS": "0"})
    # THEN it stops waiting with a clear message instead of hanging
    assert result.returncode == 1
    assert "stack private-api-client is still deleting after 0m00s" in result.stderr
    assert "re-run this script" in result.stderr


def test_destroy_all_without_yes_and_no_terminal_exits_2_deleting_nothing(deployed: Kit) -> None:
    # GIVEN stdin is not a terminal (CI, pipes)
    # WHEN destroy-all runs without --yes
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER)
    # THEN it lists what it would delete, refuses, and deletes nothing
    assert result.returncode == 2
    assert "will delete stack private-api-client" in result.stdout
    assert "not deleting without confirmation: stdin is not a terminal, pass --yes" in result.stderr
    assert deployed.calls("aws", "cloudformation", "delete-stack") == []


def test_destroy_all_missing_stacks_is_a_no_op(kit: Kit) -> None:
    # GIVEN accounts without the stacks
    # WHEN destroy-all runs
    result = kit.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN it says so for each and succeeds
    assert result.returncode == 0, result.stderr
    assert "stack private-api-client does not exist for profile 'consumer': nothing to delete" in result.stdout
    assert "stack private-api-backend does not exist for profile 'provider': nothing to delete" in result.stdout
    assert kit.calls("aws", "cloudformation", "delete-stack") == []


def test_destroy_all_region_mismatch_exits_1_before_deleting(deployed: Kit) -> None:
    # GIVEN profiles in different regions
    deployed.change_state(lambda state: state["profiles"][CONSUMER].update(region="eu-west-1"))
    # WHEN destroy-all runs without --region
    result = deployed.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes")
    # THEN it refuses and deletes nothing
    assert result.returncode == 1
    assert "profiles use different regions" in result.stderr
    assert deployed.calls("aws", "cloudformation") == []


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
            timeout=60,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)


def test_destroy_all_interactive_answer_other_than_yes_cancels(deployed: Kit) -> None:
    # GIVEN someone at a terminal
    # WHEN they answer the confirmation with anything but "yes"
    result = answer_prompt(deployed, "y")
    # THEN nothing is deleted and the run says it was cancelled
    assert result.returncode == 1
    assert "Type 'yes' to continue" in result.stderr
    assert "cancelled; nothing was deleted" in result.stderr
    assert deployed.calls("aws", "cloudformation", "delete-stack") == []


def test_destroy_all_interactive_yes_deletes(deployed: Kit) -> None:
    # GIVEN someone at a terminal
    # WHEN they type "yes"
    result = answer_prompt(deployed, "yes")
    # THEN both stacks are deleted
    assert result.returncode == 0, result.stderr
    assert deleted_stacks(deployed) == [CLIENT_STACK, BACKEND_STACK]


def _one_account(state: dict[str, Any]) -> None:
    state["profiles"][PROVIDER]["account"] = CONSUMER_ACCOUNT


@pytest.mark.parametrize("flags", [(), ("--delete-buckets",)], ids=["keep", "delete"])
def test_destroy_all_one_account_names_its_bucket_once(kit: Kit, flags: tuple[str, ...]) -> None:
    # GIVEN both profiles in one account, so both sides share one artifact bucket
    kit.change_state(_one_account)
    # WHEN destroy-all runs, keeping or deleting the buckets
    result = kit.run("destroy-all.sh", CONSUMER, PROVIDER, "--yes", *flags)
    # THEN every line that lists the buckets names that bucket once
    assert result.returncode == 0, result.stderr
    listing = [line for line in result.stdout.splitlines() if "will empty and delete" in line or "kept s3://" in line]
    assert listing, result.stdout
    assert [line.count(f"s3://{CONSUMER_BUCKET}") for line in listing] == [1] * len(listing)
