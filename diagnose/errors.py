"""Why a read failed: no connection, credentials that do not work, no permission to read, nothing there, or other.

diagnose records each failed read as "Code: message" (diagnose.collect.describe_error: the AWS error code, or the
botocore exception's class name). The kind decides what a check says it needs; a failed read is never a denial.
"""

from __future__ import annotations

import inspect
from enum import Enum

import botocore.exceptions as botocore_errors

from diagnose.results import Outcome, unknown

__all__ = ["ErrorKind", "error_kind", "not_read", "not_read_needs"]


class ErrorKind(Enum):
    """The cause of a failed read."""

    CONNECTION = "connection"  # no answer from AWS: endpoint unreachable, timeout, TLS, proxy
    CREDENTIALS = "credentials"  # the profile's credentials are missing, expired or unknown to AWS
    PERMISSION = "permission"  # AWS answered: this identity may not make this read
    NOT_FOUND = "not-found"  # AWS answered: there is no such thing
    OTHER = "other"  # throttling, service errors, anything else


def _subclass_names(*bases: type) -> frozenset[str]:
    """The class names of botocore's exceptions derived from the bases (botocore may add more in later versions)."""
    found = {
        name for name, cls in inspect.getmembers(botocore_errors, inspect.isclass) if issubclass(cls, tuple(bases))
    }
    return frozenset(found)


# botocore raises these before or instead of an answer from AWS.
_CONNECTION = _subclass_names(botocore_errors.ConnectionError, botocore_errors.HTTPClientError)
_CREDENTIALS = _subclass_names(
    botocore_errors.NoCredentialsError,
    botocore_errors.PartialCredentialsError,
    botocore_errors.CredentialRetrievalError,
    botocore_errors.SSOError,
    botocore_errors.TokenRetrievalError,
    botocore_errors.NoAuthTokenError,
    botocore_errors.RefreshWithMFAUnsupportedError,
    botocore_errors.UnknownCredentialError,
    *(getattr(botocore_errors, name) for name in ("LoginError",) if hasattr(botocore_errors, name)),  # newer botocore
)
# AWS's common error codes (and EC2's): the signing credentials are expired or not known to AWS.
_CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "AuthFailure",
        "RequestExpired",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "MissingAuthenticationToken",
    }
)
# The identity is known but may not make this call (EC2 says UnauthorizedOperation, most others AccessDenied*).
_PERMISSION_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "NotAuthorized", "Forbidden", "OptInRequired"}
)
_NOT_FOUND_WORDS = ("does not exist", "notfound", "not found", "nosuchentity", "cannot be found")


def error_kind(text: str | None) -> ErrorKind:
    """Classify a recorded read error ("Code: message")."""
    if not text:
        return ErrorKind.OTHER
    code = text.split(":", 1)[0].strip()
    if code in _CONNECTION:
        return ErrorKind.CONNECTION
    if code in _CREDENTIALS or code in _CREDENTIAL_CODES:
        return ErrorKind.CREDENTIALS
    if code in _PERMISSION_CODES:
        return ErrorKind.PERMISSION
    if any(word in text.lower() for word in _NOT_FOUND_WORDS):
        return ErrorKind.NOT_FOUND
    return ErrorKind.OTHER


def not_read_needs(error: str | None, *, permission: str, profile: str) -> str:
    """What would let a read succeed, by the cause of its failure."""
    kind = error_kind(error)
    if kind is ErrorKind.CONNECTION:
        return (
            "a connection to AWS from this machine: check the network, proxy (HTTPS_PROXY) and any endpoint_url or "
            f"AWS_ENDPOINT_URL set for profile '{profile}', then run again"
        )
    if kind is ErrorKind.CREDENTIALS:
        return f"fresh credentials for profile '{profile}' (for SSO: aws sso login --profile {profile})"
    return f"{permission} for profile '{profile}'"


def not_read(what: str, error: str | None, *, permission: str, profile: str) -> Outcome:
    """A check whose input could not be read: not checked, with the cause and what would let it run."""
    kind = error_kind(error)
    if kind is ErrorKind.CONNECTION:
        detail = f"not checked: could not connect to AWS for profile '{profile}' to read {what} ({error})"
    elif kind is ErrorKind.CREDENTIALS:
        detail = f"not checked: the credentials of profile '{profile}' do not work ({error})"
    elif kind is ErrorKind.PERMISSION:
        detail = f"not checked: profile '{profile}' may not read {what} ({error})"
    else:
        detail = f"not checked: could not read {what} ({error})"
    return unknown(detail, not_read_needs(error, permission=permission, profile=profile))
