"""Emulated Lambda functions: each runs in sandbox processes, one per warm execution environment.

Why processes and not threads: what a function reads at cold start (credentials and configuration from the
environment, boto3's default session, Powertools' logger on stdout) is per process, as in Lambda. Run in the caller's
process, the clients' environment would leak into the backend and both would write into the demo's output. A sandbox
keeps its loaded module across invocations (warm starts); a new sandbox is a cold start with fresh role credentials.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess  # nosec B404  # starts this interpreter for the Lambda sandboxes, never a shell
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = ["FunctionError", "FunctionPool", "FunctionSpec", "InvokeResult"]

BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
INIT_TIMEOUT = 10.0  # Lambda's limit for the init phase
_LOG_WAIT = 2.0
_STOP_WAIT = 3.0
_LOG_LINES_KEPT = 50_000  # a long benchmark must not grow memory without bound

LogSink = Callable[[str, str], None]


def _no_dns() -> Mapping[str, int]:
    return {}


@dataclass(frozen=True)
class FunctionSpec:
    """One deployed function as Lambda runs it; `environment` is called for every new sandbox."""

    name: str
    arn: str
    handler: str
    code_dir: Path
    timeout: float
    memory_mb: int
    log_group: str
    environment: Callable[[], Mapping[str, str]]
    dns: Callable[[], Mapping[str, int]] = _no_dns
    version: str = "$LATEST"
    python: str | None = None  # the runtime's interpreter (default: this one); the bench gives its runtime-like venv


@dataclass(frozen=True)
class InvokeResult:
    """What one synchronous invocation returned: the payload, or Lambda's error document."""

    function_name: str
    request_id: str
    payload: Any
    error: Mapping[str, Any] | None
    cold_start: bool
    init_ms: float | None
    duration_ms: float
    logs: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the function returned normally."""
        return self.error is None

    @property
    def status(self) -> int | None:
        """The statusCode of an API-style payload."""
        return self.payload.get("statusCode") if isinstance(self.payload, dict) else None

    @property
    def body(self) -> str:
        """The body of an API-style payload ('' when absent)."""
        return str(self.payload.get("body") or "") if isinstance(self.payload, dict) else ""

    def json(self) -> Any:
        """The payload's body parsed as JSON."""
        return json.loads(self.body)


class FunctionError(Exception):
    """The function failed (unhandled exception, timeout, crash): API Gateway turns this into a 502."""

    def __init__(self, result: InvokeResult) -> None:
        error = result.error or {}
        super().__init__(f"{error.get('errorType', 'Error')}: {error.get('errorMessage', '')}")
        self.result = result


class _SandboxGone(Exception):
    """The sandbox process ended or did not answer in time."""

    def __init__(self, error: dict[str, str]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


@dataclass
class _Collector:
    request_id: str
    lines: list[str] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


class _Sandbox:
    """One execution environment: a bootstrap process with the function loaded."""

    def __init__(self, spec: FunctionSpec, sink: LogSink, generation: int = 0) -> None:
        self.spec = spec
        self.generation = generation
        self.invocations = 0
        self.init_ms: float | None = None
        self.init_error: dict[str, Any] | None = None
        self._sink = sink
        self._collector: _Collector | None = None
        self._log_lock = threading.Lock()
        read_fd, write_fd = os.pipe()
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our interpreter and bootstrap, no shell  # nosec B603
                [spec.python or sys.executable, "-I", str(BOOTSTRAP), str(write_fd)],
                cwd=spec.code_dir,
                env=dict(spec.environment()),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,  # Ctrl-C reaches the emulation, which then stops its sandboxes
            )
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)
        self._answers: IO[bytes] = os.fdopen(read_fd, "rb")
        self._reader = threading.Thread(target=self._read_logs, name=f"logs-{spec.name}", daemon=True)
        self._reader.start()

    def initialise(self) -> None:
        """Load the handler (the init phase); an init error is kept and reported by the first invocation."""
        stream_id = uuid.uuid4().hex
        self._write(
            {
                "handler": self.spec.handler,
                "code_dir": str(self.spec.code_dir),
                "function_name": self.spec.name,
                "function_arn": self.spec.arn,
                "function_version": self.spec.version,
                "memory_mb": self.spec.memory_mb,
                "timeout": self.spec.timeout,
                "log_group": self.spec.log_group,
                "log_stream": f"{time.strftime('%Y/%m/%d')}/[{self.spec.version}]{stream_id}",
                "dns": dict(self.spec.dns()),
            }
        )
        try:
            answer = self._read_answer(INIT_TIMEOUT, "Init")
        except _SandboxGone as gone:
            self.init_error = gone.error
            return
        if "init_error" in answer:
            self.init_error = answer["init_error"]
        else:
            self.init_ms = float(answer["init_ms"])

    def invoke(self, event: Any, request_id: str) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Run one invocation; returns the bootstrap's answer and the log lines of this request."""
        collector = _Collector(request_id)
        with self._log_lock:
            self._collector = collector
        self.invocations += 1
        # Lambda stops the function at its timeout exactly: the sandbox's context counts down to the same instant
        # (CLOCK_MONOTONIC is one clock for every process) and no answer is awaited past it.
        deadline = time.monotonic() + self.spec.timeout
        self._write({"event": event, "request_id": request_id, "dns": dict(self.spec.dns()), "deadline": deadline})
        try:
            answer = self._read_answer(max(0.0, deadline - time.monotonic()), request_id)
        except _SandboxGone as gone:
            self.close()
            collector.done.set()  # no REPORT line will come from a dead process
            answer = {"error": gone.error}
        collector.done.wait(_LOG_WAIT)
        with self._log_lock:
            self._collector = None
            lines = tuple(collector.lines)
        return answer, lines

    @property
    def alive(self) -> bool:
        """True while the process runs and initialised without error."""
        return self._process.poll() is None and self.init_error is None

    def close(self) -> None:
        """End the process (stdin EOF first, then kill) and release its pipes."""
        if self._process.stdin is not None:
            with contextlib.suppress(OSError):
                self._process.stdin.close()
        try:
            self._process.wait(_STOP_WAIT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(_STOP_WAIT)
        self._reader.join(_STOP_WAIT)
        with contextlib.suppress(OSError):
            self._answers.close()
        if self._process.stdout is not None:
            with contextlib.suppress(OSError):
                self._process.stdout.close()

    def _write(self, message: dict[str, Any]) -> None:
        stdin = self._process.stdin
        if stdin is None:
            raise _SandboxGone(_exited("no stdin"))
        try:
            stdin.write(json.dumps(message).encode() + b"\n")
            stdin.flush()
        except (BrokenPipeError, ValueError, OSError) as error:
            raise _SandboxGone(_exited(str(error))) from error

    def _read_answer(self, timeout: float, request_id: str) -> dict[str, Any]:
        ready, _, _ = select.select([self._answers], [], [], timeout)
        if not ready:
            self._process.kill()
            raise _SandboxGone(
                {
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": f"RequestId: {request_id} Error: Task timed out after {self.spec.timeout:.2f} "
                    "seconds",
                }
            )
        line = self._answers.readline()
        if not line:
            self._process.wait(_STOP_WAIT)
            raise _SandboxGone(_exited(f"exit status {self._process.returncode}", request_id))
        return json.loads(line)  # type: ignore[no-any-return]

    def _read_logs(self) -> None:
        stdout = self._process.stdout
        if stdout is None:
            return
        for raw in stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self._sink(self.spec.name, line)
            with self._log_lock:
                collector = self._collector
                if collector is not None:
                    collector.lines.append(line)
                    if line.startswith(f"REPORT RequestId: {collector.request_id}"):
                        collector.done.set()


def _exited(reason: str, request_id: str = "") -> dict[str, str]:
    prefix = f"RequestId: {request_id} " if request_id else ""
    return {"errorType": "Runtime.ExitError", "errorMessage": f"{prefix}Error: Runtime exited with error: {reason}"}


class FunctionPool:
    """The execution environments of one function: reuses a warm one, starts a new one (cold) when all are busy."""

    def __init__(self, spec: FunctionSpec, *, max_concurrency: int = 10, sink: LogSink | None = None) -> None:
        self.spec = spec
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._lock = threading.Lock()
        self._idle: list[_Sandbox] = []
        self._busy: set[_Sandbox] = set()
        self._logs: deque[str] = deque(maxlen=_LOG_LINES_KEPT)
        self._external_sink = sink
        self._stopped = False
        self._generation = 0

    # ------------------------------------------------------------------------------------------ invoking
    def invoke(self, event: Any, *, request_id: str | None = None) -> InvokeResult:
        """Invoke synchronously (RequestResponse) and wait for the result."""
        request_id = request_id or str(uuid.uuid4())
        with self._slots:
            sandbox = self._acquire()
            try:
                return self._invoke_in(sandbox, event, request_id)
            finally:
                self._release(sandbox)

    def handler(self) -> Callable[[dict[str, Any], Any], Any]:
        """A handler callable for the gateway: returns the payload, raises FunctionError on failure."""

        def handle(event: dict[str, Any], context: Any) -> Any:
            result = self.invoke(event, request_id=getattr(context, "aws_request_id", None))
            if result.error is not None:
                raise FunctionError(result)
            return result.payload

        return handle

    def warm(self, count: int = 1) -> None:
        """Start execution environments ahead of the first invocations (like provisioned concurrency)."""
        with self._lock:
            missing = count - len(self._idle) - len(self._busy)
        for _ in range(max(0, missing)):
            sandbox = self._spawn()
            with self._lock:
                keep = not self._stopped and sandbox.generation == self._generation
                if keep:
                    self._idle.append(sandbox)
            if not keep:
                sandbox.close()
                return

    # ------------------------------------------------------------------------------------------ lifecycle
    def recycle(self) -> None:
        """Drop every idle environment so the next invocation is a cold start (a new function version)."""
        with self._lock:
            self._generation += 1  # busy environments are dropped when their invocation returns
            idle, self._idle = self._idle, []
        for sandbox in idle:
            sandbox.close()

    def stop(self) -> None:
        """End every environment; busy ones end when their invocation returns."""
        with self._lock:
            self._stopped = True
            idle, self._idle = self._idle, []
        for sandbox in idle:
            sandbox.close()

    @property
    def logs(self) -> list[str]:
        """The latest lines the function's environments wrote (its CloudWatch log, in order per environment)."""
        with self._lock:
            return list(self._logs)

    @property
    def environments(self) -> int:
        """How many execution environments exist (idle or busy)."""
        with self._lock:
            return len(self._idle) + len(self._busy)

    # ------------------------------------------------------------------------------------------ internals
    def _sink(self, function_name: str, line: str) -> None:
        with self._lock:
            self._logs.append(line)
        if self._external_sink is not None:
            self._external_sink(function_name, line)

    def _spawn(self) -> _Sandbox:
        with self._lock:
            generation = self._generation
        sandbox = _Sandbox(self.spec, self._sink, generation)
        sandbox.initialise()
        return sandbox

    def _acquire(self) -> _Sandbox:
        with self._lock:
            if self._stopped:
                raise RuntimeError(f"function {self.spec.name} is stopped")
            while self._idle:
                sandbox = self._idle.pop()
                if sandbox.alive:
                    self._busy.add(sandbox)
                    return sandbox
                sandbox.close()
        sandbox = self._spawn()
        with self._lock:
            self._busy.add(sandbox)
        return sandbox

    def _release(self, sandbox: _Sandbox) -> None:
        with self._lock:
            self._busy.discard(sandbox)
            keep = sandbox.alive and not self._stopped and sandbox.generation == self._generation
            if keep:
                self._idle.append(sandbox)
        if not keep:
            sandbox.close()

    def _invoke_in(self, sandbox: _Sandbox, event: Any, request_id: str) -> InvokeResult:
        cold = sandbox.invocations == 0
        if sandbox.init_error is not None:
            sandbox.invocations += 1
            return InvokeResult(self.spec.name, request_id, None, sandbox.init_error, cold, sandbox.init_ms, 0.0)
        started = time.monotonic()
        answer, lines = sandbox.invoke(event, request_id)
        duration = float(answer.get("duration_ms", (time.monotonic() - started) * 1000))
        return InvokeResult(
            function_name=self.spec.name,
            request_id=request_id,
            payload=answer.get("result"),
            error=answer.get("error"),
            cold_start=cold,
            init_ms=sandbox.init_ms if cold else None,
            duration_ms=duration,
            logs=lines,
        )
