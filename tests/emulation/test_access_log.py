"""Access-log lines from API Gateway format strings."""

from __future__ import annotations

import json
from pathlib import Path

from emulation.gateway.access_log import DEFAULT_FORMAT, AccessLog, render

VARIABLES = {
    "requestId": "req-1",
    "identity.sourceIp": "127.0.0.1",
    "identity.caller": "AROAX:fn",
    "identity.user": "AROAX:fn",
    "requestTime": "01/Jan/2026:00:00:00 +0000",
    "httpMethod": "GET",
    "resourcePath": "/items/{id}",
    "protocol": "HTTP/1.1",
    "status": 403,
    "responseLength": 42,
    "error.message": 'User: anonymous is "denied"\nsecond line',
    "authorize.error": None,
}


def test_render_json_format_stays_valid_json_with_quotes_and_newlines() -> None:
    # GIVEN a JSON access-log format like the template's WHEN a message with quotes and a newline is rendered
    line = render('{"id":"$context.requestId","err":"$context.error.message","st":"$context.status"}', VARIABLES)
    # THEN the line parses as JSON and keeps the text
    assert json.loads(line) == {"id": "req-1", "err": 'User: anonymous is "denied"\nsecond line', "st": "403"}


def test_render_unknown_or_empty_variables_become_dash() -> None:
    # GIVEN variables that are unknown or empty WHEN rendered THEN each shows "-" as on AWS
    assert render("$context.waf.error $context.authorize.error $context.nope", VARIABLES) == "- - -"


def test_render_variable_followed_by_a_dot_keeps_the_text() -> None:
    # GIVEN a variable directly followed by ".x" WHEN rendered THEN the longest known name is substituted
    assert render("status=$context.status.x", VARIABLES) == "status=403.x"


def test_render_default_format_is_common_log_format() -> None:
    # GIVEN AWS's CLF example WHEN rendered THEN every field is filled in order
    assert render(DEFAULT_FORMAT, VARIABLES) == (
        '127.0.0.1 AROAX:fn AROAX:fn [01/Jan/2026:00:00:00 +0000] "GET /items/{id} HTTP/1.1" 403 42 req-1'
    )


def test_access_log_write_appends_to_memory_and_file(tmp_path: Path) -> None:
    # GIVEN an access log with a file WHEN two lines are written
    log = AccessLog("$context.requestId $context.status", tmp_path / "access.log")
    log.write(VARIABLES)
    log.write({**VARIABLES, "requestId": "req-2", "status": 200})
    # THEN both are kept in order, in memory and on disk
    assert log.lines == ["req-1 403", "req-2 200"]
    assert (tmp_path / "access.log").read_text(encoding="utf-8") == "req-1 403\nreq-2 200\n"
