"""The artifact buckets sam package uploads to: their name, creating them private and encrypted, emptying and
deleting them (every version). Functions take an s3 client, so tests pass moto's.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from workflow.aws import error_text
from workflow.output import Fatal, Output

__all__ = ["artifact_bucket_name", "bucket_exists", "empty_and_delete_bucket", "ensure_artifact_bucket"]

DELETE_BATCH_SIZE = 1000  # DeleteObjects accepts at most 1000 keys per call
_PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}
_ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
_NOT_FOUND = ("404", "NoSuchBucket", "NotFound")
_FORBIDDEN = ("403", "AccessDenied", "Forbidden")


def artifact_bucket_name(prefix: str, account: str, region: str) -> str:
    """Deterministic per account and region, so every run (and destroy-all.sh) finds the same bucket."""
    return f"{prefix}-artifacts-{account}-{region}"


def bucket_exists(s3: Any, bucket: str, account: str, profile: str) -> bool:
    """True when the bucket exists in this account, False when there is no such bucket; stops on anything else."""
    try:
        s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code in _NOT_FOUND:
            return False
        if code in _FORBIDDEN:
            raise Fatal(
                f"bucket {bucket}: access denied. Bucket names are global: it may belong to another account (pick "
                f"another --stack-prefix), or profile '{profile}' may lack s3:ListBucket"
            ) from error
        raise Fatal(f"cannot check bucket {bucket}: {error_text(error)}") from error
    return True


def ensure_artifact_bucket(out: Output, s3: Any, bucket: str, *, account: str, region: str, profile: str) -> None:
    """Create the bucket when missing; (re)apply encryption and the public access block either way."""
    if bucket_exists(s3, bucket, account, profile):
        out.info(f"reusing s3://{bucket}")
    else:
        create: dict[str, Any] = {"Bucket": bucket}
        # us-east-1 is the one region that rejects an explicit LocationConstraint.
        if region != "us-east-1":
            create["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**create)
        out.info(f"created s3://{bucket}")
    s3.put_public_access_block(
        Bucket=bucket, ExpectedBucketOwner=account, PublicAccessBlockConfiguration=_PUBLIC_ACCESS_BLOCK
    )
    s3.put_bucket_encryption(Bucket=bucket, ExpectedBucketOwner=account, ServerSideEncryptionConfiguration=_ENCRYPTION)


def empty_and_delete_bucket(out: Output, s3: Any, bucket: str, *, account: str, profile: str) -> None:
    """Delete every object version and delete marker (1000 per call), then the bucket."""
    if not bucket_exists(s3, bucket, account, profile):
        out.info(f"no bucket s3://{bucket}: nothing to delete")
        return
    removed = 0
    while True:
        listing = s3.list_object_versions(Bucket=bucket, ExpectedBucketOwner=account, MaxKeys=DELETE_BATCH_SIZE)
        entries = (listing.get("Versions") or []) + (listing.get("DeleteMarkers") or [])
        objects = [{"Key": item["Key"], "VersionId": item["VersionId"]} for item in entries[:DELETE_BATCH_SIZE]]
        if not objects:
            break
        answer = s3.delete_objects(
            Bucket=bucket, ExpectedBucketOwner=account, Delete={"Objects": objects, "Quiet": True}
        )
        errors = answer.get("Errors") or []
        if errors:
            raise Fatal(f"could not delete {len(errors)} object version(s) from s3://{bucket}")
        removed += len(objects)
    s3.delete_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    out.info(f"deleted s3://{bucket} ({removed} object version(s) removed first)")
