"""The test world itself: each profile acts in its own moto account, and the recorded sam packages into S3."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.workflow.harness import CONSUMER, PROVIDER, REGION, Cloud, Kit, admin_client, make_cloud
from workflow import aws


def test_harness_profiles_act_in_their_own_accounts(in_cloud: Cloud) -> None:
    # GIVEN the two profiles of the test cloud
    # WHEN each asks STS who it is
    # THEN each is in its own account
    assert aws.caller_account(CONSUMER, REGION) == in_cloud.accounts[CONSUMER]
    assert aws.caller_account(PROVIDER, REGION) == in_cloud.accounts[PROVIDER]
    assert in_cloud.accounts[CONSUMER] != in_cloud.accounts[PROVIDER]


def test_harness_recorded_sam_packages_into_the_profiles_bucket(kit: Kit, tmp_path: Path) -> None:
    # GIVEN a bucket in the provider account and a template naming a local zip
    kit.cloud.client("s3", PROVIDER).create_bucket(Bucket=kit.cloud.bucket(PROVIDER))
    (tmp_path / "code.zip").write_bytes(b"zip")
    (tmp_path / "t.yaml").write_text("Resources:\n  F:\n    Properties:\n      CodeUri: code.zip\n")
    # WHEN the recorded sam packages it with the provider profile
    result = subprocess.run(  # noqa: S603 - the recorded sam
        [
            str(kit.base / "bin" / "sam"),
            "package",
            "--template-file",
            str(tmp_path / "t.yaml"),
            "--output-template-file",
            str(tmp_path / "out.yaml"),
            "--s3-bucket",
            kit.cloud.bucket(PROVIDER),
            "--s3-prefix",
            "side",
            "--profile",
            PROVIDER,
            "--region",
            REGION,
        ],
        env=kit.env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    # THEN the zip is in the bucket, the template points at it, and the call is recorded
    assert result.returncode == 0, result.stderr
    assert f"CodeUri: s3://{kit.cloud.bucket(PROVIDER)}/side/" in (tmp_path / "out.yaml").read_text()
    listed = kit.cloud.client("s3", PROVIDER).list_objects_v2(Bucket=kit.cloud.bucket(PROVIDER))["Contents"]
    assert [item["Size"] for item in listed] == [3]
    assert [json.dumps(call["argv"][:1]) for call in kit.sam_calls("package")] == ['["package"]']


def test_harness_new_cloud_empties_its_accounts_only(cloud: Cloud, tmp_path: Path) -> None:
    # GIVEN a bucket in the provider account and one in an account of someone else in this process (an emulation)
    other = admin_client(cloud.url, "s3", "430000000003")
    other.create_bucket(Bucket="someone-elses-bucket")
    cloud.client("s3", PROVIDER).create_bucket(Bucket=cloud.bucket(PROVIDER))
    # WHEN the next test's cloud is made
    make_cloud(cloud.url, tmp_path / "next")
    # THEN the provider account is empty again and the other account kept its bucket
    assert cloud.client("s3", PROVIDER).list_buckets()["Buckets"] == []
    assert [bucket["Name"] for bucket in other.list_buckets()["Buckets"]] == ["someone-elses-bucket"]
    other.delete_bucket(Bucket="someone-elses-bucket")
