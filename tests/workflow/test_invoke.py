"""invoke.sh against moto's Lambda in the consumer account: SUCCESS/FAILED per client, exit status, missing pieces.

moto runs no function code without Docker (its "lambda simple" backend), so what each client function answers is
set per test: moto's invoke is replaced, in this process where the moto server runs, by one that looks the function
up as moto does (an unknown function stays ResourceNotFoundException) and then answers as the test says.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.models import default_user_config

from tests.workflow.harness import CONSUMER, Kit, Result
from workflow import aws, invoke

DIRECT_FUNCTION = "private-api-client-DirectAuthClient-AAAA"
ASSUME_FUNCTION = "private-api-client-AssumeRoleClient-BBBB"
CLIENT_STACK = "private-api-client"
OK_RESPONSE = {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"message": "hello"}'}
DENIED = {
    "statusCode": 403,
    "headers": {"x-amzn-ErrorType": "AccessDeniedException"},
    "body": '{"message":"User: anonymous is not authorized to perform: execute-api:Invoke"}',
    "error": "API Gateway denied the request",
    "hint": "check pAllowedVPCEndpoints on the provider stack",
}


@dataclass
class Behaviour:
    """What one client function answers, and what it was sent."""

    response: Any = field(default_factory=lambda: dict(OK_RESPONSE))
    function_error: str | None = None
    log: str | None = None
    duration: float = 0.0
    payloads: list[bytes] = field(default_factory=list)


@pytest.fixture
def functions(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> dict[str, Behaviour]:
    """Both client functions in the consumer account, answering 200 unless a test says otherwise."""
    monkeypatch.setitem(default_user_config["lambda"], "use_docker", False)
    behaviours = {DIRECT_FUNCTION: Behaviour(), ASSUME_FUNCTION: Behaviour()}

    def answer(
        backend: LambdaSimpleBackend, name: str, qualifier: str | None, body: Any, _h: Any, response_headers: Any
    ) -> bytes:
        backend.get_function(name, qualifier)  # raises for an unknown function, as Lambda does
        behaviour = behaviours[name]
        behaviour.payloads.append(body if isinstance(body, bytes) else str(body).encode())
        time.sleep(behaviour.duration)
        if behaviour.function_error:
            response_headers["x-amz-function-error"] = behaviour.function_error
        if behaviour.log:
            response_headers["x-amz-log-result"] = base64.b64encode(behaviour.log.encode()).decode()
        return json.dumps(behaviour.response).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", answer)
    iam = kit.cloud.client("iam", CONSUMER)
    role = iam.create_role(RoleName="client", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    for name in behaviours:
        kit.cloud.client("lambda", CONSUMER).create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="client.handler",
            Code={"ZipFile": b"PK"},
            Timeout=60,
        )
    return behaviours


def deploy_client_stack(kit: Kit, *, assume_role: bool = True, name: str = CLIENT_STACK) -> None:
    """The consumer stack as deploy-all.sh leaves it, as far as invoke.sh reads it: the functions' names."""
    outputs = {"PythonDirectAuthClient": DIRECT_FUNCTION, "DirectAuthClientRole": "arn:aws:iam::1:role/x"}
    if assume_role:
        outputs["PythonAssumeRoleClient"] = ASSUME_FUNCTION
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    kit.cloud.client("cloudformation", CONSUMER).create_stack(StackName=name, TemplateBody=json.dumps(template))


@pytest.fixture
def consumer_kit(kit: Kit, functions: dict[str, Behaviour]) -> Kit:
    """A kit whose consumer account holds the client stack and both functions."""
    deploy_client_stack(kit)
    return kit


@pytest.fixture
def run_invoke(in_kit: Kit, capfd: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """invoke.sh's command in-process."""

    def run(*args: str) -> Result:
        status = invoke.main([CONSUMER, *args])
        captured = capfd.readouterr()
        return Result(status, captured.out, captured.err)

    return run


@pytest.fixture
def client_settings(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The settings of every Lambda client invoke.sh makes (read timeout, attempts), recorded as it makes them."""
    made: list[dict[str, Any]] = []
    real = aws.client

    def recording(profile: str | None, region: str | None, service: str, **settings: Any) -> Any:
        if service == "lambda" and settings:
            made.append(settings)
        return real(profile, region, service, **settings)

    monkeypatch.setattr(aws, "client", recording)
    return made


def test_invoke_both_clients_answered_2xx_prints_success_and_exits_0(
    consumer_kit: Kit, run_invoke: Callable[..., Result]
) -> None:
    # GIVEN both client functions get 200 from the API
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN each response is shown with the JSON body decoded, each marked SUCCESS, exit 0
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("SUCCESS") == 2
    assert f"== PythonDirectAuthClient: {DIRECT_FUNCTION} ==" in result.stdout
    assert f"== PythonAssumeRoleClient: {ASSUME_FUNCTION} ==" in result.stdout
    assert '"statusCode": 200' in result.stdout
    assert '"message": "hello"' in result.stdout
    assert "FAILED" not in result.stdout


def test_invoke_script_runs_both_clients_end_to_end(consumer_kit: Kit) -> None:
    # GIVEN the consumer stack and its functions
    # WHEN the invoke.sh wrapper runs as a user runs it, from outside the kit
    result = consumer_kit.run("invoke.sh", CONSUMER)
    # THEN both clients succeed, the output is plain text (no terminal), and it exits 0
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"\n== PythonDirectAuthClient: {DIRECT_FUNCTION} ==\n")
    assert "SUCCESS PythonDirectAuthClient\n" in result.stdout
    assert result.stdout.endswith("SUCCESS PythonAssumeRoleClient\n")
    assert "\x1b[" not in result.stdout


def test_invoke_sends_the_payload_to_both_functions(
    consumer_kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result]
) -> None:
    # GIVEN a custom client event
    payload = '{"method": "POST", "path": "/items", "body": {"id": 1}}'
    # WHEN invoke.sh passes it
    result = run_invoke("--payload", payload)
    # THEN both functions (found through the consumer profile's account) received exactly those bytes, once each
    assert result.returncode == 0, result.stderr
    assert functions[DIRECT_FUNCTION].payloads == [payload.encode()]
    assert functions[ASSUME_FUNCTION].payloads == [payload.encode()]


def test_invoke_default_payload_is_an_empty_event(
    consumer_kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result]
) -> None:
    # GIVEN no --payload
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN the clients get {} (their defaults apply)
    assert result.returncode == 0
    assert {payload for behaviour in functions.values() for payload in behaviour.payloads} == {b"{}"}


def test_invoke_denied_client_prints_failed_with_error_and_hint_and_exits_1(
    consumer_kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result]
) -> None:
    # GIVEN the direct client is denied by the API while the assume-role one succeeds
    functions[DIRECT_FUNCTION].response = DENIED
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN the denied one is FAILED with its error and hint, the other SUCCESS, and the run exits 1
    assert result.returncode == 1
    assert "FAILED PythonDirectAuthClient" in result.stdout
    assert "SUCCESS PythonAssumeRoleClient" in result.stdout
    assert '"statusCode": 403' in result.stdout
    assert "error: API Gateway denied the request" in result.stdout
    assert "hint: check pAllowedVPCEndpoints on the provider stack" in result.stdout
    assert "1 client invocation(s) failed" in result.stderr
    assert f"./diagnose.sh {CONSUMER} <provider profile>" in result.stdout + result.stderr


def test_invoke_function_error_shows_log_tail_and_exits_1(
    consumer_kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result]
) -> None:
    # GIVEN the assume-role client crashes
    crashing = functions[ASSUME_FUNCTION]
    crashing.response = {"errorMessage": "boom", "errorType": "RuntimeError", "stackTrace": []}
    crashing.function_error, crashing.log = "Unhandled", "[ERROR] boom"
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN Lambda's error and the function's last log lines are shown and the run fails
    assert result.returncode == 1
    assert "the function raised an error (Unhandled)" in result.stdout
    assert '"errorMessage": "boom"' in result.stdout
    assert "log: [ERROR] boom" in result.stdout
    assert "FAILED PythonAssumeRoleClient" in result.stdout


def test_invoke_without_assume_role_function_skips_it_and_exits_0(
    kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result]
) -> None:
    # GIVEN a consumer deployed without pAPIRoleARN, so no PythonAssumeRoleClient output
    deploy_client_stack(kit, assume_role=False)
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN it says why it skips that client, invokes only the direct one, and succeeds
    assert result.returncode == 0, result.stderr
    assert "not deployed (stack private-api-client has no PythonAssumeRoleClient output" in result.stdout
    assert [len(behaviour.payloads) for behaviour in functions.values()] == [1, 0]
    assert result.stdout.count("SUCCESS") == 1


def test_invoke_missing_stack_exits_1_with_advice(
    kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result]
) -> None:
    # GIVEN an account without the consumer stack
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN it points at deploy-all.sh and invokes nothing
    assert result.returncode == 1
    assert "no stack private-api-client for profile 'consumer' in us-east-1" in result.stderr
    assert "./deploy-all.sh" in result.stderr
    assert [behaviour.payloads for behaviour in functions.values()] == [[], []]


def test_invoke_function_gone_reports_failed_and_exits_1(consumer_kit: Kit, run_invoke: Callable[..., Result]) -> None:
    # GIVEN the direct client function was deleted outside CloudFormation
    consumer_kit.cloud.client("lambda", CONSUMER).delete_function(FunctionName=DIRECT_FUNCTION)
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN the Lambda error is shown as a failure and the other client still runs
    assert result.returncode == 1
    assert "FAILED PythonDirectAuthClient: aws lambda invoke failed" in result.stdout
    assert "ResourceNotFoundException" in result.stdout
    assert "SUCCESS PythonAssumeRoleClient" in result.stdout


def test_invoke_payload_that_is_not_json_exits_2(
    consumer_kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result]
) -> None:
    # GIVEN a malformed payload
    # WHEN invoke.sh runs
    result = run_invoke("--payload", "{method: GET}")
    # THEN it refuses before invoking anything
    assert result.returncode == 2
    assert "--payload must be one JSON document" in result.stderr
    assert [behaviour.payloads for behaviour in functions.values()] == [[], []]


def test_invoke_stack_prefix_selects_the_stack(consumer_kit: Kit, run_invoke: Callable[..., Result]) -> None:
    # GIVEN a prefix with no stack behind it
    # WHEN invoke.sh runs with it
    result = run_invoke("--stack-prefix", "other")
    # THEN it looked for other-client, not the default stack
    assert result.returncode == 1
    assert "no stack other-client" in result.stderr


def test_invoke_stack_prefix_finds_that_stack(
    kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result]
) -> None:
    # GIVEN the client stack deployed under another prefix
    deploy_client_stack(kit, name="other-client")
    # WHEN invoke.sh runs with that prefix
    result = run_invoke("--stack-prefix", "other")
    # THEN it invoked that stack's functions
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("SUCCESS") == 2


def run_in_terminal(kit: Kit, *args: str, env: dict[str, str] | None = None) -> str:
    """Run a script with stdout on a pseudo-terminal and return what it printed."""
    controller, terminal = os.openpty()
    try:
        subprocess.run(  # noqa: S603 - runs this repo's own script
            [str(kit.root / "invoke.sh"), *args],
            env={**kit.env, **(env or {})},
            stdout=terminal,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO once the terminal side is closed and drained
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks).decode()
    finally:
        os.close(controller)


def test_invoke_on_a_terminal_colours_success_green(consumer_kit: Kit) -> None:
    # GIVEN stdout is a terminal
    # WHEN invoke.sh reports a success
    output = run_in_terminal(consumer_kit, CONSUMER, env={"TERM": "xterm"})
    # THEN SUCCESS is green
    assert "\x1b[32mSUCCESS\x1b[0m" in output


def test_invoke_no_color_turns_colours_off_on_a_terminal(consumer_kit: Kit) -> None:
    # GIVEN stdout is a terminal but NO_COLOR is set
    # WHEN invoke.sh reports
    output = run_in_terminal(consumer_kit, CONSUMER, env={"NO_COLOR": "1", "TERM": "xterm"})
    # THEN there are no escape sequences
    assert "SUCCESS" in output
    assert "\x1b[" not in output


def test_invoke_response_is_printed_as_sorted_json(consumer_kit: Kit, run_invoke: Callable[..., Result]) -> None:
    # GIVEN a response with a JSON body
    # WHEN invoke.sh prints it
    result = run_invoke()
    block = result.stdout.split(f"== PythonDirectAuthClient: {DIRECT_FUNCTION} ==")[1].split("SUCCESS")[0]
    # THEN the printed block is the response with its body decoded
    assert result.returncode == 0
    assert json.loads(block) == {
        "body": {"message": "hello"},
        "headers": {"content-type": "application/json"},
        "statusCode": 200,
    }


def test_invoke_slower_than_its_read_timeout_margin_runs_the_function_once(
    consumer_kit: Kit,
    functions: dict[str, Behaviour],
    run_invoke: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN a direct client configured with a 1 s timeout whose invocation takes 1.5 s (a cold start's init is not
    # part of the function timeout), with the margin scaled down from 60 s to 1 s
    consumer_kit.cloud.client("lambda", CONSUMER).update_function_configuration(FunctionName=DIRECT_FUNCTION, Timeout=1)
    functions[DIRECT_FUNCTION].duration = 1.5
    monkeypatch.setattr(invoke, "READ_TIMEOUT_MARGIN_SECONDS", 1)
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN the client waited for the answer instead of timing out and re-sending: Lambda ran the function once
    assert len(functions[DIRECT_FUNCTION].payloads) == 1, result.stdout + result.stderr
    assert result.returncode == 0, result.stderr


def test_invoke_sets_a_read_timeout_beyond_the_function_timeout_and_no_retries(
    consumer_kit: Kit, run_invoke: Callable[..., Result], client_settings: list[dict[str, Any]]
) -> None:
    # GIVEN client functions configured with a 120 s timeout
    for name in (DIRECT_FUNCTION, ASSUME_FUNCTION):
        consumer_kit.cloud.client("lambda", CONSUMER).update_function_configuration(FunctionName=name, Timeout=120)
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN every invoke waits longer than the function may run and makes exactly one attempt
    assert result.returncode == 0, result.stderr
    assert len(client_settings) == 2
    for settings in client_settings:
        assert settings["read_timeout"] > 120
        assert settings["max_attempts"] == 1


def test_invoke_function_configuration_unreadable_falls_back_to_lambdas_maximum_timeout(
    consumer_kit: Kit, run_invoke: Callable[..., Result], client_settings: list[dict[str, Any]]
) -> None:
    # GIVEN a function whose configuration cannot be read (here: it is gone, so the invoke fails too)
    consumer_kit.cloud.client("lambda", CONSUMER).delete_function(FunctionName=DIRECT_FUNCTION)
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN the invoke still ran, with a read timeout above Lambda's 900 s maximum, and the reason is shown
    assert client_settings[0]["read_timeout"] > 900
    assert "could not read the timeout of" in result.stderr


def test_invoke_needs_neither_the_aws_cli_nor_sam(consumer_kit: Kit) -> None:
    # GIVEN a PATH with neither aws nor sam (invoke.sh calls AWS through boto3)
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER, env={"PATH": "/usr/bin:/bin"})
    # THEN it invokes both clients all the same
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("SUCCESS") == 2


@pytest.mark.parametrize(
    ("status_code", "expected"), [(200, True), (204, True), (301, False), (403, False), (500, False)]
)
def test_render_result_only_2xx_is_success(status_code: int, expected: bool) -> None:
    # GIVEN a client result with a status code
    raw = json.dumps({"statusCode": status_code, "headers": {}, "body": "x"})
    # WHEN it is judged
    lines, succeeded = invoke.render_result(raw, None, None)
    # THEN only 2xx passes, and the response is printed either way
    assert succeeded is expected
    assert f'"statusCode": {status_code}' in "\n".join(lines)


def test_render_result_without_status_code_fails_showing_error() -> None:
    # GIVEN a client result that never reached the API
    raw = json.dumps({"error": "connection refused", "hint": "is the endpoint in this VPC?"})
    # WHEN it is judged
    lines, succeeded = invoke.render_result(raw, None, None)
    # THEN it fails and still shows why
    assert succeeded is False
    assert "error: connection refused" in lines
    assert "hint: is the endpoint in this VPC?" in lines
    assert "no integer statusCode" in "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------------
# The certificate client (issue 16): invoked only when the consumer stack has it
# ---------------------------------------------------------------------------------------------------------------------
CERTIFICATE_FUNCTION = "private-api-client-CertificateClient-CCCC"
SUBJECT_NOT_ALLOWED = {
    "statusCode": 403,
    "body": '{"message": "Certificate subject not allowed: CN=other,O=Example"}',
    "error": "the provider refused the certificate subject",
    "hint": "add tenant:CN=other,O=Example to pMtlsAllowedClients",
}


@pytest.fixture
def certificate_kit(kit: Kit, functions: dict[str, Behaviour]) -> Kit:
    """A consumer stack deployed with the certificate path: a third client function and its output."""
    functions[CERTIFICATE_FUNCTION] = Behaviour()
    role = kit.cloud.client("iam", CONSUMER).get_role(RoleName="client")["Role"]["Arn"]
    kit.cloud.client("lambda", CONSUMER).create_function(
        FunctionName=CERTIFICATE_FUNCTION,
        Runtime="python3.12",
        Role=role,
        Handler="client.certificate.handler",
        Code={"ZipFile": b"PK"},
        Timeout=60,
    )
    outputs = {
        "PythonDirectAuthClient": DIRECT_FUNCTION,
        "PythonAssumeRoleClient": ASSUME_FUNCTION,
        invoke.CERTIFICATE_OUTPUT: CERTIFICATE_FUNCTION,
    }
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    kit.cloud.client("cloudformation", CONSUMER).create_stack(StackName=CLIENT_STACK, TemplateBody=json.dumps(template))
    return kit


def test_invoke_certificate_client_output_present_invokes_it_third(
    certificate_kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result]
) -> None:
    # GIVEN a consumer stack with PythonCertificateClient
    # WHEN invoke.sh runs with a payload
    result = run_invoke("--payload", '{"path": "/"}')
    # THEN all three clients ran with that payload, the certificate one last, and the run succeeded
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"== PythonCertificateClient: {CERTIFICATE_FUNCTION} ==" in result.stdout
    assert result.stdout.endswith("SUCCESS PythonCertificateClient\n")
    assert functions[CERTIFICATE_FUNCTION].payloads == [b'{"path": "/"}']


def test_invoke_certificate_client_refused_subject_prints_failed_with_hint_and_exits_1(
    certificate_kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result]
) -> None:
    # GIVEN the provider refuses the certificate's subject while the IAM clients succeed
    functions[CERTIFICATE_FUNCTION].response = SUBJECT_NOT_ALLOWED
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN the certificate client is FAILED with the client's hint, and the run exits 1
    assert result.returncode == 1
    assert "SUCCESS PythonDirectAuthClient" in result.stdout
    assert "FAILED PythonCertificateClient" in result.stdout
    assert "hint: add tenant:CN=other,O=Example to pMtlsAllowedClients" in result.stdout
    assert "1 client invocation(s) failed" in result.stderr


def test_invoke_without_certificate_client_output_prints_nothing_about_it(
    consumer_kit: Kit, run_invoke: Callable[..., Result]
) -> None:
    # GIVEN a consumer stack deployed without the certificate path
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN the output does not mention the certificate client at all (unchanged from before issue 16)
    assert result.returncode == 0
    assert "Certificate" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("base_path", "url"), [("v1", "https://api.example.com/v1"), ("None", "https://api.example.com")]
)
def test_invoke_stack_with_a_domain_association_says_the_clients_call_the_domain(
    kit: Kit, functions: dict[str, Behaviour], run_invoke: Callable[..., Result], base_path: str, url: str
) -> None:
    # GIVEN a consumer stack deployed with deploy-all.sh --domain: its parameters name the domain and base path, its
    # outputs the access association
    parameters = {"pPrivateDomainName": "api.example.com", "pPrivateDomainBasePath": base_path}
    outputs = {
        "PythonDirectAuthClient": DIRECT_FUNCTION,
        "PythonAssumeRoleClient": ASSUME_FUNCTION,
        invoke.ASSOCIATION_OUTPUT: "arn:aws:apigateway:us-east-1:111111111111:/domainnameaccessassociations/"
        "domainname/api.example.com+abcd1234/vpcesource/vpce-0123456789abcdef0",
    }
    template = {
        "Parameters": {key: {"Type": "String"} for key in parameters},
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    kit.cloud.client("cloudformation", CONSUMER).create_stack(
        StackName=CLIENT_STACK,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
    )
    # WHEN invoke.sh runs
    result = run_invoke()
    # THEN one line names the URL the IAM clients call, before their answers
    assert result.returncode == 0, result.stderr
    line = f"the IAM clients call the API via {url} (private custom domain name)"
    assert line in result.stdout
    assert result.stdout.index(line) < result.stdout.index("== PythonDirectAuthClient")


def test_invoke_stack_without_a_domain_prints_no_domain_line(
    consumer_kit: Kit, run_invoke: Callable[..., Result]
) -> None:
    # GIVEN a consumer stack without the association output WHEN invoke.sh runs THEN nothing about a domain is printed
    result = run_invoke()
    assert result.returncode == 0, result.stderr
    assert "private custom domain" not in result.stdout
