"""An emulated private API Gateway: one HTTPS listener on 127.0.0.1 per emulated VPC endpoint.

Which endpoint a request came through is the listener it reached (a network fact, not a header). Deployments and
endpoint policies can change while it runs, as a new CloudFormation deployment would change them.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from emulation.pipeline import ApiDeployment, Callbacks, Endpoint, Incoming, LiveApi, Outcome, Pipeline
from emulation.policy import Policy
from emulation.tls import TlsMaterial

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
_HANDSHAKE_TIMEOUT = 10.0
_IDLE_TIMEOUT = 30.0


@dataclass(frozen=True)
class ListenerStats:
    """What one endpoint's listener has seen so far."""

    vpce_id: str
    url: str
    port: int
    connections: int
    requests: int


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections (and we can count them)
    # Headers and body go out in separate writes; with Nagle on, the body waits ~40 ms for the client's delayed
    # ACK on loopback, a stall AWS endpoints do not have.
    disable_nagle_algorithm = True
    server: _ListenerServer
    timeout = _IDLE_TIMEOUT

    # BaseHTTPRequestHandler dispatches on do_<METHOD>; every method goes through the same pipeline.
    def do_GET(self) -> None:
        """Serve GET."""
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = do_GET

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _serve(self) -> None:
        body = self._read_body()
        if body is None:
            self._write(Outcome(413, [("Content-Type", "application/json")], b'{"message":"Request Too Long"}'))
            self.close_connection = True
            return
        incoming = Incoming(
            method=self.command,
            target=self.path,
            headers=tuple((k, v) for k, v in self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        self._write(self.server.serve(incoming))

    def _write(self, outcome: Outcome) -> None:
        self.send_response(outcome.status)
        request_id = str(outcome.log.get("requestId", ""))
        sent = {name.lower() for name, _ in outcome.headers}
        for name, value in outcome.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        if "x-amzn-requestid" not in sent and request_id:
            self.send_header("x-amzn-RequestId", request_id)
        if outcome.log.get("extendedRequestId"):
            self.send_header("x-amz-apigw-id", str(outcome.log["extendedRequestId"]))
        self.send_header("Content-Length", str(len(outcome.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(outcome.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr log: the access log is the record."""


class _ListenerServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, gateway: Gateway, vpce_id: str, tls: ssl.SSLContext | None) -> None:
        self.gateway = gateway
        self.vpce_id = vpce_id
        self.tls = tls
        self.connections = 0
        self.requests = 0
        self._stats_lock = threading.Lock()
        self._open: set[socket.socket] = set()
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept one TCP connection and count it."""
        sock, address = super().get_request()
        with self._stats_lock:
            self.connections += 1
        return sock, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Do the TLS handshake in the connection's own thread, then serve it."""
        conn: socket.socket = request
        if self.tls is not None:
            conn.settimeout(_HANDSHAKE_TIMEOUT)
            try:
                conn = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            conn.settimeout(_IDLE_TIMEOUT)
        with self._stats_lock:
            self._open.add(conn)
        try:
            super().finish_request(conn, client_address)
        except (ssl.SSLError, ConnectionError, TimeoutError):
            pass  # a client that goes away mid-request is not the gateway's error
        finally:
            with self._stats_lock:
                self._open.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def serve(self, incoming: Incoming) -> Outcome:
        """Count the request and hand it to the gateway."""
        with self._stats_lock:
            self.requests += 1
        return self.gateway.serve(self.vpce_id, incoming)

    def close_open_connections(self) -> None:
        """Drop kept-alive client connections so nothing lingers after stop."""
        with self._stats_lock:
            open_now = list(self._open)
        for conn in open_now:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class Gateway:
    """The emulated private API Gateway: start it, point clients at a listener's URL, stop it."""

    def __init__(
        self,
        *,
        endpoints: Sequence[Endpoint],
        apis: Iterable[ApiDeployment],
        callbacks: Callbacks,
        tls: TlsMaterial | None,
    ) -> None:
        self._lock = threading.Lock()
        self._endpoints = {e.vpce_id: e for e in endpoints}
        self._apis = {a.api_id: LiveApi.of(a) for a in apis}
        self._pipeline = Pipeline(callbacks)
        self._tls = tls
        self._servers: dict[str, _ListenerServer] = {}
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------------------------------ lifecycle
    def start(self) -> Gateway:
        """Bind one listener per endpoint on 127.0.0.1 (ephemeral ports) and serve in background threads."""
        if self._servers:
            return self
        context = self._tls.server_context if self._tls else None
        try:
            for vpce_id in self._endpoints:
                server = _ListenerServer(self, vpce_id, context)
                self._servers[vpce_id] = server
                thread = threading.Thread(
                    target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"gateway-{vpce_id}", daemon=True
                )
                thread.start()
                self._threads.append(thread)
        except OSError:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop every listener, close their sockets and any kept-alive connections."""
        for server in self._servers.values():
            server.shutdown()
            server.server_close()
            server.close_open_connections()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------------------------------ runtime config
    def deploy(self, deployment: ApiDeployment) -> None:
        """Create or replace an API's deployed stage (policy, routes, handler); requests in flight keep the old."""
        live = LiveApi.of(deployment)
        with self._lock:
            self._apis = {**self._apis, deployment.api_id: live}

    def deployment(self, api_id: str) -> ApiDeployment:
        """The API's current deployment (to derive a new one with dataclasses.replace)."""
        with self._lock:
            return self._apis[api_id].deployment

    def set_endpoint_policy(self, vpce_id: str, policy: Policy | None) -> None:
        """Change an endpoint's policy (None: AWS's default full access); takes effect on the next request."""
        with self._lock:
            self._endpoints = {**self._endpoints, vpce_id: replace(self._endpoints[vpce_id], policy=policy)}

    # ------------------------------------------------------------------------------------------ serving
    def serve(self, vpce_id: str, incoming: Incoming) -> Outcome:
        """Answer one request that arrived through `vpce_id`, and write its access-log line."""
        with self._lock:
            endpoint = self._endpoints[vpce_id]
            apis = self._apis
        outcome = self._pipeline.handle(incoming, endpoint, apis)
        outcome.log.setdefault("status", outcome.status)
        outcome.log.setdefault("responseLength", len(outcome.body))
        api_id = outcome.log.get("apiId")
        api = apis.get(str(api_id)) if api_id else None
        if api is not None and api.deployment.access_log is not None:
            api.deployment.access_log.write(outcome.log)
        return outcome

    def url(self, vpce_id: str) -> str:
        """The https://127.0.0.1:port URL of an endpoint's listener."""
        return self.stats(vpce_id).url

    def stats(self, vpce_id: str) -> ListenerStats:
        """Connections and requests seen by one endpoint's listener."""
        server = self._servers[vpce_id]
        port = server.server_address[1]
        scheme = "https" if self._tls else "http"
        return ListenerStats(
            vpce_id=vpce_id,
            url=f"{scheme}://127.0.0.1:{port}",
            port=port,
            connections=server.connections,
            requests=server.requests,
        )
