"""The certificate (mTLS) path of issue 16 (docs/mtls.md): what to read on each side, and the checks over it.

`read_certificate_path` reads (never decides; a failed read is recorded under a key in `errors`); the checks are
pure functions over the facts, in the order a certificate request meets them: the consumer's endpoint connection,
the consumer allowed on the endpoint service, the targets behind the service, the client's secret, and what the
client reported. The walk from the service to its target groups mirrors workflow/mtls.py's: diagnose may not import
workflow (CONTRIBUTING's map), and neither may import the other's AWS readers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from diagnose.collect import read, read_role
from diagnose.facts import Role
from diagnose.results import Outcome, bad, ok, unknown
from iampolicy.authz import decide_identity
from iampolicy.policy import Principal

__all__ = [
    "CERTIFICATE_CHECKS",
    "CertificatePath",
    "Target",
    "classify_client_error",
    "client_answer",
    "endpoint_connection",
    "principal_allowed",
    "read_certificate_path",
    "secret_readable",
    "target_health",
]

SERVICE_OUTPUT = "MtlsEndpointServiceId"
ENDPOINT_OUTPUT = "MtlsServiceEndpointID"
CLIENT_OUTPUT = "PythonCertificateClient"
ROLE_OUTPUT = "CertificateClientRole"
SECRET_ENV = "CLIENT_CERTIFICATE_SECRET_ARN"  # noqa: S105  # nosec B105 - an environment variable name
_ALLOWED_CLIENTS = "pMtlsAllowedClients"
# What the certificate client puts in its answer for each failure kind (api-client/src/client/diagnosis.py).
_CLIENT_FAILURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("tls-refused", re.compile(r"TLS refused by the provider's load balancer", re.IGNORECASE)),
    ("subject-not-allowed", re.compile(r"subject not allowed", re.IGNORECASE)),
    ("explicit-deny", re.compile(r"explicit deny", re.IGNORECASE)),
)


@dataclass(frozen=True)
class Target:
    """One target of one target group behind the endpoint service."""

    group: str
    target: str
    state: str
    reason: str = ""


@dataclass
class CertificatePath:
    """What was read about the certificate path; None means not read (the reason is in `errors`)."""

    region: str
    consumer_account: str
    provider_profile: str
    endpoint_id: str = ""
    endpoint_state: str | None = None
    service_id: str = ""
    allowed_principals: tuple[str, ...] | None = None
    targets: tuple[Target, ...] | None = None
    secret_arn: str = ""
    secret_exists: bool | None = None
    client_role: Role | None = None
    errors: dict[str, str] = field(default_factory=dict)


def _targets(ec2: Any, elbv2: Any, service_id: str) -> tuple[Target, ...]:
    """Every target behind the service: the NLB's group (the ALB), then the ALB's groups; an empty group as one."""
    found: list[Target] = []

    def groups(load_balancer: str) -> list[Target]:
        listed: list[Target] = []
        for group in elbv2.describe_target_groups(LoadBalancerArn=load_balancer)["TargetGroups"]:
            arn = group["TargetGroupArn"]
            health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
            if not health:
                listed.append(Target(arn, "(none)", "no-targets", "no target registered"))
            for item in health:
                state = item.get("TargetHealth") or {}
                reason = str(state.get("Description") or state.get("Reason") or "")
                listed.append(Target(arn, str(item["Target"]["Id"]), str(state.get("State", "")), reason))
        return listed

    configurations = ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[service_id])["ServiceConfigurations"]
    for configuration in configurations:
        for nlb in configuration.get("NetworkLoadBalancerArns") or []:
            behind = groups(str(nlb))
            found += behind
            for target in behind:
                if ":loadbalancer/app/" in target.target:
                    found += groups(target.target)
    return tuple(found)


def read_certificate_path(
    consumer: Callable[[str], Any],
    provider: Callable[[str], Any] | None,
    *,
    consumer_outputs: Mapping[str, str],
    provider_outputs: Mapping[str, str],
    consumer_account: str,
    region: str,
    provider_profile: str = "",
    secret_arn: str = "",
) -> CertificatePath:
    """Read both sides' parts of the path; `consumer`/`provider` give a boto3 client per service name."""
    path = CertificatePath(region, consumer_account, provider_profile, secret_arn=secret_arn)
    errors = path.errors
    path.endpoint_id = consumer_outputs.get(ENDPOINT_OUTPUT, "")
    if path.endpoint_id:
        found = read(
            errors, "endpoint", lambda: consumer("ec2").describe_vpc_endpoints(VpcEndpointIds=[path.endpoint_id])
        )
        if found is not None:
            endpoints = found.get("VpcEndpoints") or []
            path.endpoint_state = str(endpoints[0].get("State", "")) if endpoints else ""
    role_arn = consumer_outputs.get(ROLE_OUTPUT, "")
    if role_arn:
        path.client_role = read_role(consumer("iam"), role_arn, errors)
    if secret_arn:
        described = read(errors, "secret", lambda: consumer("secretsmanager").describe_secret(SecretId=secret_arn))
        if described is not None:
            path.secret_exists = True
        elif "ResourceNotFound" in errors.get("secret", ""):
            path.secret_exists = False
    path.service_id = provider_outputs.get(SERVICE_OUTPUT, "")
    if provider is not None and path.service_id:
        ec2 = provider("ec2")
        permissions = read(
            errors, "permissions", lambda: ec2.describe_vpc_endpoint_service_permissions(ServiceId=path.service_id)
        )
        if permissions is not None:
            path.allowed_principals = tuple(
                str(item["Principal"]) for item in permissions.get("AllowedPrincipals") or []
            )
        path.targets = read(errors, "targets", lambda: _targets(ec2, provider("elbv2"), path.service_id))
    return path


# ------------------------------------------------------------------------------------------------------------ checks
def endpoint_connection(path: CertificatePath) -> Outcome:
    """The consumer's endpoint to the service is available (not pendingAcceptance, rejected or gone)."""
    if not path.endpoint_id:
        return unknown("the consumer stack has no MtlsServiceEndpointID output", "a consumer deployed with --mtls")
    state = path.endpoint_state
    if state is None:
        return unknown(f"endpoint {path.endpoint_id}: {path.errors.get('endpoint', 'not read')}", "ec2:Describe*")
    if state == "available":
        return ok(f"endpoint {path.endpoint_id} is available")
    if state == "pendingAcceptance":
        return bad(
            f"endpoint {path.endpoint_id} awaits the provider's acceptance (pMtlsAcceptanceRequired=Yes)",
            f"the provider runs: aws ec2 accept-vpc-endpoint-connections --service-id {path.service_id or '<id>'} "
            f"--vpc-endpoint-ids {path.endpoint_id} --profile {path.provider_profile or '<provider>'} "
            f"--region {path.region}",
        )
    if state == "rejected":
        return bad(
            f"the provider rejected endpoint {path.endpoint_id}",
            "delete the consumer stack's endpoint (./destroy-all.sh) and deploy again once the provider allows it",
        )
    shown = state or "gone"
    return bad(f"endpoint {path.endpoint_id} is {shown}", "wait for 'available', or redeploy the consumer stack")


def principal_allowed(path: CertificatePath) -> Outcome:
    """The consumer account (or a principal of it) is in the service's allowed principals."""
    if path.allowed_principals is None:
        return unknown(
            f"allowed principals of {path.service_id or 'the service'}: {path.errors.get('permissions', 'not read')}",
            "the provider profile with ec2:DescribeVpcEndpointServicePermissions",
        )
    account = f":{path.consumer_account}:"
    mine = [p for p in path.allowed_principals if p == "*" or account in p]
    if mine:
        return ok(f"{', '.join(mine)} may connect to {path.service_id}")
    return bad(
        f"account {path.consumer_account} is not among the allowed principals of {path.service_id} "
        f"({', '.join(path.allowed_principals) or 'none'})",
        f"redeploy the provider with pMtlsAllowedPrincipals=arn:aws:iam::{path.consumer_account}:root "
        "(./deploy-all.sh --mtls sends it)",
    )


def target_health(path: CertificatePath) -> Outcome:
    """Every target behind the service is healthy."""
    if path.targets is None:
        return unknown(f"target health: {path.errors.get('targets', 'not read')}", "the provider profile")
    if not path.targets:
        return bad(f"service {path.service_id} has no load balancer targets", "check the provider stack's NLB")
    waiting = [t for t in path.targets if t.state != "healthy"]
    if not waiting:
        return ok(f"{len(path.targets)} load balancer target(s) healthy")
    shown = "; ".join(f"{t.target} in {t.group}: {t.state} {t.reason}".strip() for t in waiting)
    return bad(
        shown,
        "no-targets: read the endpoint-targets function's log group; unhealthy: the security groups between NLB, ALB "
        "and the execute-api endpoint, and their AZs (docs/mtls.md, Troubleshooting)",
    )


def secret_readable(path: CertificatePath) -> Outcome:
    """The client's secret exists and its role's identity policies allow secretsmanager:GetSecretValue on it."""
    if not path.secret_arn:
        return unknown(f"the certificate client has no {SECRET_ENV}", "the certificate client's configuration")
    if path.secret_exists is False:
        return bad(
            f"secret {path.secret_arn} does not exist", "create it (docs/mtls.md) or fix pMtlsCertificateSecretArn"
        )
    role = path.client_role
    if role is None or role.policies is None:
        return unknown(f"the policies of {ROLE_OUTPUT} were not read", "iam:GetRole and iam:ListRolePolicies")
    decision = decide_identity(
        principal=Principal(arn=role.arn, account=path.consumer_account, role_arn=role.arn),
        action="secretsmanager:GetSecretValue",
        resource=path.secret_arn,
        identity_policies=role.policies,
    )
    if not decision.allowed:
        return bad(
            f"{role.arn} may not read {path.secret_arn} ({decision.reason.value})",
            "deploy the consumer with pMtlsCertificateSecretArn set to this secret's ARN",
        )
    existence = "exists and " if path.secret_exists else ""
    return ok(f"secret {existence}is readable by {role.arn} (identity policies; a KMS key policy is not checked)")


def classify_client_error(answer: Mapping[str, Any]) -> str | None:
    """The failure kind of a certificate client's answer (tls-refused, subject-not-allowed, explicit-deny), or None."""
    text = " ".join(str(answer.get(key, "")) for key in ("error", "hint", "body"))
    return next((kind for kind, pattern in _CLIENT_FAILURES if pattern.search(text)), None)


def client_answer(answer: Mapping[str, Any] | None) -> Outcome:
    """What the certificate client's last answer says, with the fix for each failure kind."""
    if answer is None:
        return unknown("the certificate client was not invoked", "./invoke.sh <consumer-profile>")
    status = answer.get("statusCode")
    if isinstance(status, int) and 200 <= status < 300:
        return ok(f"the certificate client got {status}")
    kind = classify_client_error(answer)
    fixes = {
        "tls-refused": "the load balancer refused the certificate: check its CA (the trust store's bundle), its "
        "dates and the CRL; a new bundle or CRL needs ./deploy-all.sh --mtls again",
        "subject-not-allowed": f"add tenant:<subject> to {_ALLOWED_CLIENTS} on the provider (exactly as the error "
        "prints it)",
        "explicit-deny": "certificate requests must go through the endpoint service (https://<pMtlsServiceDNSName>), "
        "not an execute-api endpoint",
    }
    if kind is None:
        return bad(f"the certificate client got {status}: {answer.get('error', '')}".rstrip(": "), "see its hint")
    return bad(f"the certificate client failed: {kind} ({answer.get('error', '')})", fixes[kind])


# Request-path order; the client answer is judged by the caller that has it (invoke or a log).
CERTIFICATE_CHECKS: tuple[tuple[str, str, Callable[[CertificatePath], Outcome]], ...] = (
    ("mtls-endpoint", "Endpoint to the certificate service", endpoint_connection),
    ("mtls-principal", "Consumer allowed on the service", principal_allowed),
    ("mtls-targets", "Load balancer targets", target_health),
    ("mtls-secret", "Client certificate secret", secret_readable),
)
