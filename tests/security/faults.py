"""Fault injection on 127.0.0.1: a forwarding proxy that fails requests on cue, in front of the gateway or DynamoDB.

Each request the proxy receives takes the next action from its script (then "pass" once the script is empty):
- pass: forward it and relay the answer;
- status-before:N / status-after:N: answer N without forwarding / after forwarding (the upstream did the work);
- reset-before / reset-after: close the connection with a TCP reset, before or after forwarding;
- slow-after:S: forward, then hold the answer S seconds before relaying it;
- hang: accept the request and never answer (a stuck service), until the proxy stops;
- throttle: answer DynamoDB's ProvisionedThroughputExceededException (400) without forwarding;
- expire-in:S: forward an STS call and rewrite the credentials' Expiration to S seconds from now.
Scripts can be per DynamoDB operation (X-Amz-Target), so "the first PutItem is throttled" is expressible.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import urllib3

from tests.https_server import SHUTDOWN_POLL_SECONDS

_STATUS_BODIES = {
    429: {"message": "Too Many Requests"},
    502: {"message": "Internal server error"},
    503: {"message": "Service Unavailable"},
    504: {"message": "Endpoint request timed out"},
}
_THROTTLED = {
    "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "message": "The level of configured provisioned throughput for the table was exceeded.",
}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}
ANY = "*"
_HANG_LIMIT = 120.0  # seconds a held request waits for the proxy to stop (bounded, well past any timeout here)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def do_GET(self) -> None:
        """Every method takes the same path through the proxy."""
        self.server.proxy.handle(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the proxy's own counters are the record."""


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, proxy: FaultProxy, tls: ssl.SSLContext | None) -> None:
        self.proxy = proxy
        self.tls = tls
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """TLS per connection (in its own thread), then HTTP; a client that leaves early is not an error."""
        conn = request
        if self.tls is not None:
            try:
                conn = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        with contextlib.suppress(ssl.SSLError, ConnectionError, TimeoutError, OSError):
            super().finish_request(conn, client_address)


class FaultProxy:
    """Forward to `upstream` (http:// or https://); fail requests as scripted; count what it saw."""

    def __init__(self, upstream: str, *, tls: ssl.SSLContext | None = None, ca_bundle: Path | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self._http = urllib3.PoolManager(ca_certs=str(ca_bundle) if ca_bundle else None, retries=False)
        self._server = _ProxyServer(self, tls)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, daemon=True
        )
        self._lock = threading.Lock()
        self._scripts: dict[str, deque[str]] = {}
        self.seen: list[str] = []  # "METHOD path" or the DynamoDB operation, per request received
        self.tables: list[str] = []  # the DynamoDB table each request names ("" for others), beside `seen`
        self._table: str | None = None
        self.forwarded: list[str] = []
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        """Where clients connect."""
        scheme = "https" if self._server.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping.set()  # releases held ("hang") requests
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._http.clear()

    @contextlib.contextmanager
    def script(self, actions: Iterable[str], *, operation: str = ANY, table: str | None = None) -> Iterator[FaultProxy]:
        """Apply `actions` to the next requests (of one DynamoDB operation, or any; on tables whose name contains
        `table`, or any); reset counters before and after."""
        with self._lock:
            self._scripts = {operation: deque(actions)}
            self._table = table
            self.seen, self.forwarded, self.tables = [], [], []
        try:
            yield self
        finally:
            with self._lock:
                self._scripts = {}
                self._table = None

    def count(self, label: str, table: str | None = None) -> int:
        """How many requests with this label ("POST /Prod/items", "PutItem") arrived (on tables named like `table`)."""
        pairs = zip(self.seen, self.tables, strict=True)
        return sum(1 for seen, name in pairs if seen == label and (table is None or table in name))

    # ------------------------------------------------------------------------------------------ per request
    def _next_action(self, label: str, table: str) -> str:
        with self._lock:
            self.seen.append(label)
            self.tables.append(table)
            if self._table is not None and self._table not in table:
                return "pass"
            for key in (label, ANY):
                queue = self._scripts.get(key)
                if queue:
                    return queue.popleft()
            return "pass"

    def handle(self, request: _Handler) -> None:
        """Serve one request according to the script."""
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        target = request.headers.get("X-Amz-Target", "")
        label = target.rsplit(".", 1)[-1] if target else f"{request.command} {request.path.split('?')[0]}"
        action = self._next_action(label, _table_name(body) if target else "")
        kind, _, argument = action.partition(":")
        if kind == "reset-before":
            _reset(request)
            return
        if kind == "status-before":
            _answer(request, int(argument), _STATUS_BODIES.get(int(argument), {"message": "fault"}))
            return
        if kind == "hang":
            self._stopping.wait(_HANG_LIMIT)
            _reset(request)
            return
        if kind == "throttle":
            _answer(request, 400, _THROTTLED, content_type="application/x-amz-json-1.0")
            return
        status, headers, data = self._forward(request, body)
        with self._lock:
            self.forwarded.append(label)
        if kind == "reset-after":
            _reset(request)
        elif kind == "status-after":
            _answer(request, int(argument), _STATUS_BODIES.get(int(argument), {"message": "fault"}))
        else:
            if kind == "slow-after":
                time.sleep(float(argument))
            if kind == "expire-in":
                expires = datetime.now(UTC) + timedelta(seconds=float(argument))
                stamp = expires.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                data = re.sub(rb"<Expiration>[^<]*</Expiration>", b"<Expiration>" + stamp + b"</Expiration>", data)
            _relay(request, status, headers, data)

    def _forward(self, request: _Handler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        answer = self._http.request(
            request.command, self.upstream + request.path, body=body or None, headers=headers, redirect=False
        )
        return answer.status, list(answer.headers.items()), answer.data


def _table_name(body: bytes) -> str:
    # DynamoDB's JSON protocol names the table in the body; transactions and batches name none here.
    with contextlib.suppress(ValueError, AttributeError):
        return str(json.loads(body).get("TableName", ""))
    return ""


def _reset(request: _Handler) -> None:
    # SO_LINGER with a zero timeout makes close() send RST: the client sees "connection reset by peer".
    with contextlib.suppress(OSError):
        request.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        request.connection.close()
    request.close_connection = True


def _answer(request: _Handler, status: int, body: dict[str, str], content_type: str = "application/json") -> None:
    _relay(request, status, [("Content-Type", content_type)], json.dumps(body).encode())


def _relay(request: _Handler, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
    with contextlib.suppress(OSError):
        request.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
