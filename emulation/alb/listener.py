"""The provider's mTLS load balancer (ALB, verify mode), emulated on 127.0.0.1 with real TLS.

What it does, in AWS's order: the TLS handshake requires a client certificate that chains to the trust store's CA
bundle, is within its validity (IgnoreClientCertificateExpiry false) and, with a revocation list, is not revoked;
otherwise the handshake fails (a TLS alert, never an HTTP status). An admitted request meets the listener rule
(Host = the API's host and path /<stage>/mtls[/...], else the default fixed 404). Every client-sent
X-Amzn-Mtls-Clientcert-* header is dropped and the verified certificate's fields are added, then the request goes
over HTTPS to the provider's own execute-api endpoint listener, so the gateway's real pipeline, resource policy and
backend decide. Whether the real ALB drops, overwrites or appends client copies is not documented (design section 1):
dropping them is one of the outcomes the design is secure under, and the backend refuses the appended case itself.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import trustme
import urllib3
from cryptography import x509
from cryptography.hazmat.primitives import serialization

# As the gateway's listeners (emulation.gateway.server.SHUTDOWN_POLL_SECONDS; this package imports nothing from it):
# serve_forever sees shutdown() only between polls, so a 50 ms poll made every stop wait up to 50 ms.
_SHUTDOWN_POLL_SECONDS = 0.005

MTLS_HEADER_PREFIX = "x-amzn-mtls-"
SUBJECT = "X-Amzn-Mtls-Clientcert-Subject"
ISSUER = "X-Amzn-Mtls-Clientcert-Issuer"
SERIAL = "X-Amzn-Mtls-Clientcert-Serial-Number"
VALIDITY = "X-Amzn-Mtls-Clientcert-Validity"
LEAF = "X-Amzn-Mtls-Clientcert-Leaf"
# An ALB closes a client connection idle (nothing sent or received) for its connection idle timeout, 60 s by default
# (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html): a close,
# unlike the endpoint hop's silent blackhole (emulation/gateway/server.py).
ALB_IDLE_TIMEOUT = 60.0
_HANDSHAKE_TIMEOUT = 10.0
_LINGER = 2.0  # seconds a refused connection is drained before it is closed
_MAX_BODY = 10 * 1024 * 1024
_HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te"})
_NOT_FOUND = (404, [("Content-Type", "text/plain; charset=utf-8")], b"Not Found")


@dataclass(frozen=True)
class TrustConfig:
    """The trust store: a PEM CA bundle and, optionally, a PEM CRL (the TrustStoreRevocation)."""

    ca_bundle: Path
    crl: Path | None = None


def server_context(trust: TrustConfig, server_cert: trustme.LeafCert) -> ssl.SSLContext:
    """Verify mode: TLS 1.2+, a client certificate required, chained to the bundle, unexpired, and not revoked."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.load_verify_locations(cafile=str(trust.ca_bundle))
    if trust.crl is not None:
        context.load_verify_locations(cafile=str(trust.crl))
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    server_cert.configure_cert(context)
    return context


def forwarded_headers(received: list[tuple[str, str]], peer_der: bytes, client_ip: str) -> list[tuple[str, str]]:
    """The client's headers minus any X-Amzn-Mtls-* copy and hop-by-hop ones, plus the verified certificate's."""
    leaf = x509.load_der_x509_certificate(peer_der)
    pem = leaf.public_bytes(serialization.Encoding.PEM).decode()
    kept = [
        (name, value)
        for name, value in received
        if not name.lower().startswith(MTLS_HEADER_PREFIX) and name.lower() not in _HOP_BY_HOP
    ]
    forwarded_for = [value for name, value in kept if name.lower() == "x-forwarded-for"]
    kept = [(n, v) for n, v in kept if n.lower() not in ("x-forwarded-for", "x-forwarded-proto", "x-forwarded-port")]
    validity = (
        f"NotBefore={leaf.not_valid_before_utc.strftime('%Y-%m-%dT%H:%M:%SZ')};"
        f"NotAfter={leaf.not_valid_after_utc.strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )
    return [
        *kept,
        ("X-Forwarded-For", ", ".join([*forwarded_for, client_ip])),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Port", "443"),
        (SERIAL, format(leaf.serial_number, "X")),
        (ISSUER, leaf.issuer.rfc4514_string()),
        (SUBJECT, leaf.subject.rfc4514_string()),
        (VALIDITY, validity),
        (LEAF, quote(pem, safe="+=/")),
    ]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _AlbServer

    def setup(self) -> None:
        """Close a kept connection that stays silent past the load balancer's idle timeout."""
        self.timeout = self.server.listener.idle_timeout  # type: ignore[misc]
        super().setup()

    def handle(self) -> None:
        """Serve until the client closes or idles out (the ALB closes an idle connection)."""
        with contextlib.suppress(TimeoutError, ConnectionError, ssl.SSLError):
            super().handle()

    def _body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None when it cannot be framed or is too large."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = self.rfile.readline().split(b";", 1)[0].strip()
                if not size or any(c not in b"0123456789abcdefABCDEF" for c in size):
                    return None
                length = int(size, 16)
                if length == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                if sum(map(len, chunks)) + length > _MAX_BODY:
                    return None
                chunks.append(self.rfile.read(length))
                self.rfile.readline()
        raw = (self.headers.get("Content-Length") or "0").strip()
        if not raw.isdigit() or int(raw) > _MAX_BODY:
            return None
        return self.rfile.read(int(raw)) if int(raw) else b""

    def _forward(self) -> None:
        body = self._body()
        if body is None:
            self.close_connection = True  # the framing is unknown: nothing after it can be read reliably
            self._answer(400, [("Content-Type", "text/plain")], b"Bad Request")
            return
        listener = self.server.listener
        if not listener.rule_matches(self.headers.get("Host") or "", self.path):
            self._answer(*_NOT_FOUND)
            return
        peer = self.connection.getpeercert(binary_form=True)  # type: ignore[attr-defined]
        headers = forwarded_headers(list(self.headers.items()), peer, self.client_address[0])
        status, reply_headers, reply_body = listener.forward(self.command, self.path, headers, body)
        self._answer(status, reply_headers, reply_body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _forward

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        # The target's own Server and Date pass through; the listener adds them only to its own answers (404, 400).
        self.log_request(status)
        self.send_response_only(status)
        names = {name.lower() for name, _ in headers}
        if "server" not in names:
            self.send_header("Server", self.version_string())
        if "date" not in names:
            self.send_header("Date", self.date_time_string())
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr log."""


def _linger(conn: socket.socket) -> None:
    """Close a refused connection without destroying the alert already sent.

    Under TLS 1.3 the client's handshake ends before the server has checked its certificate, so the client may
    already be sending its request. Closing with that request unread makes the kernel send a reset, which can discard
    the alert before the client reads it (it then sees only a closed connection). Reading until the client closes,
    or briefly, lets the alert arrive first, as a server with a lingering close does.
    """
    with contextlib.suppress(OSError):
        conn.settimeout(_LINGER)
        conn.shutdown(socket.SHUT_WR)
        while conn.recv(65536):
            pass


class _AlbServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, listener: MtlsListener) -> None:
        self.listener = listener
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """The handshake in the connection's own thread: a refused certificate ends the connection there."""
        conn: socket.socket = request
        conn.settimeout(_HANDSHAKE_TIMEOUT)
        # A second descriptor of the connection: a refused handshake closes the TLS socket's own at once.
        spare = conn.dup()
        try:
            tls = self.listener.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            self.listener.count_refusal()
            _linger(spare)
            return
        finally:
            spare.close()
        try:
            super().finish_request(tls, client_address)
        finally:
            with contextlib.suppress(OSError):
                tls.close()


class MtlsListener:
    """The ALB's HTTPS listener: start it, point certificate clients at `url`, stop it."""

    def __init__(
        self,
        *,
        trust: TrustConfig,
        server_cert: trustme.LeafCert,
        upstream_url: str,
        upstream_ca: Path,
        api_host: str,
        stage: str,
        idle_timeout: float = ALB_IDLE_TIMEOUT,
    ) -> None:
        self.context = server_context(trust, server_cert)
        self.api_host = api_host.lower()
        self.stage = stage
        self.idle_timeout = idle_timeout
        self.refused_handshakes = 0
        self._upstream_url = upstream_url.rstrip("/")
        self._pool = urllib3.PoolManager(ca_certs=str(upstream_ca), cert_reqs="CERT_REQUIRED", retries=False)
        self._lock = threading.Lock()
        self._server: _AlbServer | None = None
        self._thread: threading.Thread | None = None

    def rule_matches(self, host: str, target: str) -> bool:
        """The listener rule: the API's Host and a path under /<stage>/mtls."""
        path = target.split("?", 1)[0]
        prefix = f"/{self.stage}/mtls"
        return host.split(":", 1)[0].lower() == self.api_host and (path == prefix or path.startswith(prefix + "/"))

    def forward(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Send the request to the provider's own endpoint listener; its answer goes back unchanged."""
        sent = urllib3.HTTPHeaderDict()
        for name, value in headers:
            sent.add(name, value)
        reply = self._pool.request(method, self._upstream_url + target, body=body or None, headers=sent, redirect=False)
        return reply.status, list(reply.headers.items()), reply.data

    def count_refusal(self) -> None:
        """Count a handshake the trust store refused (the ALB's connection log would name it)."""
        with self._lock:
            self.refused_handshakes += 1

    @property
    def port(self) -> int:
        """The listener's 127.0.0.1 port."""
        if self._server is None:
            raise RuntimeError("the listener is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """https://127.0.0.1:port of the listener."""
        return f"https://127.0.0.1:{self.port}"

    def start(self) -> MtlsListener:
        """Bind an ephemeral 127.0.0.1 port and serve in a background thread."""
        if self._server is None:
            self._server = _AlbServer(self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": _SHUTDOWN_POLL_SECONDS},
                name="mtls-alb",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket and the upstream pool."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._pool.clear()

    def __enter__(self) -> MtlsListener:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
