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


def aws_cloudformation(state: dict[str, Any], argv: list[str]) -> str:
    account, region = caller(state, argv)
    name = option(argv, "--stack-name") or ""
    stack = find_stack(state, name, account)
    if argv[1] == "describe-stacks":
        if stack is None:
            raise service_error("ValidationError", "DescribeStacks", f"Stack with id {name} does not exist")
        return render(argv, {"Stacks": [describe_stack(state, stack)]})
    raise CliError(f"fake aws: unsupported cloudformation call {argv} in {region}", CLI_ERROR_EXIT)


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


def aws_main(argv: list[str]) -> int:
    state = load_state()
    extra: dict[str, Any] = {}
    try:
        service = argv[0] if argv else ""
        if service == "configure":
            out = aws_configure(state, argv)
        elif service == "cloudformation":
            out = aws_cloudformation(state, argv)
        elif service == "lambda":
            out = aws_lambda(state, argv, extra)
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
    }


def sam_main(argv: list[str]) -> int:
    state = load_state()
    command = argv[0] if argv else ""
    extra: dict[str, Any] = {}
    try:
        if command == "package":
            status = sam_package(state, argv)
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
