"""Shared pieces of the deploy-all and destroy-all tests: the outputs the stand-in stacks get, a deployed pair of
stacks and buckets, and one run's record (result, sam calls, AWS requests, what the accounts held afterwards)."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from tests.workflow.cloud_faults import Faults, Request, RequestLog, installed, publish_parameter, select
from tests.workflow.harness import (
    CONSUMER,
    PROVIDER,
    REGION,
    Cloud,
    Kit,
)
from tests.workflow.recorded_sam import TEMPLATE_TAG, stand_in_template
from tests.workflow.sam_service import install_client

API_ID = "a1b2c3d4e5"
API_HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
# Output values of the stand-in stacks: only their text travels between the stacks, so fixed ARNs serve.
API_ROLE = "arn:aws:iam::222222222222:role/private-api-backend-APIAccessRole-1A2B3C"
ENDPOINT_ID = "vpce-0123456789abcdef0"
CLIENT_ROLE = "arn:aws:iam::111111111111:role/private-api-client-DirectAuthClientRole-4D5E6F"
BACKEND_STACK = "private-api-backend"
CLIENT_STACK = "private-api-client"
POWERTOOLS_LATEST = "/aws/service/powertools/python/arm64/python3.14/latest"
# Regions the tests deploy to where Powertools publishes its layer parameter, and one where it does not.
PUBLISHED_REGIONS = (REGION, "eu-west-1")
UNPUBLISHED = "me-south-1"


def default_outputs() -> dict[str, dict[str, str]]:
    """The Outputs the real templates declare, with fixed values, for the stand-in stacks the recorded sam makes."""
    return {
        BACKEND_STACK: {
            "APIGatewayID": API_ID,
            "APIGatewayFQDN": API_HOST,
            "APIAccessRole": API_ROLE,
            "APIStageName": "Prod",
            "APIURL": f"https://{API_HOST}/Prod",
            "TableName": "private-api-backend-Table-XYZ",
        },
        CLIENT_STACK: {
            "APIGatewayEndpointID": ENDPOINT_ID,
            "APIGatewayEndpointDNS": f"{ENDPOINT_ID}-abcdefgh.execute-api.{REGION}.vpce.amazonaws.com",
            "DirectAuthClientRole": CLIENT_ROLE,
            "PythonDirectAuthClient": "private-api-client-DirectAuthClient-AAAA",
            "PythonAssumeRoleClient": "private-api-client-AssumeRoleClient-BBBB",
            "AssumeRoleClientRole": "arn:aws:iam::111111111111:role/private-api-client-AssumeRole-7G8H",
        },
    }


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


def option(call: dict[str, Any], name: str) -> str:
    """The value of one option of a recorded sam call."""
    argv = call["argv"]
    return str(argv[argv.index(name) + 1])


def stack_of(call: dict[str, Any]) -> str:
    """The stack a recorded sam deploy call deployed."""
    return option(call, "--stack-name")


def seed_stack(cloud: Cloud, profile: str, name: str, parameters: dict[str, str], outputs: dict[str, str]) -> str:
    """A stand-in stack as the recorded sam would have left it; its ARN."""
    cfn = cloud.client("cloudformation", profile)
    return str(
        cfn.create_stack(
            StackName=name,
            TemplateBody=stand_in_template(parameters, outputs),
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
            Tags=[{"Key": TEMPLATE_TAG, "Value": "seeded"}],
        )["StackId"]
    )


def seed_bucket(cloud: Cloud, profile: str, bucket: str, side: str) -> None:
    """A versioned artifact bucket holding three object versions and a delete marker (4 entries to remove)."""
    s3 = cloud.client("s3", profile)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key=f"{side}/code", Body=b"v1")
    s3.put_object(Bucket=bucket, Key=f"{side}/code", Body=b"v2")
    s3.put_object(Bucket=bucket, Key=f"{side}/old", Body=b"t")
    s3.delete_object(Bucket=bucket, Key=f"{side}/old")


def seed_deployed(kit: Kit) -> None:
    """The accounts as after a successful deploy-all: both stacks authorized, both buckets holding artifacts."""
    outputs = default_outputs()
    seed_stack(
        kit.cloud,
        PROVIDER,
        BACKEND_STACK,
        {
            "pTrustedPrincipals": kit.cloud.accounts[CONSUMER],
            "pAPIAccessList": CLIENT_ROLE,
            "pAllowedVPCEndpoints": ENDPOINT_ID,
        },
        outputs[BACKEND_STACK],
    )
    seed_stack(
        kit.cloud,
        CONSUMER,
        CLIENT_STACK,
        {"pAPIHost": API_HOST, "pAPIAccountID": kit.cloud.accounts[PROVIDER], "pAPIRoleARN": API_ROLE},
        outputs[CLIENT_STACK],
    )
    seed_bucket(kit.cloud, PROVIDER, kit.cloud.bucket(PROVIDER), "api-backend")
    seed_bucket(kit.cloud, CONSUMER, kit.cloud.bucket(CONSUMER), "api-client")


def stack_status(cloud: Cloud, profile: str, name_or_arn: str) -> str:
    """A stack's status as its account sees it ("NONE" when there is no such stack)."""
    try:
        return str(
            cloud.client("cloudformation", profile).describe_stacks(StackName=name_or_arn)["Stacks"][0]["StackStatus"]
        )
    except Exception:
        return "NONE"


def stack_parameters(cloud: Cloud, profile: str, name: str) -> dict[str, str]:
    """A live stack's parameters."""
    described = cloud.client("cloudformation", profile).describe_stacks(StackName=name)["Stacks"][0]
    return {item["ParameterKey"]: item["ParameterValue"] for item in described.get("Parameters", [])}


def buckets(cloud: Cloud) -> dict[str, dict[str, Any]]:
    """Every bucket of both accounts: owner, encryption, public access block, object keys."""
    found: dict[str, dict[str, Any]] = {}
    for profile, account in cloud.accounts.items():
        s3 = cloud.client("s3", profile)
        for bucket in s3.list_buckets()["Buckets"]:
            name = bucket["Name"]
            if name in found:
                continue
            location = s3.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
            entry: dict[str, Any] = {"owner": account, "keys": [], "region": location}
            try:
                entry["encryption"] = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]
                entry["public_access_block"] = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
            except Exception:  # noqa: S110 - a bucket this kit did not configure has neither
                pass
            entry["keys"] = sorted(item["Key"] for item in s3.list_objects_v2(Bucket=name).get("Contents", []))
            found[name] = entry
    return found


@dataclass
class Run:
    """What one script run left behind: its result, its sam calls, its AWS requests, the accounts afterwards."""

    result: subprocess.CompletedProcess[str]
    sam: list[dict[str, Any]]
    requests: list[Request]
    buckets: dict[str, dict[str, Any]]
    backend_parameters: dict[str, str]
    # The DynamoDB prefix list of each region (moto makes new ids for every fresh set of accounts).
    prefix_lists: dict[str, str]
    pip: list[dict[str, Any]]
    # profile -> the account moto made for it
    accounts: dict[str, str]

    def sam_calls(self, *prefix: str) -> list[dict[str, Any]]:
        """This run's sam calls whose argv starts with prefix."""
        return [call for call in self.sam if call["argv"][: len(prefix)] == list(prefix)]

    def deploys(self) -> list[dict[str, Any]]:
        """This run's sam deploy calls."""
        return self.sam_calls("deploy")

    def aws(self, service: str, *operations: str, profile: str | None = None) -> list[Request]:
        """This run's requests to a service (as one profile's account, if named)."""
        return select(self.requests, service, *operations, account=self.accounts[profile] if profile else None)

    def bucket(self, profile: str) -> str:
        """The artifact bucket of a profile's account (prefix private-api, REGION)."""
        return f"private-api-artifacts-{self.accounts[profile]}-{REGION}"


def capture(
    kit: Kit, extras: tuple[Faults, RequestLog], script: str, *args: str, env: dict[str, str] | None = None
) -> Run:
    """Run a script with moto patched (cloud_faults) and keep what it did, for fixtures shared by several tests (later
    tests empty the accounts)."""
    faults, log = extras
    sam_before, pip_before = len(kit.sam_calls()), len(kit.pip_calls())
    mark = log.mark()
    faults.clear()
    with installed(faults, log):
        result = kit.run(script, *args, env=env)
    requests = log.since(mark)
    try:
        backend = stack_parameters(kit.cloud, PROVIDER, BACKEND_STACK)
    except Exception:
        backend = {}
    return Run(
        result=result,
        sam=kit.sam_calls()[sam_before:],
        requests=requests,
        buckets=buckets(kit.cloud),
        backend_parameters=backend,
        prefix_lists={region: dynamodb_prefix_list(kit.cloud, region) for region in PUBLISHED_REGIONS},
        pip=kit.pip_calls()[pip_before:],
        accounts=dict(kit.cloud.accounts),
    )


def dynamodb_prefix_list(cloud: Cloud, region: str) -> str:
    """The id of the AWS-managed DynamoDB prefix list of a region, as the provider account sees it."""
    ec2 = cloud.client("ec2", PROVIDER, region)
    name = f"com.amazonaws.{region}.dynamodb"
    found = ec2.describe_managed_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [name]}])
    return str(found["PrefixLists"][0]["PrefixListId"])


def powertools_layer(region: str) -> str:
    """The layer version ARN Powertools' public parameter names in a region."""
    return f"arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:30"


def prepare_deploy_kit(kit: Kit, sam_service: str) -> Kit:
    """The kit's recorded sam (served from this process) gives stacks the templates' outputs; Powertools' parameter is
    public in both accounts in the regions the tests deploy to (not in UNPUBLISHED)."""
    install_client(kit.base / "bin", sam_service, sys.executable)
    kit.set_outputs(default_outputs())
    for account in kit.cloud.accounts.values():
        for region in PUBLISHED_REGIONS:
            publish_parameter(account, region, POWERTOOLS_LATEST, powertools_layer(region))
    return kit


def set_control(kit: Kit, **settings: Any) -> None:
    """Settings of the recorded sam (see tests/workflow/recorded_sam.py), besides the outputs."""
    control = json.loads(kit.control.read_text()) if kit.control.exists() else {}
    control.update(settings)
    kit.control.write_text(json.dumps(control))


def set_output(kit: Kit, stack: str, key: str, value: str | None) -> None:
    """One output the recorded sam gives a stack (None: the stack has no such output)."""
    outputs = json.loads(kit.control.read_text())["outputs"] if kit.control.exists() else default_outputs()
    if value is None:
        outputs[stack].pop(key, None)
    else:
        outputs[stack][key] = value
    kit.set_outputs(outputs)


def as_json(value: Any) -> str:
    """Stable text of a JSON value, for comparisons in messages."""
    return json.dumps(value, sort_keys=True)
