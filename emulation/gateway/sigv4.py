"""Verify AWS Signature Version 4 (Authorization header) by recomputing it with botocore's own signer."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import ReadOnlyCredentials

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = timedelta(minutes=5)
_AMZ_DATE = "%Y%m%dT%H%M%SZ"
_PAIR = re.compile(r"^\s*(Credential|SignedHeaders|Signature)\s*=\s*(\S*?)\s*$")
_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


@dataclass(frozen=True)
class SigningCredentials:
    """The secret side of an access key, as the credential store knows it."""

    access_key: str
    secret_key: str
    token: str | None = None
    expires_at: datetime | None = None


CredentialLookup = Callable[[str], SigningCredentials | None]


class Failure(Enum):
    """Why verification failed; each service words these its own way."""

    MISSING = "missing"
    INCOMPLETE = "incomplete"
    UNKNOWN_KEY = "unknown_key"
    EXPIRED_CREDENTIALS = "expired_credentials"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    WRONG_SCOPE = "wrong_scope"


class SigV4Error(Exception):
    """A request whose signature cannot be accepted."""

    def __init__(self, failure: Failure, message: str) -> None:
        super().__init__(message)
        self.failure = failure
        self.message = message


@dataclass(frozen=True)
class Verified:
    """A request whose signature matched."""

    access_key: str
    credentials: SigningCredentials
    region: str
    service: str
    amz_date: str
    signed_headers: tuple[str, ...]


@dataclass(frozen=True)
class ReceivedRequest:
    """A request as it arrived: raw target (path?query, still percent-encoded), headers in order, body bytes."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The last value of a header, case-insensitively."""
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return found[-1] if found else None


@dataclass(frozen=True)
class _Authorization:
    access_key: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


# API Gateway's (status, x-amzn-ErrorType, message) per failure; BAD_SIGNATURE and EXPIRED carry details.
APIGATEWAY_ERRORS: dict[Failure, tuple[int, str]] = {
    Failure.MISSING: (403, "MissingAuthenticationTokenException"),
    Failure.INCOMPLETE: (403, "IncompleteSignatureException"),
    Failure.UNKNOWN_KEY: (403, "UnrecognizedClientException"),
    Failure.EXPIRED_CREDENTIALS: (403, "ExpiredTokenException"),
    Failure.BAD_SIGNATURE: (403, "InvalidSignatureException"),
    Failure.EXPIRED: (403, "InvalidSignatureException"),
    Failure.NOT_YET_VALID: (403, "InvalidSignatureException"),
    Failure.WRONG_SCOPE: (403, "InvalidSignatureException"),
}


def apigateway_error(error: SigV4Error) -> tuple[int, str, dict[str, str]]:
    """API Gateway's status, x-amzn-ErrorType and JSON body for a verification failure."""
    status, error_type = APIGATEWAY_ERRORS[error.failure]
    return status, error_type, {"message": error.message}


def _incomplete_scheme(value: str) -> SigV4Error:
    digest = base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()
    return SigV4Error(
        Failure.INCOMPLETE,
        "Invalid key=value pair (missing equal-sign) in Authorization header "
        f"(hashed with SHA-256 and encoded with Base64): '{digest}'.",
    )


def parse_authorization(value: str) -> _Authorization:
    """Split `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` into its parts."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise _incomplete_scheme(value)
    pairs: dict[str, str] = {}
    for part in rest.split(","):
        found = _PAIR.match(part)
        if not found:
            raise _incomplete_scheme(value)
        pairs[found.group(1)] = found.group(2)
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if not pairs.get(name)]
    if missing:
        text = " ".join(f"Authorization header requires '{name}' parameter." for name in missing)
        raise SigV4Error(Failure.INCOMPLETE, f"{text} Authorization={value}")
    scope = pairs["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise SigV4Error(
            Failure.INCOMPLETE,
            f"Credential should be scoped to a valid region, not '{scope[2] if len(scope) > 2 else ''}'. ",
        )
    signed = tuple(h.strip().lower() for h in pairs["SignedHeaders"].split(";") if h.strip())
    return _Authorization(
        access_key=scope[0],
        date=scope[1],
        region=scope[2],
        service=scope[3],
        signed_headers=signed,
        signature=pairs["Signature"].lower(),
    )


class _ClaimedHeadersSigner(SigV4Auth):
    """botocore's signer, limited to exactly the headers the client says it signed."""

    def __init__(self, credentials: ReadOnlyCredentials, service: str, region: str, signed: Iterable[str]) -> None:
        super().__init__(credentials, service, region)
        self._signed = tuple(signed)

    def canonical_request(self, request: AWSRequest) -> str:
        """botocore's canonical request, with the hash of the body received as its payload hash.

        botocore takes a sent X-Amz-Content-Sha256 (S3's UNSIGNED-PAYLOAD included) as the payload hash; API Gateway
        hashes the body it received, so a body that differs from what was signed is a signature mismatch.
        """
        head, _, _ = super().canonical_request(request).rpartition("\n")
        body = request.body or b""
        return f"{head}\n{hashlib.sha256(body.encode() if isinstance(body, str) else body).hexdigest()}"

    def headers_to_sign(self, request: AWSRequest) -> HTTPHeaders:
        """Every value of each claimed header, in arrival order (absent ones sign as empty)."""
        header_map = HTTPHeaders()
        for name in self._signed:
            values = request.headers.get_all(name) or [""]
            for value in values:
                header_map[name] = value
        return header_map


def _check_scope(auth: _Authorization, *, region: str, service: str) -> None:
    if auth.service != service:
        raise SigV4Error(Failure.WRONG_SCOPE, f"Credential should be scoped to correct service: '{service}'. ")
    if auth.region != region:
        raise SigV4Error(Failure.WRONG_SCOPE, f"Credential should be scoped to a valid region, not '{auth.region}'. ")


def _amz_date(request: ReceivedRequest, auth: _Authorization) -> str:
    amz_date = request.header("x-amz-date")
    if not amz_date:
        raise SigV4Error(
            Failure.INCOMPLETE,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
            f"Authorization={request.header('authorization')}",
        )
    if amz_date[:8] != auth.date:
        raise SigV4Error(
            Failure.WRONG_SCOPE,
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{auth.date}' != '{amz_date[:8]}', from '{amz_date}'.",
        )
    return amz_date


def _check_clock(amz_date: str, now: datetime) -> None:
    try:
        signed_at = datetime.strptime(amz_date, _AMZ_DATE).replace(tzinfo=UTC)
    except ValueError as error:
        raise SigV4Error(Failure.INCOMPLETE, f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'.") from error
    fmt = now.strftime(_AMZ_DATE)
    if signed_at < now - MAX_SKEW:
        earliest = (now - MAX_SKEW).strftime(_AMZ_DATE)
        raise SigV4Error(
            Failure.EXPIRED, f"Signature expired: {amz_date} is now earlier than {earliest} ({fmt} - 5 min.)"
        )
    if signed_at > now + MAX_SKEW:
        latest = (now + MAX_SKEW).strftime(_AMZ_DATE)
        raise SigV4Error(
            Failure.NOT_YET_VALID,
            f"Signature not yet current: {amz_date} is still later than {latest} ({fmt} + 5 min.)",
        )


def _rebuild(request: ReceivedRequest, host: str, amz_date: str) -> AWSRequest:
    # The signer reads the path and query from the URL exactly as they were sent (still percent-encoded).
    rebuilt = AWSRequest(method=request.method.upper(), url=f"https://{host}{request.target}", data=request.body)
    for name, value in request.headers:
        rebuilt.headers[name.lower()] = value
    rebuilt.context["timestamp"] = amz_date
    return rebuilt


def _replace_host(request: ReceivedRequest, host: str) -> ReceivedRequest:
    headers = tuple((k, host if k.lower() == "host" else v) for k, v in request.headers)
    return ReceivedRequest(method=request.method, target=request.target, headers=headers, body=request.body)


def _signature(request: ReceivedRequest, auth: _Authorization, creds: SigningCredentials, amz_date: str) -> tuple:
    host = request.header("host") or ""
    rebuilt = _rebuild(request, host, amz_date)
    signer = _ClaimedHeadersSigner(
        ReadOnlyCredentials(creds.access_key, creds.secret_key, creds.token),
        auth.service,
        auth.region,
        auth.signed_headers,
    )
    canonical = signer.canonical_request(rebuilt)
    string_to_sign = signer.string_to_sign(rebuilt, canonical)
    return signer.signature(string_to_sign, rebuilt), canonical, string_to_sign


def verify(
    request: ReceivedRequest,
    *,
    region: str,
    service: str,
    lookup: CredentialLookup,
    now: datetime | None = None,
    alternate_hosts: Iterable[str] = (),
) -> Verified:
    """Accept the request only if its SigV4 header signature matches the secret `lookup` holds for its key.

    `alternate_hosts`: other Host values the client may have signed instead of the one it sent (a private API
    reached through the endpoint's own DNS name with x-apigw-api-id is signed for the API's host).
    """
    authorization = request.header("authorization")
    if not authorization:
        raise SigV4Error(Failure.MISSING, "Missing Authentication Token")
    auth = parse_authorization(authorization)
    if "host" not in auth.signed_headers:
        raise SigV4Error(
            Failure.INCOMPLETE, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    _check_scope(auth, region=region, service=service)
    amz_date = _amz_date(request, auth)
    creds = lookup(auth.access_key)
    if creds is None or (creds.token or None) != (request.header("x-amz-security-token") or None):
        raise SigV4Error(Failure.UNKNOWN_KEY, "The security token included in the request is invalid.")
    expected, canonical, string_to_sign = _signature(request, auth, creds, amz_date)
    matched = hmac.compare_digest(expected, auth.signature)
    for host in alternate_hosts:
        if matched:
            break
        matched = hmac.compare_digest(
            _signature(_replace_host(request, host), auth, creds, amz_date)[0], auth.signature
        )
    if not matched:
        raise SigV4Error(
            Failure.BAD_SIGNATURE,
            f"{_MISMATCH}\n\nThe Canonical String for this request should have been\n'{canonical}'\n\n"
            f"The String-to-Sign should have been\n'{string_to_sign}'\n",
        )
    now = now or datetime.now(UTC)
    _check_clock(amz_date, now)
    if creds.expires_at is not None and creds.expires_at <= now:
        raise SigV4Error(Failure.EXPIRED_CREDENTIALS, "The security token included in the request is expired")
    return Verified(
        access_key=auth.access_key,
        credentials=creds,
        region=auth.region,
        service=auth.service,
        amz_date=amz_date,
        signed_headers=auth.signed_headers,
    )
