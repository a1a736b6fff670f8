"""A recorded `sam` for the workflow tests: logs each call and does what `sam package` / `sam deploy` would, against
the moto server the environment points at (AWS_ENDPOINT_URL), with the credentials of the --profile given.

Installed on PATH as an executable by tests/workflow/harness.py. Environment:
- RECORDED_SAM_LOG: JSON-lines file; one entry per call: argv, exit status, and SAM_CLI_TELEMETRY as sam saw it.
- RECORDED_SAM_CONTROL: JSON file the test writes; "outputs": {stack name: {key: value}} are the Outputs a deployed
  stack gets (sam deploy of the real templates would need CloudFormation's SAM transform, which moto lacks, so the
  stack is a stand-in holding the parameters and these outputs).
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


def _stand_in(parameters: dict[str, str], outputs: dict[str, str]) -> str:
    return json.dumps(
        {
            "Parameters": {name: {"Type": "String"} for name in parameters},
            "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
    )


def deploy(argv: list[str]) -> int:
    """Create or update the stand-in stack; no change (same parameters and template) is sam's empty change set."""
    from botocore.exceptions import ClientError  # noqa: PLC0415 - see the note on imports

    cfn = _session(argv).client("cloudformation")
    name = option(argv, "--stack-name")
    if "CAPABILITY_AUTO_EXPAND" not in option_list(argv, "--capabilities"):
        print("Error: Requires capabilities : [CAPABILITY_AUTO_EXPAND]", file=sys.stderr)
        return 1
    template_hash = hashlib.sha256(Path(option(argv, "--template-file")).read_bytes()).hexdigest()
    current: dict[str, Any] = {}
    with contextlib.suppress(ClientError):  # no such stack yet: sam deploy creates it
        current = dict(cfn.describe_stacks(StackName=name)["Stacks"][0])
    previous = {item["ParameterKey"]: item["ParameterValue"] for item in current.get("Parameters", [])}
    overrides = dict(token.split("=", 1) for token in option_list(argv, "--parameter-overrides"))
    parameters = {**previous, **overrides}  # sam deploy: UsePreviousValue for everything not given
    tags = {tag["Key"]: tag["Value"] for tag in current.get("Tags", [])}
    if current and parameters == previous and tags.get(TEMPLATE_TAG) == template_hash:
        print(f"No changes to deploy. Stack {name} is up to date")
        return 0 if "--no-fail-on-empty-changeset" in argv else 1
    request: dict[str, Any] = {
        "StackName": name,
        "TemplateBody": _stand_in(parameters, _control().get("outputs", {}).get(name, {})),
        "Parameters": [{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        "Capabilities": option_list(argv, "--capabilities"),
        "Tags": [{"Key": TEMPLATE_TAG, "Value": template_hash}],
    }
    if current:
        cfn.update_stack(**request)
    else:
        cfn.create_stack(**request)
    print(f"Successfully created/updated stack - {name} in {cfn.meta.region_name}")
    return 0


def main(argv: list[str]) -> int:
    """Run and record one sam call."""
    command = argv[0] if argv else ""
    if command == "package":
        status = package(argv)
    elif command == "deploy":
        status = deploy(argv)
    else:
        print(f"recorded sam: unsupported call {argv}", file=sys.stderr)
        status = 2
    log = os.environ.get("RECORDED_SAM_LOG")
    if log:
        entry = {"argv": argv, "exit": status, "telemetry": os.environ.get("SAM_CLI_TELEMETRY")}
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
