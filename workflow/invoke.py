"""invoke.sh (`python -m workflow invoke ...`): invoke the consumer's client functions (direct and assume-role), show
what the private API answered, and report SUCCESS for a 2xx answer; exit 1 when any invoked client failed.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from workflow import aws, stacks
from workflow.options import DEFAULT_STACK_PREFIX, client_stack_name, parse, validate_region, validate_stack_prefix
from workflow.output import Fatal, Output, UsageError, run

__all__ = ["main", "render_result", "usage"]

DEFAULT_PAYLOAD = "{}"
DIRECT_OUTPUT = "PythonDirectAuthClient"
ASSUME_ROLE_OUTPUT = "PythonAssumeRoleClient"
# Only a consumer stack deployed with pEnableMtlsClient=Yes has it (the certificate path, docs/mtls.md).
CERTIFICATE_OUTPUT = "PythonCertificateClient"
# Only a consumer stack deployed with a private domain name has it (deploy-all.sh --domain, docs/private-domain.md).
ASSOCIATION_OUTPUT = "PrivateDomainAccessAssociationArn"
# The client must wait longer than the function can run: on a read timeout it would re-send Invoke, running it again.
# The margin covers a cold start's init phase (not part of the function timeout) and the network.
READ_TIMEOUT_MARGIN_SECONDS = 60
# Lambda's largest function timeout: the wait used when a function's own timeout cannot be read.
LAMBDA_MAX_TIMEOUT_SECONDS = 900
LOG_TAIL_LINES = 20


def usage() -> str:
    """invoke.sh's usage."""
    return f"""\
Usage: invoke.sh [options] <consumer-profile>

Invoke the client functions of stack <prefix>-client and show what the private API answered
(the certificate client too, when the stack has one: deployed with deploy-all.sh --mtls; the IAM clients
call https://<domain>/<base path> when it was deployed with deploy-all.sh --domain, and a line says so).
Exits non-zero when any invoked client did not get a 2xx answer.

Options:
  --payload JSON        client event, e.g. '{{"method": "GET", "path": "/"}}' (default: {DEFAULT_PAYLOAD})
  --region REGION       region of the stack (default: the profile's region)
  --stack-prefix NAME   stack name prefix (default: {DEFAULT_STACK_PREFIX})
  -h, --help            show this help
"""


def read_timeout(out: Output, profile: str, region: str, function_name: str) -> int:
    """Seconds to wait for one invoke: the function's configured timeout plus a margin."""
    try:
        configuration = aws.client(profile, region, "lambda").get_function_configuration(FunctionName=function_name)
        return int(configuration["Timeout"]) + READ_TIMEOUT_MARGIN_SECONDS
    except (BotoCoreError, ClientError, KeyError, ValueError) as error:
        out.warn(
            f"could not read the timeout of {function_name}, waiting up to Lambda's maximum: {aws.error_text(error)}"
        )
        return LAMBDA_MAX_TIMEOUT_SECONDS + READ_TIMEOUT_MARGIN_SECONDS


def _log_tail(log_result: str | None) -> list[str]:
    if not log_result:
        return []
    text = base64.b64decode(log_result).decode("utf-8", errors="replace")
    return text.rstrip("\n").splitlines()[-LOG_TAIL_LINES:]


def _shown(result: dict[str, Any]) -> dict[str, Any]:
    # error and hint are printed on their own lines after the response, so they are not repeated inside it.
    shown = {key: value for key, value in result.items() if key not in ("error", "hint")}
    body = shown.get("body")
    if isinstance(body, str):
        with contextlib.suppress(ValueError):  # not JSON: show the text as it came
            shown["body"] = json.loads(body)
    return shown


def render_result(raw: str, function_error: str | None, log_result: str | None) -> tuple[list[str], bool]:
    """The lines showing a client function's answer, and whether the API answered 2xx."""
    if function_error:
        lines = [f"the function raised an error ({function_error}):", raw]
        return lines + [f"  log: {line}" for line in _log_tail(log_result)], False
    try:
        result = json.loads(raw)
    except ValueError:
        result = None
    if not isinstance(result, dict):
        return [f"unexpected response (not a JSON object): {raw}"], False
    lines = json.dumps(_shown(result), indent=2, sort_keys=True).splitlines()
    lines += [f"{key}: {result[key]}" for key in ("error", "hint") if result.get(key)]
    status = result.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool):
        return [*lines, "the response has no integer statusCode"], False
    return lines, 200 <= status < 300


def invoke_client(out: Output, profile: str, region: str, *, label: str, function_name: str, payload: bytes) -> bool:
    """Run one client and print its answer; True when the API answered 2xx."""
    out.line()
    out.heading(f"== {label}: {function_name} ==")
    # One attempt in all: a retry could run a POST twice.
    client = aws.client(
        profile, region, "lambda", read_timeout=read_timeout(out, profile, region, function_name), max_attempts=1
    )
    try:
        answer = client.invoke(FunctionName=function_name, Payload=payload, LogType="Tail")
        raw = answer["Payload"].read().decode("utf-8", errors="replace")
    except (BotoCoreError, ClientError) as error:
        out.failure(f"{label}: aws lambda invoke failed: {aws.error_text(error)}")
        return False
    lines, succeeded = render_result(raw, answer.get("FunctionError"), answer.get("LogResult"))
    for line in lines:
        out.line(line)
    if succeeded:
        out.success(label)
    else:
        out.failure(label)
    return succeeded


def domain_url(cfn: Any, stack: str, outputs: dict[str, str]) -> str:
    """https://<domain>/<base path> the IAM clients call, when the stack has a domain access association; else ""."""
    if not stacks.optional_output(outputs, ASSOCIATION_OUTPUT):
        return ""
    described = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    parameters = {item["ParameterKey"]: item.get("ParameterValue", "") for item in described.get("Parameters", [])}
    name = parameters.get("pPrivateDomainName", "None")
    if name in ("", "None"):
        return ""
    base = parameters.get("pPrivateDomainBasePath", "None")
    return f"https://{name}" + ("" if base in ("", "None") else f"/{base}")


def _payload(out: Output, text: str) -> bytes:
    try:
        json.loads(text)
    except ValueError as error:
        out.stderr.write(f"not valid JSON: {error}\n")
        raise UsageError("--payload must be one JSON document") from error
    return text.encode()


def main(argv: Sequence[str]) -> int:
    """`invoke [options] <consumer-profile>`."""
    out = Output()

    def body() -> int:
        parsed = parse(argv, values=("--payload", "--region", "--stack-prefix"))
        if len(parsed.positional) != 1:
            raise UsageError("expected one argument: <consumer-profile>")
        prefix = validate_stack_prefix(parsed.value("--stack-prefix", DEFAULT_STACK_PREFIX))
        region_flag = parsed.value("--region")
        if region_flag:
            validate_region(region_flag)
        profile, stack = parsed.positional[0], client_stack_name(prefix)
        payload = _payload(out, parsed.value("--payload", DEFAULT_PAYLOAD))
        aws.require_profiles([profile])
        region = aws.resolve_region(region_flag, [profile])
        cfn = aws.client(profile, region, "cloudformation")
        if stacks.stack_status(cfn, stack) == stacks.NO_STACK:
            raise Fatal(f"no stack {stack} for profile '{profile}' in {region}; deploy it first with ./deploy-all.sh")
        outputs = stacks.stack_outputs(cfn, stack)
        direct = stacks.required_output(outputs, DIRECT_OUTPUT, stack)
        assume = stacks.optional_output(outputs, ASSUME_ROLE_OUTPUT)
        url = domain_url(cfn, stack, outputs)
        if url:
            # The IAM clients' API_HOST is the domain then: say so, since their answers look the same either way.
            out.info(f"the IAM clients call the API via {url} (private custom domain name)")

        failures = (
            0 if invoke_client(out, profile, region, label=DIRECT_OUTPUT, function_name=direct, payload=payload) else 1
        )
        if assume:
            assumed = invoke_client(
                out, profile, region, label=ASSUME_ROLE_OUTPUT, function_name=assume, payload=payload
            )
            failures += 0 if assumed else 1
        else:
            out.line()
            out.heading(f"== {ASSUME_ROLE_OUTPUT} ==")
            out.info(
                f"not deployed (stack {stack} has no {ASSUME_ROLE_OUTPUT} output: it was deployed without "
                "pAPIRoleARN); skipped"
            )
        certificate = stacks.optional_output(outputs, CERTIFICATE_OUTPUT)
        # Without the certificate path nothing is printed, so the output of a stack without it is as before.
        if certificate and not invoke_client(
            out, profile, region, label=CERTIFICATE_OUTPUT, function_name=certificate, payload=payload
        ):
            failures += 1
        if failures:
            out.line()
            out.error(f"{failures} client invocation(s) failed")
            out.info(f"for the cause and the fix, run: ./diagnose.sh {profile} <provider profile>")
            return 1
        return 0

    return run(out, usage, body)
