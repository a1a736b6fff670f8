"""Test doubles for the client tests: a scripted HTTPS server, a Lambda context and an independent SigV4 check."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

API_HOST = "abc123.execute-api.us-east-1.amazonaws.com"
REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLE0000000000"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@dataclass
class Reply:
    """One scripted server answer; ``delay`` seconds pass before it is sent; ``hang_up`` closes instead of answering."""

    status: int = 200
    body: str = '{"ok": true}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    delay: float = 0.0
    hang_up: bool = False  # close the connection as soon as the headers are read, before the body has arrived


@dataclass
class Received:
    """One request as the server saw it."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes


class ScriptedHTTPSServer(http.server.ThreadingHTTPServer):
    """HTTPS server that answers from a script (the last reply repeats) and records every request."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)
        self.tls = context
        self.script: list[Reply] = [Reply()]
        self.received: list[Received] = []
        self.handshake_failures = 0
        self.connections = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"

    def wait_for(self, condition: Callable[[], bool], timeout: float = 2.0) -> bool:
        """Poll until the server-side ``condition`` holds (its threads may lag the client by a moment)."""
        end = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > end:
                return False
            time.sleep(0.01)
        return True

    def next_reply(self) -> Reply:
        with self.lock:
            return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake per connection thread, so a client that rejects the certificate cannot stall the server.
        try:
            tls_socket = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            with self.lock:
                self.handshake_failures += 1
            return
        with self.lock:
            self.connections += 1
        super().finish_request(tls_socket, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out close their end; that is expected here."""


class _ScriptedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: ScriptedHTTPSServer

    def _answer(self) -> None:
        reply = self.server.next_reply()
        if reply.hang_up:
            # Unread bytes in the socket make the close a reset: the client's send fails part-way.
            self.server.received.append(Received(self.command, self.path, dict(self.headers.items()), b""))
            self.close_connection = True
            self.connection.close()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
        if reply.delay:
            time.sleep(reply.delay)
        payload = reply.body.encode()
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


@dataclass
class FakeLambdaContext:
    """The attributes of a Lambda context that the handler and Powertools read."""

    remaining_ms: int = 60_000
    function_name: str = "unit-test-client"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:222222222222:function:unit-test-client"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def sigv4_is_valid(
    *, method: str, target: str, headers: dict[str, str], body: bytes, secret_key: str, service: str = "execute-api"
) -> bool:
    """Verify a SigV4 Authorization header from first principles (AWS's published algorithm, not botocore)."""
    lower = {k.lower(): v for k, v in headers.items()}
    auth = lower["authorization"]
    algorithm, _, rest = auth.partition(" ")
    fields = dict(part.strip().split("=", 1) for part in rest.split(","))
    _, date, region, signed_service, _ = fields["Credential"].split("/")
    signed = fields["SignedHeaders"].split(";")
    path, _, query = target.partition("?")
    canonical_uri = quote(path, safe="/-_.~")  # non-S3 services encode the (already encoded) path again
    pairs = sorted(
        (quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~"))
        for k, _, v in (p.partition("=") for p in query.split("&") if p)
    )
    canonical_query = "&".join(f"{k}={v}" for k, v in pairs)
    canonical_headers = "".join(f"{name}:{' '.join(lower[name].split())}\n" for name in signed)
    canonical_request = "\n".join(
        [method, canonical_uri, canonical_query, canonical_headers, ";".join(signed), hashlib.sha256(body).hexdigest()]
    )
    amz_date = lower["x-amz-date"]
    scope = f"{date}/{region}/{signed_service}/aws4_request"
    string_to_sign = "\n".join([algorithm, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = f"AWS4{secret_key}".encode()
    for part in (date, region, signed_service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return signed_service == service and hmac.compare_digest(expected, fields["Signature"])
