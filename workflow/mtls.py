"""deploy-all.sh --mtls: the certificate (mTLS) access path of issue 16 (docs/mtls.md).

The options and their checks, the CA bundle / CRL upload to the provider's artifact bucket, the stacks' parameters,
the endpoint service's name, the consumer's connection state and the health of both target groups. Functions take
boto3 clients, so tests pass moto's. Standard library only besides boto3 (the workflow's rule): the PEM checks use
`ssl`, not `cryptography`.
"""

from __future__ import annotations

import hashlib
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from workflow.aws import error_text
from workflow.options import Parsed
from workflow.output import Fatal, Output, UsageError

__all__ = [
    "FLAG",
    "FLAGS",
    "VALUES",
    "MtlsSettings",
    "TargetHealth",
    "TrustKeys",
    "allowed_clients",
    "check_regions",
    "consumer_parameters",
    "endpoint_service_name",
    "endpoint_state",
    "load_balancer_health",
    "parse_mtls",
    "pem_ders",
    "provider_parameters",
    "trust_file_key",
    "unhealthy",
    "upload_trust_files",
]

FLAG = "--mtls"
ACCEPTANCE_FLAG = "--mtls-acceptance-required"
# The consumer VPC already resolves the DNS name / already has a Secrets Manager endpoint with private DNS (a second
# one would conflict): the consumer stack then creates neither.
NO_HOSTED_ZONE = "--mtls-no-hosted-zone"
NO_SECRETS_ENDPOINT = "--mtls-no-secrets-endpoint"
FLAGS = (FLAG, ACCEPTANCE_FLAG, NO_HOSTED_ZONE, NO_SECRETS_ENDPOINT)
CA_BUNDLE = "--mtls-ca-bundle"
CRL = "--mtls-crl"
SERVER_CERT = "--mtls-server-cert-arn"
DNS_NAME = "--mtls-dns-name"
CLIENT_SECRET = "--mtls-client-secret-arn"  # noqa: S105  # nosec B105 - an option name, not a secret
ALLOWED_CLIENTS = "--mtls-allowed-clients"
LOG_BUCKET = "--mtls-log-bucket"
VALUES = (CA_BUNDLE, CRL, SERVER_CERT, DNS_NAME, CLIENT_SECRET, ALLOWED_CLIENTS, LOG_BUCKET)
_REQUIRED = (CA_BUNDLE, SERVER_CERT, DNS_NAME, CLIENT_SECRET, ALLOWED_CLIENTS)
# Where the trust files go in the provider's artifact bucket (destroy-all --delete-buckets empties it all).
KEY_PREFIX = "mtls"
# The templates' "nothing" for the optional values (pMtlsRevocationListKey, pMtlsServiceName...).
NONE = "None"
NO_TARGETS = "no-targets"
# Tenant names as the backend accepts them (design section 5: `^[a-z0-9-]{1,32}$`).
_TENANT = re.compile(r"[a-z0-9-]{1,32}")
_ATTRIBUTE = re.compile(r"[A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)+")
_ACM_ARN = re.compile(r"arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):[0-9]{12}:certificate/[A-Za-z0-9-]+")
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:(?P<region>[a-z0-9-]+):[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_DNS_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_PEM_BLOCK = re.compile(r"-----BEGIN (?P<label>[A-Z0-9 ]+)-----.*?-----END (?P=label)-----", re.DOTALL)


@dataclass(frozen=True)
class MtlsSettings:
    """A valid --mtls command line; `enabled` False means every other field is empty."""

    enabled: bool = False
    ca_bundle: Path | None = None
    crl: Path | None = None
    server_certificate_arn: str = ""
    dns_name: str = ""
    client_secret_arn: str = ""
    allowed_clients: str = ""
    acceptance_required: bool = False
    hosted_zone: bool = True
    secrets_endpoint: bool = True
    log_bucket: str = ""


def pem_ders(path: Path, option: str, label: str) -> list[bytes]:
    """The DER of every PEM block of that label in the file; UsageError when it holds none or a broken one."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as error:
        raise UsageError(f"{option} {path}: cannot read it as a PEM text file ({error})") from error
    blocks = [match for match in _PEM_BLOCK.finditer(text) if match["label"] == label]
    if not blocks:
        raise UsageError(f"{option} {path}: not PEM, no '-----BEGIN {label}-----' block in it")
    ders = []
    for block in blocks:
        body = block.group(0).replace(f"-----BEGIN {label}-----", "").replace(f"-----END {label}-----", "")
        try:
            # The same decoding as ssl.PEM_cert_to_DER_cert, for any label: base64 of a DER SEQUENCE.
            der = ssl.PEM_cert_to_DER_cert(f"{ssl.PEM_HEADER}\n{body.strip()}\n{ssl.PEM_FOOTER}\n")
        except ValueError as error:
            raise UsageError(f"{option} {path}: a {label} block is not valid base64 ({error})") from error
        if not der.startswith(b"\x30"):
            raise UsageError(f"{option} {path}: a {label} block does not hold DER (an ASN.1 SEQUENCE)")
        ders.append(der)
    return ders


def allowed_clients(text: str) -> list[tuple[str, str]]:
    """`tenant:subject-DN;...` as pairs; a `;` inside a DN is written `\\;` (RFC 4514 escaping). UsageError naming the
    first entry that does not parse."""
    entries = [entry.strip() for entry in re.split(r"(?<!\\);", text)]
    pairs: list[tuple[str, str]] = []
    for entry in entries:
        if not entry:
            raise UsageError(f"{ALLOWED_CLIENTS}: an empty entry (expected 'tenant:SUBJECT-DN;tenant:SUBJECT-DN')")
        tenant, colon, subject = entry.partition(":")
        if not colon or not _TENANT.fullmatch(tenant):
            raise UsageError(
                f"{ALLOWED_CLIENTS}: '{entry}' does not start with a tenant and a colon (tenant: 1-32 lowercase "
                "letters, digits, hyphens)"
            )
        for part in re.split(r"(?<!\\),", subject):
            attribute, equals, value = part.partition("=")
            if not equals or not value or not _ATTRIBUTE.fullmatch(attribute.strip()):
                raise UsageError(
                    f"{ALLOWED_CLIENTS}: the subject of tenant '{tenant}' is not an RFC 4514 DN ('{subject}'; "
                    "expected e.g. CN=orders,O=Example)"
                )
        if '"' in subject or "'" in subject:
            # sam deploy's --parameter-overrides parser treats quotes as its own; no quoting survives it intact.
            raise UsageError(f"{ALLOWED_CLIENTS}: quotes in a subject are not supported ('{subject}')")
        pairs.append((tenant, subject))
    # One subject maps to one tenant; a tenant may hold several subjects (old and new certificate in a rotation).
    subjects = [subject for _, subject in pairs]
    if len(set(subjects)) != len(subjects):
        raise UsageError(f"{ALLOWED_CLIENTS}: a subject is listed twice (one subject maps to one tenant)")
    return pairs


def parse_mtls(parsed: Parsed) -> MtlsSettings:
    """The --mtls options of a parsed command line, checked; UsageError for a missing or invalid value."""
    given = [name for name in (*VALUES, *FLAGS[1:]) if name in parsed.values or name in parsed.flags]
    if FLAG not in parsed.flags:
        if given:
            raise UsageError(f"{given[0]} needs {FLAG}")
        return MtlsSettings()
    missing = [name for name in _REQUIRED if not parsed.value(name)]
    if missing:
        raise UsageError(f"{FLAG} needs {', '.join(missing)}")
    ca_bundle = Path(parsed.value(CA_BUNDLE))
    pem_ders(ca_bundle, CA_BUNDLE, "CERTIFICATE")
    crl = Path(parsed.value(CRL)) if parsed.value(CRL) else None
    if crl is not None:
        pem_ders(crl, CRL, "X509 CRL")
    server_cert = parsed.value(SERVER_CERT)
    if not _ACM_ARN.fullmatch(server_cert):
        raise UsageError(f"invalid {SERVER_CERT} '{server_cert}' (expected arn:aws:acm:REGION:ACCOUNT:certificate/ID)")
    dns_name = parsed.value(DNS_NAME)
    if not _DNS_NAME.fullmatch(dns_name):
        raise UsageError(f"invalid {DNS_NAME} '{dns_name}' (expected a lowercase DNS name, e.g. api.example.internal)")
    secret = parsed.value(CLIENT_SECRET)
    if not _SECRET_ARN.fullmatch(secret):
        raise UsageError(
            f"invalid {CLIENT_SECRET} '{secret}' (expected arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)"
        )
    clients = parsed.value(ALLOWED_CLIENTS)
    allowed_clients(clients)
    log_bucket = parsed.value(LOG_BUCKET)
    if log_bucket and not _BUCKET.fullmatch(log_bucket):
        raise UsageError(f"invalid {LOG_BUCKET} '{log_bucket}' (expected an S3 bucket name, e.g. my-elb-logs)")
    return MtlsSettings(
        enabled=True,
        ca_bundle=ca_bundle,
        crl=crl,
        server_certificate_arn=server_cert,
        dns_name=dns_name,
        client_secret_arn=secret,
        allowed_clients=clients,
        acceptance_required=ACCEPTANCE_FLAG in parsed.flags,
        hosted_zone=NO_HOSTED_ZONE not in parsed.flags,
        secrets_endpoint=NO_SECRETS_ENDPOINT not in parsed.flags,
        log_bucket=log_bucket,
    )


def check_regions(settings: MtlsSettings, region: str) -> None:
    """The ALB takes an ACM certificate of its own region only; the client reads its secret in its region."""
    if not settings.enabled:
        return
    for option, arn, pattern in (
        (SERVER_CERT, settings.server_certificate_arn, _ACM_ARN),
        (CLIENT_SECRET, settings.client_secret_arn, _SECRET_ARN),
    ):
        match = pattern.fullmatch(arn)
        if match and match["region"] != region:
            raise Fatal(f"{option} {arn} is in {match['region']}, not the deployment's region {region}")


@dataclass(frozen=True)
class TrustKeys:
    """Where the trust files were uploaded in the provider's artifact bucket."""

    bucket: str
    ca_bundle: str
    crl: str = ""


def trust_file_key(path: Path, name: str) -> str:
    """The key of a trust file in the artifact bucket."""
    # Content-addressed: a new bundle or CRL gets a new key, so CloudFormation sees a changed property and reloads it
    # (same bucket and key with new content would be "no change" for the trust store).
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return f"{KEY_PREFIX}/{name}-{digest}.pem"


def upload_trust_files(out: Output, s3: Any, bucket: str, account: str, settings: MtlsSettings) -> TrustKeys:
    """Put the CA bundle (and CRL) into the provider's artifact bucket under mtls/; their keys."""
    if settings.ca_bundle is None:
        raise Fatal(f"{FLAG} without {CA_BUNDLE}")  # parse_mtls refuses that: a programming error if reached
    uploads = [(settings.ca_bundle, trust_file_key(settings.ca_bundle, "ca-bundle"))]
    if settings.crl is not None:
        uploads.append((settings.crl, trust_file_key(settings.crl, "crl")))
    for path, key in uploads:
        try:
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ExpectedBucketOwner=account)
        except ClientError as error:
            raise Fatal(f"cannot upload {path} to s3://{bucket}/{key}: {error_text(error)}") from error
        out.info(f"uploaded {path} to s3://{bucket}/{key}")
    return TrustKeys(bucket, uploads[0][1], uploads[1][1] if len(uploads) > 1 else "")


def _override(name: str, value: str) -> str:
    # sam deploy splits --parameter-overrides values at spaces unless the value is wrapped in double quotes.
    return f'{name}="{value}"' if re.search(r"\s", value) else f"{name}={value}"


def provider_parameters(settings: MtlsSettings, keys: TrustKeys | None, consumer_account: str) -> list[str]:
    """The provider's mTLS parameters; an explicit No without --mtls (sam deploy would keep a previous Yes)."""
    if not settings.enabled or keys is None:
        return ["pEnableMtls=No"]
    return [
        "pEnableMtls=Yes",
        f"pMtlsTrustStoreBucket={keys.bucket}",
        f"pMtlsCABundleKey={keys.ca_bundle}",
        f"pMtlsRevocationListKey={keys.crl or NONE}",
        f"pMtlsServerCertificateArn={settings.server_certificate_arn}",
        f"pMtlsAllowedPrincipals=arn:aws:iam::{consumer_account}:root",
        f"pMtlsAcceptanceRequired={'Yes' if settings.acceptance_required else 'No'}",
        _override("pMtlsAllowedClients", settings.allowed_clients),
        f"pMtlsLogBucket={settings.log_bucket or NONE}",
    ]


def consumer_parameters(settings: MtlsSettings, service_name: str) -> list[str]:
    """The consumer's mTLS parameters; an explicit No without --mtls, and both Yes/No switches always stated (sam deploy
    would keep a previous run's value of a parameter not given)."""
    if not settings.enabled:
        return ["pEnableMtlsClient=No"]
    return [
        "pEnableMtlsClient=Yes",
        f"pMtlsServiceName={service_name}",
        f"pMtlsServiceDNSName={settings.dns_name}",
        f"pMtlsCertificateSecretArn={settings.client_secret_arn}",
        f"pCreateMtlsHostedZone={'Yes' if settings.hosted_zone else 'No'}",
        f"pCreateSecretsManagerEndpoint={'Yes' if settings.secrets_endpoint else 'No'}",
    ]


def endpoint_service_name(ec2: Any, outputs: dict[str, str], stack: str) -> tuple[str, str]:
    """(service id, service name) of the provider's endpoint service. The name comes from EC2 when the stack gives
    the id (the template can only build it from an assumed format), else from the MtlsEndpointServiceName output."""
    service_id = outputs.get("MtlsEndpointServiceId", "")
    if service_id:
        try:
            found = ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[service_id])["ServiceConfigurations"]
        except ClientError as error:
            raise Fatal(
                f"cannot describe endpoint service {service_id} of stack {stack}: {error_text(error)}"
            ) from error
        if found and found[0].get("ServiceName"):
            return service_id, str(found[0]["ServiceName"])
    name = outputs.get("MtlsEndpointServiceName", "")
    if not name:
        raise Fatal(
            f"stack {stack} has neither output MtlsEndpointServiceId nor MtlsEndpointServiceName: was it deployed "
            "with pEnableMtls=Yes from a template with the certificate path?"
        )
    return service_id, name


def endpoint_state(ec2: Any, endpoint_id: str) -> str:
    """The state of the consumer's endpoint to the service, read in the consumer's account ("" when it is gone):
    pendingAcceptance, available, rejected... (the connection's state as the consumer sees it)."""
    try:
        found = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint_id])["VpcEndpoints"]
    except ClientError as error:
        if "NotFound" in str(error):
            return ""
        raise Fatal(f"cannot describe endpoint {endpoint_id}: {error_text(error)}") from error
    return str(found[0].get("State", "")) if found else ""


@dataclass(frozen=True)
class TargetHealth:
    """One target of one target group."""

    target_group: str
    target: str
    state: str
    reason: str = ""


def _group_health(elbv2: Any, load_balancer_arn: str) -> list[TargetHealth]:
    found = []
    for group in elbv2.describe_target_groups(LoadBalancerArn=load_balancer_arn)["TargetGroups"]:
        arn = group["TargetGroupArn"]
        descriptions = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
        if not descriptions:
            # The API target group is filled by the MtlsEndpointTargets custom resource; empty means it did not run.
            found.append(TargetHealth(arn, "(none)", NO_TARGETS, "no target registered"))
        for description in descriptions:
            health = description.get("TargetHealth") or {}
            found.append(
                TargetHealth(
                    arn,
                    str(description["Target"]["Id"]),
                    str(health.get("State", "")),
                    str(health.get("Description") or health.get("Reason") or ""),
                )
            )
    return found


def load_balancer_health(ec2: Any, elbv2: Any, service_id: str) -> list[TargetHealth]:
    """Every target behind the service: the NLB's target group (the ALB), then the ALB's (the execute-api endpoint's
    addresses). Found from the service itself, so no logical id of the nested stack is needed."""
    configurations = ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[service_id])["ServiceConfigurations"]
    nlbs = [str(arn) for config in configurations for arn in config.get("NetworkLoadBalancerArns") or []]
    health: list[TargetHealth] = []
    for nlb in nlbs:
        behind_nlb = _group_health(elbv2, nlb)
        health += behind_nlb
        for target in behind_nlb:
            if ":loadbalancer/app/" in target.target:
                health += _group_health(elbv2, target.target)
    return health


def unhealthy(health: list[TargetHealth]) -> list[TargetHealth]:
    """The targets not (yet) healthy."""
    return [target for target in health if target.state != "healthy"]
