"""HTTPS transport: one keep-alive pool per process, bounded retries with backoff and full jitter."""

from __future__ import annotations

import random
import re
import ssl
import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import (
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as Urllib3TimeoutError
from urllib3.util import parse_url

__all__ = [
    "DEFAULT_IDLE_TIMEOUT",
    "IDEMPOTENT_METHODS",
    "INVOCATION_DEADLINE",
    "PRIVATELINK_IDLE_TIMEOUT",
    "Answer",
    "RetryPolicy",
    "TransportError",
    "TransportFailure",
    "is_overloaded",
    "new_pool",
    "send",
]

# The running invocation's deadline (a time.monotonic() value) for requests made on its behalf where no argument can
# carry it: the STS call runs inside botocore's credential refresh, which calls it without arguments.
INVOCATION_DEADLINE: ContextVar[float | None] = ContextVar("invocation_deadline", default=None)

# RFC 9110 idempotent methods: repeating them cannot apply a change twice.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
_CONNECTION_PREFIX = re.compile(r"^\w+(Pool)?\(host=[^)]*\):\s*")

# Interface VPC endpoints (PrivateLink) forget a TCP flow after 350 s without packets and drop what is sent on it
# afterwards, with no reset (AWS Networking & Content Delivery blog, "Implementing long-running TCP connections within
# VPC networking"); Lambda freezes the sandbox between invocations, so keepalive probes cannot keep a flow alive.
PRIVATELINK_IDLE_TIMEOUT = 350.0
# A kept connection idle this long is closed before use and a new one opened (one TLS handshake, a few ms in a VPC).
# 80 s below the endpoint's limit: room for clock granularity and for a request's own time in flight, while a function
# invoked more often than every 4.5 minutes still reuses its connection.
DEFAULT_IDLE_TIMEOUT = 270.0
_IDLE_SINCE = "_client_idle_since"  # attribute stamped on a pooled connection: (monotonic, wall) at its last use


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: attempts in total, and the exponential backoff (with full jitter) between them."""

    max_attempts: int = 3
    backoff_base: float = 0.2
    backoff_cap: float = 2.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based); honours a short Retry-After."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1))
        jitter = random.uniform(0, ceiling)  # noqa: S311 - spreads retries, not a secret  # nosec B311
        if retry_after and retry_after.strip().isdigit():
            return max(jitter, min(float(retry_after), self.backoff_cap))
        return jitter


@dataclass(frozen=True)
class Answer:
    """What the server answered, after retries."""

    status: int
    headers: dict[str, str]
    body: bytes
    attempts: int


class TransportFailure(StrEnum):
    """Why a request got no answer; each value is the name the client has always given that kind."""

    DNS = "dns"
    CONNECT = "connect"
    CONNECT_TIMEOUT = "connect-timeout"
    TIMEOUT = "timeout"
    TLS = "tls"
    CONNECTION = "connection"

    @property
    def retryable(self) -> bool:
        """Worth another attempt (a TLS failure is not: the same certificate comes back)."""
        return self is not TransportFailure.TLS

    @property
    def before_sending(self) -> bool:
        """The failure came before a byte of the request was sent, so nothing can have been applied."""
        return self in _BEFORE_SENDING

    @property
    def timed_out(self) -> bool:
        """A wait ran out (connecting or for the answer), rather than something refusing or breaking."""
        return self in (TransportFailure.CONNECT_TIMEOUT, TransportFailure.TIMEOUT)


_BEFORE_SENDING = frozenset(
    {TransportFailure.DNS, TransportFailure.CONNECT, TransportFailure.CONNECT_TIMEOUT, TransportFailure.TLS}
)


class TransportError(Exception):
    """No answer from the server; ``kind`` says why."""

    def __init__(self, kind: TransportFailure, detail: str, attempts: int) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.attempts = attempts


class _IdleLimit:
    """Pool behaviour: a kept connection idle for ``idle_timeout`` seconds is closed before use, then opened afresh."""

    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    monotonic = staticmethod(time.monotonic)
    wall = staticmethod(time.time)

    def __init__(self, host: str, port: int | None, *, idle_timeout: float, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)  # type: ignore[call-arg]
        self.idle_timeout = idle_timeout

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)  # type: ignore[misc]
        since = getattr(conn, _IDLE_SINCE, None)
        if since is not None and self._idle_for(since) >= self.idle_timeout:
            # The endpoint may have forgotten this flow: sending on it would vanish and wait out the whole timeout
            # (and leave a POST ambiguous). urllib3 reconnects a closed connection before it sends on it.
            conn.close()
        return conn

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            setattr(conn, _IDLE_SINCE, (self.monotonic(), self.wall()))
        super()._put_conn(conn)  # type: ignore[misc]

    def _idle_for(self, since: tuple[float, float]) -> float:
        # Both clocks, the larger wins. Lambda freezes the sandbox between invocations, and AWS does not document
        # whether a frozen (or snapshot-restored) microVM's monotonic clock advances meanwhile; the wall clock is
        # synchronised on thaw, so it does count the gap. The monotonic delta covers the wall clock being stepped
        # back. Erring long costs one TLS handshake; erring short costs a stalled request.
        return max(self.monotonic() - since[0], self.wall() - since[1])


class _IdleLimitedHTTPSPool(_IdleLimit, urllib3.HTTPSConnectionPool):
    """HTTPS pool with the idle limit."""


class _IdleLimitedHTTPPool(_IdleLimit, urllib3.HTTPConnectionPool):
    """Plain-HTTP pool (local emulators only) with the idle limit."""


def new_pool(
    endpoint: str,
    ca_bundle: str | None = None,
    *,
    plain_http: bool = False,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    client_cert: tuple[str, str] | None = None,
) -> urllib3.HTTPConnectionPool:
    """A keep-alive pool to one https:// endpoint that always verifies TLS (system store unless a PEM bundle is given).

    Bound to the one endpoint the client talks to: a PoolManager would parse the URL and look the pool up again on
    every request for the same answer (about 45 us of a 0.6 ms call over loopback TLS on a 2-core machine).
    ``plain_http`` also accepts an http:// URL (configuration allows that only for a local emulator). A connection
    idle for ``idle_timeout`` seconds is never sent on again (see DEFAULT_IDLE_TIMEOUT). ``client_cert`` is a
    (certificate chain PEM file, private key PEM file) pair presented in every TLS handshake (mutual TLS).
    """
    cert_file, key_file = client_cert or (None, None)
    scheme = urlsplit(endpoint).scheme
    url = parse_url(endpoint)
    host = url.host or ""
    if scheme == "https":
        return _IdleLimitedHTTPSPool(
            host,
            url.port or 443,
            idle_timeout=idle_timeout,
            maxsize=2,
            cert_reqs="CERT_REQUIRED",
            ca_certs=ca_bundle,
            cert_file=cert_file,
            key_file=key_file,
            retries=False,
        )
    if plain_http and scheme == "http":
        return _IdleLimitedHTTPPool(host, url.port or 80, idle_timeout=idle_timeout, maxsize=2, retries=False)
    raise ValueError(f"{endpoint!r} is not an https:// URL")


def send(
    pool: urllib3.HTTPConnectionPool,
    *,
    method: str,
    target: str,
    sign: Callable[[], dict[str, str]],
    body: bytes,
    timeout: float,
    policy: RetryPolicy,
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    idempotent: bool | None = None,
    retry_answer: Callable[[Answer], bool] | None = None,
) -> Answer:
    """Send one request for ``target`` (path and query); ``sign`` runs before each attempt, so each is freshly signed.

    Retries connection errors, timeouts and the answers ``retry_answer`` picks (default: 429 and 5xx), for idempotent
    requests only (by method unless ``idempotent`` says otherwise), while attempts and the ``deadline`` (a ``clock``
    value) allow. Raises TransportError when no attempt got an answer.
    """
    attempt = 0
    repeatable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent

    def may_retry(delay: float) -> bool:
        if not repeatable or attempt >= policy.max_attempts:
            return False
        # Only retry when a useful attempt still fits before the function itself would time out.
        return deadline is None or deadline - (clock() + delay) >= 1.0

    while True:
        attempt += 1
        budget = timeout if deadline is None else min(timeout, deadline - clock())
        try:
            response = pool.urlopen(
                method,
                target,
                headers=sign(),
                body=body or None,
                timeout=urllib3.Timeout(total=max(budget, 0.05)),
                retries=False,
                redirect=False,  # never carry a signed request to another place
            )
        except HTTPError as error:
            failure = _classify(error, attempt, str(pool.host), budget)
            delay = policy.delay(attempt)
            if failure.kind.retryable and may_retry(delay):
                sleep(delay)
                continue
            raise failure from None
        answer = Answer(response.status, dict(response.headers.itermerged()), response.data, attempt)
        if (retry_answer or is_overloaded)(answer):
            delay = policy.delay(attempt, answer.headers.get("Retry-After"))
            if may_retry(delay):
                sleep(delay)
                continue
        return answer


def is_overloaded(answer: Answer) -> bool:
    """429 or 5xx: the server could not take the request now, so another attempt may succeed."""
    return answer.status == 429 or answer.status >= 500


# Most specific first: urllib3 subclasses NameResolutionError < NewConnectionError < ConnectTimeoutError.
_KINDS: tuple[tuple[type[HTTPError], TransportFailure, str], ...] = (
    (NameResolutionError, TransportFailure.DNS, "DNS lookup of {host} failed"),
    (NewConnectionError, TransportFailure.CONNECT, "could not connect to {host}: {reason}"),
    (ReadTimeoutError, TransportFailure.TIMEOUT, "no answer from {host} within {budget:g}s"),
    (Urllib3TimeoutError, TransportFailure.CONNECT_TIMEOUT, "connecting to {host} took longer than {budget:g}s"),
    (SSLError, TransportFailure.TLS, "TLS with {host} failed: {reason}"),
    (ProtocolError, TransportFailure.CONNECTION, "connection to {host} broke: {reason}"),
    (HTTPError, TransportFailure.CONNECTION, "request to {host} failed: {reason}"),
)


# A peer that hangs up on a TLS connection surfaces as an SSL error; it is a closed connection, not a TLS failure.
_CLOSED_BY_PEER = (ssl.SSLEOFError, ssl.SSLZeroReturnError)


def _classify(error: HTTPError, attempt: int, host: str, budget: float) -> TransportError:
    inner = error.__context__ or (error.args[0] if error.args else None)
    if isinstance(error, SSLError) and isinstance(inner, _CLOSED_BY_PEER):
        detail = f"{host} closed the connection during the request, before answering: {_reason(error)}"
        return TransportError(TransportFailure.CONNECTION, detail, attempt)
    kind, template = next((k, t) for cls, k, t in _KINDS if isinstance(error, cls))
    return TransportError(kind, template.format(host=host, budget=budget, reason=_reason(error)), attempt)


def _reason(error: BaseException) -> str:
    # Drop urllib3's "HTTPSConnection(host=..., port=...): " prefix; the OS/TLS text after it is the useful part.
    return _CONNECTION_PREFIX.sub("", str(error))
