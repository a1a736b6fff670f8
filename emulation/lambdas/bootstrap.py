"""The runtime inside one emulated Lambda sandbox (a process per warm execution environment); stdlib only.

emulation.lambdas.sandbox starts it as `python -I bootstrap.py FD` in the function's code directory, with exactly the
environment Lambda would give the function. Requests arrive as JSON lines on stdin, answers leave as JSON lines on
file descriptor FD, and stdout/stderr belong to the function (its log, what CloudWatch Logs would receive), framed by
Lambda's START/END/REPORT lines. Host names resolve only through the emulated VPC's DNS view sent with each request,
so nothing but 127.0.0.1 is ever reached from inside the sandbox.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_HTTPS_PORTS = frozenset({"443", "https"})
_real_getaddrinfo = socket.getaddrinfo
_dns_view: dict[str, int] = {}


def _mapped_port(host: str) -> int | None:
    """The listener a name resolves to in the emulated VPC: exact names first, then `*.zone` entries."""
    name = host.lower().rstrip(".")
    if name in _dns_view:
        return _dns_view[name]
    _, _, zone = name.partition(".")
    return _dns_view.get(f"*.{zone}") if zone else None


def _getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
    """Resolve like the VPC's DNS would: endpoint names to their listener, loopback as is, nothing else."""
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or name in _LOOPBACK:
        return _real_getaddrinfo(host, port, *args, **kwargs)
    mapped = _mapped_port(str(name))
    # Only HTTPS reaches an interface endpoint (its security group); anything else has no route offline.
    if mapped is None or str(port) not in _HTTPS_PORTS:
        raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known: {name} (emulated VPC DNS)")
    return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", mapped))]


class LambdaContext:
    """The context object handlers and Powertools read."""

    def __init__(self, init: dict[str, Any], request_id: str, deadline: float) -> None:
        self.function_name: str = init["function_name"]
        self.function_version: str = init["function_version"]
        self.invoked_function_arn: str = init["function_arn"]
        self.memory_limit_in_mb: int = int(init["memory_mb"])
        self.aws_request_id = request_id
        self.log_group_name: str = init["log_group"]
        self.log_stream_name: str = init["log_stream"]
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds before the function's configured timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(error: BaseException) -> dict[str, Any]:
    # The shape Lambda returns for an unhandled exception.
    return {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "stackTrace": traceback.format_tb(error.__traceback__),
    }


def _send(channel: Any, message: dict[str, Any]) -> None:
    try:
        text = json.dumps(message)
    except (TypeError, ValueError) as error:
        # Lambda answers a result it cannot serialise with this error instead.
        text = json.dumps(
            {"error": {"errorMessage": f"Unable to marshal response: {error}", "errorType": "Runtime.MarshalError"}}
        )
    channel.write(text + "\n")
    channel.flush()


def _load(handler_name: str) -> Callable[[Any, Any], Any]:
    module_name, _, attribute = handler_name.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)  # type: ignore[no-any-return]


def _run_one(handler: Callable[[Any, Any], Any], init: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    request_id = request["request_id"]
    print(f"START RequestId: {request_id} Version: {init['function_version']}", flush=True)
    started = time.monotonic()
    context = LambdaContext(init, request_id, float(request.get("deadline") or started + float(init["timeout"])))
    try:
        answer: dict[str, Any] = {"result": handler(request["event"], context)}
    except Exception as error:  # the function's failure is reported to the caller, as Lambda does
        answer = {"error": _error(error)}
        print(f"[ERROR] {type(error).__name__}: {error}", file=sys.stderr, flush=True)
        traceback.print_exception(error, file=sys.stderr)
    elapsed = (time.monotonic() - started) * 1000
    sys.stderr.flush()
    print(f"END RequestId: {request_id}", flush=True)
    print(
        f"REPORT RequestId: {request_id}\tDuration: {elapsed:.2f} ms\tMemory Size: {init['memory_mb']} MB", flush=True
    )
    answer["duration_ms"] = elapsed
    return answer


def main() -> int:
    """Initialise the function once, then serve invocations until stdin closes."""
    channel = os.fdopen(int(sys.argv[1]), "w", encoding="utf-8")
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    init = json.loads(sys.stdin.readline())
    sys.path.insert(0, init["code_dir"])  # like LAMBDA_TASK_ROOT at the front of sys.path
    _dns_view.update(init["dns"])
    socket.getaddrinfo = _getaddrinfo
    started = time.monotonic()
    try:
        handler = _load(init["handler"])
    except Exception as error:  # an init failure is reported on the first invocation, as Lambda does
        traceback.print_exception(error, file=sys.stderr)
        _send(channel, {"init_error": _error(error)})
        return 1
    _send(channel, {"ready": True, "init_ms": (time.monotonic() - started) * 1000})
    for line in sys.stdin:
        request = json.loads(line)
        _dns_view.clear()
        _dns_view.update(request["dns"])
        _send(channel, _run_one(handler, init, request))
    return 0


if __name__ == "__main__":
    sys.exit(main())
