"""Names shared by the client and the tools that reason about it: the client kinds and the STS session name."""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = ["DEFAULT_SESSION_NAME", "SESSION_NAME_MAX", "ClientKind", "role_session_name"]

# AWS's RoleSessionName constraint: 2 to 64 characters of [\w+=,.@-] (\w being ASCII letters, digits and underscore).
SESSION_NAME_MAX = 64
_SESSION_NAME_MIN = 2
_SESSION_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9+=,.@_-]")
DEFAULT_SESSION_NAME = "api-client"  # when the function name leaves fewer than 2 characters


class ClientKind(StrEnum):
    """One of the client functions; its value is how diagnose's report and JSON spell it."""

    DIRECT = "direct"
    ASSUME_ROLE = "assume-role"
    CERTIFICATE = "certificate"  # mutual TLS, no SigV4 (docs/mtls.md)

    @property
    def module(self) -> str:
        """The handler module's name inside the client package ('direct_auth', 'assume_role' or 'certificate')."""
        return _MODULES[self]

    @property
    def handler(self) -> str:
        """The function's Handler setting in the client template."""
        return f"client.{self.module}.handler"

    @classmethod
    def of(cls, name: str) -> ClientKind:
        """The kind named by its value ('assume-role') or its handler module ('assume_role'); else ValueError."""
        for kind in cls:
            if name in (kind.value, kind.module):
                return kind
        choices = ", ".join(repr(spelling) for kind in cls for spelling in dict.fromkeys((kind.value, kind.module)))
        raise ValueError(f"{name!r} is not a client kind: expected one of {choices}")


_MODULES = {
    ClientKind.DIRECT: "direct_auth",
    ClientKind.ASSUME_ROLE: "assume_role",
    ClientKind.CERTIFICATE: "certificate",
}


def role_session_name(function_name: str) -> str:
    """The RoleSessionName the assume-role client gives its STS session: the function's name, made valid for STS."""
    # It shows up in the provider's CloudTrail and access logs as the caller, so it names the function.
    cleaned = _SESSION_NAME_UNSAFE.sub("-", function_name)[:SESSION_NAME_MAX]
    return cleaned if len(cleaned) >= _SESSION_NAME_MIN else DEFAULT_SESSION_NAME
