"""Access-log lines in the template's own format, naming the endpoint and the principal of each request."""

from __future__ import annotations

import json
from typing import Any

from emulation.accounts.two_accounts import MAIN, OTHER, TwoAccounts
from tests.e2e.helpers import call


def _last_line(env: TwoAccounts) -> dict[str, Any]:
    assert env.access_log is not None
    return json.loads(env.access_log.lines[-1])  # type: ignore[no-any-return]


def test_access_log_success_line_names_endpoint_and_principal(env: TwoAccounts) -> None:
    # GIVEN the template's JSON access-log format
    # WHEN the direct client calls the API through the main endpoint
    result = call(env, "direct", "GET", "/")
    # THEN the line is valid JSON with the endpoint, the caller and the status
    line = _last_line(env)
    assert result.status == 200
    assert line["identity"]["vpceId"] == env.names.endpoints[MAIN]
    assert line["identity"]["userArn"] == result.json()["userArn"]
    assert (line["status"], line["resourcePath"], line["apiId"]) == ("200", "/", env.names.api_id)
    assert line["authorize"]["status"] == "200"


def test_access_log_denial_line_records_authorization_error(env: TwoAccounts) -> None:
    # GIVEN the template's JSON access-log format
    # WHEN the main direct client comes through the other VPC's endpoint
    result = call(env, "direct", "GET", "/", via=OTHER)
    # THEN the line records the 403, the endpoint it came through and why it was refused
    line = _last_line(env)
    assert result.status == 403
    assert line["status"] == "403"
    assert line["identity"]["vpceId"] == env.names.endpoints[OTHER]
    assert "with an explicit deny" in line["authorize"]["error"]
    assert line["error"]["responseType"] == "ACCESS_DENIED"


def test_access_log_file_holds_the_same_lines(env: TwoAccounts) -> None:
    # GIVEN at least one request served
    call(env, "direct", "GET", "/")
    # WHEN the access-log file is read
    assert env.access_log is not None
    assert env.access_log.path is not None
    written = env.access_log.path.read_text(encoding="utf-8").splitlines()
    # THEN it holds every line kept in memory, in order
    assert written == env.access_log.lines
