"""The Lambda entry points: thin, configured at import, failing the cold start on bad configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from client.config import ConfigError
from tests.unit.client.support import API_HOST, FakeLambdaContext, Reply, ScriptedHTTPSServer

REPO = Path(__file__).resolve().parents[3]
EVENTS = REPO / "api-client" / "events"


def test_direct_auth_handler_event_file_returns_api_answer(
    client_env: dict[str, str],
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
    load_handler: Callable[[str], ModuleType],
) -> None:
    # GIVEN a cold-started direct handler and the shipped GET event
    api_server.script = [Reply(200, '{"requestContext": {"identity": {}}}')]
    handler_module = load_handler("direct_auth")
    event = json.loads((EVENTS / "get-root.json").read_text())
    # WHEN it is invoked
    result = handler_module.handler(event, lambda_context)
    # THEN the API's answer is returned and the request went to the stage root for the API host
    assert result == {
        "statusCode": 200,
        "headers": result["headers"],
        "body": '{"requestContext": {"identity": {}}}',
    }
    assert (api_server.received[0].target, api_server.received[0].headers["Host"]) == ("/Prod/", API_HOST)


def test_assume_role_handler_bad_role_variable_fails_cold_start(
    client_env: dict[str, str], monkeypatch: pytest.MonkeyPatch, load_handler: Callable[[str], ModuleType]
) -> None:
    # GIVEN ROLE_TO_ASSUME holds a role name instead of an ARN
    monkeypatch.setenv("ROLE_TO_ASSUME", "private-api-access")
    # WHEN the handler module is imported (Lambda's init phase)
    with pytest.raises(ConfigError) as raised:
        load_handler("assume_role")
    # THEN init fails with a message naming the variable
    assert str(raised.value).startswith("ROLE_TO_ASSUME 'private-api-access' is not a role ARN")


def test_handler_import_does_not_load_boto3(client_env: dict[str, str]) -> None:
    # GIVEN a fresh interpreter with the client's environment
    code = "import sys, client.direct_auth; print(sorted(m for m in sys.modules if m.split('.')[0] == 'boto3'))"
    env = {**os.environ, **client_env, "PYTHONPATH": str(REPO / "api-client" / "src")}
    # WHEN the handler module is imported (a cold start)
    completed = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    # THEN it imports fine and boto3 stays out of the cold start
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(p.name for p in EVENTS.glob("*.json") if p.name != "env.json"))
def test_event_file_is_valid_client_event(name: str) -> None:
    # GIVEN a shipped sample event
    from client.invoke import ApiRequest  # noqa: PLC0415 - imported where used to keep parametrization cheap

    # WHEN it is parsed as the handler would
    request = ApiRequest.from_event(json.loads((EVENTS / name).read_text()))
    # THEN it describes a request
    assert request.method in {"GET", "POST", "PUT", "DELETE"}
    assert request.path.startswith("/")


def test_env_file_names_both_template_functions() -> None:
    # GIVEN the env.json for `sam local invoke --env-vars`
    env = json.loads((EVENTS / "env.json").read_text())
    # WHEN read
    # THEN it overrides the variables of both client functions by their logical ids
    assert set(env) == {"rPythonDirectAuthClient", "rPythonAssumeRoleClient"}
    assert "ROLE_TO_ASSUME" in env["rPythonAssumeRoleClient"]
    assert all("API_HOST" in values for values in env.values())
