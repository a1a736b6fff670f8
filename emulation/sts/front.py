"""An STS front on 127.0.0.1 that enforces what moto's STS does not: SigV4 and the role's trust policy.

Clients point AWS_ENDPOINT_URL_STS at it. Each call's signature is verified (service sts), the caller resolved;
AssumeRole is checked against the target role's trust policy and the caller's identity policies (authz.py) and
answered with STS's AccessDenied XML when refused; everything allowed is forwarded to moto unchanged.
"""

from __future__ import annotations

import contextlib
import html
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import urllib3

from emulation.gateway import sigv4
from emulation.gateway.pipeline import Callbacks
from emulation.gateway.server import SHUTDOWN_POLL_SECONDS
from iampolicy import authz
from iampolicy.policy import Policy

TrustPolicyLookup = Callable[[str], Policy | None]

_NAMESPACE = "https://sts.amazonaws.com/doc/2011-06-15/"
# STS's (status, code) per verification failure.
_STS_ERRORS: dict[sigv4.Failure, tuple[int, str]] = {
    sigv4.Failure.MISSING: (403, "MissingAuthenticationToken"),
    sigv4.Failure.INCOMPLETE: (400, "IncompleteSignature"),
    sigv4.Failure.UNKNOWN_KEY: (403, "InvalidClientTokenId"),
    sigv4.Failure.EXPIRED_CREDENTIALS: (403, "ExpiredToken"),
    sigv4.Failure.BAD_SIGNATURE: (403, "SignatureDoesNotMatch"),
    sigv4.Failure.EXPIRED: (403, "SignatureDoesNotMatch"),
    sigv4.Failure.NOT_YET_VALID: (403, "SignatureDoesNotMatch"),
    sigv4.Failure.WRONG_SCOPE: (403, "SignatureDoesNotMatch"),
}
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


@dataclass(frozen=True)
class StsAnswer:
    """An HTTP answer from the front."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def error_xml(code: str, message: str, *, sender: bool = True) -> bytes:
    """STS's query-protocol error document."""
    kind = "Sender" if sender else "Receiver"
    return (
        f'<ErrorResponse xmlns="{_NAMESPACE}">\n  <Error>\n    <Type>{kind}</Type>\n'
        f"    <Code>{html.escape(code)}</Code>\n    <Message>{html.escape(message, quote=False)}</Message>\n"
        f"  </Error>\n  <RequestId>{uuid.uuid4()}</RequestId>\n"
        "</ErrorResponse>\n"
    ).encode()


def _xml_answer(status: int, code: str, message: str) -> StsAnswer:
    return StsAnswer(status, (("Content-Type", "text/xml"),), error_xml(code, message))


class StsFront:
    """Verify, authorize, forward: start it, give clients its URL, read `calls` to count STS traffic."""

    def __init__(
        self,
        *,
        upstream: str,
        callbacks: Callbacks,
        trust_policy: TrustPolicyLookup,
        region: str = "us-east-1",
    ) -> None:
        if urlsplit(upstream).scheme not in ("http", "https"):
            raise ValueError(f"upstream must be an http(s) URL, got {upstream!r}")
        self.upstream = upstream.rstrip("/")
        self._pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=30))
        self.callbacks = callbacks
        self.trust_policy = trust_policy
        self.region = region
        self._calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def calls(self) -> Counter[str]:
        """STS calls received so far, by Action (rejected ones included)."""
        with self._lock:
            return Counter(self._calls)

    @property
    def url(self) -> str:
        """http://127.0.0.1:port of the running front."""
        if self._server is None:
            raise RuntimeError("the STS front is not running")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> StsFront:
        """Listen on an ephemeral 127.0.0.1 port."""
        front = self

        class Handler(_StsHandler):
            owner = front

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS},
            name="sts-front",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening, close the socket and the connections to moto."""
        self._pool.clear()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> StsFront:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def answer(self, request: sigv4.ReceivedRequest) -> StsAnswer:
        """Handle one STS call."""
        params = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        params.update(parse_qsl(request.target.partition("?")[2], keep_blank_values=True))
        action = params.get("Action", "")
        with self._lock:
            self._calls[action] += 1
        try:
            verified = sigv4.verify(request, region=self.region, service="sts", lookup=self.callbacks.credentials)
        except sigv4.SigV4Error as error:
            status, code = _STS_ERRORS[error.failure]
            return _xml_answer(status, code, error.message)
        principal = self.callbacks.principals(verified.access_key)
        if principal is None:
            return _xml_answer(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
        if action == "AssumeRole":
            decision = self._decide_assume_role(principal, params)
            if not decision.allowed:
                # STS names caller, action and role, and no reason (unlike API Gateway).
                return _xml_answer(403, "AccessDenied", decision.message(mask=False, with_reason=False))
        return self._forward(request)

    def _decide_assume_role(self, principal: authz.Principal, params: dict[str, str]) -> authz.Decision:
        role_arn = params.get("RoleArn", "")
        context: dict[str, str | None] = {
            "sts:RoleSessionName": params.get("RoleSessionName"),
            "sts:ExternalId": params.get("ExternalId"),
            "sts:SourceIdentity": params.get("SourceIdentity"),
        }
        return authz.decide_assume_role(
            principal=principal,
            role_arn=role_arn,
            trust_policy=self.trust_policy(role_arn),
            identity_policies=self.callbacks.identity_policies(principal),
            context=context,
        )

    def _forward(self, request: sigv4.ReceivedRequest) -> StsAnswer:
        headers = {k: v for k, v in request.headers if k.lower() not in _HOP_BY_HOP}
        response = self._pool.request(
            request.method, self.upstream + request.target, body=request.body or None, headers=headers
        )
        return StsAnswer(response.status, _content_type(response.headers), response.data)


def _content_type(headers: Any) -> tuple[tuple[str, str], ...]:
    return (("Content-Type", headers.get("Content-Type", "text/xml")),)


class _StsHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no ~40 ms delayed-ACK stall per response (see gateway._Handler)
    owner: StsFront

    # STS's query protocol uses POST (GET with a query string also works on AWS).
    def do_POST(self) -> None:
        """Serve one STS call."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = sigv4.ReceivedRequest(
            method=self.command, target=self.path, headers=tuple(self.headers.items()), body=body
        )
        answer = self.owner.answer(request)
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        with contextlib.suppress(ConnectionError):
            self.wfile.write(answer.body)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: callers count calls through StsFront.calls."""
