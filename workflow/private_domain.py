"""deploy-all.sh --domain: the private custom domain name path of issue 17 (docs/private-domain.md).

The options and their checks, the ACM preflight, the stacks' parameters, the consumer's acceptance of the provider's
RAM share, the consumer's domain name access association, and the foreign associations destroy-all rejects before the
provider's domain goes. Functions take boto3 clients, so tests pass moto's or botocore Stubber's (moto 5.2.5 lacks
the RAM invitations and the access associations). Standard library only besides boto3 (the workflow's rule).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from workflow.aws import error_text
from workflow.options import Parsed
from workflow.output import Fatal, Output, UsageError

__all__ = [
    "FLAG",
    "FLAGS",
    "VALUES",
    "DomainSettings",
    "accept_share",
    "association_listed",
    "certificate_problems",
    "check_certificate",
    "check_regions",
    "consumer_parameters",
    "covers",
    "foreign_associations",
    "parse_domain",
    "provider_parameters",
    "shared_domain_listed",
]

FLAG = "--domain"
CERTIFICATE = "--certificate-arn"
BASE_PATH = "--base-path"
SHARE_PRINCIPALS = "--share-principals"
NO_HOSTED_ZONE = "--domain-no-hosted-zone"
VALUES = (FLAG, CERTIFICATE, BASE_PATH, SHARE_PRINCIPALS)
FLAGS = (NO_HOSTED_ZONE,)
DEFAULT_BASE_PATH = "v1"
# The templates' "nothing" (pPrivateDomainName, pPrivateDomainNameArn, pPrivateDomainBasePath = the root mapping,
# pPrivateDomainSharePrincipals = no RAM share).
NONE = "None"
# The RAM resource type of a private custom domain name (AWS's consumer page: ram list-resources --resource-type).
RAM_RESOURCE_TYPE = "apigateway:Domainnames"
# Key types AWS accepts for a private custom domain name's certificate (AWS's considerations page).
KEY_ALGORITHMS = ("RSA_2048", "EC_prime256v1", "EC_secp384r1")
# The templates' patterns (pPrivateDomainName, pPrivateDomainBasePath): a lower-case name, not a wildcard; one segment.
_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_BASE_PATH = re.compile(r"None|[A-Za-z0-9._-]{1,64}")
_ACM_ARN = re.compile(r"arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):certificate/[A-Za-z0-9-]+")
_ACCOUNT = re.compile(r"[0-9]{12}")
_ORGANIZATION = re.compile(
    r"arn:aws[a-z-]*:organizations::[0-9]{12}:"
    r"(organization/o-[a-z0-9]{10,32}|ou/o-[a-z0-9]{10,32}/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32})"
)


@dataclass(frozen=True)
class DomainSettings:
    """A valid --domain command line; `enabled` False means every other field is empty."""

    enabled: bool = False
    name: str = ""
    certificate_arn: str = ""
    # "None" maps the root (no base path).
    base_path: str = DEFAULT_BASE_PATH
    # "" = the consumer account (decided once the account is known); "None" = no RAM share.
    share_principals: str = ""
    hosted_zone: bool = True

    def url(self) -> str:
        """What the consumer calls."""
        return f"https://{self.name}" + ("" if self.base_path == NONE else f"/{self.base_path}")


def _principals(text: str) -> str:
    if text == NONE:
        return text
    entries = text.split(",")
    for entry in entries:
        if not (_ACCOUNT.fullmatch(entry) or _ORGANIZATION.fullmatch(entry)):
            raise UsageError(
                f"invalid {SHARE_PRINCIPALS} entry '{entry}' (expected 12-digit account ids, organization or OU ARNs, "
                "comma-separated without spaces, or None)"
            )
    return text


def parse_domain(parsed: Parsed) -> DomainSettings:
    """The --domain options of a parsed command line, checked; UsageError for a missing or invalid value."""
    given = [name for name in (*VALUES[1:], *FLAGS) if name in parsed.values or name in parsed.flags]
    name = parsed.value(FLAG)
    if not name:
        if given:
            raise UsageError(f"{given[0]} needs {FLAG}")
        return DomainSettings()
    if not _NAME.fullmatch(name):
        raise UsageError(
            f"invalid {FLAG} '{name}' (expected a lowercase DNS name such as api.example.com; AWS takes no wildcard "
            "domain name)"
        )
    certificate = parsed.value(CERTIFICATE)
    if not certificate:
        raise UsageError(f"{FLAG} needs {CERTIFICATE}")
    if not _ACM_ARN.fullmatch(certificate):
        raise UsageError(
            f"invalid {CERTIFICATE} '{certificate}' (expected arn:aws:acm:REGION:ACCOUNT:certificate/ID: AWS takes "
            "only ACM certificates for a private custom domain name)"
        )
    base_path = parsed.value(BASE_PATH, DEFAULT_BASE_PATH)
    if not _BASE_PATH.fullmatch(base_path):
        raise UsageError(
            f"invalid {BASE_PATH} '{base_path}' (one path segment of letters, digits, '.', '_', '-', at most 64; "
            "None maps the root; private domains take no multi-level base path)"
        )
    return DomainSettings(
        enabled=True,
        name=name,
        certificate_arn=certificate,
        base_path=base_path,
        share_principals=_principals(parsed.value(SHARE_PRINCIPALS)) if SHARE_PRINCIPALS in parsed.values else "",
        hosted_zone=NO_HOSTED_ZONE not in parsed.flags,
    )


def check_regions(settings: DomainSettings, region: str, provider_account: str) -> None:
    """API Gateway takes an ACM certificate of the domain's own region and account."""
    match = _ACM_ARN.fullmatch(settings.certificate_arn)
    if not settings.enabled or match is None:
        return
    if match["region"] != region:
        raise Fatal(f"{CERTIFICATE} {settings.certificate_arn} is in {match['region']}, not the deployment's {region}")
    if match["account"] != provider_account:
        raise Fatal(
            f"{CERTIFICATE} {settings.certificate_arn} belongs to account {match['account']}, not the provider's "
            f"{provider_account}"
        )


def covers(certificate_name: str, name: str) -> bool:
    """Whether one name of a certificate covers the domain: equal, or a wildcard for exactly one leftmost label."""
    certificate_name = certificate_name.lower()
    if certificate_name.startswith("*."):
        label, dot, rest = name.partition(".")
        return bool(label) and bool(dot) and rest == certificate_name[2:]
    return certificate_name == name


def certificate_problems(detail: dict[str, Any], name: str) -> list[str]:
    """What makes an ACM certificate (DescribeCertificate's Certificate) unusable for the private domain `name`."""
    problems = []
    status = str(detail.get("Status", ""))
    if status != "ISSUED":
        problems.append(f"its status is {status or 'unknown'}, not ISSUED")
    names = [str(detail.get("DomainName", "")), *(str(alt) for alt in detail.get("SubjectAlternativeNames") or [])]
    if not any(covers(candidate, name) for candidate in names if candidate):
        problems.append(f"it does not cover {name} (it names {', '.join(sorted(set(filter(None, names))))})")
    key = str(detail.get("KeyAlgorithm", ""))
    if key not in KEY_ALGORITHMS:
        problems.append(f"its key is {key or 'unknown'}; a private custom domain takes {', '.join(KEY_ALGORITHMS)}")
    return problems


def check_certificate(out: Output, acm: Any, settings: DomainSettings) -> None:
    """Preflight: the certificate exists in the provider's region, is issued, covers the name, has a key AWS takes."""
    if not settings.enabled:
        return
    arn = settings.certificate_arn
    try:
        detail = acm.describe_certificate(CertificateArn=arn)["Certificate"]
    except ClientError as error:
        raise Fatal(f"cannot describe {CERTIFICATE} {arn} in the provider account: {error_text(error)}") from error
    problems = certificate_problems(detail, settings.name)
    if problems:
        raise Fatal(f"certificate {arn} cannot serve {settings.name}: {'; '.join(problems)}")
    kind = str(detail.get("Type", ""))
    out.info(f"certificate {arn}: ISSUED, covers {settings.name}, {detail.get('KeyAlgorithm')}, {kind or 'type ?'}")
    if kind in ("PRIVATE", "IMPORTED"):
        # The clients trust the Lambda runtime's default store only; a private CA's certificate fails their TLS check.
        out.warn(
            f"certificate {arn} is {kind}: whether API Gateway accepts it for a private domain is shown only by a real "
            "deployment, and the clients trust only public CAs (docs/private-domain.md, Certificates)"
        )


def provider_parameters(settings: DomainSettings, consumer_account: str, provider_account: str = "") -> list[str]:
    """The provider's domain parameters; an explicit No without --domain (sam deploy would keep a previous Yes). The
    share goes to the consumer account unless --share-principals says otherwise; with both sides in one account there
    is nobody to share with (the account owns the domain)."""
    if not settings.enabled:
        return ["pEnablePrivateDomain=No"]
    default = NONE if consumer_account == provider_account else consumer_account
    return [
        "pEnablePrivateDomain=Yes",
        f"pPrivateDomainName={settings.name}",
        f"pPrivateDomainCertificateArn={settings.certificate_arn}",
        f"pPrivateDomainBasePath={settings.base_path}",
        f"pPrivateDomainSharePrincipals={settings.share_principals or default}",
    ]


def consumer_parameters(settings: DomainSettings, domain_arn: str) -> list[str]:
    """The consumer's domain parameters. Without --domain the name and ARN are stated None (sam deploy would keep a
    previous run's, and with them the association); with it every value, the zone switch included."""
    if not settings.enabled:
        return [f"pPrivateDomainName={NONE}", f"pPrivateDomainNameArn={NONE}"]
    return [
        f"pPrivateDomainName={settings.name}",
        f"pPrivateDomainNameArn={domain_arn}",
        f"pPrivateDomainBasePath={settings.base_path}",
        f"pCreatePrivateDomainHostedZone={'Yes' if settings.hosted_zone else 'No'}",
    ]


def _pages(call: Callable[..., dict[str, Any]], key: str, token: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    while True:
        page = call(**kwargs)
        yield from page.get(key) or []
        following = page.get(token)
        if not following:
            return
        kwargs[token] = following


def accept_share(out: Output, ram: Any, share_arn: str, *, quiet_when_none: bool = False) -> str:
    """The consumer's side of the RAM share: accept a PENDING invitation; ACCEPTED or none (an organization's share
    needs none, and another account's may not have arrived yet) is fine; EXPIRED or REJECTED stops the run. The
    invitation's status as found ("" for none); ``quiet_when_none`` leaves a repeated look for one unannounced."""
    try:
        invitations = list(
            _pages(
                ram.get_resource_share_invitations,
                "resourceShareInvitations",
                "nextToken",
                resourceShareArns=[share_arn],
            )
        )
    except ClientError as error:
        raise Fatal(f"cannot read the RAM invitations for share {share_arn}: {error_text(error)}") from error
    if not invitations:
        if not quiet_when_none:
            out.info(
                f"no invitation for share {share_arn} yet: none comes within an organization that shares with RAM; "
                "another account's may take minutes (looked for again while waiting)"
            )
        return ""
    statuses = [str(invitation.get("status", "")) for invitation in invitations]
    if "ACCEPTED" in statuses:
        out.info(f"share {share_arn} already accepted")
        return "ACCEPTED"
    pending = [invitation for invitation in invitations if invitation.get("status") == "PENDING"]
    if pending:
        arn = str(pending[0]["resourceShareInvitationArn"])
        try:
            ram.accept_resource_share_invitation(resourceShareInvitationArn=arn)
        except ClientError as error:
            raise Fatal(f"cannot accept RAM invitation {arn}: {error_text(error)}") from error
        out.info(f"accepted RAM invitation {arn}")
        return "PENDING"
    if "EXPIRED" in statuses:
        raise Fatal(
            f"the RAM invitation for share {share_arn} EXPIRED (not accepted within 12 hours): the provider must share "
            "the domain again (remove and re-add the consumer in pPrivateDomainSharePrincipals), then re-run"
        )
    raise Fatal(
        f"the RAM invitation for share {share_arn} is {', '.join(statuses)}: the consumer turned it down; the provider "
        "must share the domain again, then re-run"
    )


def shared_domain_listed(ram: Any, domain_arn: str) -> bool:
    """Whether the consumer account sees the domain among the resources other accounts share with it."""
    try:
        resources = _pages(
            ram.list_resources,
            "resources",
            "nextToken",
            resourceOwner="OTHER-ACCOUNTS",
            resourceType=RAM_RESOURCE_TYPE,
        )
        return any(resource.get("arn") == domain_arn for resource in resources)
    except ClientError as error:
        raise Fatal(f"cannot list the resources shared with the consumer: {error_text(error)}") from error


def association_listed(apigateway: Any, domain_arn: str, endpoint: str) -> bool:
    """Whether the consumer account holds an access association of its endpoint with the domain."""
    try:
        items = _pages(
            apigateway.get_domain_name_access_associations, "items", "position", resourceOwner="SELF", limit=500
        )
        return any(
            item.get("domainNameArn") == domain_arn and item.get("accessAssociationSource") == endpoint
            for item in items
        )
    except ClientError as error:
        raise Fatal(f"cannot list the consumer's domain name access associations: {error_text(error)}") from error


def foreign_associations(apigateway: Any, domain_arn: str) -> list[str]:
    """The access associations other accounts hold with the provider's domain (their ARNs)."""
    items = _pages(
        apigateway.get_domain_name_access_associations, "items", "position", resourceOwner="OTHER_ACCOUNTS", limit=500
    )
    return [str(item["domainNameAccessAssociationArn"]) for item in items if item.get("domainNameArn") == domain_arn]
