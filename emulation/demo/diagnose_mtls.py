"""The certificate (mTLS) path in diagnose's demo world: what `deploy-all.sh --mtls` adds to both accounts, in moto.

The provider gets its VPC, its own execute-api endpoint, the ALB (HTTPS listener verifying client certificates
against a trust store) behind an NLB, both target groups and the endpoint service with its allowed principals, all
from the rendered backend template; the consumer gets the interface endpoint to that service (diagnose_world builds
the rest of the consumer from the client template).

moto 5.2.5 lacks parts of this path, so `MotoGaps` answers them from what the world recorded when it made the
calls, the way AWS would: a listener's MutualAuthentication and the trust stores (ELBv2), a function's LoggingConfig
(Lambda), and the state of a consumer's connection to another account's endpoint service (moto links neither the
accounts nor acceptance). Everything else is moto's own.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from moto.ec2.models import ec2_backends

from cfnrender.render import Rendered

__all__ = [
    "ALLOWED_CLIENTS",
    "SERVICE_DNS_NAME",
    "MotoGaps",
    "Mtls",
    "ProviderNetwork",
    "connect",
    "consumer_parameters",
    "deploy_load_balancers",
    "provider_network",
    "provider_parameters",
    "reject_connection",
]

SERVICE_DNS_NAME = "api.partner.example"
ALLOWED_CLIENTS = "orders:CN=orders,O=Example"
# A placeholder for the client template's rule while the consumer's first half is built (before the service exists).
PENDING_SERVICE = "com.amazonaws.vpce.us-east-1.vpce-svc-00000000000000000"
_CA_BUNDLE_KEY = "mtls/ca-bundle-0123456789abcdef.pem"  # deploy-all's content-addressed key (workflow/mtls.py)
_DYNAMODB_PREFIX_LIST = "pl-02cd2c6b"
_CA_CERTIFICATES = 1  # the demo bundle's CA count, as DescribeTrustStores would report it


@dataclass
class Mtls:
    """The ids of the certificate path the tests and fault builders refer to."""

    service_id: str
    service_name: str
    api_target_group: str
    api_endpoint: str  # the provider's own execute-api endpoint, whose addresses are the API target group's targets
    consumer_endpoint: str = ""
    secret_arn: str = ""


def _response(status: int) -> AWSResponse:
    """The HTTP side of an answer given instead of moto's (botocore reads only its status)."""
    return AWSResponse("", status, HTTPHeaders(), None)


@dataclass
class MotoGaps:
    """What moto does not keep, answered on the sessions it is installed on (see the module docstring)."""

    listeners: dict[str, dict[str, Any]] = field(default_factory=dict)  # listener ARN -> MutualAuthentication
    trust_stores: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARN -> DescribeTrustStores item
    logging: dict[str, dict[str, str]] = field(default_factory=dict)  # function name -> LoggingConfig

    def install(self, session: Any) -> None:
        """Answer the missing parts on every client this session makes."""
        session.events.register("after-call.elastic-load-balancing-v2.DescribeListeners", self._listeners)
        session.events.register("before-call.elastic-load-balancing-v2.DescribeTrustStores", self._trust_stores)
        session.events.register("after-call.lambda.GetFunctionConfiguration", self._logging)

    def add_trust_store(self, account: str, region: str, name: str, *, revoked_entries: int) -> str:
        """A trust store as CreateTrustStore leaves it once its CA bundle is read: ACTIVE."""
        arn = f"arn:aws:elasticloadbalancing:{region}:{account}:truststore/{name}/{uuid.uuid4().hex[:16]}"
        self.trust_stores[arn] = {
            "Name": name,
            "TrustStoreArn": arn,
            "Status": "ACTIVE",
            "NumberOfCaCertificates": _CA_CERTIFICATES,
            "TotalRevokedEntries": revoked_entries,
        }
        return arn

    def _listeners(self, parsed: dict[str, Any], **_: Any) -> None:
        for listener in parsed.get("Listeners", []):
            mutual = self.listeners.get(listener.get("ListenerArn", ""))
            if mutual is not None:
                listener["MutualAuthentication"] = dict(mutual)

    def _trust_stores(self, params: Mapping[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        body = params.get("body") or {}
        wanted = (
            [str(v) for k, v in body.items() if k.startswith("TrustStoreArns.member.")]
            if isinstance(body, dict)
            else []
        )
        unknown = [arn for arn in wanted if arn not in self.trust_stores]
        if unknown:
            error = {"Code": "TrustStoreNotFound", "Message": f"Trust store '{unknown[0]}' not found"}
            return _response(400), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}
        found = [self.trust_stores[arn] for arn in wanted or list(self.trust_stores)]
        return _response(200), {"TrustStores": found, "ResponseMetadata": {"HTTPStatusCode": 200}}

    def _logging(self, parsed: dict[str, Any], **_: Any) -> None:
        config = self.logging.get(parsed.get("FunctionName", ""))
        if config is not None:
            parsed["LoggingConfig"] = dict(config)


@dataclass(frozen=True)
class ProviderNetwork:
    """What the provider has before its stack's mTLS resources: the VPC, two subnets, the server certificate, and
    the provider's own execute-api endpoint (created first: the API's resource policy names it)."""

    vpc_id: str
    subnets: tuple[str, str]
    certificate_arn: str
    api_endpoint: str


def provider_network(session: Any, region: str) -> ProviderNetwork:
    """The provider VPC (an ALB needs two Availability Zones), its server certificate and its execute-api endpoint."""
    ec2 = session.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = tuple(
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i + 1}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    )
    certificate = session.client("acm").request_certificate(DomainName=SERVICE_DNS_NAME)["CertificateArn"]
    endpoint = ec2.create_vpc_endpoint(
        VpcEndpointType="Interface",
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{region}.execute-api",
        SubnetIds=list(subnets),
        PrivateDnsEnabled=False,
    )["VpcEndpoint"]["VpcEndpointId"]
    return ProviderNetwork(vpc, (subnets[0], subnets[1]), certificate, endpoint)


def provider_parameters(network: ProviderNetwork, *, consumer: str, bucket: str) -> dict[str, str]:
    """What deploy-all.sh --mtls passes the provider stack (design section 8)."""
    return {
        "pVPCID": network.vpc_id,
        "pLambdaSubnetIDs": ",".join(network.subnets),
        "pDynamoDBPrefixListID": _DYNAMODB_PREFIX_LIST,
        "pEnableMtls": "Yes",
        "pMtlsTrustStoreBucket": bucket,
        "pMtlsCABundleKey": _CA_BUNDLE_KEY,
        "pMtlsServerCertificateArn": network.certificate_arn,
        "pMtlsAllowedPrincipals": f"arn:aws:iam::{consumer}:root",
        "pMtlsAllowedClients": ALLOWED_CLIENTS,
    }


def consumer_parameters(secret_arn: str, service_name: str | None) -> dict[str, str]:
    """What deploy-all.sh --mtls passes the consumer stack (a placeholder service name until the service exists)."""
    return {
        "pEnableMtlsClient": "Yes",
        "pMtlsServiceName": service_name or PENDING_SERVICE,
        "pMtlsServiceDNSName": SERVICE_DNS_NAME,
        "pMtlsCertificateSecretArn": secret_arn,
    }


def _props(rendered: Rendered, logical: str) -> dict[str, Any]:
    return dict(rendered.resources[logical]["Properties"])


def _target_group(elbv2: Any, name: str, props: Mapping[str, Any]) -> str:
    keys = ("TargetType", "Protocol", "Port", "VpcId", "HealthCheckProtocol", "HealthCheckPort", "HealthCheckPath")
    settings = {k: props[k] for k in keys if k in props}
    if "Matcher" in props:
        settings["Matcher"] = {"HttpCode": props["Matcher"]["HttpCode"]}
    return str(elbv2.create_target_group(Name=name, **settings)["TargetGroups"][0]["TargetGroupArn"])


def _endpoint_addresses(ec2: Any, endpoint: str) -> list[str]:
    interfaces = ec2.describe_vpc_endpoints(VpcEndpointIds=[endpoint])["VpcEndpoints"][0]["NetworkInterfaceIds"]
    found = ec2.describe_network_interfaces(NetworkInterfaceIds=interfaces)["NetworkInterfaces"]
    return [str(interface["PrivateIpAddress"]) for interface in found]


def deploy_load_balancers(
    session: Any,
    rendered: Rendered,
    gaps: MotoGaps,
    *,
    network: ProviderNetwork,
    api_host: str,
    register_endpoint: bool = True,
) -> tuple[Mtls, dict[str, str]]:
    """The load balancers, target groups and endpoint service of the rendered backend template, as CloudFormation
    creates them; `register_endpoint` False leaves the API target group as a custom resource that registered nothing.

    Returns the ids and the physical ids to render the stack's outputs with.
    """
    elbv2, ec2 = session.client("elbv2"), session.client("ec2")
    account = session.client("sts").get_caller_identity()["Account"]
    region = session.region_name

    def balancer(logical: str, name: str, kind: str) -> dict[str, Any]:
        props = _props(rendered, logical)
        created = elbv2.create_load_balancer(Name=name, Subnets=props["Subnets"], Scheme=props["Scheme"], Type=kind)
        return dict(created["LoadBalancers"][0])

    alb, nlb = (
        balancer("MtlsApplicationLoadBalancer", "mtls-alb", "application"),
        balancer("MtlsNetworkLoadBalancer", "mtls-nlb", "network"),
    )
    api_group = _target_group(elbv2, "mtls-api", _props(rendered, "MtlsApiTargetGroup"))
    revoked = 1 if "MtlsTrustStoreRevocation" in rendered.resources else 0
    trust_store = gaps.add_trust_store(account, region, "mtls-trust-store", revoked_entries=revoked)
    https = _props(rendered, "MtlsHttpsListener")
    mutual = {**https["MutualAuthentication"], "TrustStoreArn": trust_store}
    listener = elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol=https["Protocol"],
        Port=https["Port"],
        SslPolicy=https["SslPolicy"],
        Certificates=https["Certificates"],
        MutualAuthentication=mutual,
        DefaultActions=https["DefaultActions"],
    )["Listeners"][0]["ListenerArn"]
    gaps.listeners[listener] = mutual
    health = _props(rendered, "MtlsHealthListener")
    elbv2.create_listener(
        LoadBalancerArn=alb["LoadBalancerArn"],
        Protocol=health["Protocol"],
        Port=health["Port"],
        DefaultActions=health["DefaultActions"],
    )
    rule = _props(rendered, "MtlsApiListenerRule")
    conditions = [
        {"Field": "host-header", "HostHeaderConfig": {"Values": [api_host]}},
        *(c for c in rule["Conditions"] if c["Field"] != "host-header"),
    ]
    elbv2.create_rule(
        ListenerArn=listener,
        Priority=rule["Priority"],
        Conditions=conditions,
        Actions=[{"Type": "forward", "TargetGroupArn": api_group}],
    )
    if register_endpoint:  # what the MtlsEndpointTargets custom resource does
        addresses = _endpoint_addresses(ec2, network.api_endpoint)
        elbv2.register_targets(TargetGroupArn=api_group, Targets=[{"Id": ip, "Port": 443} for ip in addresses])
    alb_group = _target_group(elbv2, "mtls-alb", _props(rendered, "MtlsAlbTargetGroup"))
    elbv2.register_targets(TargetGroupArn=alb_group, Targets=[{"Id": alb["LoadBalancerArn"], "Port": 443}])
    elbv2.create_listener(
        LoadBalancerArn=nlb["LoadBalancerArn"],
        Protocol="TCP",
        Port=_props(rendered, "MtlsNlbListener")["Port"],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": alb_group}],
    )
    service = ec2.create_vpc_endpoint_service_configuration(
        NetworkLoadBalancerArns=[nlb["LoadBalancerArn"]],
        AcceptanceRequired=bool(_props(rendered, "MtlsEndpointService")["AcceptanceRequired"]),
    )["ServiceConfiguration"]
    ec2.modify_vpc_endpoint_service_permissions(
        ServiceId=service["ServiceId"],
        AddAllowedPrincipals=list(_props(rendered, "MtlsEndpointServicePermissions")["AllowedPrincipals"]),
    )
    physical = {
        "MtlsEndpointService": service["ServiceId"],
        "MtlsApplicationLoadBalancer": alb["LoadBalancerArn"],
        "MtlsNetworkLoadBalancer": nlb["LoadBalancerArn"],
        "MtlsApiTargetGroup": api_group,
        "MtlsAlbTargetGroup": alb_group,
        "MtlsTrustStore": trust_store,
        "MtlsHttpsListener": listener,
    }
    mtls = Mtls(
        service_id=service["ServiceId"],
        service_name=service["ServiceName"],
        api_target_group=api_group,
        api_endpoint=network.api_endpoint,
    )
    return mtls, physical


def _set_state(account: str, region: str, endpoint: str, state: str) -> None:
    ec2_backends[account][region].vpc_end_points[endpoint].state = state


def connect(consumer_account: str, provider: Any, mtls: Mtls) -> None:
    """The consumer's endpoint as PrivateLink leaves it: pendingAcceptance when the service requires acceptance."""
    ec2 = provider.client("ec2")
    service = ec2.describe_vpc_endpoint_service_configurations(ServiceIds=[mtls.service_id])["ServiceConfigurations"]
    if service[0]["AcceptanceRequired"]:
        _set_state(consumer_account, provider.region_name, mtls.consumer_endpoint, "pendingAcceptance")


def reject_connection(consumer_account: str, region: str, mtls: Mtls) -> None:
    """What the provider's `aws ec2 reject-vpc-endpoint-connections` does to the consumer's endpoint."""
    _set_state(consumer_account, region, mtls.consumer_endpoint, "rejected")
