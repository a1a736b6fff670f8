"""The certificate (mTLS) path of issue 16 (docs/mtls.md): what to read on each side, and the checks over it.

`read_certificate_path` reads (never decides; a failed read is recorded under a key in `errors`); the checks are
pure functions over the facts, in the order a certificate request meets them (CERTIFICATE_CHECKS): the client's
secret, the consumer's endpoint connection, the consumer allowed on the endpoint service, the targets behind the
service, the ALB's trust store; then `client_result`, what the client itself logged for its latest call. diagnose.checks
runs them as the certificate client's checks. The walk from the service to its target groups mirrors
workflow/mtls.py's: diagnose may not import workflow, nor workflow anything but itself (CONTRIBUTING's map), so
there is no shared home for it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from diagnose.collect import read, read_log_events, read_role
from diagnose.errors import ErrorKind, error_kind, not_read
from diagnose.facts import CertificatePath, LogEvent, Stack, Target, TrustStore
from diagnose.results import Outcome, bad, note, ok, unknown
from iampolicy.authz import decide_identity
from iampolicy.policy import Principal

__all__ = [
    "CERTIFICATE_CHECKS",
    "CLIENT_OUTPUT",
    "CertificatePath",
    "Target",
    "TrustStore",
    "classify_client_error",
    "client_answer",
    "client_result",
    "endpoint_connection",
    "last_answer",
    "principal_allowed",
    "provider_enabled",
    "read_certificate_path",
    "secret_readable",
    "target_health",
    "trust_store",
]

SERVICE_OUTPUT = "MtlsEndpointServiceId"
ENDPOINT_OUTPUT = "MtlsServiceEndpointID"
CLIENT_OUTPUT = "PythonCertificateClient"
ROLE_OUTPUT = "CertificateClientRole"
SECRET_ENV = "CLIENT_CERTIFICATE_SECRET_ARN"  # noqa: S105  # nosec B105 - an environment variable name
SECRET_PARAMETER = "pMtlsCertificateSecretArn"  # noqa: S105  # nosec B105 - a parameter name
_ALLOWED_CLIENTS = "pMtlsAllowedClients"
_DEPLOY = "./deploy-all.sh --mtls"
# What the certificate client writes in its answer and its log for each failure kind (api-client/src/client/
# diagnosis.py; tests/diagnose/test_certificate.py feeds this table the client's own texts).
_CLIENT_FAILURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("certificate-unavailable", re.compile(r"client certificate unavailable", re.IGNORECASE)),
    ("tls-refused", re.compile(r"TLS refused by the provider's load balancer", re.IGNORECASE)),
    ("subject-not-allowed", re.compile(r"subject not allowed|to the provider's pMtlsAllowedClients", re.IGNORECASE)),
    ("path-off", re.compile(r"certificate path is (off|not enabled)", re.IGNORECASE)),
    ("explicit-deny", re.compile(r"explicit deny|must (arrive|go) through the provider's", re.IGNORECASE)),
)
# The certificate client's log records (Powertools JSON lines) that end one invocation, by their message.
_SUCCEEDED = "API call succeeded"
NO_TARGETS = "no-targets"  # a target group with nothing registered, listed as one target in this state
_ENDINGS = (_SUCCEEDED, "API call failed", "API unreachable", "client certificate unavailable")


def provider_enabled(stack: Stack | None) -> bool:
    """The provider stack was deployed with the certificate path (pEnableMtls=Yes)."""
    return stack is not None and bool(stack.outputs.get(SERVICE_OUTPUT) or stack.parameters.get("pEnableMtls") == "Yes")


def _walk(ec2: Any, elbv2: Any, service_id: str) -> tuple[tuple[Target, ...], tuple[str, ...]]:
    """Every target behind the service (the NLB's group holds the ALB, then the ALB's groups; an empty group as
    one "no-targets" entry), and the ALBs met on the way."""
    found: list[Target] = []
    albs: list[str] = []

    def groups(load_balancer: str) -> list[Target]:
        listed: list[Target] = []
        for group in elbv2.describe_target_groups(LoadBalancerArn=load_balancer)["TargetGroups"]:
            arn = group["TargetGroupArn"]
            health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
            if not health:
                listed.append(Target(arn, "(none)", NO_TARGETS, "no target registered"))
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
                    albs.append(target.target)
                    found += groups(target.target)
    return tuple(found), tuple(albs)


def _trust_stores(elbv2: Any, albs: tuple[str, ...]) -> tuple[TrustStore, ...]:
    """The HTTPS listeners of the ALBs with their mutual-authentication mode and trust store's status."""
    found: list[TrustStore] = []
    for alb in albs:
        for listener in elbv2.describe_listeners(LoadBalancerArn=alb)["Listeners"]:
            if listener.get("Protocol") != "HTTPS":
                continue  # the 8080 health listener answers the NLB in plain HTTP on purpose
            mutual = listener.get("MutualAuthentication") or {}
            arn = str(mutual.get("TrustStoreArn") or "")
            store: Mapping[str, Any] = {}
            if arn:
                try:
                    stores = elbv2.describe_trust_stores(TrustStoreArns=[arn])["TrustStores"]
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") != "TrustStoreNotFound":
                        raise
                    stores = []  # the listener names a trust store that was deleted: "missing"
                store = stores[0] if stores else {}
            found.append(
                TrustStore(
                    listener=str(listener["ListenerArn"]),
                    mode=str(mutual.get("Mode") or "off"),
                    arn=arn,
                    status=str(store.get("Status") or ("missing" if arn else "")),
                    ca_certificates=store.get("NumberOfCaCertificates"),
                    revoked_entries=store.get("TotalRevokedEntries"),
                )
            )
    return tuple(found)


def read_certificate_path(
    consumer: Callable[[str], Any],
    provider: Callable[[str], Any] | None,
    *,
    consumer_outputs: Mapping[str, str],
    provider_outputs: Mapping[str, str] | None,
    consumer_account: str,
    region: str,
    provider_profile: str = "",
    consumer_profile: str = "",
    secret_arn: str = "",
    client_log_group: str = "",
    since: datetime | None = None,
    since_minutes: int = 60,
    client_modified: datetime | None = None,
) -> CertificatePath:
    """Read both sides' parts of the path; `consumer`/`provider` give a boto3 client per service name.

    `provider_outputs` is None when the provider stack was not read; `client_log_group` and `since` say where and
    from when to read the certificate client's results (not read without them).
    """
    path = CertificatePath(
        region,
        consumer_account,
        provider_profile,
        consumer_profile=consumer_profile,
        secret_arn=secret_arn,
        since_minutes=since_minutes,
        client_modified=client_modified,
    )
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
    if client_log_group and since is not None:
        path.client_log_group = client_log_group
        path.client_events = read(
            errors, "client-log", lambda: read_log_events(consumer("logs"), client_log_group, since)
        )
    path.provider_stack_read = provider_outputs is not None
    path.service_id = (provider_outputs or {}).get(SERVICE_OUTPUT, "")
    if provider is not None and path.service_id:
        ec2 = provider("ec2")
        permissions = read(
            errors, "permissions", lambda: ec2.describe_vpc_endpoint_service_permissions(ServiceId=path.service_id)
        )
        if permissions is not None:
            path.allowed_principals = tuple(
                str(item["Principal"]) for item in permissions.get("AllowedPrincipals") or []
            )
        elbv2 = provider("elbv2")
        walked = read(errors, "targets", lambda: _walk(ec2, elbv2, path.service_id))
        if walked is not None:
            path.targets, albs = walked
            path.trust_stores = read(errors, "trust-store", lambda: _trust_stores(elbv2, albs))
    return path


def _no_service(path: CertificatePath) -> Outcome | None:
    """A failure when the provider stack was read and has no endpoint service, else None."""
    if path.provider_stack_read and not path.service_id:
        return bad(
            f"the provider stack has no {SERVICE_OUTPUT} output: it was deployed without the certificate path",
            f"the provider deploys with pEnableMtls=Yes ({_DEPLOY})",
        )
    return None


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
    missing = _no_service(path)
    if missing is not None:
        return missing
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


def _targets_fix(waiting: list[Target]) -> str:
    """An empty group (the custom resource registered nothing) and unhealthy targets have different fixes."""
    empty = (
        "the custom resource registered nothing: read the endpoint-targets function's log group "
        f"(MtlsEndpointTargetsLogGroup), then run {_DEPLOY} again so it registers the endpoint's addresses"
    )
    unhealthy = (
        "check the security groups between NLB, ALB and the execute-api endpoint, and their Availability Zones "
        "(docs/mtls.md, Limits)"
    )
    kinds = {t.state == NO_TARGETS for t in waiting}
    if kinds == {True}:
        return empty
    return unhealthy if kinds == {False} else f"{empty}; for the others, {unhealthy}"


def target_health(path: CertificatePath) -> Outcome:
    """Every target behind the service is healthy."""
    missing = _no_service(path)
    if missing is not None:
        return missing
    if path.targets is None:
        return unknown(f"target health: {path.errors.get('targets', 'not read')}", "the provider profile")
    if not path.targets:
        return bad(f"service {path.service_id} has no load balancer targets", "check the provider stack's NLB")
    waiting = [t for t in path.targets if t.state != "healthy"]
    if not waiting:
        return ok(f"{len(path.targets)} load balancer target(s) healthy")
    shown = "; ".join(f"{t.target} in {t.group}: {t.state} {t.reason}".strip() for t in waiting)
    return bad(shown, _targets_fix(waiting))


def _listener_problem(store: TrustStore) -> Outcome | None:
    """Why one HTTPS listener does not verify client certificates against a usable trust store, or None."""
    if store.mode != "verify":
        return bad(
            f"listener {store.listener} checks no client certificate (mutual authentication {store.mode})",
            f"redeploy the provider ({_DEPLOY}): its template sets mode verify",
        )
    if store.status == "CREATING":
        return unknown(f"trust store {store.arn} is still being created", "the trust store to settle: run again")
    if store.status != "ACTIVE":
        return bad(
            f"listener {store.listener} names trust store {store.arn}, which is {store.status or 'unknown'}",
            f"redeploy the provider ({_DEPLOY}) so it re-creates the trust store from the CA bundle",
        )
    return None


def trust_store(path: CertificatePath) -> Outcome:
    """The ALB's HTTPS listener verifies client certificates (mode verify) against an ACTIVE trust store."""
    missing = _no_service(path)
    if missing is not None:
        return missing
    if path.trust_stores is None:
        error = path.errors.get("trust-store") or path.errors.get("targets")
        return not_read(
            "the load balancer's listeners and trust store",
            error,
            permission="elasticloadbalancing:DescribeListeners and DescribeTrustStores",
            profile=path.provider_profile or "<provider>",
        )
    if not path.trust_stores:
        return bad(
            f"no HTTPS listener on the load balancer behind {path.service_id}",
            f"redeploy the provider ({_DEPLOY}): its template creates the listener",
        )
    problem = next((found for found in map(_listener_problem, path.trust_stores) if found), None)
    if problem is not None:
        return problem
    first = path.trust_stores[0]
    counts = [
        f"{count} {singular if count == 1 else plural}"
        for count, singular, plural in (
            (first.ca_certificates, "CA certificate", "CA certificates"),
            (first.revoked_entries, "revoked entry", "revoked entries"),
        )
        if count is not None
    ]
    shown = f" ({', '.join(counts)})" if counts else ""
    return ok(f"client certificates verified against ACTIVE trust store {first.arn}{shown}")


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
    """The failure kind of a certificate client's answer (tls-refused, subject-not-allowed, explicit-deny, ...)."""
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
    hint = str(answer.get("hint") or "")
    fixes = {
        "certificate-unavailable": f"{hint or 'see the certificate client log'} (the checks above name the secret)",
        "tls-refused": "the load balancer refused the certificate: check its CA (the trust store's bundle), its "
        "dates and the CRL; a new bundle or CRL needs ./deploy-all.sh --mtls again",
        "subject-not-allowed": f"add tenant:<subject> to {_ALLOWED_CLIENTS} on the provider (exactly as the error "
        "prints it)",
        "path-off": f"the provider deploys with pEnableMtls=Yes ({_DEPLOY})",
        "explicit-deny": "certificate requests must go through the endpoint service (https://<pMtlsServiceDNSName>), "
        "not an execute-api endpoint",
    }
    if kind is None:
        return bad(
            f"the certificate client got {status}: {answer.get('error', '')}".rstrip(": "), hint or "see its hint"
        )
    return bad(f"the certificate client failed: {kind} ({answer.get('error', '')})", fixes[kind])


def last_answer(events: tuple[LogEvent, ...]) -> tuple[datetime, dict[str, Any]] | None:
    """The certificate client's latest invocation result in its log (Powertools JSON lines), as an answer."""
    for event in reversed(events):
        try:
            record = json.loads(event.message)
        except ValueError:
            continue  # Lambda's own START/END/REPORT lines, or plain text
        if not isinstance(record, dict) or record.get("message") not in _ENDINGS:
            continue
        status = record.get("status")
        answer: dict[str, Any] = {
            "statusCode": status if isinstance(status, int) else 502,
            "error": str(record.get("error") or ""),
            "hint": str(record.get("hint") or ""),
        }
        if record["message"] != _SUCCEEDED and not answer["error"]:
            answer["error"] = f"{record['message']}: {status}"
        return event.at, answer
    return None


def client_result(path: CertificatePath) -> Outcome:
    """The certificate client's latest result in its log: failures explained by kind, a stale one only noted."""
    group = path.client_log_group
    if path.client_events is None:
        if error_kind(path.errors.get("client-log")) is ErrorKind.NOT_FOUND:
            # Lambda makes its default group at the first invocation; the template's group exists from the start.
            return note(f"no log group {group}: the certificate client has not run yet (./invoke.sh runs it)")
        return not_read(
            f"log group {group or '(none)'}",
            path.errors.get("client-log"),
            permission=f"logs:FilterLogEvents on {group}",
            profile=path.consumer_profile or "<consumer>",
        )
    found = last_answer(path.client_events)
    if found is None:
        return note(
            f"no certificate client calls in {group} in the last {path.since_minutes} minutes (./invoke.sh runs it)"
        )
    at, answer = found
    outcome = client_answer(answer)
    when = at.strftime("%Y-%m-%d %H:%M:%SZ")
    if outcome.fix is not None and path.client_modified is not None and at < path.client_modified:
        return note(f"latest call ({when}): {outcome.detail}; it predates the function's last change: invoke again")
    return replace(outcome, detail=f"latest call ({when}): {outcome.detail}")


# Request-path order: the client reads its secret, connects through its endpoint (the consumer must be allowed on
# the service), the NLB and ALB pass it on, the ALB's trust store verifies the certificate. What the client itself
# reported (client_result) needs its log and is added by diagnose.checks.
CERTIFICATE_CHECKS: tuple[tuple[str, str, Callable[[CertificatePath], Outcome]], ...] = (
    ("mtls-secret", "Client certificate secret", secret_readable),
    ("mtls-endpoint", "Endpoint to the certificate service", endpoint_connection),
    ("mtls-principal", "Consumer allowed on the service", principal_allowed),
    ("mtls-targets", "Load balancer targets", target_health),
    ("mtls-trust-store", "Client certificate verification", trust_store),
)
