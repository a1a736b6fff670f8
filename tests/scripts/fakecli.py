"""Recorded stand-ins for the aws, sam and pip executables the shell scripts call.

Each call is appended to a JSON-lines log (argv + the profile and region it used) and answered from a JSON
state file with the shapes the real CLIs print (AWS CLI v2 by default, v1 timestamps on request), so the
scripts' --query expressions run against real-shaped documents through the real jmespath.
"""

from __future__ import annotations

# Every fake call is a new process, so modules only some calls need (jmespath, hashlib, base64, datetime)
# are imported where they are used; this roughly halves the start-up cost the script tests pay per call.
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

DEFAULT_REGION_FOR_ERRORS = "us-east-1"
SERVICE_ERROR_EXIT = 254  # AWS CLI v2: the service returned an error
CLI_ERROR_EXIT = 255  # AWS CLI v2: configuration / usage error

BACKEND_DEFAULTS = {
    "pTrustedPrincipals": "Nobody",
    "pAPIAccessList": "None",
    "pAllowedVPCEndpoints": "None",
    "pAPIStageName": "Prod",
}
# AWS CLI settings that change how a call behaves and that the tests check the scripts set.
RECORDED_ENV = ("AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "SAM_CLI_TELEMETRY")
# What sam package (SAM CLI 1.170, samcli/commands/package/package_context.py) prints on stdout after writing
# --output-template-file: advice for someone running sam by hand, not for the scripts' users.
SAM_PACKAGED_MESSAGE = (
    "\nSuccessfully packaged artifacts and wrote output template to file {output_file_name}.\n"
    "Execute the following command to deploy the packaged template\n"
    "sam deploy --template-file {output_file_path} --stack-name <YOUR STACK NAME>\n"
)
# The CLI's socket read timeout when --cli-read-timeout is not given (AWS CLI v1 and v2).
DEFAULT_CLI_READ_TIMEOUT = 60.0
# Total attempts per call by retry mode: standard (v2's default) 3, legacy (v1's default) 5; both retry a read timeout.
DEFAULT_TOTAL_ATTEMPTS = {"standard": 3, "legacy": 5, "adaptive": 3}
# Regions of Powertools' SSM release workflow matrix (aws-powertools/powertools-lambda-python,
# .github/workflows/update_ssm.yml): only these have /aws/service/powertools/... parameters.
POWERTOOLS_SSM_REGIONS = frozenset(
    [
        "af-south-1",
        "ap-east-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    ]
)
POWERTOOLS_SSM_PREFIX = "/aws/service/powertools/python/"
CLIENT_DEFAULTS = {"pAPIHost": "", "pAPIPrefix": "/Prod", "pAPIAccountID": "Local", "pAPIRoleARN": "None"}


class CliError(Exception):
    """An error the real CLI would print to stderr with a non-zero exit."""

    def __init__(self, message: str, code: int = SERVICE_ERROR_EXIT) -> None:
        super().__init__(message)
        self.code = code


def service_error(code: str, operation: str, message: str) -> CliError:
    """The AWS CLI's wording for an error returned by a service."""
    return CliError(f"\nAn error occurred ({code}) when calling the {operation} operation: {message}")


# ---------------------------------------------------------------------------------------------------------------------
# State and log
# ---------------------------------------------------------------------------------------------------------------------


def load_state() -> dict[str, Any]:
    return json.loads(Path(os.environ["FAKE_CLI_STATE"]).read_text())


def save_state(state: dict[str, Any]) -> None:
    Path(os.environ["FAKE_CLI_STATE"]).write_text(json.dumps(state, indent=2))


def option(argv: list[str], name: str, default: str | None = None) -> str | None:
    """Value of `--name value` or `--name=value`."""
    for index, token in enumerate(argv):
        if token == name and index + 1 < len(argv):
            return argv[index + 1]
        if token.startswith(name + "="):
            return token.split("=", 1)[1]
    return default


def option_list(argv: list[str], name: str) -> list[str]:
    """Values after `--name` up to the next option (SAM's nargs options)."""
    if name not in argv:
        return []
    values = []
    for token in argv[argv.index(name) + 1 :]:
        if token.startswith("--"):
            break
        values.append(token)
    return values


def record(tool: str, argv: list[str], extra: dict[str, Any] | None = None) -> None:
    entry: dict[str, Any] = {
        "tool": tool,
        "argv": argv,
        "profile": option(argv, "--profile", os.environ.get("AWS_PROFILE")),
        "region": option(argv, "--region", os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")),
    }
    entry["env"] = {name: os.environ[name] for name in RECORDED_ENV if name in os.environ}
    entry.update(extra or {})
    with Path(os.environ["FAKE_CLI_LOG"]).open("a") as log:
        log.write(json.dumps(entry) + "\n")


def tick(state: dict[str, Any]) -> float:
    """Advance the fake clock one second per change, so 'older than' is decidable inside one test second."""
    state["clock"] += 1.0
    return state["clock"]


def timestamp(state: dict[str, Any], epoch: float, rest_api: bool = False) -> str | float:
    """Timestamps as the CLI prints them: v2 ISO with offset; v1 'Z' for query APIs and epoch numbers for REST."""
    from datetime import UTC, datetime  # noqa: PLC0415 - see the note on imports

    if state.get("cli_version", 2) == 1:
        if rest_api:
            return epoch
        return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat()


def caller(state: dict[str, Any], argv: list[str]) -> tuple[str, str]:
    """(account, region) of the profile a call uses; an unknown profile fails like the CLI does."""
    profile = option(argv, "--profile", os.environ.get("AWS_PROFILE", "default"))
    profiles = state["profiles"]
    if profile not in profiles:
        raise CliError(f"\nThe config profile ({profile}) could not be found", CLI_ERROR_EXIT)
    region = option(argv, "--region") or profiles[profile].get("region") or DEFAULT_REGION_FOR_ERRORS
    return profiles[profile]["account"], region


def render(argv: list[str], document: Any) -> str:
    """Apply --query and --output like the AWS CLI."""
    query = option(argv, "--query")
    if query:
        import jmespath  # noqa: PLC0415 - see the note on imports

        document = jmespath.search(query, document)
    if option(argv, "--output", "json") == "text":
        return text_output(document)
    return json.dumps(document, indent=4)


def text_output(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, list):
        if value and all(isinstance(item, list) for item in value):
            return "\n".join(text_output(item) for item in value)
        return "\t".join(text_output(item) for item in value)
    if isinstance(value, dict):
        return "\t".join(text_output(item) for item in value.values())
    return str(value)


# ---------------------------------------------------------------------------------------------------------------------
# CloudFormation model shared by aws and sam
# ---------------------------------------------------------------------------------------------------------------------


def find_stack(state: dict[str, Any], name_or_id: str, account: str) -> dict[str, Any] | None:
    """A stack by name (live stacks only) or by ARN (deleted ones too), visible only from its own account."""
    for stack in state["stacks"].values():
        if stack["account"] != account:
            continue
        if stack["id"] == name_or_id:
            return stack
        if stack["name"] == name_or_id and stack["status"] != "DELETE_COMPLETE":
            return stack
    return None


def stack_outputs(state: dict[str, Any], stack: dict[str, Any]) -> dict[str, str]:
    """Outputs as the templates declare them, including the conditional assume-role ones."""
    outputs = dict(state["outputs"].get(stack["name"], {}))
    if stack["kind"] == "client" and stack["parameters"].get("pAPIRoleARN", "None") in ("", "None"):
        outputs.pop("PythonAssumeRoleClient", None)
        outputs.pop("AssumeRoleClientRole", None)
    for key in state.get("omit_outputs", {}).get(stack["name"], []):
        outputs.pop(key, None)
    return outputs


def describe_stack(state: dict[str, Any], stack: dict[str, Any]) -> dict[str, Any]:
    described: dict[str, Any] = {
        "StackId": stack["id"],
        "StackName": stack["name"],
        "StackStatus": stack["status"],
        "CreationTime": timestamp(state, stack["created"]),
        "Parameters": [{"ParameterKey": key, "ParameterValue": value} for key, value in stack["parameters"].items()],
        "Outputs": [{"OutputKey": key, "OutputValue": value} for key, value in stack_outputs(state, stack).items()],
    }
    if stack.get("updated"):
        described["LastUpdatedTime"] = timestamp(state, stack["updated"])
    if not described["Outputs"]:
        del described["Outputs"]  # CloudFormation omits the key for a stack without outputs
    return described


def add_event(state: dict[str, Any], stack: dict[str, Any], event: dict[str, Any], when: float) -> None:
    full = {
        "StackId": stack["id"],
        "StackName": stack["name"],
        "EventId": f"{event['LogicalResourceId']}-{len(stack['events'])}",
        "PhysicalResourceId": event.get("PhysicalResourceId", ""),
        "ResourceType": event.get("ResourceType", "AWS::CloudFormation::Stack"),
        "Timestamp": timestamp(state, when),
    }
    full.update({key: value for key, value in event.items() if key not in full or key == "PhysicalResourceId"})
    stack["events"].insert(0, full)  # newest first, like the API


def resolve_delete(state: dict[str, Any], stack: dict[str, Any]) -> None:
    """Progress a pending delete by one poll."""
    pending = stack.get("pending_delete")
    if not pending:
        return
    if pending["polls_left"] > 0 or pending["outcome"] == "NEVER":
        pending["polls_left"] -= 1
        return
    when = tick(state)
    stack["status"] = pending["outcome"]
    stack.pop("pending_delete")
    if stack["status"] == "DELETE_FAILED":
        add_event(
            state,
            stack,
            {
                "LogicalResourceId": "LambdaSecurityGroup",
                "ResourceType": "AWS::EC2::SecurityGroup",
                "ResourceStatus": "DELETE_FAILED",
                "ResourceStatusReason": "resource sg-0abc has a dependent object",
            },
            when,
        )


# ---------------------------------------------------------------------------------------------------------------------
# aws
# ---------------------------------------------------------------------------------------------------------------------


def aws_configure(state: dict[str, Any], argv: list[str]) -> str:
    if argv[1:2] == ["list-profiles"]:
        if state.get("cli_version", 2) == 1:
            # AWS CLI v1 has no list-profiles: argparse rejects the operation.
            raise CliError("\naws: error: argument operation: Invalid choice, valid choices are: ...", 252)
        return "\n".join(state["profiles"])
    if argv[1:2] == ["list"]:
        profile = option(argv, "--profile", os.environ.get("AWS_PROFILE", "default"))
        if profile not in state["profiles"]:
            raise CliError(f"\nThe config profile ({profile}) could not be found", CLI_ERROR_EXIT)
        return f"      Name     Value     Type    Location\n   profile {profile} manual --profile"
    if argv[1:3] != ["get", "region"]:
        raise CliError(f"fake aws: unsupported configure call {argv}", CLI_ERROR_EXIT)
    profile = option(argv, "--profile", "default")
    region = state["profiles"].get(profile, {}).get("region")
    if not region:
        raise CliError("", 1)  # `aws configure get` prints nothing and exits 1 for an unset value
    return region


def aws_sts(state: dict[str, Any], argv: list[str]) -> str:
    account, _region = caller(state, argv)
    profile = option(argv, "--profile", "default")
    if state["profiles"][profile].get("broken"):
        raise service_error(
            "InvalidClientTokenId", "GetCallerIdentity", "The security token included in the request is invalid."
        )
    return render(
        argv,
        {"UserId": "AIDAEXAMPLE", "Account": account, "Arn": f"arn:aws:iam::{account}:user/deployer"},
    )


def aws_cloudformation(state: dict[str, Any], argv: list[str]) -> str:
    account, region = caller(state, argv)
    operation = argv[1]
    name = option(argv, "--stack-name") or ""
    stack = find_stack(state, name, account)
    if operation == "describe-stacks":
        if stack is None:
            raise service_error("ValidationError", "DescribeStacks", f"Stack with id {name} does not exist")
        resolve_delete(state, stack)
        save_state(state)
        return render(argv, {"Stacks": [describe_stack(state, stack)]})
    if operation == "describe-stack-events":
        if stack is not None:
            return render(argv, {"StackEvents": stack["events"]})
        if name in state.get("nested_events", {}):
            return render(argv, {"StackEvents": state["nested_events"][name]})
        raise service_error("ValidationError", "DescribeStackEvents", f"Stack [{name}] does not exist")
    if operation == "wait" and argv[2:3] == ["stack-delete-complete"]:
        return wait_stack_delete_complete(state, stack)
    if operation == "delete-stack":
        if stack is None or stack["status"] == "DELETE_COMPLETE":
            return ""  # deleting a missing stack succeeds silently
        outcomes = state.get("delete_outcomes", {}).get(stack["name"], [])
        outcome = outcomes.pop(0) if outcomes else "DELETE_COMPLETE"
        stack["status"] = "DELETE_IN_PROGRESS"
        stack["pending_delete"] = {"outcome": outcome, "polls_left": state.get("delete_polls", 1)}
        tick(state)
        save_state(state)
        return ""
    raise CliError(f"fake aws: unsupported cloudformation call {argv} in {region}", CLI_ERROR_EXIT)


def wait_stack_delete_complete(state: dict[str, Any], stack: dict[str, Any] | None) -> str:
    """The CLI's waiter: silent once the stack is gone, a terminal failure on DELETE_FAILED (bounded polls)."""
    for _poll in range(100):
        if stack is None or stack["status"] == "DELETE_COMPLETE":
            save_state(state)
            return ""
        if stack["status"] == "DELETE_FAILED":
            save_state(state)
            raise CliError(
                "\nWaiter StackDeleteComplete failed: Waiter encountered a terminal failure state: For expression "
                '"Stacks[].StackStatus" we matched expected path: "DELETE_FAILED" at least once',
                255,
            )
        resolve_delete(state, stack)
    raise CliError("\nWaiter StackDeleteComplete failed: Max attempts exceeded", 255)


def bucket_for(state: dict[str, Any], argv: list[str], operation: str) -> dict[str, Any]:
    account, _region = caller(state, argv)
    name = option(argv, "--bucket") or ""
    bucket = state["buckets"].get(name)
    if bucket is None:
        raise service_error("NoSuchBucket", operation, "The specified bucket does not exist")
    owner = option(argv, "--expected-bucket-owner")
    if bucket["owner"] != account or (owner and owner != bucket["owner"]):
        raise service_error("AccessDenied", operation, "Access Denied")
    return bucket


def aws_s3api(state: dict[str, Any], argv: list[str]) -> str:
    account, region = caller(state, argv)
    operation = argv[1]
    name = option(argv, "--bucket") or ""
    if operation == "head-bucket":
        bucket = state["buckets"].get(name)
        if bucket is None:
            raise service_error("404", "HeadBucket", "Not Found")
        if bucket["owner"] != account or option(argv, "--expected-bucket-owner") not in (None, bucket["owner"]):
            raise service_error("403", "HeadBucket", "Forbidden")
        return render(argv, {"BucketRegion": bucket["region"], "AccessPointAlias": False})
    if operation == "create-bucket":
        constraint = (option(argv, "--create-bucket-configuration") or "").removeprefix("LocationConstraint=")
        if region == "us-east-1" and constraint:
            raise service_error(
                "InvalidLocationConstraint", "CreateBucket", "The specified location-constraint is not valid"
            )
        if region != "us-east-1" and constraint != region:
            raise service_error(
                "IllegalLocationConstraintException",
                "CreateBucket",
                "The unspecified location constraint is incompatible for the region specific endpoint "
                "this request was sent to.",
            )
        if name in state["buckets"]:
            raise service_error("BucketAlreadyExists", "CreateBucket", "The requested bucket name is not available.")
        state["buckets"][name] = {"owner": account, "region": region, "objects": [], "markers": []}
        save_state(state)
        return render(argv, {"Location": f"/{name}"})
    bucket = bucket_for(state, argv, operation)
    if operation == "put-public-access-block":
        bucket["public_access_block"] = option(argv, "--public-access-block-configuration")
    elif operation == "put-bucket-encryption":
        bucket["encryption"] = json.loads(option(argv, "--server-side-encryption-configuration") or "{}")
    elif operation == "list-object-versions":
        limit = int(option(argv, "--max-items", "1000") or 1000)
        versions = [
            {"Key": key, "VersionId": version, "IsLatest": True, "Size": 1} for key, version in bucket["objects"]
        ]
        markers = [{"Key": key, "VersionId": version, "IsLatest": False} for key, version in bucket["markers"]]
        document: dict[str, Any] = {}
        if versions:
            document["Versions"] = versions[:limit]
        if markers and len(versions) < limit:
            document["DeleteMarkers"] = markers[: limit - len(versions)]
        if len(versions) + len(markers) > limit:
            document["NextToken"] = "token"
        return render(argv, document)
    elif operation == "delete-objects":
        request = json.loads(Path((option(argv, "--delete") or "").removeprefix("file://")).read_text())
        doomed = {(item["Key"], item["VersionId"]) for item in request["Objects"]}
        bucket["objects"] = [entry for entry in bucket["objects"] if tuple(entry) not in doomed]
        bucket["markers"] = [entry for entry in bucket["markers"] if tuple(entry) not in doomed]
        save_state(state)
        return render(argv, {} if request.get("Quiet") else {"Deleted": request["Objects"]})
    elif operation == "delete-bucket":
        if bucket["objects"] or bucket["markers"]:
            raise service_error("BucketNotEmpty", "DeleteBucket", "The bucket you tried to delete is not empty")
        del state["buckets"][name]
    else:
        raise CliError(f"fake aws: unsupported s3api call {argv}", CLI_ERROR_EXIT)
    save_state(state)
    return ""


def provider_stack(state: dict[str, Any], account: str, api_id: str, operation: str) -> dict[str, Any]:
    for stack in state["stacks"].values():
        if (
            stack["kind"] == "backend"
            and stack["account"] == account
            and stack["status"] != "DELETE_COMPLETE"
            and stack_outputs(state, stack).get("APIGatewayID") == api_id
        ):
            return stack
    raise service_error("NotFoundException", operation, "Invalid API identifier specified")


def resource_policy(state: dict[str, Any], stack: dict[str, Any], api_id: str, region: str) -> str:
    """The policy API Gateway returns: a JSON string with escaped slashes, from the stack's parameters."""
    params = dict(BACKEND_DEFAULTS)
    if not state.get("policy_ignores_parameters"):
        params.update(stack["parameters"])
    resource = f"arn:aws:execute-api:{region}:{stack['account']}:{api_id}/*"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": params["pAPIAccessList"].split(",")},
                "Action": "execute-api:Invoke",
                "Resource": resource,
            },
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": resource,
                "Condition": {"StringNotEquals": {"aws:SourceVpce": params["pAllowedVPCEndpoints"].split(",")}},
            },
        ],
    }
    return json.dumps(policy, separators=(",", ":")).replace("/", "\\/")


def aws_apigateway(state: dict[str, Any], argv: list[str]) -> str:
    account, region = caller(state, argv)
    operation = argv[1]
    api_id = option(argv, "--rest-api-id") or ""
    stack = provider_stack(state, account, api_id, operation)
    deployment = stack["deployment"]
    if operation == "get-rest-api":
        return render(
            argv,
            {
                "id": api_id,
                "name": f"{stack['name']}-api",
                "createdDate": timestamp(state, stack["created"], rest_api=True),
                "endpointConfiguration": {"types": ["PRIVATE"]},
                "policy": resource_policy(state, stack, api_id, region),
            },
        )
    if operation == "get-stage":
        stage = option(argv, "--stage-name")
        if stage != stack["parameters"].get("pAPIStageName", "Prod"):
            raise service_error("NotFoundException", "GetStage", "Invalid stage identifier specified")
        return render(argv, {"deploymentId": deployment["id"], "stageName": stage, "tracingEnabled": False})
    if operation == "get-deployment":
        if option(argv, "--deployment-id") != deployment["id"]:
            raise service_error("NotFoundException", "GetDeployment", "Invalid Deployment identifier specified")
        return render(
            argv, {"id": deployment["id"], "createdDate": timestamp(state, deployment["created"], rest_api=True)}
        )
    raise CliError(f"fake aws: unsupported apigateway call {argv}", CLI_ERROR_EXIT)


def total_attempts(state: dict[str, Any]) -> int:
    """Calls the CLI makes for one operation: AWS_MAX_ATTEMPTS counts the first call, else the retry mode's default."""
    if os.environ.get("AWS_MAX_ATTEMPTS"):
        return int(os.environ["AWS_MAX_ATTEMPTS"])
    mode = os.environ.get("AWS_RETRY_MODE") or ("legacy" if state.get("cli_version", 2) == 1 else "standard")
    return DEFAULT_TOTAL_ATTEMPTS[mode]


def run_function(state: dict[str, Any], argv: list[str], name: str, region: str) -> dict[str, Any]:
    """Invoke like the CLI: each attempt runs the function; a reply slower than the read timeout is retried."""
    function = state["functions"].get(name)
    if function is None:
        raise service_error("ResourceNotFoundException", "Invoke", f"Function not found: {name}")
    read_timeout = float(option(argv, "--cli-read-timeout") or DEFAULT_CLI_READ_TIMEOUT)
    duration = float(function.get("duration", 1))
    for _attempt in range(total_attempts(state)):
        function["executions"] = function.get("executions", 0) + 1  # Lambda ran it, whether or not the CLI waits
        if read_timeout == 0 or duration <= read_timeout:  # 0: the CLI waits forever
            save_state(state)
            return function
    save_state(state)
    url = f"https://lambda.{region}.amazonaws.com/2015-03-31/functions/{name}/invocations"
    raise CliError(f'\nRead timeout on endpoint URL: "{url}"', CLI_ERROR_EXIT)


def aws_lambda(state: dict[str, Any], argv: list[str], extra: dict[str, Any]) -> str:
    _account, region = caller(state, argv)
    name = option(argv, "--function-name") or ""
    if argv[1] == "get-function-configuration":
        function = state["functions"].get(name)
        if function is None:
            raise service_error("ResourceNotFoundException", "GetFunctionConfiguration", f"Function not found: {name}")
        return render(argv, {"FunctionName": name, "Runtime": "python3.14", "Timeout": function.get("timeout", 60)})
    if argv[1] != "invoke":
        raise CliError(f"fake aws: unsupported lambda call {argv}", CLI_ERROR_EXIT)
    payload = option(argv, "--payload") or ""
    if payload.startswith("fileb://"):
        extra["payload"] = Path(payload.removeprefix("fileb://")).read_text()
    import base64  # noqa: PLC0415 - see the note on imports

    function = run_function(state, argv, name, region)
    Path(argv[-1]).write_text(json.dumps(function["response"]))
    log_tail = base64.b64encode(f"START RequestId: 1\n{function.get('log', 'END RequestId: 1')}\n".encode()).decode()
    meta: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "LogResult": log_tail}
    if function.get("function_error"):
        meta["FunctionError"] = function["function_error"]
    return render(argv, meta)


def aws_ec2(state: dict[str, Any], argv: list[str]) -> str:
    _account, region = caller(state, argv)
    if argv[1] != "describe-managed-prefix-lists":
        raise CliError(f"fake aws: unsupported ec2 call {argv}", CLI_ERROR_EXIT)
    lists = [
        {"PrefixListId": prefix_list_id(region, service), "PrefixListName": f"com.amazonaws.{region}.{service}"}
        for service in ("dynamodb", "s3")
    ]
    wanted = (option(argv, "--filters") or "").removeprefix("Name=prefix-list-name,Values=")
    return render(argv, {"PrefixLists": [item for item in lists if not wanted or item["PrefixListName"] == wanted]})


def aws_ssm(state: dict[str, Any], argv: list[str]) -> str:
    """get-parameter: Powertools' public parameters exist only in its release regions; failures can be injected."""
    _account, region = caller(state, argv)
    if argv[1] != "get-parameter":
        raise CliError(f"fake aws: unsupported ssm call {argv}", CLI_ERROR_EXIT)
    failure = state.get("ssm_failure")
    if failure == "connection":
        url = f"https://ssm.{region}.amazonaws.com/"
        raise CliError(f'\nCould not connect to the endpoint URL: "{url}"', CLI_ERROR_EXIT)
    if failure == "denied":
        raise service_error(
            "AccessDeniedException",
            "GetParameter",
            "User: arn:aws:iam::222222222222:user/deployer is not authorized to perform: ssm:GetParameter",
        )
    name = option(argv, "--name") or ""
    value = state.get("ssm_parameters", {}).get(region, {}).get(name)
    if value is None and name.startswith(POWERTOOLS_SSM_PREFIX) and region in POWERTOOLS_SSM_REGIONS:
        value = f"arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:30"
    if value is None:
        raise service_error("ParameterNotFound", "GetParameter", "")
    return render(argv, {"Parameter": {"Name": name, "Type": "String", "Value": value, "Version": 1}})


def prefix_list_id(region: str, service: str) -> str:
    """A stable, region-specific fake id, so tests can tell regions apart."""
    return "pl-" + format(sum(map(ord, region + service)) * 7919, "x").rjust(8, "0")


def aws_main(argv: list[str]) -> int:
    state = load_state()
    extra: dict[str, Any] = {}
    try:
        service = argv[0] if argv else ""
        if service == "configure":
            out = aws_configure(state, argv)
        elif service == "sts":
            out = aws_sts(state, argv)
        elif service == "cloudformation":
            out = aws_cloudformation(state, argv)
        elif service == "s3api":
            out = aws_s3api(state, argv)
        elif service == "apigateway":
            out = aws_apigateway(state, argv)
        elif service == "lambda":
            out = aws_lambda(state, argv, extra)
        elif service == "ec2":
            out = aws_ec2(state, argv)
        elif service == "ssm":
            out = aws_ssm(state, argv)
        else:
            raise CliError(f"fake aws: unsupported call {argv}", CLI_ERROR_EXIT)
    except CliError as error:
        record("aws", argv, {**extra, "exit": error.code})
        if str(error):
            print(str(error), file=sys.stderr)
        return error.code
    record("aws", argv, {**extra, "exit": 0})
    if out:
        print(out)
    return 0


# ---------------------------------------------------------------------------------------------------------------------
# sam
# ---------------------------------------------------------------------------------------------------------------------

_LOCAL_ARTIFACT = re.compile(r"^(?P<lead>\s*(?:CodeUri|Location|TemplateURL):\s*)(?P<path>[^\s'\"]+\.(?:zip|yaml))\s*$")


def sam_package(state: dict[str, Any], argv: list[str]) -> int:
    """Rewrite local artifact paths to S3 URLs (as sam package does) and 'upload' them into the bucket."""
    import hashlib  # noqa: PLC0415 - see the note on imports

    account, region = caller(state, argv)
    bucket_name = option(argv, "--s3-bucket") or ""
    bucket = state["buckets"].get(bucket_name)
    if bucket is None or bucket["owner"] != account:
        print(f"Error: S3 Bucket not specified or does not exist: {bucket_name}", file=sys.stderr)
        return 1
    template = Path(option(argv, "--template-file") or "")
    prefix = option(argv, "--s3-prefix") or ""
    lines = []
    for source_line in template.read_text().splitlines():
        line = source_line
        match = _LOCAL_ARTIFACT.match(line)
        if match:
            local = template.parent / match["path"]
            if not local.exists():
                print(f"Error: Unable to upload artifact {match['path']}: file does not exist", file=sys.stderr)
                return 1
            key = f"{prefix}/{hashlib.md5(local.read_bytes()).hexdigest()}"  # noqa: S324 - mirrors sam's key
            if [key, "v1"] not in bucket["objects"]:
                bucket["objects"].append([key, "v1"])
            url = f"s3://{bucket_name}/{key}"
            if not match["path"].endswith(".zip"):
                url = f"https://s3.{region}.amazonaws.com/{bucket_name}/{key}.template"
            line = f"{match['lead']}{url}"
        lines.append(line)
    output = option(argv, "--output-template-file") or ""
    Path(output).write_text("\n".join(lines) + "\n")
    save_state(state)
    print(SAM_PACKAGED_MESSAGE.format(output_file_name=output, output_file_path=Path(output).resolve()))
    return 0


def new_stack(state: dict[str, Any], name: str, account: str, region: str) -> dict[str, Any]:
    kind = "backend" if name.endswith("-backend") else "client"
    defaults = BACKEND_DEFAULTS if kind == "backend" else CLIENT_DEFAULTS
    return {
        "name": name,
        "kind": kind,
        "account": account,
        "region": region,
        "id": f"arn:aws:cloudformation:{region}:{account}:stack/{name}/{len(state['stacks']) + 1:08d}-fake",
        "status": "REVIEW_IN_PROGRESS",
        "parameters": dict(defaults),
        "created": state["clock"],
        "updated": None,
        "template_hash": None,
        "events": [],
        "deploy_count": 0,
        "deployment": {"id": "dep0", "created": state["clock"]},
    }


def always_deploys(template: Path) -> bool:
    """True when the template or the nested template packaged beside it has an API with AlwaysDeploy.

    SAM's transform then gives the API's Deployment a new logical id on every transform, so no change set of that
    stack is ever empty: each sam deploy makes a new deployment of the stage.
    """
    nested = template.parent / template.name.removeprefix("vpc-")
    return any(path.exists() and "AlwaysDeploy: true" in path.read_text() for path in {template, nested})


def injected_failure(state: dict[str, Any], name: str, stack: dict[str, Any]) -> dict[str, Any] | None:
    """The failure configured for this deploy: on attempt N of this stack, or the next `times` deploys of the name."""
    failure = state.get("deploy_failures", {}).get(name)
    if not failure:
        return None
    if "times" in failure:
        if failure["times"] <= 0:
            return None
        failure["times"] -= 1
        return failure
    return failure if failure.get("attempt", 1) == stack["deploy_count"] else None


def sam_deploy(state: dict[str, Any], argv: list[str], extra: dict[str, Any]) -> int:
    """Create or update a stack from its parameters; empty change sets and injected failures behave like sam's."""
    import hashlib  # noqa: PLC0415 - see the note on imports

    account, region = caller(state, argv)
    name = option(argv, "--stack-name") or ""
    template = Path(option(argv, "--template-file") or "")
    if "CAPABILITY_AUTO_EXPAND" not in option_list(argv, "--capabilities"):
        print("Error: Requires capabilities : [CAPABILITY_AUTO_EXPAND]", file=sys.stderr)
        return 1
    stack = find_stack(state, name, account)
    creating = stack is None
    if stack is None:
        stack = new_stack(state, name, account, region)
        state["stacks"][f"{account}/{name}"] = stack
    elif stack["status"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
        print(f"Error: Stack {name} is in {stack['status']} state and can not be updated.", file=sys.stderr)
        return 1
    stack["deploy_count"] += 1
    overrides = dict(token.split("=", 1) for token in option_list(argv, "--parameter-overrides"))
    parameters = {**stack["parameters"], **overrides}  # sam deploy: UsePreviousValue for everything not given
    extra["parameters"] = parameters  # what CloudFormation receives, previous values included
    template_hash = hashlib.sha256(template.read_bytes()).hexdigest()
    failure = injected_failure(state, name, stack)
    now = tick(state)
    if failure:
        for event in failure["events"]:
            add_event(state, stack, event, now)
        stack["status"] = "ROLLBACK_COMPLETE" if creating else "UPDATE_ROLLBACK_COMPLETE"
        if not creating:
            stack["updated"] = now
        save_state(state)
        verb = "create" if creating else "update"
        print(f"Error: Failed to {verb} the stack: {name}, Waiter StackCreateComplete failed", file=sys.stderr)
        return 1
    unchanged = parameters == stack["parameters"] and template_hash == stack["template_hash"]
    if not creating and unchanged and not always_deploys(template):
        save_state(state)
        print(f"No changes to deploy. Stack {name} is up to date")
        return 0 if "--no-fail-on-empty-changeset" in argv else 1
    stack["parameters"] = parameters
    stack["template_hash"] = template_hash
    stack["status"] = "CREATE_COMPLETE" if creating else "UPDATE_COMPLETE"
    if creating:
        stack["created"] = now
    else:
        stack["updated"] = now
    if stack["kind"] == "backend" and (creating or not state.get("stale_deployment")):
        stack["deployment"] = {"id": f"dep{stack['deploy_count']}", "created": now + 0.5}
    save_state(state)
    print(f"Successfully created/updated stack - {name} in {region}")
    return 0


def sam_main(argv: list[str]) -> int:
    state = load_state()
    command = argv[0] if argv else ""
    extra: dict[str, Any] = {}
    try:
        if command == "package":
            status = sam_package(state, argv)
        elif command == "deploy":
            status = sam_deploy(state, argv, extra)
        else:
            print(f"fake sam: unsupported call {argv}", file=sys.stderr)
            status = 2
    except CliError as error:
        print(str(error), file=sys.stderr)
        status = 1
    record("sam", argv, {**extra, "exit": status})
    return status


# ---------------------------------------------------------------------------------------------------------------------
# pip
# ---------------------------------------------------------------------------------------------------------------------


def pip_main(argv: list[str]) -> int:
    """Record the install command and leave a dependency, its metadata and a console script in --target."""
    requirements = option(argv, "--requirement")
    wanted = Path(requirements).read_text().splitlines() if requirements else []
    record("pip", argv, {"requirements": [line for line in wanted if line.strip() and not line.startswith("#")]})
    target = Path(option(argv, "--target") or "")
    (target / "fakedep").mkdir(parents=True, exist_ok=True)
    (target / "fakedep" / "__init__.py").write_text("VERSION = '1.0'\n")
    (target / "fakedep" / "__pycache__").mkdir(exist_ok=True)
    (target / "fakedep" / "__pycache__" / "__init__.cpython-314.pyc").write_bytes(b"\0")
    (target / "fakedep-1.0.dist-info").mkdir(exist_ok=True)
    (target / "fakedep-1.0.dist-info" / "METADATA").write_text("Name: fakedep\nVersion: 1.0\n")
    (target / "bin").mkdir(exist_ok=True)
    (target / "bin" / "fakedep").write_text("#!/usr/local/bin/python3\n")
    return 0


def main(tool: str) -> int:
    argv = sys.argv[1:]
    if tool == "aws":
        return aws_main(argv)
    if tool == "sam":
        return sam_main(argv)
    return pip_main(argv)
