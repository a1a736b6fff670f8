"""One API call per invocation: event -> signed (or client-certificate) HTTPS request -> result, failures explained."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import urllib3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from client.config import ClientConfig, ConfigError, load_config
from client.credentials import CredentialsError, CredentialSource, own_credentials
from client.diagnosis import (
    Failure,
    credentials_failure,
    forbidden_hint,
    maybe_applied,
    retried_hint,
    status_hint,
    transport_failure,
)
from client.signing import canonical_target, sign_request
from client.transport import INVOCATION_DEADLINE, Answer, RetryPolicy, TransportError, new_pool, send

__all__ = ["ApiRequest", "EventError", "Invoker", "build_direct_invoker", "build_invoker", "logger"]

logger = Logger()

_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_SAFETY_MARGIN_S = 0.5  # left for building the result and logging before Lambda's own timeout
# Headers the client owns. Framing: urllib3 derives them from the body it sends; a stale Content-Length would stall
# the request until its timeout. Signing: the SigV4 signer sets them; an event's X-Amz-Content-Sha256
# (UNSIGNED-PAYLOAD) would leave the body unsigned, and its Host, Authorization or date would be silently replaced.
_FRAMING_HEADERS = frozenset(
    {"content-length", "transfer-encoding", "expect", "connection", "keep-alive", "te", "upgrade"}
)
_SIGNING_HEADERS = frozenset({"host", "authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"})
# Writes the provider answers once per Idempotency-Key (a repeat gets the first answer), so they can be retried.
IDEMPOTENCY_HEADER = "Idempotency-Key"
_KEYED_METHODS = frozenset({"POST", "PUT", "DELETE"})
# The backend's rule for a key (api-backend/src/backend/idempotency.py, _KEY_PATTERN): 1-128 printable ASCII, no spaces.
# Checked here too so a bad key is explained before anything is sent; the client cannot import backend code.
_KEY_PATTERN = re.compile(r"^[!-~]{1,128}$")


class Context(Protocol):
    """The part of the Lambda context the client uses (Powertools also reads name, memory, ARN, request id)."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda stops the invocation."""
        ...


class EventError(ValueError):
    """The invocation event does not describe a request."""


@dataclass(frozen=True)
class ApiRequest:
    """A request as the event describes it, path relative to API_PREFIX."""

    method: str = "GET"
    path: str = "/"
    query: Mapping[str, str | list[str]] | None = None
    headers: Mapping[str, str] | None = None
    body: bytes = b""

    @classmethod
    def from_event(cls, event: Any) -> ApiRequest:
        """Validate an event ({method, path, query, headers, body}, all optional) into a request."""
        if event is None:
            event = {}
        if not isinstance(event, dict):
            raise EventError('the event must be a JSON object such as {"method": "GET", "path": "/"}')
        method = _text(event.get("method", "GET"), "method").upper()
        if method not in _METHODS:
            raise EventError(f"event.method {method!r} is not one of {', '.join(sorted(_METHODS))}")
        raw_path = _text(event.get("path", "/"), "path")
        parts = urlsplit(raw_path if raw_path.startswith("/") else "/" + raw_path)
        if parts.scheme or parts.netloc:
            raise EventError("event.path must be a path such as /items, not a URL")
        query = {**dict(parse_qsl(parts.query, keep_blank_values=True)), **_query(event.get("query"))}
        headers = _headers(event.get("headers"))
        body, content_type = _body(event.get("body"))
        if content_type and not any(name.lower() == "content-type" for name in headers):
            headers["Content-Type"] = content_type
        return cls(method, _clean_path(parts.path), query, headers, body)


class Invoker:
    """Calls the configured API with one credential source; built once per process, used by every invocation.

    ``credentials`` None: no SigV4, the ``pool`` presents a client certificate.
    """

    def __init__(
        self,
        config: ClientConfig,
        credentials: CredentialSource | None,
        *,
        pool: urllib3.HTTPConnectionPool | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.credentials = credentials
        self.pool = pool or new_pool(config.endpoint, config.ca_bundle, idle_timeout=config.idle_timeout)
        self.retry = retry or RetryPolicy()
        self._sleep = sleep

    def invoke(self, event: Any, context: Context | None = None) -> dict[str, Any]:
        """Send the request the event describes; return the API's answer or an explained failure."""
        try:
            request, key = _with_idempotency_key(ApiRequest.from_event(event), context)
        except EventError as error:
            return Failure(400, str(error), "Fix the invocation event; every key is optional").result()
        deadline = _deadline(context)
        frozen = None
        if self.credentials is not None:
            deadline_token = INVOCATION_DEADLINE.set(deadline)  # bounds an STS call made by the refresh below
            try:
                # Read once per invocation: refreshable credentials keep >= 10 minutes of validity after this.
                frozen = self.credentials.get_frozen_credentials()
            # RuntimeError: botocore's refresh gives up on stale credentials; botocore errors: a local profile's chain.
            except (CredentialsError, BotoCoreError, ClientError, RuntimeError) as error:
                failure = credentials_failure(error, self.config.role_arn)
                logger.warning("no credentials to sign with", extra={"error": failure.error, "hint": failure.hint})
                return failure.result()
            finally:
                INVOCATION_DEADLINE.reset(deadline_token)
        target = canonical_target(self.config.api_prefix + request.path, request.query)

        def sign() -> dict[str, str]:
            if frozen is None:
                # Unsigned: Host still names the API (the provider's load balancer and API Gateway route on it).
                return {"Host": self.config.api_host, **(request.headers or {})}
            return sign_request(
                method=request.method,
                host=self.config.api_host,
                target=target,
                headers=request.headers or {},
                body=request.body,
                credentials=frozen,
                region=self.config.region,
            )

        try:
            answer = send(
                self.pool,
                method=request.method,
                target=target,
                sign=sign,
                body=request.body,
                timeout=self.config.timeout,
                policy=self.retry,
                deadline=deadline,
                sleep=self._sleep,
                # A keyed write is applied at most once by the provider, so a lost answer is worth another attempt.
                idempotent=True if key else None,
            )
        except TransportError as error:
            failure = transport_failure(
                error,
                custom_endpoint=self.config.endpoint != f"https://{self.config.api_host}",
                client_certificate=self.credentials is None,
            )
            note = maybe_applied(request.method, transport_kind=error.kind, key=key)
            if note:
                failure = replace(failure, hint=f"{failure.hint}; {note}")
            logger.warning("API unreachable", extra={"error": failure.error, "hint": failure.hint})
            return failure.result()
        return self._result(request, target, answer, key)

    def _result(self, request: ApiRequest, target: str, answer: Answer, key: str | None) -> dict[str, Any]:
        body = answer.body.decode("utf-8", errors="replace")
        result: dict[str, Any] = {"statusCode": answer.status, "headers": answer.headers, "body": body}
        log_fields = {"method": request.method, "target": target, "status": answer.status, "attempts": answer.attempts}
        if answer.status < 400:
            logger.info("API call succeeded", extra=log_fields)
            return result
        tries = f" after {answer.attempts} attempts" if answer.attempts > 1 else ""
        result["error"] = f"{self.config.api_host} answered {answer.status}{tries}"
        certificate_path = "mtls" in target.partition("?")[0].split("/")
        if answer.status == 403:
            hint: str | None = forbidden_hint(body, answer.headers, certificate_path=certificate_path)
        else:
            hint = status_hint(answer.status)
        hint = retried_hint(request.method, answer.status, answer.attempts) or hint
        note = maybe_applied(request.method, status=answer.status, key=key)
        if note:
            hint = f"{hint}; {note}" if hint else note
        if hint:
            result["hint"] = hint
        logger.warning("API call failed", extra={**log_fields, "hint": hint})
        return result


def build_direct_invoker(environ: Mapping[str, str] | None = None) -> Invoker:
    """The direct client: signs with the function's own execution-role credentials."""
    return build_invoker(environ, needs_role=False, credentials=lambda _: own_credentials(environ))


def build_invoker(
    environ: Mapping[str, str] | None, *, needs_role: bool, credentials: Callable[[ClientConfig], CredentialSource]
) -> Invoker:
    """Validate the configuration and build an Invoker with its credential source; a bad setting fails the start."""
    try:
        config = load_config(environ, needs_role=needs_role)
        return Invoker(config, credentials(config))
    except ConfigError as error:
        # Fail the cold start with the variable's name rather than limp on with a broken setup.
        logger.error("invalid configuration", extra={"error": str(error)})
        raise


def _with_idempotency_key(request: ApiRequest, context: Context | None) -> tuple[ApiRequest, str | None]:
    """Give a write its Idempotency-Key: the caller's own (checked), else this invocation's request id."""
    if request.method not in _KEYED_METHODS:
        return request, None
    headers = dict(request.headers or {})
    own = next(((name, value) for name, value in headers.items() if name.lower() == IDEMPOTENCY_HEADER.lower()), None)
    if own is not None:
        # Present means the caller's: an empty or malformed key is refused, never replaced by a second header.
        name, value = own
        if not _KEY_PATTERN.fullmatch(value):
            raise EventError(f"event.headers.{name} must be 1-128 printable ASCII characters without spaces")
        return request, value
    # Lambda's request id is the same when Lambda itself retries an asynchronous invocation: a repeat, not new work.
    # Outside Lambda (no request id): 128 random bits; os, not uuid, which the direct client otherwise never imports.
    key = str(getattr(context, "aws_request_id", "") or os.urandom(16).hex())
    return replace(request, headers={**headers, IDEMPOTENCY_HEADER: key}), key


def _deadline(context: Context | None) -> float | None:
    remaining: Callable[[], int] | None = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return time.monotonic() + remaining() / 1000 - _SAFETY_MARGIN_S


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise EventError(f"event.{key} must be a string")
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise EventError(f"event.{key} contains control characters")
    _check_unicode(value, f"event.{key}")
    return value


def _check_unicode(value: str, label: str) -> None:
    # An unpaired surrogate (a JSON escape such as "\\ud800") has no UTF-8 form: it cannot be signed or sent.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise EventError(f"{label} contains an unpaired surrogate ({value[error.start]!a}); send valid text") from None


def _query(value: Any) -> dict[str, str | list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError("event.query must be an object of parameter names to values")
    query: dict[str, str | list[str]] = {}
    for key, item in value.items():
        _check_unicode(str(key), "event.query (a parameter name)")
        if isinstance(item, list):
            query[str(key)] = [_scalar(v, f"query.{key}") for v in item]
        else:
            query[str(key)] = _scalar(item, f"query.{key}")
    return query


def _headers(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise EventError("event.headers must be an object of header names to values")
    headers: dict[str, str] = {}
    for name, item in value.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise EventError(f"event.headers has an invalid header name {name!r}")
        if name.lower() in _FRAMING_HEADERS:
            raise EventError(f"event.headers.{name} may not be set: the client frames the request from its body")
        if name.lower() in _SIGNING_HEADERS:
            raise EventError(f"event.headers.{name} may not be set: the client's SigV4 signer sets it")
        text = _text(_scalar(item, f"headers.{name}"), f"headers.{name}")
        # http.client sends header values as latin-1; anything beyond it cannot be sent as given.
        if any(ord(c) > 0xFF for c in text):
            raise EventError(
                f"event.headers.{name} has characters outside latin-1; encode the value (e.g. percent-encode)"
            )
        headers[name] = text
    return headers


def _scalar(value: Any, key: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        _check_unicode(value, f"event.{key}")
        return value
    if isinstance(value, int | float):
        return str(value)
    raise EventError(f"event.{key} must be a string or number")


def _body(value: Any) -> tuple[bytes, str | None]:
    if value is None:
        return b"", None
    if isinstance(value, str):
        _check_unicode(value, "event.body")
        return value.encode("utf-8"), None
    return json.dumps(value, separators=(",", ":")).encode("utf-8"), "application/json"


def _clean_path(path: str) -> str:
    segments = path.split("/")
    if any(segment in (".", "..") for segment in segments):
        raise EventError("event.path must not contain '.' or '..' segments")
    # Collapse '//' here because SigV4 canonicalisation would, and signed and sent paths must be identical.
    return re.sub(r"/{2,}", "/", path)
