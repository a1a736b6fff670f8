"""An emulated private API Gateway: one HTTPS listener on 127.0.0.1 per emulated VPC endpoint.

Which endpoint a request came through is the listener it reached (a network fact, not a header). Deployments and
endpoint policies can change while it runs, as a new CloudFormation deployment would change them.

Each listener also plays the interface endpoint's part in the flow: PrivateLink forgets a TCP flow that stayed idle
longer than its fixed idle timeout (350 s) and drops whatever the client sends on it afterwards, without a reset
(AWS Networking & Content Delivery blog, "Implementing long-running TCP connections within VPC networking"). A
listener does the same: a kept connection silent for longer than ``idle_timeout`` is blackholed. Only the client's
silence is timed: an answer always goes out (API Gateway's 29 s integration limit is far below 350 s).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from emulation.gateway.domains import DomainRegistry
from emulation.gateway.pipeline import ApiDeployment, Callbacks, Endpoint, Incoming, LiveApi, Outcome, Pipeline
from emulation.gateway.tls import DomainCertificates, TlsMaterial
from iampolicy.policy import Policy

# serve_forever notices shutdown() only between polls: at 0.05 s each listener's stop waited up to 50 ms, one after
# another for every endpoint. Every emulated server polls at this interval (a few hundred idle wake-ups a second).
SHUTDOWN_POLL_SECONDS = 0.005

MAX_BODY = 10 * 1024 * 1024  # API Gateway's payload limit
PRIVATELINK_IDLE_TIMEOUT = 350.0  # seconds; fixed for interface VPC endpoints, not configurable on AWS
_HANDSHAKE_TIMEOUT = 10.0
_STOP_POLL = 0.2  # how often a blackholed connection checks whether the gateway is stopping
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110 method token
_DIGITS = re.compile(r"^[0-9]+$")
_HEX = re.compile(r"^[0-9A-Fa-f]+$")
# RFC 9112 section 2.2: a server SHOULD ignore at least one empty line before a request line (clients send a stray
# CRLF after a body). Bounded, so a flow of empty lines ends in a 400; AWS does not document its own limit.
_MAX_LEADING_EMPTY_LINES = 16
# AWS does not document its answer to broken HTTP framing; a 400 with API Gateway's JSON error shape is assumed.
_BAD_REQUEST = Outcome(400, [("Content-Type", "application/json")], json.dumps({"message": "Bad Request"}).encode())


class _FlowIdle(Exception):
    """The client's flow was silent past the endpoint's idle timeout: the endpoint has forgotten it."""


class _BadFraming(Exception):
    """The request cannot be delimited (bad Content-Length or chunk size): answer 400 and close."""


@dataclass(frozen=True)
class ListenerStats:
    """What one endpoint's listener has seen so far."""

    vpce_id: str
    url: str
    port: int
    connections: int
    requests: int
    blackholed: int = 0  # flows the endpoint forgot after idling past its timeout


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections (and we can count them)
    # Headers and body go out in separate writes; with Nagle on, the body waits ~40 ms for the client's delayed
    # ACK on loopback, a stall AWS endpoints do not have.
    disable_nagle_algorithm = True
    server: _ListenerServer
    default_request_version = "HTTP/1.1"  # so an error about a malformed request line still gets a status line

    def setup(self) -> None:
        """Time every read by the endpoint's idle timeout: a read that waits longer means the flow went idle."""
        # socketserver reads self.timeout per handler; typeshed declares it a ClassVar, which it need not be.
        self.timeout = self.server.gateway.idle_timeout  # type: ignore[misc]
        super().setup()

    def handle(self) -> None:
        """Serve requests on the kept connection until it closes; a flow that idled past the limit is blackholed."""
        try:
            super().handle()
        except _FlowIdle:
            self.server.blackhole(self.connection)

    def handle_one_request(self) -> None:
        """Read one request and answer it; every method token goes to the pipeline, as API Gateway answers them."""
        try:
            self.raw_requestline = self.rfile.readline(65537)
            for _ in range(_MAX_LEADING_EMPTY_LINES):
                if self.raw_requestline not in (b"\r\n", b"\n"):
                    break
                self.raw_requestline = self.rfile.readline(65537)
        except TimeoutError:
            raise _FlowIdle from None
        if not self.raw_requestline:
            self.close_connection = True
            return
        words = self.raw_requestline.decode("latin-1").split()
        # http.server would take a two-word line as HTTP/0.9 and a method it has no do_<METHOD> for as 501.
        if len(self.raw_requestline) > 65536 or len(words) != 3 or not _TOKEN.match(words[0]):
            self.requestline = self.raw_requestline.decode("latin-1").rstrip("\r\n")[:200]
            self.command, self.request_version = "", self.default_request_version
            too_long = len(self.raw_requestline) > 65536
            self._refuse(replace(_BAD_REQUEST, status=414) if too_long else _BAD_REQUEST)
            return
        try:
            parsed = self.parse_request()
        except TimeoutError:
            raise _FlowIdle from None
        if parsed:
            self._serve()
            self.wfile.flush()

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer what http.server's parser refuses (bad version, oversized headers) with a JSON 4xx, then close."""
        status = code if 400 <= code < 500 else 400
        self._refuse(replace(_BAD_REQUEST, status=status))

    def _refuse(self, outcome: Outcome) -> None:
        self.close_connection = True  # the request's framing is unknown: nothing after it can be read reliably
        self._write(replace(outcome, log={}))

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not _DIGITS.match(raw):
            raise _BadFraming(raw)
        length = int(raw)
        if length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_field = self.rfile.readline().split(b";", 1)[0].strip().decode("latin-1")
            if not _HEX.match(size_field):
                raise _BadFraming(size_field)
            size = int(size_field, 16)
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
        try:
            body = self._read_body()
        except _BadFraming:
            self._refuse(_BAD_REQUEST)
            return
        except TimeoutError:
            raise _FlowIdle from None
        if body is None:
            self.close_connection = True
            self._write(Outcome(413, [("Content-Type", "application/json")], b'{"message":"Request Too Long"}'))
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
        if self.close_connection:
            self.send_header("Connection", "close")  # say so: a keep-alive client must not send another request
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
        self.blackholed = 0
        self.stopping = threading.Event()
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
            conn.settimeout(self.gateway.idle_timeout)
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

    def blackhole(self, conn: socket.socket) -> None:
        """Swallow what the client sends on a forgotten flow, answering nothing, until it closes or we stop."""
        with self._stats_lock:
            self.blackholed += 1
        conn.settimeout(_STOP_POLL)
        while not self.stopping.is_set():
            try:
                if not conn.recv(65536):
                    return  # the client gave up and closed
            except TimeoutError:
                continue
            except OSError:  # includes ssl.SSLError: the client reset or broke the TLS session
                return

    def close_open_connections(self) -> None:
        """Drop kept-alive client connections so nothing lingers after stop."""
        self.stopping.set()
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
        idle_timeout: float = PRIVATELINK_IDLE_TIMEOUT,
        domains: DomainRegistry | None = None,
    ) -> None:
        if not idle_timeout > 0:
            raise ValueError(f"idle_timeout must be a positive number of seconds, got {idle_timeout!r}")
        self.idle_timeout = idle_timeout  # seconds of client silence after which a flow is blackholed
        self._lock = threading.Lock()
        self._endpoints = {e.vpce_id: e for e in endpoints}
        self._apis = {a.api_id: LiveApi.of(a) for a in apis}
        self._domains = domains or DomainRegistry()
        self._pipeline = Pipeline(callbacks)
        self._tls = tls
        self._servers: dict[str, _ListenerServer] = {}
        self._threads: list[threading.Thread] = []

    # ------------------------------------------------------------------------------------------ lifecycle
    def start(self) -> Gateway:
        """Bind one listener per endpoint on 127.0.0.1 (ephemeral ports) and serve in background threads."""
        if self._servers:
            return self
        context = self._server_context()
        try:
            for vpce_id in self._endpoints:
                server = _ListenerServer(self, vpce_id, context)
                self._servers[vpce_id] = server
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
                    name=f"gateway-{vpce_id}",
                    daemon=True,
                )
                thread.start()
                self._threads.append(thread)
        except OSError:
            self.stop()
            raise
        return self

    def _server_context(self) -> ssl.SSLContext | None:
        if self._tls is None:
            return None
        if self._tls.ca is None or self._tls.leaf is None:
            return self._tls.server_context  # no CA to issue domain certificates from: execute-api names only
        # Any served domain name gets its certificate, associated with this endpoint or not: the association is
        # checked per request (403), as the endpoint cannot know the domain before the TLS handshake completes.
        return DomainCertificates(self._tls, self._serves_domain).server_context()

    def _serves_domain(self, name: str) -> bool:
        with self._lock:
            return self._domains.serves(name)

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

    def set_domains(self, domains: DomainRegistry) -> None:
        """Replace the private custom domains and access associations; takes effect on the next request."""
        with self._lock:
            self._domains = domains

    @property
    def domains(self) -> DomainRegistry:
        """The private custom domains and access associations in force."""
        with self._lock:
            return self._domains

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
            domains = self._domains
        outcome = self._pipeline.handle(incoming, endpoint, apis, domains)
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
            blackholed=server.blackholed,
        )
