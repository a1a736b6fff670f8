"""sts:AssumeRole as one signed POST: the client's own signing path and transport, no botocore client.

A botocore STS client costs about 110 ms of CPU before its first call (botocore.session imported, the service model
and endpoint rules loaded, the client class generated), for an API the assume-role client calls once an hour. The
call itself is small: a form-encoded POST signed for service ``sts``, answered with an XML document.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import urlencode, urlsplit
from xml.etree import ElementTree  # nosec B405  # only STS's own answers are parsed (see _parse)

from client.credentials import CredentialSource, StsError, StsUnreachable
from client.signing import sign_request
from client.transport import INVOCATION_DEADLINE, Answer, RetryPolicy, TransportError, is_overloaded, new_pool, send

__all__ = ["AssumeRoleCall", "StsError", "StsUnreachable"]

API_VERSION = "2011-06-15"
# Error codes STS uses when it sheds load; botocore's standard retry mode retries them too.
_THROTTLING = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"})
_FORM = "application/x-www-form-urlencoded; charset=utf-8"
_DEFAULT_PORTS = {"https": 443, "http": 80}


class AssumeRoleCall:
    """Calls sts:AssumeRole for one role; each call returns credentials in the shape botocore's refresh reads.

    The result has the keys botocore's refreshable credentials read (access_key, secret_key, token, expiry_time).
    Each call opens its own connection and closes it (``Connection: close``): the next refresh comes about 45
    minutes later, long after any idle timeout on the way (PrivateLink drops idle flows after 350 s), so a kept
    connection would only turn into a failed first attempt.
    """

    def __init__(
        self,
        *,
        endpoint: str,
        role_arn: str,
        session_name: str,
        region: str,
        timeout: float,
        source: CredentialSource,
        ca_bundle: str | None = None,
        duration_seconds: int | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.host = _signed_host(endpoint)
        self.role_arn = role_arn
        self._pool = new_pool(endpoint, ca_bundle, plain_http=True)  # config allows http:// for loopback only
        self._form = {"Action": "AssumeRole", "Version": API_VERSION, "RoleArn": role_arn}
        self._form["RoleSessionName"] = session_name
        if duration_seconds is not None:
            self._form["DurationSeconds"] = str(duration_seconds)
        self._region = region
        self._timeout = timeout
        self._source = source
        self._retry = retry or RetryPolicy(max_attempts=2)
        self._sleep = sleep
        self._clock = clock

    def __call__(self) -> dict[str, str]:
        """Assume the role now; raise StsError (STS said no) or StsUnreachable (no answer).

        Up to ``retry.max_attempts`` attempts in all: connection failures, timeouts, 5xx, 429 and STS's throttling
        codes are retried (AssumeRole changes nothing), within the running invocation's deadline.
        """
        body = urlencode(self._form).encode("ascii")
        keys = self._source.get_frozen_credentials()

        def sign() -> dict[str, str]:
            signed = sign_request(
                method="POST",
                host=self.host,
                target="/",
                headers={"Content-Type": _FORM},
                body=body,
                credentials=keys,
                region=self._region,
                service="sts",
            )
            return {**signed, "Connection": "close"}  # hop-by-hop, so left out of the signature

        try:
            # AssumeRole changes nothing, so it is retried like a GET, within the running invocation's deadline.
            answer = send(
                self._pool,
                method="POST",
                target="/",
                sign=sign,
                body=body,
                timeout=self._timeout,
                policy=self._retry,
                deadline=INVOCATION_DEADLINE.get(),
                sleep=self._sleep,
                clock=self._clock,
                idempotent=True,
                retry_answer=_worth_retrying,
            )
        except TransportError as error:
            raise StsUnreachable(error.kind, error.detail, error.attempts, timeout=self._timeout) from None
        if 200 <= answer.status < 300:
            return _credentials(answer)
        raise _error(answer)


def _worth_retrying(answer: Answer) -> bool:
    """429, 5xx, or STS shedding load (a 400 whose code says throttling)."""
    return is_overloaded(answer) or (answer.status == 400 and _error(answer).code in _THROTTLING)


def _signed_host(endpoint: str) -> str:
    """The endpoint's host as botocore signs it: the port only when not the scheme's default; IPv6 in brackets."""
    parts = urlsplit(endpoint)
    host = str(parts.hostname)
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    return host + (f":{port}" if port and port != _DEFAULT_PORTS.get(parts.scheme) else "")


def _credentials(answer: Answer) -> dict[str, str]:
    root = _parse(answer)
    fields = {name: _text(root, name) for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")}
    missing = [name for name, value in fields.items() if not value]
    if root is None or missing:
        raise StsError(answer.status, "MalformedResponse", f"STS's answer has no {', '.join(missing) or 'XML'}")
    try:
        # botocore compares the expiry with an aware UTC clock: a date without a zone would break every refresh.
        expiry = datetime.fromisoformat(fields["Expiration"].replace("Z", "+00:00"))
    except ValueError:
        expiry = None
    if expiry is None or expiry.utcoffset() is None:
        raise StsError(answer.status, "MalformedResponse", "STS's answer has no Expiration with a time zone")
    return {
        "access_key": fields["AccessKeyId"],
        "secret_key": fields["SecretAccessKey"],
        "token": fields["SessionToken"],
        "expiry_time": expiry.isoformat(),
    }


def _error(answer: Answer) -> StsError:
    root = _parse(answer)
    code = _text(root, "Code")
    if root is None or not code:
        snippet = answer.body[:200].decode("utf-8", errors="replace").strip()
        return StsError(answer.status, f"HTTP {answer.status}", snippet or "empty answer", attempts=answer.attempts)
    return StsError(
        answer.status, code, _text(root, "Message"), _text(root, "RequestId") or None, attempts=answer.attempts
    )


def _parse(answer: Answer) -> ElementTree.Element | None:
    try:
        # STS's own answer over verified TLS (or a local emulator). ElementTree resolves no external entities, and
        # the expat it ships with (>= 2.4.1) caps entity expansion, so a hostile body cannot blow up memory.
        return ElementTree.fromstring(answer.body)  # noqa: S314  # nosec B314
    except ElementTree.ParseError:
        return None


def _text(root: ElementTree.Element | None, name: str) -> str:
    """Text of the first element named ``name`` in any namespace (STS's documents use one; emulators may not)."""
    if root is None:
        return ""
    for element in root.iter():
        if element.tag == name or element.tag.endswith("}" + name):
            return (element.text or "").strip()
    return ""
