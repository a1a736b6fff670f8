"""invoke.sh against a recorded consumer account: SUCCESS/FAILED per client, exit status, missing pieces."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

import pytest

from tests.scripts.helpers import (
    ASSUME_FUNCTION,
    CONSUMER,
    DIRECT_FUNCTION,
    Kit,
    seed_deployed,
)

DENIED = {
    "statusCode": 403,
    "headers": {"x-amzn-ErrorType": "AccessDeniedException"},
    "body": '{"message":"User: anonymous is not authorized to perform: execute-api:Invoke"}',
    "error": "API Gateway denied the request",
    "hint": "check pAllowedVPCEndpoints on the provider stack",
}


@pytest.fixture
def consumer_kit(kit: Kit) -> Kit:
    """A kit whose accounts already hold both stacks."""
    kit.change_state(seed_deployed)
    return kit


def answer(function: str, response: dict[str, Any], **extra: Any) -> Any:
    def change(state: dict[str, Any]) -> None:
        state["functions"][function] = {"response": response, **extra}

    return change


def test_invoke_both_clients_answered_2xx_prints_success_and_exits_0(consumer_kit: Kit) -> None:
    # GIVEN both client functions get 200 from the API
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER)
    # THEN each response is shown with the JSON body decoded, each marked SUCCESS, exit 0
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("SUCCESS") == 2
    assert f"== PythonDirectAuthClient: {DIRECT_FUNCTION} ==" in result.stdout
    assert f"== PythonAssumeRoleClient: {ASSUME_FUNCTION} ==" in result.stdout
    assert '"statusCode": 200' in result.stdout
    assert '"message": "hello"' in result.stdout
    assert "FAILED" not in result.stdout


def test_invoke_sends_the_payload_to_both_functions(consumer_kit: Kit) -> None:
    # GIVEN a custom client event
    payload = '{"method": "POST", "path": "/items", "body": {"id": 1}}'
    # WHEN invoke.sh passes it
    result = consumer_kit.run("invoke.sh", CONSUMER, "--payload", payload)
    # THEN both functions received exactly those bytes, via the consumer profile
    invokes = consumer_kit.calls("aws", "lambda", "invoke")
    assert result.returncode == 0, result.stderr
    assert [call["argv"][call["argv"].index("--function-name") + 1] for call in invokes] == [
        DIRECT_FUNCTION,
        ASSUME_FUNCTION,
    ]
    assert {call["payload"] for call in invokes} == {payload}
    assert {call["profile"] for call in invokes} == {CONSUMER}


def test_invoke_default_payload_is_an_empty_event(consumer_kit: Kit) -> None:
    # GIVEN no --payload
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER)
    # THEN the clients get {} (their defaults apply)
    assert result.returncode == 0
    assert {call["payload"] for call in consumer_kit.calls("aws", "lambda", "invoke")} == {"{}"}


def test_invoke_denied_client_prints_failed_with_error_and_hint_and_exits_1(consumer_kit: Kit) -> None:
    # GIVEN the direct client is denied by the API while the assume-role one succeeds
    consumer_kit.change_state(answer(DIRECT_FUNCTION, DENIED))
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER)
    # THEN the denied one is FAILED with its error and hint, the other SUCCESS, and the run exits 1
    assert result.returncode == 1
    assert "FAILED PythonDirectAuthClient" in result.stdout
    assert "SUCCESS PythonAssumeRoleClient" in result.stdout
    assert '"statusCode": 403' in result.stdout
    assert "error: API Gateway denied the request" in result.stdout
    assert "hint: check pAllowedVPCEndpoints on the provider stack" in result.stdout
    assert "1 client invocation(s) failed" in result.stderr
    assert f"./diagnose.sh {CONSUMER} <provider profile>" in result.stdout + result.stderr


def test_invoke_function_error_shows_log_tail_and_exits_1(consumer_kit: Kit) -> None:
    # GIVEN the assume-role client crashes
    crash = {"errorMessage": "boom", "errorType": "RuntimeError", "stackTrace": []}
    consumer_kit.change_state(answer(ASSUME_FUNCTION, crash, function_error="Unhandled", log="[ERROR] boom"))
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER)
    # THEN Lambda's error and the function's last log lines are shown and the run fails
    assert result.returncode == 1
    assert "the function raised an error (Unhandled)" in result.stdout
    assert '"errorMessage": "boom"' in result.stdout
    assert "log: [ERROR] boom" in result.stdout
    assert "FAILED PythonAssumeRoleClient" in result.stdout


def test_invoke_without_assume_role_function_skips_it_and_exits_0(kit: Kit) -> None:
    # GIVEN a consumer deployed without pAPIRoleARN, so no PythonAssumeRoleClient output
    kit.change_state(lambda state: seed_deployed(state, assume_role=False))
    # WHEN invoke.sh runs
    result = kit.run("invoke.sh", CONSUMER)
    # THEN it says why it skips that client, invokes only the direct one, and succeeds
    assert result.returncode == 0, result.stderr
    assert "not deployed (stack private-api-client has no PythonAssumeRoleClient output" in result.stdout
    assert len(kit.calls("aws", "lambda", "invoke")) == 1
    assert result.stdout.count("SUCCESS") == 1


def test_invoke_missing_stack_exits_1_with_advice(kit: Kit) -> None:
    # GIVEN an account without the consumer stack
    # WHEN invoke.sh runs
    result = kit.run("invoke.sh", CONSUMER)
    # THEN it points at deploy-all.sh and invokes nothing
    assert result.returncode == 1
    assert "no stack private-api-client for profile 'consumer' in us-east-1" in result.stderr
    assert "./deploy-all.sh" in result.stderr
    assert kit.calls("aws", "lambda") == []


def test_invoke_function_gone_reports_failed_and_exits_1(consumer_kit: Kit) -> None:
    # GIVEN the direct client function was deleted outside CloudFormation
    consumer_kit.change_state(lambda state: state["functions"].pop(DIRECT_FUNCTION))
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER)
    # THEN the Lambda error is shown as a failure and the other client still runs
    assert result.returncode == 1
    assert "FAILED PythonDirectAuthClient: aws lambda invoke failed" in result.stdout
    assert "ResourceNotFoundException" in result.stdout
    assert "SUCCESS PythonAssumeRoleClient" in result.stdout


def test_invoke_payload_that_is_not_json_exits_2(consumer_kit: Kit) -> None:
    # GIVEN a malformed payload
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER, "--payload", "{method: GET}")
    # THEN it refuses before invoking anything
    assert result.returncode == 2
    assert "--payload must be one JSON document" in result.stderr
    assert consumer_kit.calls("aws", "lambda") == []


def test_invoke_stack_prefix_selects_the_stack(consumer_kit: Kit) -> None:
    # GIVEN a prefix with no stack behind it
    # WHEN invoke.sh runs with it
    result = consumer_kit.run("invoke.sh", CONSUMER, "--stack-prefix", "other")
    # THEN it looked for other-client, not the default stack
    assert result.returncode == 1
    assert "no stack other-client" in result.stderr


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
    output = run_in_terminal(consumer_kit, CONSUMER)
    # THEN SUCCESS is green
    assert "\x1b[32mSUCCESS\x1b[0m" in output


def test_invoke_no_color_turns_colours_off_on_a_terminal(consumer_kit: Kit) -> None:
    # GIVEN stdout is a terminal but NO_COLOR is set
    # WHEN invoke.sh reports
    output = run_in_terminal(consumer_kit, CONSUMER, env={"NO_COLOR": "1"})
    # THEN there are no escape sequences
    assert "SUCCESS" in output
    assert "\x1b[" not in output


def test_invoke_response_is_printed_as_sorted_json(consumer_kit: Kit) -> None:
    # GIVEN a response with a JSON body
    # WHEN invoke.sh prints it
    result = consumer_kit.run("invoke.sh", CONSUMER)
    block = result.stdout.split(f"== PythonDirectAuthClient: {DIRECT_FUNCTION} ==")[1].split("SUCCESS")[0]
    # THEN the printed block is the response with its body decoded
    assert result.returncode == 0
    assert json.loads(block) == {
        "body": {"message": "hello"},
        "headers": {"content-type": "application/json"},
        "statusCode": 200,
    }


def slow(function: str, duration: float, timeout: int = 60) -> Any:
    """A function configured with `timeout` whose invocation takes `duration` seconds (cold start + slow API)."""

    def change(state: dict[str, Any]) -> None:
        state["functions"][function].update(duration=duration, timeout=timeout)

    return change


def test_invoke_slower_than_the_cli_default_read_timeout_runs_the_function_once(consumer_kit: Kit) -> None:
    # GIVEN a client function (timeout 60 s) whose invocation takes 61 s, beyond the CLI's default 60 s read timeout
    consumer_kit.change_state(slow(DIRECT_FUNCTION, duration=61))
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER)
    # THEN the CLI waited for the answer instead of timing out and re-sending: Lambda ran the function once
    direct = consumer_kit.state()["functions"][DIRECT_FUNCTION]
    assert direct["executions"] == 1, result.stdout + result.stderr
    assert result.returncode == 0, result.stderr


def test_invoke_sets_a_read_timeout_beyond_the_function_timeout_and_no_retries(consumer_kit: Kit) -> None:
    # GIVEN client functions configured with a 120 s timeout
    consumer_kit.change_state(slow(DIRECT_FUNCTION, duration=1, timeout=120))
    consumer_kit.change_state(slow(ASSUME_FUNCTION, duration=1, timeout=120))
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER)
    # THEN every invoke waits longer than the function may run and makes exactly one attempt
    invokes = consumer_kit.calls("aws", "lambda", "invoke")
    assert result.returncode == 0, result.stderr
    assert len(invokes) == 2
    for call in invokes:
        assert float(call["argv"][call["argv"].index("--cli-read-timeout") + 1]) > 120
        assert call["env"]["AWS_MAX_ATTEMPTS"] == "1"


def test_invoke_with_aws_cli_v1_runs_a_slow_function_once(consumer_kit: Kit) -> None:
    # GIVEN an AWS CLI v1 (legacy retry mode: 5 attempts by default) and a slow direct client
    consumer_kit.change_state(lambda state: state.update(cli_version=1))
    consumer_kit.change_state(slow(DIRECT_FUNCTION, duration=90, timeout=60))
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER)
    # THEN the function still ran once
    assert consumer_kit.state()["functions"][DIRECT_FUNCTION]["executions"] == 1, result.stderr


def test_invoke_function_configuration_unreadable_falls_back_to_lambdas_maximum_timeout(consumer_kit: Kit) -> None:
    # GIVEN a slow function whose configuration cannot be read (here: it is gone between lookups, so both fail)
    consumer_kit.change_state(lambda state: state["functions"].pop(DIRECT_FUNCTION))
    # WHEN invoke.sh runs
    result = consumer_kit.run("invoke.sh", CONSUMER)
    # THEN the invoke still ran once, with a read timeout above Lambda's 900 s maximum, and the reason is shown
    [call] = [c for c in consumer_kit.calls("aws", "lambda", "invoke") if DIRECT_FUNCTION in c["argv"]]
    assert float(call["argv"][call["argv"].index("--cli-read-timeout") + 1]) > 900
    assert "could not read the timeout of" in result.stderr


def test_invoke_missing_aws_names_only_the_tools_it_uses(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> None:
    # GIVEN a PATH with python3 but neither aws nor sam
    bin_dir = tmp_path_factory.mktemp("noaws")
    (bin_dir / "python3").symlink_to(f"{kit.env['PATH'].split(':')[0]}/python3")
    # WHEN invoke.sh runs
    result = kit.run("invoke.sh", CONSUMER, env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    # THEN it asks for the AWS CLI only: it never runs sam
    assert result.returncode == 1
    assert "missing required command(s): aws" in result.stderr
    assert "AWS CLI" in result.stderr
    assert "SAM" not in result.stderr
    assert kit.calls() == []
