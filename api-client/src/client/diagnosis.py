"""Explain failures in one line: API Gateway 403 classes, network errors and STS errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from client.credentials import StsError, StsUnreachable
from client.transport import IDEMPOTENT_METHODS, TransportError, TransportFailure

if TYPE_CHECKING:  # the certificate module stays off the signing clients' cold path
    from client.client_cert import CertificateError

__all__ = [
    "Failure",
    "certificate_failure",
    "credentials_failure",
    "forbidden_hint",
    "maybe_applied",
    "retried_hint",
    "status_hint",
    "transport_failure",
]

# The /mtls backend's own 403s (api-backend/src/backend/certificate.py), checked first.
_CERTIFICATE_FORBIDDEN: tuple[tuple[str, str], ...] = (
    ("subject not allowed", "Add tenant:<subject> (as shown) to the provider's pMtlsAllowedClients"),
    ("path is not enabled", "The provider's certificate path is off (pEnableMtls=No)"),
    ("provider's load balancer", "Certificate requests must go through the provider's endpoint service"),
    ("ambiguous client cert", "Do not send X-Amzn-Mtls-Clientcert-* headers: the load balancer sets them"),
)
# On /mtls an explicit deny is the resource policy's DenyCertificatePathElsewhere.
_CERTIFICATE_DENY = "Explicit deny on /mtls: certificate requests must go through the provider's endpoint service"

# Checked in order; the first phrase found in API Gateway's 403 message decides the hint.
_FORBIDDEN_HINTS: tuple[tuple[str, str], ...] = (
    (
        "missing authentication token",
        "Missing Authentication Token: the request was unsigned, or its path, stage (API_PREFIX) or method does not "
        "exist on the API",
    ),
    (
        "signature expired",
        "Signature expired: the signing clock is more than 5 minutes off, or the request was replayed",
    ),
    (
        "security token included in the request is expired",
        "Expired credentials: the session token expired before API Gateway checked it (signing clock far off, or "
        "a session used past its expiry); assumed-role credentials are refreshed 10-15 minutes before expiry",
    ),
    (
        "security token included in the request is invalid",
        "Invalid token: API Gateway does not recognise these credentials (wrong account/partition, or a "
        "revoked or expired session token)",
    ),
    (
        "signature we calculated does not match",
        "Signature mismatch: the signed host, path, query or body differ from what arrived (API_HOST must be "
        "the API's own {api-id}.execute-api host)",
    ),
    (
        "explicit deny in a vpc endpoint policy",
        "Explicit deny in the VPC endpoint policy: this endpoint may not invoke this API or stage",
    ),
    (
        "no vpc endpoint policy allows",
        "Denied by the VPC endpoint policy: it does not allow execute-api:Invoke on this API and stage",
    ),
    (
        "/domainnames/",
        "The domain's policy rejects this VPC endpoint (pAllowedVPCEndpoints)",
    ),
    (
        "explicit deny",
        "Explicit deny: the API resource policy rejects this VPC endpoint (pAllowedVPCEndpoints) or principal, "
        "or the VPC endpoint policy rejects the call",
    ),
    (
        "no identity-based policy allows",
        "No identity-based policy allows execute-api:Invoke: the caller's role needs it on this API",
    ),
    (
        "no resource-based policy allows",
        "The API resource policy does not allow this principal (provider pAPIAccessList / pTrustedPrincipals)",
    ),
    (
        "user: anonymous",
        "The API saw an anonymous caller: the request was not signed with credentials it accepts",
    ),
    (
        "not authorized to perform",
        "Not authorized: the API resource policy and/or the caller's identity policy do not allow this principal",
    ),
)
_FORBIDDEN_BY_TYPE = {
    "missingauthenticationtokenexception": _FORBIDDEN_HINTS[0][1],
    "invalidsignatureexception": _FORBIDDEN_HINTS[4][1],
    "expiredtokenexception": _FORBIDDEN_HINTS[2][1],
    "unrecognizedclientexception": _FORBIDDEN_HINTS[3][1],
    "accessdeniedexception": _FORBIDDEN_HINTS[-1][1],
}
_FORBIDDEN_OTHER = (
    "Forbidden without details: WAF blocked the request, or it reached the API without passing through an allowed "
    "VPC endpoint (private DNS off and no API_ENDPOINT?), or (domain) no access association or base path "
    "API_PREFIX; see the provider's access log"
)


@dataclass(frozen=True)
class Failure:
    """A call that produced no API answer: the status to report, what happened, and what to check."""

    status: int
    error: str
    hint: str

    def result(self) -> dict[str, object]:
        """The handler result for this failure (same shape as an API answer, plus error and hint)."""
        return {"statusCode": self.status, "headers": {}, "body": "", "error": self.error, "hint": self.hint}


def forbidden_hint(body: str, headers: Mapping[str, str], *, certificate_path: bool = False) -> str:
    """Classify an API Gateway 403 from its message and x-amzn-ErrorType header (and the /mtls backend's 403s)."""
    message = _message(body).lower()
    for phrase, hint in _CERTIFICATE_FORBIDDEN:
        if phrase in message:
            return hint
    if certificate_path and "explicit deny" in message:
        return _CERTIFICATE_DENY
    for phrase, hint in _FORBIDDEN_HINTS:
        if phrase in message:
            return hint
    error_type = next((v for k, v in headers.items() if k.lower() == "x-amzn-errortype"), "")
    return _FORBIDDEN_BY_TYPE.get(error_type.split(":", 1)[0].strip().lower(), _FORBIDDEN_OTHER)


def status_hint(status: int) -> str | None:
    """A short hint for other non-2xx answers worth explaining, or None."""
    if status == 429:
        return "Throttled by API Gateway (stage, account or usage-plan limits); retries were exhausted"
    if status == 504:
        return "The provider's integration timed out (API Gateway waits at most 29 s by default)"
    if status >= 500:
        return "The provider's backend failed; see its logs and the API access log"
    if status == 404:
        return "No such resource: check the path and API_PREFIX (stage)"
    return None


_IDEMPOTENCY_HEADER = "Idempotency-Key"
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def maybe_applied(
    method: str, *, transport_kind: TransportFailure | None = None, status: int | None = None, key: str | None = None
) -> str | None:
    """For a non-idempotent request that failed after it may have been sent: say so (or how to resend it), else None."""
    if method.upper() in IDEMPOTENT_METHODS or (transport_kind is not None and transport_kind.before_sending):
        return None
    if status is not None and status < 500:
        return None  # API Gateway or the backend refused it: nothing was applied
    if key:
        # The provider applies a keyed write at most once and answers a repeat with the first answer.
        return (
            f'send it again with headers {{"{_IDEMPOTENCY_HEADER}": "{key}"}} in the event (within an hour): '
            "it is applied at most once"
        )
    return f"the {method.upper()} may have been applied before the failure: check before sending it again"


def retried_hint(method: str, status: int, attempts: int) -> str | None:
    """A write refused (404/409) on a retry: the refusal can be the result of this request's own first attempt."""
    if attempts < 2 or method.upper() not in _WRITES or status not in (404, 409):
        return None
    return (
        f"an earlier attempt of this {method.upper()} may have been applied before its answer was lost, and this "
        f"{status} may answer that change rather than another writer's: read the item to check"
    )


def transport_failure(error: TransportError, *, custom_endpoint: bool, client_certificate: bool = False) -> Failure:
    """Explain a network-level failure reaching the API (or the TLS alert refusing a client certificate)."""
    attempts = f" ({error.attempts} attempts)" if error.attempts > 1 else ""
    status = 504 if error.kind.timed_out else 502
    refused = _certificate_refusal(error.detail, error.kind) if client_certificate else None
    if refused:
        hint = f"TLS refused by the provider's load balancer: {refused}; check the certificate chain/expiry/CRL"
        return Failure(status, error.detail + attempts, hint)
    return Failure(status, error.detail + attempts, _TRANSPORT_HINTS[error.kind](custom_endpoint))


# OpenSSL's words for the alert refusing a client certificate. Under TLS 1.3 it follows the handshake and can be lost
# to the server's close.
_CERTIFICATE_ALERTS: tuple[tuple[str, str], ...] = (
    ("certificate required", "no client certificate was sent"),
    ("unknown ca", "its trust store lacks the certificate's CA"),
    ("certificate expired", "the certificate expired"),
    ("certificate revoked", "the certificate is revoked"),
    ("bad certificate", "the certificate was rejected"),
    ("handshake failure", "handshake failure"),
)


def _certificate_refusal(detail: str, kind: TransportFailure) -> str | None:
    lowered = detail.lower()
    why = next((why for alert, why in _CERTIFICATE_ALERTS if alert in lowered), None)
    if why is None and kind is TransportFailure.CONNECTION and "closed the connection" in lowered:
        return "probably (under TLS 1.3 a refusal can show as a closed connection)"
    return why


def certificate_failure(error: CertificateError) -> Failure:
    """Explain why the client certificate could not be loaded from Secrets Manager."""
    return Failure(
        502, f"client certificate unavailable ({error.kind}): {error.detail}", _CERTIFICATE_HINTS[error.kind]
    )


_CERTIFICATE_HINTS: dict[str, str] = {
    "missing-secret": "No such secret: check pMtlsCertificateSecretArn (ARN, Region, not deleted)",
    "access-denied": "The role needs secretsmanager:GetSecretValue on the secret (kms:Decrypt for a CMK)",
    "malformed-pem": 'The secret must be JSON {"certificate": PEM, "privateKey": unencrypted PEM, "chain"?: PEM}',
    "key-mismatch": "privateKey is not the key of certificate: store the pair issued together",
    "unreachable": "No path to Secrets Manager: add its interface endpoint (private DNS) to the VPC",
    "secret-error": "Secrets Manager refused the read: see the error",
}


def credentials_failure(error: Exception, role_arn: str | None) -> Failure:
    """Explain why signing credentials could not be obtained (STS refused or unreachable, or a refresh gave up)."""
    target = f"sts:AssumeRole into {role_arn}" if role_arn else "loading credentials"
    if isinstance(error, StsError):
        return _sts_refused(target, error)
    if isinstance(error, StsUnreachable):
        return _sts_unreachable(target, error)
    # botocore's refresh giving up on stale keys (RuntimeError), or a local profile's credential chain failing.
    return Failure(502, f"{target} failed: {type(error).__name__}: {error}", "See the function log")


def _sts_unreachable(target: str, error: StsUnreachable) -> Failure:
    if error.kind is TransportFailure.TLS:
        return Failure(
            502,
            f"{target} failed: {error}",
            "TLS with STS failed: AWS_CA_BUNDLE (if set) must hold the CA of the STS endpoint's certificate",
        )
    tries = _tries(error.attempts)
    if error.kind is TransportFailure.TIMEOUT:
        # Connected, so there is a path: STS (or what answers at its endpoint) is slow, not unreachable.
        waited = f" within {error.timeout:g}s" if error.timeout else " in time"
        return Failure(
            504,
            f"{target} failed: STS did not answer ({error})",
            f"STS did not answer{waited} ({tries}): the STS endpoint accepted the connection but answered too "
            "slowly; API_TIMEOUT bounds each attempt",
        )
    if error.kind is TransportFailure.CONNECTION:
        return Failure(
            502,
            f"{target} failed: {error}",
            f"The connection to STS broke before it answered ({tries}): the STS endpoint closed or reset it",
        )
    return Failure(
        504,
        f"{target} failed: STS unreachable ({error})",
        "No path to STS from this VPC: create the STS interface endpoint (pCreateSTSEndpoint=Yes, private DNS) "
        "or allow the client security group to reach an existing one",
    )


def _sts_refused(target: str, error: StsError) -> Failure:
    code, message = error.code, error.message
    if error.status >= 500:
        return Failure(
            502,
            f"{target} failed ({code}): {message}",
            f"STS answered {error.status} (a server-side error; {_tries(error.attempts)}): STS or what answers at "
            "its endpoint failed, not the request; a later invocation retries",
        )
    if code == "AccessDenied":
        return Failure(
            502,
            f"{target} was denied: {message}",
            "The provider role's trust policy must trust this account or role (provider pTrustedPrincipals), "
            "this function's role needs sts:AssumeRole on it, and the STS endpoint policy must allow it",
        )
    if code == "MalformedResponse":
        hint = "The answer was not STS's: check what answers at the STS endpoint (AWS_ENDPOINT_URL_STS, private DNS)"
    else:
        hint = "STS refused the request; see the error code"
    return Failure(502, f"{target} failed ({code}): {message}", hint)


def _tries(attempts: int) -> str:
    return f"tried {attempts} times" if attempts > 1 else "tried once"


def _message(body: str) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    if isinstance(parsed, dict):
        return str(parsed.get("message") or parsed.get("Message") or body)
    return body


def _dns_hint(custom_endpoint: bool) -> str:
    if custom_endpoint:
        return "API_ENDPOINT does not resolve: it must be the endpoint's current DNS name (APIGatewayEndpointDNS)"
    return (
        "The API host must resolve inside the VPC: enable private DNS on the execute-api endpoint (and DNS "
        "support + host names on the VPC), or set API_ENDPOINT to the endpoint's DNS name"
    )


_TRANSPORT_HINTS: dict[TransportFailure, Callable[[bool], str]] = {
    TransportFailure.DNS: _dns_hint,
    TransportFailure.CONNECT: lambda _: (
        "No network path on 443: the client security group must allow HTTPS to the endpoint's security group, "
        "which must accept it"
    ),
    TransportFailure.CONNECT_TIMEOUT: lambda _: (
        "Connecting timed out: a security group or network ACL drops HTTPS between the function and the endpoint"
    ),
    TransportFailure.TIMEOUT: lambda _: (
        "Connected but no answer within API_TIMEOUT: the provider is slow or stuck (pAPITimeout)"
    ),
    TransportFailure.TLS: lambda _: (
        "TLS verification failed: API_ENDPOINT (or API_HOST) must be a name the server certificate covers; use "
        "API_CA_BUNDLE only for private CAs"
    ),
    TransportFailure.CONNECTION: lambda _: (
        "The connection broke mid-request; the endpoint or provider may be overloaded"
    ),
}
