"""The function's own signing keys, and the error every credential source raises.

Kept free of botocore.credentials and botocore.session: the direct client signs with the keys Lambda puts in the
environment, and loading botocore's credential machinery (about a tenth of a cold start) would buy it nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from client.config import ConfigError
from client.transport import TransportFailure

__all__ = [
    "CredentialSource",
    "CredentialsError",
    "Keys",
    "SigningKeys",
    "StsError",
    "StsUnreachable",
    "own_credentials",
]


class SigningKeys(Protocol):
    """What SigV4 signing reads: botocore's ReadOnlyCredentials and our Keys both have it.

    The keys are optional here only because botocore types ReadOnlyCredentials' fields so; every source sets them.
    """

    @property
    def access_key(self) -> str | None:
        """Access key id."""
        ...

    @property
    def secret_key(self) -> str | None:
        """Secret access key."""
        ...

    @property
    def token(self) -> str | None:
        """Session token (None for long-term keys)."""
        ...


class CredentialSource(Protocol):
    """Where each invocation gets its keys: fixed ones, or botocore's refreshable assume-role credentials."""

    def get_frozen_credentials(self) -> SigningKeys:
        """Keys valid for this invocation (refreshable sources refresh first when needed)."""
        ...


class CredentialsError(Exception):
    """No keys to sign with; the message says what failed (the diagnosis layer explains it to the caller)."""


# The STS call's errors live here, not in client.sts, so the direct client can explain failures without loading it.
class StsError(CredentialsError):
    """STS answered with an error (``code`` as STS names it: AccessDenied, ExpiredToken, ...)."""

    def __init__(
        self, status: int, code: str, message: str, request_id: str | None = None, *, attempts: int = 1
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.attempts = attempts


class StsUnreachable(CredentialsError):
    """No answer from STS; ``kind`` says why, as TransportError's does."""

    def __init__(self, kind: TransportFailure, detail: str, attempts: int, *, timeout: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.attempts = attempts
        self.timeout = timeout  # seconds each attempt waited for an answer, when known


@dataclass(frozen=True)
class Keys:
    """A fixed set of keys: Lambda's execution-role keys do not change during an execution environment's life."""

    access_key: str
    secret_key: str
    token: str | None = None

    def get_frozen_credentials(self) -> Keys:
        """These keys (a CredentialSource that never refreshes)."""
        return self

    def __repr__(self) -> str:
        return f"Keys(access_key={self.access_key!r}, secret_key='***', token={'***' if self.token else None})"


def own_credentials(environ: Mapping[str, str] | None = None) -> CredentialSource:
    """Credentials of the function's execution role: the environment's keys (Lambda always sets them).

    Off Lambda (a local run with a profile), botocore's default credential chain is used instead.
    """
    env = os.environ if environ is None else environ
    access_key = env.get("AWS_ACCESS_KEY_ID", "").strip()
    secret_key = env.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if access_key and secret_key:
        return Keys(access_key, secret_key, env.get("AWS_SESSION_TOKEN", "").strip() or None)
    if access_key or secret_key:
        missing = "AWS_SECRET_ACCESS_KEY" if access_key else "AWS_ACCESS_KEY_ID"
        raise ConfigError(f"{missing} is empty while its partner key is set: set both, or neither to use a profile")
    return _credential_chain()


def _credential_chain() -> CredentialSource:
    # Never reached on Lambda (the keys are always in the environment), so botocore.session stays out of cold starts.
    from botocore.session import get_session  # noqa: PLC0415

    credentials = get_session().get_credentials()
    if credentials is None:
        raise ConfigError("AWS_ACCESS_KEY_ID: no AWS credentials found (Lambda sets them; set them to run locally)")
    return credentials
