"""What diagnose read from each account: plain frozen dataclasses, no AWS calls and no judgement."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from iampolicy.policy import Policy

__all__ = [
    "ApiChange",
    "CertificatePath",
    "Collected",
    "Consumer",
    "DomainAssociation",
    "DomainMapping",
    "DomainPath",
    "Endpoint",
    "Function",
    "LogEvent",
    "Network",
    "Provider",
    "RestApi",
    "Role",
    "Rule",
    "SecurityGroup",
    "Stack",
    "Stage",
    "Target",
    "TrustStore",
]


@dataclass(frozen=True)
class Stack:
    """A CloudFormation stack's status, outputs and parameters."""

    name: str
    stack_id: str
    status: str
    outputs: Mapping[str, str]
    parameters: Mapping[str, str]
    created: datetime | None
    updated: datetime | None


@dataclass(frozen=True)
class Role:
    """An IAM role with its trust policy and identity policies (None: they could not be read)."""

    arn: str
    role_id: str | None
    trust_policy: Policy | None
    policies: tuple[Policy, ...] | None


@dataclass(frozen=True)
class Function:
    """A client function's configuration, with its execution role."""

    name: str
    role_arn: str
    environment: Mapping[str, str]
    vpc_id: str | None
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    last_modified: datetime | None
    role: Role | None
    log_group: str | None = None  # LoggingConfig.LogGroup (None: Lambda's default /aws/lambda/<name>)


@dataclass(frozen=True)
class Endpoint:
    """An interface VPC endpoint."""

    id: str
    service_name: str
    vpc_id: str
    state: str
    private_dns: bool
    policy: Policy | None
    dns_names: tuple[str, ...]
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One security group permission: protocol, port range, and the CIDRs or groups it names."""

    protocol: str
    from_port: int | None
    to_port: int | None
    cidrs: tuple[str, ...]
    groups: tuple[str, ...]


@dataclass(frozen=True)
class SecurityGroup:
    """A security group's rules."""

    id: str
    ingress: tuple[Rule, ...]
    egress: tuple[Rule, ...]


@dataclass(frozen=True)
class Network:
    """What decides whether packets and names get from the client functions to the endpoint."""

    dns_support: bool | None
    dns_hostnames: bool | None
    subnet_cidrs: Mapping[str, str]
    security_groups: Mapping[str, SecurityGroup]


@dataclass(frozen=True)
class RestApi:
    """The provider's REST API: its type, associated endpoints and resource policy."""

    id: str
    endpoint_types: tuple[str, ...]
    vpc_endpoint_ids: tuple[str, ...]
    policy: Policy | None


@dataclass(frozen=True)
class Stage:
    """A stage and the deployment it serves."""

    name: str
    deployment_id: str | None
    deployment_created: datetime | None
    access_log_destination: str | None


@dataclass(frozen=True)
class ApiChange:
    """When the API (and so possibly its policy) last changed, and how that was worked out."""

    at: datetime
    source: str


@dataclass(frozen=True)
class LogEvent:
    """One access-log line."""

    at: datetime
    message: str


@dataclass(frozen=True)
class Consumer:
    """The consumer account as one profile sees it."""

    profile: str
    account: str | None
    org_id: str | None = None
    stack: Stack | None = None
    functions: Mapping[str, Function] = field(default_factory=dict)
    endpoint: Endpoint | None = None
    sts_endpoints: tuple[Endpoint, ...] | None = None  # None: not read (see errors['sts-endpoints'])
    network: Network | None = None
    errors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Provider:
    """The provider account as one profile sees it."""

    profile: str
    account: str | None
    org_id: str | None = None
    stack: Stack | None = None
    api: RestApi | None = None
    stage: Stage | None = None
    api_change: ApiChange | None = None
    roles: Mapping[str, Role] = field(default_factory=dict)
    log_group: str | None = None
    log_events: tuple[LogEvent, ...] | None = None
    errors: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Collected:
    """Everything diagnose read; provider is None when no provider profile was given."""

    region: str
    consumer_stack: str
    provider_stack: str
    since_minutes: int
    at: datetime
    consumer: Consumer
    provider: Provider | None
    certificate: CertificatePath | None = None  # read only when the consumer stack has the certificate client
    domain: DomainPath | None = None  # read only when the consumer stack calls a private custom domain name


@dataclass(frozen=True)
class Target:
    """One target of one target group behind the certificate path's endpoint service."""

    group: str
    target: str
    state: str
    reason: str = ""


@dataclass(frozen=True)
class TrustStore:
    """An HTTPS listener of the certificate path's ALB: its mutual-authentication mode and trust store."""

    listener: str
    mode: str  # off, passthrough or verify
    arn: str
    status: str  # ACTIVE, CREATING, or "missing" when the listener names a trust store that is not there
    ca_certificates: int | None = None
    revoked_entries: int | None = None


@dataclass
class CertificatePath:
    """What was read about the certificate (mTLS) path; None means not read (the reason is in `errors`)."""

    region: str
    consumer_account: str
    provider_profile: str
    consumer_profile: str = ""
    endpoint_id: str = ""
    endpoint_state: str | None = None
    service_id: str = ""
    provider_stack_read: bool = False  # the provider stack's outputs were read (so a missing service id is a fact)
    allowed_principals: tuple[str, ...] | None = None
    targets: tuple[Target, ...] | None = None
    trust_stores: tuple[TrustStore, ...] | None = None
    secret_arn: str = ""
    secret_exists: bool | None = None
    client_role: Role | None = None
    client_log_group: str = ""
    client_events: tuple[LogEvent, ...] | None = None
    client_modified: datetime | None = None
    since_minutes: int = 60
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DomainAssociation:
    """A domain name access association: which domain, from which source (a VPC endpoint)."""

    arn: str
    domain_arn: str
    source: str


@dataclass(frozen=True)
class DomainMapping:
    """A base path mapping of a private custom domain name ("" is the root, which API Gateway lists as "(none)")."""

    base_path: str
    api_id: str
    stage: str


@dataclass
class DomainPath:
    """What was read about the private custom domain path; None means not read (the reason is in `errors`)."""

    region: str
    name: str  # the consumer's pPrivateDomainName
    arn: str  # the consumer's pPrivateDomainNameArn
    base_path: str  # the consumer's pPrivateDomainBasePath ("" for None: the root)
    hosted_zone: bool  # pCreatePrivateDomainHostedZone=Yes
    consumer_account: str
    consumer_org_id: str | None = None
    consumer_profile: str = ""
    provider_profile: str = ""
    zone_id: str = ""
    zone_targets: tuple[str, ...] | None = None  # alias targets of the zone's A records for the name
    zone_vpcs: tuple[str, ...] | None = None
    shared: bool | None = None  # the consumer's RAM shared resources list the domain
    invitations: tuple[tuple[str, str], ...] | None = None  # (invitation ARN, status) for the provider's share
    associations: tuple[DomainAssociation, ...] | None = None  # the consumer's own (resource owner SELF)
    provider_stack_read: bool = False
    provider_arn: str = ""  # the provider's PrivateDomainNameArn output
    share_arn: str = ""  # the provider's PrivateDomainShareArn output
    share_principals: tuple[str, ...] | None = None
    domain_found: bool | None = None
    endpoint_types: tuple[str, ...] = ()
    policy: Policy | None = None  # None with domain_found: no policy (API Gateway's deny-all)
    mappings: tuple[DomainMapping, ...] | None = None
    errors: dict[str, str] = field(default_factory=dict)
