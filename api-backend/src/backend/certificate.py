"""The certificate caller of the /mtls routes: the subject the provider's ALB verified, mapped to a tenant.

The /mtls methods have no IAM authorization: the resource policy admits them only through the provider's own
execute-api endpoint (the one behind the ALB), and these checks hold a second time in the backend, in this order
(docs/mtls.md): the path is enabled, the request came through that endpoint, the ALB's headers occur exactly once,
the subject is on the allow-list.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from backend.errors import ApiError, ForbiddenError
from backend.identity import IDENTITY_FIELDS, Caller

PREFIX = "/mtls"
SUBJECT_HEADER = "X-Amzn-Mtls-Clientcert-Subject"
SERIAL_HEADER = "X-Amzn-Mtls-Clientcert-Serial-Number"
ENDPOINT_ENV = "MTLS_ENDPOINT_ID"
ALLOWED_ENV = "MTLS_ALLOWED_CLIENTS"
CALLER_NAMESPACE = "cert:"

# A tenant becomes part of the items' partition key ("cert:<tenant>"): short, and never a 12-digit account id.
_TENANT = re.compile(r"^[a-z0-9-]{1,32}$")
# The serial goes into the principal recorded on writes and into logs: printable, no spaces, bounded. Its exact
# rendering by the ALB (case, leading zeros, colons) is only known from a real deployment, so it is not narrowed more.
_SERIAL = re.compile(r"^[\x21-\x7e]{1,128}$")

NOT_ENABLED = "The certificate path is not enabled"
WRONG_ENDPOINT = "Certificate requests must arrive through the provider's load balancer"
AMBIGUOUS = "Ambiguous client certificate headers"
NOT_ALLOWED = "Certificate subject not allowed: {subject}"


class MisconfiguredError(ApiError):
    """MTLS_ALLOWED_CLIENTS cannot be read: a deployment fault, not the caller's, so a 500 (alarms count 5XX)."""

    status = 500


class AllowListError(ValueError):
    """MTLS_ALLOWED_CLIENTS is malformed; the message names the entry, never a whole list of subjects."""


@dataclass(frozen=True)
class Settings:
    """The certificate path's configuration, read once per container."""

    endpoint_id: str
    # subject DN exactly as the ALB forwards it (RFC 2253) -> tenant
    allowed: dict[str, str]
    # Set when MTLS_ALLOWED_CLIENTS is malformed: every /mtls request answers 500 with it; the IAM routes still work.
    problem: str | None = None


def parse_allowed_clients(text: str) -> dict[str, str]:
    """Parse `tenant:DN;tenant:DN` where a `;` inside a DN is backslash-escaped as RFC 2253 writes it."""
    allowed: dict[str, str] = {}
    for number, entry in enumerate(_split_entries(text), start=1):
        tenant, separator, subject = entry.partition(":")
        tenant, subject = tenant.strip(), subject.strip()
        if not separator or not subject:
            raise AllowListError(f"entry {number} is not tenant:subject-DN")
        if not _TENANT.fullmatch(tenant):
            raise AllowListError(f"entry {number}: tenant {tenant!r} must match {_TENANT.pattern}")
        if allowed.get(subject, tenant) != tenant:
            raise AllowListError(f"entry {number}: the same subject is mapped to two tenants")
        allowed[subject] = tenant
    return allowed


def _split_entries(text: str) -> list[str]:
    # The DN is kept verbatim (escapes included) because the ALB forwards it escaped and it is compared as a string.
    entries: list[str] = []
    current: list[str] = []
    characters = iter(text)
    for character in characters:
        if character == "\\":
            current.append(character + next(characters, ""))
        elif character == ";":
            entries.append("".join(current))
            current = []
        else:
            current.append(character)
    entries.append("".join(current))
    if len(entries) == 1 and not entries[0].strip():
        return []
    return entries


def settings_from_env() -> Settings:
    """Read MTLS_ENDPOINT_ID and MTLS_ALLOWED_CLIENTS; a malformed allow-list is recorded, never raised at import."""
    endpoint_id = os.environ.get(ENDPOINT_ENV, "").strip()
    try:
        allowed = parse_allowed_clients(os.environ.get(ALLOWED_ENV, ""))
    except AllowListError as error:
        return Settings(endpoint_id=endpoint_id, allowed={}, problem=f"{ALLOWED_ENV} is malformed: {error}")
    return Settings(endpoint_id=endpoint_id, allowed=allowed)


def is_certificate_route(event: dict[str, Any]) -> bool:
    """True for the /mtls routes; `resource` is the matched route API Gateway sets, not the client's path."""
    resource = event.get("resource") or ""
    return resource == PREFIX or resource.startswith(PREFIX + "/")


def caller_of(event: dict[str, Any], settings: Settings) -> Caller:
    """The certificate caller of an /mtls request, or ForbiddenError naming the check that failed."""
    if not settings.endpoint_id:
        raise ForbiddenError(NOT_ENABLED)
    if settings.problem:
        raise MisconfiguredError("The certificate allow-list is misconfigured; see the function's log")
    identity = (event.get("requestContext") or {}).get("identity") or {}
    if identity.get("vpceId") != settings.endpoint_id:
        raise ForbiddenError(WRONG_ENDPOINT)
    subject = _single_header(event, SUBJECT_HEADER)
    serial = _single_header(event, SERIAL_HEADER)
    if subject is None or serial is None or not _SERIAL.fullmatch(serial):
        raise ForbiddenError(AMBIGUOUS)
    tenant = settings.allowed.get(subject)
    if tenant is None:
        raise ForbiddenError(NOT_ALLOWED.format(subject=subject))
    return Caller(account_id=f"{CALLER_NAMESPACE}{tenant}", principal_arn=f"{CALLER_NAMESPACE}{tenant}/serial/{serial}")


def describe(event: dict[str, Any], caller: Caller) -> dict[str, Any]:
    """GET /mtls: the same fields as the IAM GET /, with the certificate caller in place of the IAM one."""
    context = event.get("requestContext") or {}
    identity = context.get("identity") or {}
    described: dict[str, Any] = {name: identity.get(name) for name in IDENTITY_FIELDS}
    described.update(accountId=caller.account_id, caller=caller.principal_arn, userArn=caller.principal_arn)
    described["stage"] = context.get("stage")
    described["requestId"] = context.get("requestId")
    return described


def _single_header(event: dict[str, Any], name: str) -> str | None:
    """The header's one value, or None when it is missing or sent more than once (a client copy next to the ALB's).

    Counted case-insensitively. multiValueHeaders holds every value of a repeated header; headers holds one of them,
    so its value must be that same one. An event without multiValueHeaders (hand-written) relies on headers alone.
    """
    wanted = name.lower()
    multi = event.get("multiValueHeaders")
    single = event.get("headers") or {}
    single_values = [value for key, value in single.items() if key.lower() == wanted]
    if isinstance(multi, dict):
        values = [value for key, listed in multi.items() if key.lower() == wanted for value in (listed or [])]
        if len(values) != 1 or len(single_values) > 1 or any(value != values[0] for value in single_values):
            return None
    elif len(single_values) == 1:
        values = single_values
    else:
        return None
    value = values[0]
    return value if isinstance(value, str) and value.strip() else None
