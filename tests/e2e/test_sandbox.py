"""Lambda sandboxes: warm reuse, errors, timeouts, init failures, isolated environment and DNS, framed logs."""

from __future__ import annotations

import dataclasses
import stat
import sys
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from emulation.lambdas.sandbox import FunctionError, FunctionPool, FunctionSpec

HANDLER_SOURCE = """
import json, os, socket, time

COUNT = {"n": 0}
if os.environ.get("FAIL_INIT"):
    raise RuntimeError("bad configuration at import")


def handler(event, context):
    COUNT["n"] += 1
    action = event.get("action")
    if action == "raise":
        raise ValueError("boom")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "env":
        return dict(os.environ)
    if action == "resolve":
        try:
            return socket.getaddrinfo(event["host"], 443)[0][4][1]
        except socket.gaierror as error:
            return f"gaierror: {error}"
    if action == "object":
        return object()
    print("handled", COUNT["n"])
    return {"count": COUNT["n"], "remaining_ms": context.get_remaining_time_in_millis()}
"""


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A function package with one handler module."""
    root = tmp_path_factory.mktemp("function")
    (root / "fn").mkdir()
    (root / "fn" / "__init__.py").write_text("")
    (root / "fn" / "app.py").write_text(textwrap.dedent(HANDLER_SOURCE))
    return root


def _pool(code_dir: Path, env: Mapping[str, str] | None = None, dns: Mapping[str, int] | None = None) -> FunctionPool:
    spec = FunctionSpec(
        name="fn",
        arn="arn:aws:lambda:us-east-1:111111111111:function:fn",
        handler="fn.app.handler",
        code_dir=code_dir,
        timeout=1.0,
        memory_mb=128,
        log_group="/aws/lambda/fn",
        environment=lambda: {"MARKER": "given", **(env or {})},
        dns=lambda: dict(dns or {}),
    )
    return FunctionPool(spec)


@pytest.fixture
def pool(code_dir: Path) -> Iterator[FunctionPool]:
    """A pool of the test function, stopped after the test."""
    functions = _pool(code_dir)
    yield functions
    functions.stop()


def test_sandbox_second_invocation_is_warm_with_module_state(pool: FunctionPool) -> None:
    # GIVEN one invocation (cold start)
    first = pool.invoke({})
    # WHEN the function is invoked again
    second = pool.invoke({})
    # THEN the same sandbox answers, its module state kept
    assert (first.cold_start, first.payload["count"]) == (True, 1)
    assert (second.cold_start, second.payload["count"]) == (False, 2)
    assert 0 < second.payload["remaining_ms"] <= 1000


def test_sandbox_logs_are_framed_by_start_end_report(pool: FunctionPool) -> None:
    # GIVEN a handler that prints a line
    # WHEN it is invoked
    result = pool.invoke({}, request_id="req-1")
    # THEN its log lines sit between Lambda's START and END/REPORT lines
    assert result.logs[0] == "START RequestId: req-1 Version: $LATEST"
    assert "handled 1" in result.logs
    assert result.logs[-2] == "END RequestId: req-1"
    assert result.logs[-1].startswith("REPORT RequestId: req-1\tDuration: ")


def test_sandbox_handler_exception_is_lambdas_error_document(pool: FunctionPool) -> None:
    # GIVEN a handler that raises
    # WHEN it is invoked through the gateway's handler callable
    with pytest.raises(FunctionError) as raised:
        pool.handler()({"action": "raise"}, None)
    # THEN the error carries Lambda's errorType and errorMessage
    error = raised.value.result.error
    assert error is not None
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "boom")


def test_sandbox_too_slow_is_timed_out_and_replaced(pool: FunctionPool) -> None:
    # GIVEN a function with a 1 s timeout
    # WHEN an invocation takes longer
    slow = pool.invoke({"action": "sleep", "seconds": 5})
    # THEN it is reported as timed out and the next invocation starts a new sandbox
    assert slow.error is not None
    assert slow.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in slow.error["errorMessage"]
    assert pool.invoke({}).cold_start is True


def test_sandbox_running_half_a_second_past_its_timeout_is_timed_out(pool: FunctionPool) -> None:
    # GIVEN a function with a 1 s timeout
    # WHEN an invocation runs 1.5 s (Lambda stops it at exactly 1 s: no allowance on top)
    late = pool.invoke({"action": "sleep", "seconds": 1.5})
    # THEN it is Lambda's timeout error, not a result
    assert late.payload is None
    assert late.error is not None
    assert late.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in late.error["errorMessage"]


def test_sandbox_unserializable_result_is_marshal_error(pool: FunctionPool) -> None:
    # GIVEN a handler returning something JSON cannot encode
    # WHEN it is invoked
    result = pool.invoke({"action": "object"})
    # THEN Lambda's marshal error is returned
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.MarshalError"


def test_sandbox_init_failure_is_reported_by_the_invocation(code_dir: Path) -> None:
    # GIVEN a module that fails at import
    failing = _pool(code_dir, env={"FAIL_INIT": "1"})
    try:
        # WHEN the function is invoked
        result = failing.invoke({})
    finally:
        failing.stop()
    # THEN the init error comes back as the invocation's error
    assert result.error is not None
    assert (result.error["errorType"], result.error["errorMessage"]) == ("RuntimeError", "bad configuration at import")


def test_sandbox_environment_is_only_the_given_one(pool: FunctionPool, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a variable set in the calling process only
    monkeypatch.setenv("CALLER_ONLY_SECRET", "leak")
    pool.recycle()
    # WHEN the function reads its environment
    environ = pool.invoke({"action": "env"}).payload
    # THEN it sees what its spec gives it and nothing of the caller's
    assert environ["MARKER"] == "given"
    assert "CALLER_ONLY_SECRET" not in environ


def test_sandbox_dns_resolves_mapped_names_to_their_listener_only(code_dir: Path) -> None:
    # GIVEN a DNS view with one exact name and one zone wildcard
    dns = {"vpce-1.example.internal": 4431, "*.zone.internal": 4432}
    resolving = _pool(code_dir, dns=dns)
    try:
        # WHEN the function resolves names on port 443
        answers = [
            resolving.invoke({"action": "resolve", "host": host}).payload
            for host in ("vpce-1.example.internal", "api.zone.internal", "example.com")
        ]
    finally:
        resolving.stop()
    # THEN mapped names reach their listener port, any other name does not resolve
    assert answers[:2] == [4431, 4432]
    assert answers[2].startswith("gaierror:")
    assert "emulated VPC DNS" in answers[2]


def test_sandbox_runs_the_interpreter_its_spec_names(code_dir: Path, tmp_path: Path) -> None:
    # GIVEN a spec naming another interpreter: a wrapper that records its start, then runs this Python
    marker = tmp_path / "started"
    wrapper = tmp_path / "runtime-python"
    wrapper.write_text(f'#!/bin/sh\necho started >> "{marker}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    functions = FunctionPool(dataclasses.replace(_pool(code_dir).spec, python=str(wrapper)))
    try:
        # WHEN the function is invoked twice (one cold start, one warm)
        results = [functions.invoke({}) for _ in range(2)]
    finally:
        functions.stop()
    # THEN both ran, in one sandbox started through that interpreter
    assert [r.payload["count"] for r in results] == [1, 2]
    assert marker.read_text().splitlines() == ["started"]
