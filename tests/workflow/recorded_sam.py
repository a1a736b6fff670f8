"""A recorded `sam` for the workflow tests: logs each call and does what `sam package` / `sam deploy` would, against
the moto server the environment points at (AWS_ENDPOINT_URL), with the credentials of the --profile given.

Installed on PATH as an executable by tests/workflow/harness.py. Environment:
- RECORDED_SAM_LOG: JSON-lines file; one entry per call: argv, exit status, SAM_CLI_TELEMETRY as sam saw it, and
  for a deploy the parameters CloudFormation received (previous values included).
- RECORDED_SAM_CONTROL: JSON file the test writes; "outputs": {stack name: {key: value}} are the Outputs a deployed
  stack gets (sam deploy of the real templates would need CloudFormation's SAM transform, which moto lacks, so the
  stack is a stand-in holding the parameters and these outputs). A stack whose outputs name an APIGatewayID also
  gets what the provider template makes: a private REST API with that id, its resource policy built from the grants
  and, with AlwaysDeploy, a new deployment of the stage on every deploy. "policy_ignores_parameters": true stands
  for a template whose policy is not wired to the parameters, "stale_deployment": true for one without AlwaysDeploy.
A stack that CloudFormation rolls back (tests/workflow/cloud_faults.py makes moto do that) fails the deploy as sam's
waiter does.
"""

from __future__ import annotations

# Every recorded call is a new process; boto3 alone takes about a second to import on a busy machine, so the package
# path speaks S3's REST API with urllib, and only deploy imports boto3 (where it is used).
import configparser
import contextlib
import hashlib
import json
import os
import re
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import boto3

# What sam package (SAM CLI 1.170, samcli/commands/package/package_context.py) prints on stdout after writing
# --output-template-file: advice for someone running sam by hand, which the workflow filters out.
PACKAGED_MESSAGE = (
    "\nSuccessfully packaged artifacts and wrote output template to file {output_file_name}.\n"
    "Execute the following command to deploy the packaged template\n"
    "sam deploy --template-file {output_file_path} --stack-name <YOUR STACK NAME>\n"
)
TEMPLATE_TAG = "recorded-sam:template-sha256"
_LOCAL_ARTIFACT = re.compile(
    r"^(?P<lead>\s*(?:CodeUri|Location|TemplateURL):\s*)(?P<quote>['\"]?)(?P<path>[^\s'\"]+\.(?:zip|yaml))(?P=quote)\s*$"
)


def option(argv: list[str], name: str) -> str:
    """The value after `name`, or "" when absent."""
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else ""


def option_list(argv: list[str], name: str) -> list[str]:
    """The values after `name` up to the next option."""
    if name not in argv:
        return []
    values = []
    for value in argv[argv.index(name) + 1 :]:
        if value.startswith("--"):
            break
        values.append(value)
    return values


def unquote(value: str) -> str:
    """An override's value as sam deploy reads it (samcli/cli/types.py `_unquote_wrapped_quotes`): wrapping double
    quotes removed, so a value with spaces survives."""
    return value[1:-1] if len(value) > 1 and value[0] == value[-1] == '"' else value


def _session(argv: list[str]) -> boto3.Session:
    import boto3  # noqa: PLC0415 - see the note on imports

    return boto3.Session(profile_name=option(argv, "--profile") or None, region_name=option(argv, "--region") or None)


def _profile_region(profile: str) -> str:
    """The region sam would use without --region: the environment's, else the profile's."""
    if os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"):
        return os.environ.get("AWS_REGION") or os.environ["AWS_DEFAULT_REGION"]
    config = configparser.ConfigParser()
    config.read(os.environ["AWS_CONFIG_FILE"])
    section = f"profile {profile}" if profile else "default"
    return config.get(section, "region", fallback="us-east-1")


class S3Error(Exception):
    """S3 answered with an error status."""


class S3:
    """The two S3 calls sam package makes, as the profile's user: moto takes the account from the access key in the
    Authorization header and does not check the signature."""

    def __init__(self, profile: str, region: str) -> None:
        credentials = configparser.ConfigParser()
        credentials.read(os.environ["AWS_SHARED_CREDENTIALS_FILE"])
        key = credentials[profile or "default"]["aws_access_key_id"]
        self.endpoint = os.environ["AWS_ENDPOINT_URL"].rstrip("/")
        self.authorization = (
            f"AWS4-HMAC-SHA256 Credential={key}/20250101/{region}/s3/aws4_request, SignedHeaders=host, Signature=0"
        )

    def request(self, method: str, path: str, body: bytes | None = None) -> int:
        """Send one request; the HTTP status, S3Error for 4xx/5xx."""
        request = urllib.request.Request(  # noqa: S310 - the test's moto endpoint
            f"{self.endpoint}/{path}",
            data=body,
            method=method,
            # urllib's default for a body is a form type, which the server would parse away.
            headers={"Authorization": self.authorization, "Content-Type": "application/octet-stream"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310  # nosec B310
                answer.read()
                return int(answer.status)
        except urllib.error.HTTPError as error:
            raise S3Error(f"{method} {path}: {error.code}") from error

    def put_if_missing(self, bucket: str, key: str, body: bytes) -> None:
        """Upload unless the key exists (sam package skips artifacts already uploaded)."""
        try:
            self.request("HEAD", f"{bucket}/{key}")
        except S3Error:
            self.request("PUT", f"{bucket}/{key}", body)


def _control() -> dict[str, Any]:
    path = os.environ.get("RECORDED_SAM_CONTROL", "")
    return json.loads(Path(path).read_text()) if path and Path(path).exists() else {}


def _package_text(template: Path, s3: S3, bucket: str, prefix: str, region: str) -> str:
    """The template with every local artifact uploaded (nested templates packaged first) and replaced by its URL."""
    lines = []
    for source_line in template.read_text().splitlines():
        line = source_line
        match = _LOCAL_ARTIFACT.match(line)
        if match:
            local = template.parent / match["path"]
            if not local.exists():
                raise FileNotFoundError(f"Unable to upload artifact {match['path']}: file does not exist")
            if local.suffix == ".zip":
                body = local.read_bytes()
                key = f"{prefix}/{hashlib.md5(body).hexdigest()}"  # noqa: S324 - mirrors sam's key
                url = f"s3://{bucket}/{key}"
            else:
                body = _package_text(local, s3, bucket, prefix, region).encode()
                key = f"{prefix}/{hashlib.md5(body).hexdigest()}.template"  # noqa: S324 - mirrors sam's key
                url = f"https://s3.{region}.amazonaws.com/{bucket}/{key}"
            s3.put_if_missing(bucket, key, body)
            line = f"{match['lead']}{url}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def package(argv: list[str]) -> int:
    """Upload the local artifacts, write the packaged template, print sam's closing message."""
    region = option(argv, "--region") or _profile_region(option(argv, "--profile"))
    s3 = S3(option(argv, "--profile"), region)
    bucket = option(argv, "--s3-bucket")
    try:
        s3.request("HEAD", bucket)
        text = _package_text(Path(option(argv, "--template-file")), s3, bucket, option(argv, "--s3-prefix"), region)
    except S3Error:
        print(f"Error: S3 Bucket not specified or does not exist: {bucket}", file=sys.stderr)
        return 1
    except FileNotFoundError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    output = Path(option(argv, "--output-template-file"))
    output.write_text(text)
    print(PACKAGED_MESSAGE.format(output_file_name=output, output_file_path=output.resolve()))
    return 0


def stand_in_template(parameters: dict[str, str], outputs: dict[str, str], deployment: str = "") -> str:
    """The stack sam deploy stands for: the parameters, one resource moto can create, and the outputs; with a
    deployment id, the API deployment SAM's transform names anew on every transform of an AlwaysDeploy API."""
    resources: dict[str, Any] = {"Placeholder": {"Type": "AWS::SNS::Topic"}}
    if deployment:
        resources[f"ApiDeployment{deployment}"] = {"Type": "AWS::SNS::Topic"}
    return json.dumps(
        {
            "Parameters": {name: {"Type": "String"} for name in parameters},
            "Resources": resources,
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
    )


# Stack states in which CloudFormation refuses an update (sam deploy then fails at once).
_UNUPDATABLE = ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED")
# pTrustedPrincipals / pAPIAccessList / pAllowedVPCEndpoints when no consumer is let in (the template's defaults).
_CLOSED = {"pAPIAccessList": "None", "pAllowedVPCEndpoints": "None"}


def always_deploys(template: Path) -> bool:
    """True when the template or the nested template packaged beside it has an API with AlwaysDeploy.

    SAM's transform then gives the API's Deployment a new logical id on every transform, so no change set of that
    stack is ever empty: each sam deploy makes a new deployment of the stage.
    """
    nested = template.parent / template.name.removeprefix("vpc-")
    return any(path.exists() and "AlwaysDeploy: true" in path.read_text() for path in {template, nested})


def resource_policy(parameters: dict[str, str], region: str, account: str, api_id: str) -> str:
    """The API's resource policy as the template builds it from the grants: allow the access list, deny any
    request that does not come through an allowed endpoint."""
    resource = f"arn:aws:execute-api:{region}:{account}:{api_id}/*"
    statements = [
        {
            "Effect": "Allow",
            "Principal": {"AWS": parameters["pAPIAccessList"].split(",")},
            "Action": "execute-api:Invoke",
            "Resource": resource,
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": resource,
            "Condition": {"StringNotEquals": {"aws:SourceVpce": parameters["pAllowedVPCEndpoints"].split(",")}},
        },
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _api(apigateway: Any, api_id: str, name: str) -> bool:
    """Make sure the private API with this id exists (one GET method, so it can be deployed); True if created."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - see the note on imports

    try:
        apigateway.get_rest_api(restApiId=api_id)
    except ClientError:
        apigateway.create_rest_api(
            name=f"{name}-api", tags={"_custom_id_": api_id}, endpointConfiguration={"types": ["PRIVATE"]}
        )
        root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
        apigateway.put_method(restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="AWS_IAM")
        apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
        return True
    return False


def deploy_api(session: boto3.Session, name: str, outputs: dict[str, str], parameters: dict[str, str]) -> None:
    """What the provider template does to its API on each deploy: the resource policy from the grants and, with
    AlwaysDeploy, a new deployment of the stage."""
    control = _control()
    apigateway: Any = session.client("apigateway")
    api_id = outputs["APIGatewayID"]
    created = _api(apigateway, api_id, name)
    grants = _CLOSED if control.get("policy_ignores_parameters") else {**_CLOSED, **parameters}
    account = session.client("sts").get_caller_identity()["Account"]
    policy = resource_policy(grants, session.region_name or "", account, api_id)
    apigateway.update_rest_api(
        restApiId=api_id, patchOperations=[{"op": "replace", "path": "/policy", "value": policy}]
    )
    if created or not control.get("stale_deployment"):
        apigateway.create_deployment(restApiId=api_id, stageName=outputs.get("APIStageName", "Prod"))


def deploy(argv: list[str], record: dict[str, Any]) -> int:
    """Create or update the stand-in stack as sam deploy does: no change (same parameters and template, and no
    AlwaysDeploy API) is an empty change set; a stack that rolls back fails the deploy."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - see the note on imports

    session = _session(argv)
    cfn: Any = session.client("cloudformation")
    name = option(argv, "--stack-name")
    if "CAPABILITY_AUTO_EXPAND" not in option_list(argv, "--capabilities"):
        print("Error: Requires capabilities : [CAPABILITY_AUTO_EXPAND]", file=sys.stderr)
        return 1
    template = Path(option(argv, "--template-file"))
    always = always_deploys(template)
    template_hash = hashlib.sha256(template.read_bytes()).hexdigest()
    current: dict[str, Any] = {}
    with contextlib.suppress(ClientError):  # no such stack yet: sam deploy creates it
        current = dict(cfn.describe_stacks(StackName=name)["Stacks"][0])
    if current and current["StackStatus"] in _UNUPDATABLE:
        print(f"Error: Stack {name} is in {current['StackStatus']} state and can not be updated.", file=sys.stderr)
        return 1
    previous = {item["ParameterKey"]: item["ParameterValue"] for item in current.get("Parameters", [])}
    overrides = {
        key: unquote(value)
        for key, value in (token.split("=", 1) for token in option_list(argv, "--parameter-overrides"))
    }
    parameters = {**previous, **overrides}  # sam deploy: UsePreviousValue for everything not given
    record["parameters"] = parameters  # what CloudFormation receives, previous values included
    tags = {tag["Key"]: tag["Value"] for tag in current.get("Tags", [])}
    unchanged = parameters == previous and tags.get(TEMPLATE_TAG) == template_hash
    if current and unchanged and not always:
        print(f"No changes to deploy. Stack {name} is up to date")
        return 0 if "--no-fail-on-empty-changeset" in argv else 1
    outputs = _control().get("outputs", {}).get(name, {})
    request: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": stand_in_template(parameters, outputs, uuid.uuid4().hex[:10] if always else ""),
        "Parameters": [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        "Capabilities": option_list(argv, "--capabilities"),
        "Tags": [{"Key": TEMPLATE_TAG, "Value": template_hash}],
    }
    stack_id = (cfn.update_stack if current else cfn.create_stack)(**request)["StackId"]
    status = cfn.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
    if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        verb, waiter = ("update", "StackUpdateComplete") if current else ("create", "StackCreateComplete")
        print(f"Error: Failed to {verb} the stack: {name}, Waiter {waiter} failed", file=sys.stderr)
        return 1
    if "APIGatewayID" in outputs:
        deploy_api(session, name, outputs, parameters)
    print(f"Successfully created/updated stack - {name} in {cfn.meta.region_name}")
    return 0


def main(argv: list[str]) -> int:
    """Run and record one sam call."""
    # Marks this process's AWS requests (User-Agent app/recorded-sam), so tests can tell them from the workflow's.
    os.environ["AWS_SDK_UA_APP_ID"] = "recorded-sam"
    command = argv[0] if argv else ""
    record: dict[str, Any] = {}
    if command == "package":
        status = package(argv)
    elif command == "deploy":
        status = deploy(argv, record)
    else:
        print(f"recorded sam: unsupported call {argv}", file=sys.stderr)
        status = 2
    log = os.environ.get("RECORDED_SAM_LOG")
    if log:
        entry = {"argv": argv, "exit": status, "telemetry": os.environ.get("SAM_CLI_TELEMETRY"), **record}
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
