"""Artifact buckets against moto: created private and encrypted, reused, emptied of every version and deleted."""

from __future__ import annotations

import io

from tests.workflow.harness import PROVIDER, REGION, Cloud
from workflow import aws, buckets
from workflow.output import Output


def output() -> tuple[Output, io.StringIO]:
    stdout = io.StringIO()
    return Output(stdout=stdout, stderr=io.StringIO(), env={}), stdout


def test_artifact_bucket_name_is_per_prefix_account_and_region() -> None:
    assert buckets.artifact_bucket_name("demo", "123456789012", "eu-west-1") == "demo-artifacts-123456789012-eu-west-1"


def test_ensure_artifact_bucket_creates_it_private_and_encrypted_then_reuses_it(in_cloud: Cloud) -> None:
    # GIVEN no bucket yet
    (out, printed), name, account = output(), in_cloud.bucket(PROVIDER), in_cloud.accounts[PROVIDER]
    s3 = aws.client(PROVIDER, REGION, "s3")
    # WHEN it is ensured twice
    buckets.ensure_artifact_bucket(out, s3, name, account=account, region=REGION, profile=PROVIDER)
    buckets.ensure_artifact_bucket(out, s3, name, account=account, region=REGION, profile=PROVIDER)
    # THEN it was created once, reused once, and blocks public access with default encryption
    assert printed.getvalue() == f"      created s3://{name}\n      reusing s3://{name}\n"
    admin = in_cloud.client("s3", PROVIDER)
    block = admin.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = admin.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


def test_empty_and_delete_bucket_removes_every_version_then_the_bucket(in_cloud: Cloud) -> None:
    # GIVEN a versioned bucket with two versions of a key and a delete marker
    (out, printed), name, account = output(), in_cloud.bucket(PROVIDER), in_cloud.accounts[PROVIDER]
    admin = in_cloud.client("s3", PROVIDER)
    admin.create_bucket(Bucket=name)
    admin.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    admin.put_object(Bucket=name, Key="side/code", Body=b"1")
    admin.put_object(Bucket=name, Key="side/code", Body=b"2")
    admin.delete_object(Bucket=name, Key="side/code")
    # WHEN it is emptied and deleted
    buckets.empty_and_delete_bucket(out, aws.client(PROVIDER, REGION, "s3"), name, account=account, profile=PROVIDER)
    # THEN the three versions went first, then the bucket
    assert printed.getvalue() == f"      deleted s3://{name} (3 object version(s) removed first)\n"
    assert name not in [bucket["Name"] for bucket in admin.list_buckets()["Buckets"]]


def test_empty_and_delete_bucket_missing_bucket_is_nothing_to_do(in_cloud: Cloud) -> None:
    (out, printed), name = output(), in_cloud.bucket(PROVIDER)
    s3 = aws.client(PROVIDER, REGION, "s3")
    buckets.empty_and_delete_bucket(out, s3, name, account=in_cloud.accounts[PROVIDER], profile=PROVIDER)
    assert printed.getvalue() == f"      no bucket s3://{name}: nothing to delete\n"
