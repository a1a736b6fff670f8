"""The demo's matrix: who calls, through which endpoint, and what AWS answers, for one set of demo settings.

Expected outcomes follow AWS's documented rules for a private API (see ../shared/AWS-NOTES.md): the resource policy's
Deny on aws:SourceVpce wins over every Allow; a cross-account caller needs the resource policy to name its role or its
account (the account then delegates to the role's identity policy); the access role, in the provider account, is named
directly; sts:AssumeRole needs the access role's trust policy to name the caller's account or role. The emulation
computes what it observes independently, from the rendered policies; the demo and tests/e2e compare the two.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from client.names import ClientKind
from emulation.accounts.two_accounts import CONSUMER, MAIN, OTHER, OUTSIDER, Names, TwoAccounts
from emulation.lambdas.sandbox import InvokeResult

__all__ = ["Case", "Expected", "Observed", "Settings", "build_cases"]

ACCESS_LIST_CHOICES = ("direct", "other", "account")
TRUST_CHOICES = ("account", "role", "nobody")
SITES = (MAIN, OTHER, OUTSIDER)


@dataclass(frozen=True)
class Settings:
    """The demo's knobs, in symbolic form; they become template parameters with the deployment's real ids."""

    allowed_endpoints: tuple[str, ...] | None = (MAIN,)  # sites whose endpoint is allowed; None: any endpoint
    access_list: tuple[str, ...] = ("direct",)  # main's direct role, the other site's direct role, the account
    trusted: str = "account"  # who may assume the access role: the consumer account, main's role, nobody
    private_dns: bool = True
    associate_endpoints: bool = False

    def provider_params(self, names: Names) -> dict[str, str]:
        """pAllowedVPCEndpoints, pAPIAccessList, pTrustedPrincipals and pAssociateVPCEndpoints for these settings."""
        principals = {
            "direct": names.client_role(MAIN, ClientKind.DIRECT),
            "other": names.client_role(OTHER, ClientKind.DIRECT),
            "account": CONSUMER,
        }
        trusted = {"account": CONSUMER, "role": names.client_role(MAIN, ClientKind.ASSUME_ROLE), "nobody": "Nobody"}
        allowed = self.allowed_endpoints
        return {
            "pAllowedVPCEndpoints": "None" if allowed is None else ",".join(names.endpoints[s] for s in allowed),
            "pAPIAccessList": ",".join(principals[p] for p in self.access_list) or "None",
            "pTrustedPrincipals": trusted[self.trusted],
            "pAssociateVPCEndpoints": "Yes" if self.associate_endpoints else "No",
        }

    def consumer_params(self) -> dict[str, str]:
        """pEnablePrivateDNS for every consumer stack."""
        return {"pEnablePrivateDNS": "True" if self.private_dns else "False"}

    def endpoint_allowed(self, site: str) -> bool:
        """True when the resource policy's endpoint Deny does not apply to this site's endpoint."""
        return self.allowed_endpoints is None or site in self.allowed_endpoints

    def listed(self, site: str) -> bool:
        """True when the resource policy names this consumer site's direct role (or its whole account)."""
        role = {MAIN: "direct", OTHER: "other"}.get(site)
        return ("account" in self.access_list and site != OUTSIDER) or role in self.access_list


@dataclass(frozen=True)
class Expected:
    """An outcome as AWS documents it: status and a phrase that must appear in the body (or the client's error)."""

    status: int
    phrase: str
    label: str


@dataclass(frozen=True)
class Observed:
    """What a case produced: status, the text the phrase is looked for in, a one-line summary, a document to show."""

    status: int | None
    text: str
    summary: str
    shown: Any


@dataclass(frozen=True)
class Case:
    """One row of the matrix."""

    key: str
    title: str
    expected: Expected
    run: Callable[[TwoAccounts], Observed]
    client_label: str | None = None  # set for the main clients, shown like invoke.sh
    client: tuple[ClientKind, str, str | None] | None = None  # (kind, site, via) of a client invocation
    hint: bool = False  # print the client's explained failure (error and hint) under the row

    def matches(self, observed: Observed) -> bool:
        """True when status and phrase are as expected."""
        return observed.status == self.expected.status and self.expected.phrase in observed.text


def _ok(role_arn: str) -> Expected:
    role_name = role_arn.rsplit("/", 1)[-1]
    return Expected(200, f"assumed-role/{role_name}/", f"200, caller {role_name}")


MISSING_TOKEN = Expected(403, "Missing Authentication Token", "403 Missing Authentication Token")
EXPLICIT_DENY = Expected(
    403, "with an explicit deny in a resource-based policy", "403 explicit deny (endpoint not allowed)"
)
NOT_LISTED = Expected(403, "because no resource-based policy allows", "403 no resource-based policy allows")
STS_DENIED = Expected(502, "is not authorized to perform: sts:AssumeRole", "AccessDenied from sts:AssumeRole")


def summarize(status: int | None, body: str, error: str | None = None) -> str:
    """One line for a reader: the caller and endpoint of a success, the message of a refusal, or the error."""
    if error:
        return f"{status} {error}" if status is not None else error
    try:
        document = json.loads(body)
    except ValueError:
        return f"{status} {body}"
    if isinstance(document, Mapping) and document.get("userArn"):
        return f"{status} caller {document['userArn']} via {document.get('vpceId')}"
    if isinstance(document, Mapping) and (document.get("Message") or document.get("message")):
        return f"{status} {document.get('Message') or document.get('message')}"
    return f"{status} {body}"


def observe_invocation(result: InvokeResult) -> Observed:
    """A client invocation as the matrix reads it: the API's answer, or the client's explained failure."""
    if result.error is not None:
        text = f"{result.error.get('errorType')}: {result.error.get('errorMessage')}"
        return Observed(None, text, f"function error {text}", result.error)
    payload = result.payload if isinstance(result.payload, Mapping) else {}
    text = " ".join(str(payload.get(key) or "") for key in ("body", "error", "hint"))
    error = str(payload["error"]) if payload.get("error") and not payload.get("body") else None
    return Observed(result.status, text, summarize(result.status, result.body, error), payload)


def _client(kind: ClientKind, *, site: str = MAIN, via: str | None = None) -> Callable[[TwoAccounts], Observed]:
    def run(env: TwoAccounts) -> Observed:
        return observe_invocation(env.invoke_client(kind, {"method": "GET", "path": "/"}, site=site, via=via))

    return run


def _unsigned(env: TwoAccounts) -> Observed:
    reply = env.request("GET", "/", site=MAIN)
    return Observed(reply.status, reply.text, summarize(reply.status, reply.text), reply.text)


def _api_expectation(settings: Settings, names: Names, *, role_site: str, endpoint_site: str) -> Expected:
    if not settings.endpoint_allowed(endpoint_site):
        return EXPLICIT_DENY
    if not settings.listed(role_site):
        return NOT_LISTED
    return _ok(names.client_role(role_site, ClientKind.DIRECT))


def _assume_role_expectation(settings: Settings, names: Names) -> Expected:
    if settings.trusted == "nobody":
        return STS_DENIED
    if not settings.endpoint_allowed(MAIN):
        return EXPLICIT_DENY
    return _ok(names.access_role_arn)


def build_cases(settings: Settings, names: Names) -> list[Case]:
    """The demo's matrix for these settings: both real clients, then the denials the defaults produce."""
    other_listed = "listed" if settings.listed(OTHER) else "not listed"
    other_allowed = "allowed" if settings.endpoint_allowed(OTHER) else "not allowed"
    return [
        Case(
            "direct-client",
            "direct client: main consumer role, main endpoint",
            _api_expectation(settings, names, role_site=MAIN, endpoint_site=MAIN),
            _client(ClientKind.DIRECT),
            client_label="PythonDirectAuthClient",
            client=(ClientKind.DIRECT, MAIN, None),
        ),
        Case(
            "assume-role-client",
            "assume-role client: provider access role, main endpoint",
            _assume_role_expectation(settings, names),
            _client(ClientKind.ASSUME_ROLE),
            client_label="PythonAssumeRoleClient",
            client=(ClientKind.ASSUME_ROLE, MAIN, None),
        ),
        Case("unsigned", "unsigned request through the main endpoint", MISSING_TOKEN, _unsigned),
        Case(
            "unlisted-role",
            f"direct client of the {OTHER} consumer stack (role {other_listed} in pAPIAccessList), main endpoint",
            _api_expectation(settings, names, role_site=OTHER, endpoint_site=MAIN),
            _client(ClientKind.DIRECT, site=OTHER, via=MAIN),
            client=(ClientKind.DIRECT, OTHER, MAIN),
        ),
        Case(
            "other-endpoint",
            f"main direct client through the {OTHER} VPC's endpoint ({other_allowed} by pAllowedVPCEndpoints)",
            _api_expectation(settings, names, role_site=MAIN, endpoint_site=OTHER),
            _client(ClientKind.DIRECT, via=OTHER),
            client=(ClientKind.DIRECT, MAIN, OTHER),
        ),
        Case(
            "untrusted-account",
            f"assume-role client in account {names.outsider}, which pTrustedPrincipals never names",
            STS_DENIED,
            _client(ClientKind.ASSUME_ROLE, site=OUTSIDER),
            client=(ClientKind.ASSUME_ROLE, OUTSIDER, None),
        ),
    ]
