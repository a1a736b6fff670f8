"""The demo's private custom domain rows: both IAM clients through the domain, then what API Gateway must refuse.

They run on a deployment of their own (TwoAccounts.start(domain=True), as deploy-all.sh --domain deploys it): with the
domain on, the consumer template points every IAM client at the domain (API_HOST), so the IAM matrix of steps 3 and
4 keeps its own deployment with the domain off. Every row runs a real client in its Lambda sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from client.names import ClientKind
from emulation.accounts import domain
from emulation.accounts.two_accounts import MAIN, OTHER, OUTSIDER, Names, TwoAccounts
from emulation.demo.scenario import EXPLICIT_DENY, Case, Expected, Observed, observe_invocation

__all__ = ["HEADING", "build_domain_cases", "describe", "warm_configs"]

HEADING = "Private custom domain name: both IAM clients through it, then what API Gateway must refuse"
FORBIDDEN = Expected(403, '{"message":"Forbidden"}', "403 Forbidden")
UNKNOWN_BASE_PATH = {"API_PREFIX": "/v2"}


def warm_configs() -> list[tuple[ClientKind, str, str | None, Mapping[str, str] | None]]:
    """The client configurations the rows use, to start their sandboxes together."""
    return [
        (ClientKind.DIRECT, MAIN, None, None),
        (ClientKind.ASSUME_ROLE, MAIN, None, None),
        (ClientKind.DIRECT, OUTSIDER, None, None),
        (ClientKind.DIRECT, OTHER, None, None),
        (ClientKind.DIRECT, MAIN, None, UNKNOWN_BASE_PATH),
    ]


def _client(
    kind: ClientKind, site: str = MAIN, env: Mapping[str, str] | None = None
) -> Callable[[TwoAccounts], Observed]:
    def run(accounts: TwoAccounts) -> Observed:
        return observe_invocation(accounts.invoke_client(kind, {"method": "GET", "path": "/"}, site=site, env=env))

    return run


def _outsider(accounts: TwoAccounts) -> Observed:
    """The outsider's client; its association was refused when its stack was deployed (said in the summary)."""
    observed = _client(ClientKind.DIRECT, OUTSIDER)(accounts)
    refusal = accounts.domain_refusals.get(OUTSIDER)
    why = f"association refused: {refusal}" if refusal else "its association was created"
    return Observed(observed.status, observed.text, f"{observed.summary} ({why})", observed.shown)


def _rejected(accounts: TwoAccounts) -> Observed:
    """The provider rejects main's association (reject-domain-name-access-association); put back afterwards."""
    gateway = accounts.gateway
    before = gateway.domains
    gateway.set_domains(before.rejecting(accounts.endpoint_id(MAIN), accounts.provider.outputs["PrivateDomainNameArn"]))
    try:
        return _client(ClientKind.DIRECT)(accounts)
    finally:
        gateway.set_domains(before)


def _caller(role_arn: str) -> Expected:
    role_name = role_arn.rsplit("/", 1)[-1]
    return Expected(200, f"assumed-role/{role_name}/", f"200, caller {role_name}")


def build_domain_cases(names: Names) -> list[Case]:
    """Both IAM clients through the domain, then the refusals."""
    base = f"https://{domain.DOMAIN_NAME}/{domain.BASE_PATH}"
    return [
        Case(
            "domain-direct",
            f"direct client (consumer role) through {base}, main's endpoint",
            _caller(names.client_role(MAIN, ClientKind.DIRECT)),
            _client(ClientKind.DIRECT),
            client_label=f"PythonDirectAuthClient via {domain.DOMAIN_NAME}",
            client=(ClientKind.DIRECT, MAIN, None),
        ),
        Case(
            "domain-assume-role",
            f"assume-role client (provider access role) through {base}, main's endpoint",
            _caller(names.access_role_arn),
            _client(ClientKind.ASSUME_ROLE),
            client_label=f"PythonAssumeRoleClient via {domain.DOMAIN_NAME}",
            client=(ClientKind.ASSUME_ROLE, MAIN, None),
        ),
        Case(
            "domain-not-shared",
            "outsider's client: the RAM share does not name its account, so it has no association",
            FORBIDDEN,
            _outsider,
        ),
        Case(
            "domain-policy",
            "other site's client: associated (same account), but the domain's policy does not list its endpoint",
            EXPLICIT_DENY,
            _client(ClientKind.DIRECT, OTHER),
        ),
        Case(
            "domain-rejected",
            "main's client after the provider rejected main's association",
            FORBIDDEN,
            _rejected,
        ),
        Case(
            "domain-base-path",
            f"main's client calling https://{domain.DOMAIN_NAME}/v2 (no such base path mapping)",
            FORBIDDEN,
            _client(ClientKind.DIRECT, env=UNKNOWN_BASE_PATH),
        ),
    ]


def describe() -> list[str]:
    """Step 1's line about the domain (its values are fixed before anything starts)."""
    return [
        f"   private custom domain: {domain.DOMAIN_NAME}, base path {domain.BASE_PATH}, shared with the consumer "
        "account (its own deployment, in its step)"
    ]
