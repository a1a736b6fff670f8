"""The checks of each client in the order a request meets them, and the diagnosis they add up to.

Pure functions over collected data: no AWS calls here, so tests can feed collected data directly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from client.names import ClientKind
from diagnose import certificate, config_checks, live_checks, policy_checks, private_domain
from diagnose.access_log import error_groups, parse_lines
from diagnose.collect import CLIENT_OUTPUTS
from diagnose.context import ClientContext, build_context, required
from diagnose.facts import CertificatePath, Collected
from diagnose.results import CheckResult, ClientResult, Diagnosis, Outcome, unknown
from iampolicy.authz import UnsupportedPolicyError

__all__ = ["CHECKS", "Spec", "diagnose"]

BOTH = (ClientKind.DIRECT, ClientKind.ASSUME_ROLE)
ASSUME = (ClientKind.ASSUME_ROLE,)
CERTIFICATE = (ClientKind.CERTIFICATE,)
ALL = (*BOTH, *CERTIFICATE)


@dataclass(frozen=True)
class Spec:
    """One check: which clients it applies to and which facts it cannot run without."""

    id: str
    title: str
    run: Callable[[ClientContext], Outcome]
    kinds: tuple[ClientKind, ...] = BOTH
    requires: tuple[str, ...] = ()
    domain: bool = False  # runs only when the consumer stack calls a private custom domain name


def _on_path(check: Callable[[CertificatePath], Outcome]) -> Callable[[ClientContext], Outcome]:
    """A certificate-path check as a client check (the path is read whenever the certificate client is deployed)."""
    return lambda ctx: check(required(ctx.collected.certificate, "certificate path"))


# What each certificate-path check reads beyond the consumer stack: the provider side needs its profile and stack.
_SIDE: dict[str, tuple[str, ...]] = {
    "mtls-secret": ("function",),
    "mtls-endpoint": (),
    "mtls-principal": ("provider",),
    "mtls-targets": ("provider",),
    "mtls-trust-store": ("provider",),
}

# Request-path order: configuration the client starts from, then STS (assume-role), then the network, the endpoint
# policy, IAM authorization with the resource policy, the stage that serves it, and what the access log recorded.
CHECKS: tuple[Spec, ...] = (
    Spec("consumer-stack", "Consumer stack", config_checks.consumer_stack, ALL),
    Spec("provider-stack", "Provider stack and API", config_checks.provider_stack, ALL),
    Spec("function", "Client function", config_checks.function, ALL, ("consumer-stack",)),
    Spec("api-host", "API_HOST", config_checks.api_host, requires=("function",)),
    Spec("api-prefix", "API_PREFIX", config_checks.api_prefix, requires=("function",)),
    Spec("role-to-assume", "ROLE_TO_ASSUME", config_checks.role_to_assume, ASSUME, ("function",)),
    Spec("sts-endpoint", "STS endpoint", policy_checks.sts_endpoint, ASSUME, ("caller", "role")),
    Spec("assume-permission", "sts:AssumeRole permission", policy_checks.assume_permission, ASSUME, ("caller", "role")),
    Spec(
        "trust-policy", "Access role trust policy", policy_checks.trust_policy, ASSUME, ("caller", "role", "provider")
    ),
    Spec("endpoint", "execute-api endpoint", config_checks.endpoint, requires=("consumer-stack",)),
    Spec("network", "Network path", config_checks.network, requires=("function", "endpoint")),
    Spec("dns", "Name resolution", config_checks.dns, requires=("function", "endpoint")),
    Spec(
        "endpoint-policy", "Endpoint policy", policy_checks.endpoint_policy, requires=("endpoint", "signer", "target")
    ),
    # Through a private custom domain name (docs/private-domain.md): the endpoint policy must allow the domain's ARN,
    # then API Gateway checks the share behind the association, the association, the domain's policy, the base path.
    Spec(
        "domain-vpce-policy",
        "Endpoint policy for the domain",
        private_domain.endpoint_policy,
        requires=("endpoint", "signer"),
        domain=True,
    ),
    Spec("domain-share", "Domain shared through RAM", private_domain.share, requires=("consumer-stack",), domain=True),
    Spec(
        "domain-association",
        "Domain name access association",
        private_domain.association,
        requires=("endpoint",),
        domain=True,
    ),
    Spec(
        "domain-policy",
        "Domain policy",
        private_domain.domain_policy,
        requires=("provider", "endpoint", "signer"),
        domain=True,
    ),
    Spec(
        "domain-base-path",
        "Domain base path mapping",
        private_domain.base_path,
        requires=("provider", "function"),
        domain=True,
    ),
    Spec(
        "invoke-permission",
        "execute-api:Invoke permission",
        policy_checks.invoke_permission,
        requires=("signer", "target"),
    ),
    Spec(
        "resource-policy",
        "API resource policy",
        policy_checks.resource_policy,
        requires=("provider", "endpoint", "signer", "target"),
    ),
    Spec("stage", "Stage deployment", live_checks.stage, requires=("provider",)),
    Spec("access-log", "Access log", live_checks.access_log, requires=("provider", "signer")),
    # The certificate client (mutual TLS, no SigV4): its own path through the provider's endpoint service.
    *(
        Spec(check_id, title, _on_path(check), CERTIFICATE, ("certificate", *_SIDE[check_id]))
        for check_id, title, check in certificate.CERTIFICATE_CHECKS
    ),
    Spec(
        "mtls-answer",
        "Certificate client's last call",
        _on_path(certificate.client_result),
        CERTIFICATE,
        ("certificate",),
    ),
)


def _gap(ctx: ClientContext, requirement: str) -> str | None:
    """What is missing for a requirement, or None when it is met."""
    consumer = ctx.consumer
    gaps: dict[str, Callable[[], str | None]] = {
        "consumer-stack": lambda: None if consumer.stack else "the consumer stack (see consumer-stack)",
        "certificate": lambda: None if ctx.collected.certificate else "the consumer stack (see consumer-stack)",
        "function": lambda: None if ctx.function else "the client function (see function)",
        "endpoint": lambda: None if consumer.endpoint else "the execute-api endpoint (see endpoint)",
        "provider": lambda: None if ctx.provider else ctx.provider_gap,
        "caller": lambda: None if ctx.caller else "the client function and its role (see function)",
        "role": lambda: None if ":role/" in ctx.env("ROLE_TO_ASSUME") else "ROLE_TO_ASSUME (see role-to-assume)",
        "signer": lambda: None if ctx.signer else "who signs the request (see function and role-to-assume)",
        "target": lambda: (
            None
            if ctx.target.resource_arn
            else "the API id, account and stage (provider stack, or API_HOST, API_PREFIX and pAPIAccountID)"
        ),
    }
    return gaps[requirement]()


def _run(spec: Spec, ctx: ClientContext) -> CheckResult:
    missing = next((gap for gap in (_gap(ctx, r) for r in spec.requires) if gap), None)
    if missing:
        outcome = unknown("not checked", missing)
    else:
        try:
            outcome = spec.run(ctx)
        except UnsupportedPolicyError as error:
            # Never guess: a policy the engine cannot evaluate leaves the check open.
            outcome = unknown(f"a policy uses what the evaluator does not implement: {error}", "a manual review")
    return CheckResult(spec.id, spec.title, outcome.status, outcome.detail, outcome.fix, outcome.needs)


def _client(collected: Collected, kind: ClientKind) -> ClientResult:
    ctx = build_context(collected, kind)
    domain = collected.domain is not None
    checks = tuple(_run(spec, ctx) for spec in CHECKS if kind in spec.kinds and (domain or not spec.domain))
    signs = kind is not ClientKind.CERTIFICATE  # the certificate client authenticates with TLS, not a principal
    return ClientResult(
        kind=kind,
        function=ctx.function.name if ctx.function else None,
        principal=ctx.signer.arn if ctx.signer and signs else None,
        checks=checks,
    )


def _assume_role_deployed(collected: Collected) -> bool:
    stack = collected.consumer.stack
    return stack is None or bool(stack.outputs.get(CLIENT_OUTPUTS[ClientKind.ASSUME_ROLE]))


def _certificate_deployed(collected: Collected) -> bool:
    stack = collected.consumer.stack
    return stack is not None and bool(stack.outputs.get(CLIENT_OUTPUTS[ClientKind.CERTIFICATE]))


def _notes(collected: Collected, clients: tuple[ClientResult, ...]) -> tuple[str, ...]:
    notes: list[str] = []
    provider = collected.provider
    if not _certificate_deployed(collected) and provider is not None and certificate.provider_enabled(provider.stack):
        notes.append(
            f"stack {collected.provider_stack} has the certificate path (pEnableMtls=Yes) but stack "
            f"{collected.consumer_stack} has no certificate client (pEnableMtlsClient=Yes, ./deploy-all.sh --mtls): "
            "it was not checked"
        )
    domain_arn = private_domain.provider_domain(provider.stack if provider is not None else None)
    if collected.domain is None and domain_arn:
        parts = private_domain.parse_domain_arn(domain_arn)
        name = parts.name if parts else domain_arn
        notes.append(
            f"stack {collected.provider_stack} has the private custom domain name {name} "
            f"but stack {collected.consumer_stack} does not call it (pPrivateDomainName=None): the IAM clients were "
            "checked on the execute-api host (./deploy-all.sh --domain switches them)"
        )
    if not _assume_role_deployed(collected):
        notes.append(
            f"stack {collected.consumer_stack} has no assume-role client (deployed without pAPIRoleARN): only the "
            "direct client was checked"
        )
    sts_endpoints = collected.consumer.sts_endpoints
    # Only a VPC that was read can be said to lack an STS endpoint.
    if (
        sts_endpoints is not None
        and any(c.kind is ClientKind.ASSUME_ROLE for c in clients)
        and not any(e.private_dns for e in sts_endpoints)
    ):
        notes.append(
            "no STS endpoint with private DNS in the client VPC: the assume-role client needs another way to STS"
        )
    if collected.provider is None:
        notes.append("provider side not checked: pass the provider profile as the second argument")
    return tuple(notes)


def _side(profile: str, account: str | None, stack: str) -> dict[str, str | None]:
    return {"profile": profile, "account": account, "stack": stack}


def diagnose(collected: Collected) -> Diagnosis:
    """Run every check for every deployed client."""
    kinds = BOTH if _assume_role_deployed(collected) else (ClientKind.DIRECT,)
    if _certificate_deployed(collected):
        kinds = (*kinds, ClientKind.CERTIFICATE)
    clients = tuple(_client(collected, kind) for kind in kinds)
    provider = collected.provider
    lines, _ = parse_lines(provider.log_events or ()) if provider else ([], 0)
    read_errors = {"consumer": dict(collected.consumer.errors)}
    if provider is not None:
        read_errors["provider"] = dict(provider.errors)
    if collected.certificate is not None:
        read_errors["certificate"] = dict(collected.certificate.errors)
    if collected.domain is not None:
        read_errors["domain"] = dict(collected.domain.errors)
    return Diagnosis(
        region=collected.region,
        consumer=_side(collected.consumer.profile, collected.consumer.account, collected.consumer_stack),
        provider=_side(provider.profile, provider.account, collected.provider_stack) if provider else None,
        clients=clients,
        notes=_notes(collected, clients),
        log_errors=tuple(error_groups(lines)),
        log_group=provider.log_group if provider else None,
        since_minutes=collected.since_minutes,
        read_errors=read_errors,
    )
