"""Two emulated accounts in moto holding what the kit's templates deploy, rendered by cfnrender.render.

The consumer account gets the client template's VPC endpoint(s), security groups, roles and functions; the provider
account gets the backend template's API (with the rendered resource policy), access role and access-log group. Each
side also gets a small CloudFormation stack carrying the rendered outputs and parameters, because moto cannot deploy
the SAM templates themselves. `Setup` changes parameters or adds the out-of-band edits a broken deployment has;
`CAUSES` lists one broken deployment per cause diagnose explains (diagnose.sh --demo and the tests build them).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.loaders
import botocore.session

from cfnrender.render import Rendered, render_template
from client.names import ClientKind
from emulation.demo import diagnose_domain
from emulation.demo.diagnose_domain import DomainGaps
from emulation.demo.diagnose_mtls import (
    MotoGaps,
    Mtls,
    ProviderNetwork,
    connect,
    consumer_parameters,
    deploy_load_balancers,
    provider_network,
    provider_parameters,
    reject_connection,
)
from emulation.gateway.access_log import render as render_log_line
from iampolicy.authz import expand_execute_api_resources
from iampolicy.execute_api import ExecuteApiHost

REGION = "us-east-1"
CONSUMER = "222222222222"
PROVIDER = "111111111111"
API_ID = "a1b2c3d4e5"
OTHER_API_ID = "z9y8x7w6v5"
PREFIX = "private-api"
CLIENT_STACK = f"{PREFIX}-client"
BACKEND_STACK = f"{PREFIX}-backend"
API_HOST = ExecuteApiHost(API_ID, None, REGION).name
ACCESS_ROLE = f"arn:aws:iam::{PROVIDER}:role/{BACKEND_STACK}-ApiAccessRole-1A2B3C4D"
DIRECT_ROLE = f"arn:aws:iam::{CONSUMER}:role/{CLIENT_STACK}-DirectAuthClientRole-5E6F7G8H"
ASSUME_ROLE = f"arn:aws:iam::{CONSUMER}:role/{CLIENT_STACK}-AssumeRoleClientRole-9I0J1K2L"
DIRECT_FUNCTION = f"{CLIENT_STACK}-PythonDirectAuthClient-AbCdEf"
ASSUME_FUNCTION = f"{CLIENT_STACK}-PythonAssumeRoleClient-GhIjKl"
ACCESS_LOG_GROUP = f"{BACKEND_STACK}-ApiAccessLogGroup-MnOpQr"
CERTIFICATE_ROLE = f"arn:aws:iam::{CONSUMER}:role/{CLIENT_STACK}-CertificateClientRole-3M4N5O6P"
CERTIFICATE_FUNCTION = f"{CLIENT_STACK}-PythonCertificateClient-MnOpQr"
CERTIFICATE_LOG_GROUP = f"{CLIENT_STACK}-PythonCertificateClientLogGroup-StUvWx"
ARTIFACT_BUCKET = f"{PREFIX}-artifacts-{PROVIDER}"
# Lambda accepts any runtime name moto knows; the template's python3.14 is checked by the template tests.
MOTO_RUNTIME = "python3.12"
_CLIENT_LOG_GROUPS = (
    "rPythonDirectAuthClientLogGroup",
    "rPythonAssumeRoleClientLogGroup",
    "PythonCertificateClientLogGroup",
)
_NAMES = {
    "rPythonDirectAuthClientRole": DIRECT_ROLE,
    "rPythonAssumeRoleClientRole": ASSUME_ROLE,
    "rPythonDirectAuthClient": DIRECT_FUNCTION,
    "rPythonAssumeRoleClient": ASSUME_FUNCTION,
    "CertificateClientRole": CERTIFICATE_ROLE,
    "PythonCertificateClient": CERTIFICATE_FUNCTION,
}
_MTLS_ENDPOINT = "MtlsServiceEndpoint"  # created once the provider's endpoint service exists


@dataclass
class Setup:
    """How this world differs from a healthy deploy-all.sh run."""

    backend: dict[str, str] = field(default_factory=dict)
    client: dict[str, str] = field(default_factory=dict)
    endpoint_private_dns: bool | None = None  # someone changed the endpoint outside the stack
    endpoint_policy: Mapping[str, Any] | None = None  # someone edited the endpoint policy outside the stack
    mtls: bool = False  # both stacks deployed with deploy-all.sh --mtls (the certificate path, docs/mtls.md)
    endpoint_targets: bool = True  # False: the provider's endpoint-targets custom resource registered nothing
    domain: bool = False  # both stacks deployed with deploy-all.sh --domain (docs/private-domain.md)


@dataclass
class World:
    """Sessions of both accounts (like two CLI profiles) and the ids the tests refer to."""

    consumer: Any
    provider: Any
    consumer_keys: tuple[str, str]
    provider_keys: tuple[str, str]
    vpc_id: str
    vpce_id: str
    backend: Rendered
    client: Rendered
    gaps: MotoGaps = field(default_factory=MotoGaps)  # what moto lacks, answered on both sessions
    mtls: Mtls | None = None  # the certificate path's ids when built with Setup(mtls=True)
    domain: DomainGaps = field(default_factory=DomainGaps)  # the private custom domain's state (Setup(domain=True))


# Every session loads the (large) service models again unless they share one loader: keeps the tests fast.
_LOADER = botocore.loaders.create_loader()


def session(access_key: str, secret_key: str) -> Any:
    """A boto3 session with static keys that shares the service-model loader with every other test session."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return boto3.Session(
        aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=REGION, botocore_session=core
    )


def _admin_session(account: str) -> tuple[Any, tuple[str, str]]:
    """An IAM user with keys in one moto account: moto then maps every call with those keys to that account."""
    bootstrap = session("AKIABOOTSTRAP", "x")

    def in_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    bootstrap.events.register("before-sign", in_account)
    iam = bootstrap.client("iam")
    iam.create_user(UserName="admin")
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    keys = (key["AccessKeyId"], key["SecretAccessKey"])
    return session(*keys), keys


def escaped_policy(policy: Mapping[str, Any]) -> str:
    """A resource policy as API Gateway returns it: execute-api:/ expanded, quotes and slashes backslash-escaped."""
    expanded = expand_execute_api_resources(policy, region=REGION, account=PROVIDER, api_id=API_ID)
    return json.dumps(json.dumps(expanded, separators=(",", ":")))[1:-1].replace("/", "\\/")


def _stack(session: Any, name: str, rendered: Rendered, resources: Mapping[str, Any]) -> None:
    """A stack with the rendered parameters and outputs (the real templates need SAM and packaging moto lacks)."""
    parameters = {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in rendered.parameters.items()}
    template = {
        "Parameters": {k: {"Type": "String"} for k in parameters},
        "Resources": dict(resources),
        "Outputs": {k: {"Value": str(v)} for k, v in rendered.outputs.items()},
    }
    session.client("cloudformation").create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )


def _permissions(rule: Mapping[str, Any]) -> dict[str, Any]:
    permission: dict[str, Any] = {"IpProtocol": str(rule["IpProtocol"])}
    for key in ("FromPort", "ToPort"):
        if key in rule:
            permission[key] = int(rule[key])
    if "CidrIp" in rule:
        permission["IpRanges"] = [{"CidrIp": rule["CidrIp"]}]
    group = rule.get("SourceSecurityGroupId") or rule.get("DestinationSecurityGroupId")
    if group:
        permission["UserIdGroupPairs"] = [{"GroupId": group}]
    return permission


class _Consumer:
    """Builds the consumer account from the client template."""

    def __init__(self, session: Any, setup: Setup, gaps: MotoGaps) -> None:
        self.session, self.setup, self.gaps = session, setup, gaps
        self.ec2 = session.client("ec2")
        self.groups: dict[str, str] = {}
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.mtls_service: str | None = None  # the provider's endpoint service name, once it exists
        self.secret_arn = ""  # nosec B105 - the ARN of the secret, set once it exists
        self.zone_id = ""  # the domain's private hosted zone, once it exists

    def network(self) -> tuple[str, str, str]:
        vpc = self.ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
        # vpc-api-client.yaml turns both on; moto's default leaves host names off.
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        lambda_subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
        endpoint_subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.2.0/24")["Subnet"]["SubnetId"]
        return vpc, lambda_subnet, endpoint_subnet

    def parameters(self, vpc: str, lambda_subnet: str, endpoint_subnet: str) -> dict[str, str]:
        # What deploy-all.sh passes, plus the network the vpc- wrapper would create.
        return {
            "pAPIHost": API_HOST,
            "pAPIPrefix": "/Prod",
            "pAPIAccountID": PROVIDER,
            "pAPIRoleARN": ACCESS_ROLE,
            "pVPCID": vpc,
            "pLambdaSubnetIDs": lambda_subnet,
            "pEndpointSubnetIDs": endpoint_subnet,
            "pDNSServerCIDR": "10.1.0.2/32",
            **(consumer_parameters(self.secret_arn, self.mtls_service) if self.setup.mtls else {}),
            **(diagnose_domain.consumer_parameters() if self.setup.domain else {}),
            **self.setup.client,
        }

    def render(self, parameters: Mapping[str, str], attributes: Mapping[str, Any]) -> Rendered:
        physical = {**self.groups, **{k: v.rsplit("/", 1)[-1] for k, v in _NAMES.items()}}
        physical.update({logical: e["VpcEndpointId"] for logical, e in self.endpoints.items()})
        physical["PythonCertificateClientLogGroup"] = CERTIFICATE_LOG_GROUP
        api_endpoint = self.endpoints.get("rAPIGatewayEndpoint", {}).get("VpcEndpointId", "")
        association = "PrivateDomainAccessAssociation.DomainNameAccessAssociationArn"
        attributes = {association: diagnose_domain.association_arn(CONSUMER, api_endpoint), **attributes}
        if self.zone_id:
            physical["PrivateDomainHostedZone"] = self.zone_id
        return render_template(
            "api-client/api-client.yaml",
            parameters,
            account_id=CONSUMER,
            region=REGION,
            stack_name=CLIENT_STACK,
            physical_ids=physical,
            attributes={
                **attributes,
                **{f"{k}.Arn": v for k, v in _NAMES.items() if ":role/" in v},
                **{f"{k}.Arn": f"arn:aws:logs:{REGION}:{CONSUMER}:log-group:{k}:*" for k in _CLIENT_LOG_GROUPS},
            },
        )

    def security_groups(self, draft: Rendered, vpc: str) -> None:
        for logical, resource in draft.of_type("AWS::EC2::SecurityGroup").items():
            description = resource["Properties"]["GroupDescription"]
            self.groups[logical] = self.ec2.create_security_group(
                GroupName=logical, Description=description, VpcId=vpc
            )["GroupId"]

    def endpoints_from(self, draft: Rendered) -> None:
        """The draft's endpoints not made yet (the one to the mTLS service only once its service name is real)."""
        for logical, resource in draft.of_type("AWS::EC2::VPCEndpoint").items():
            if logical in self.endpoints or (logical == _MTLS_ENDPOINT and self.mtls_service is None):
                continue
            props = resource["Properties"]
            is_api = logical == "rAPIGatewayEndpoint"
            private_dns = bool(props.get("PrivateDnsEnabled", True))
            policy = props.get("PolicyDocument")
            if is_api and self.setup.endpoint_private_dns is not None:
                private_dns = self.setup.endpoint_private_dns
            if is_api and self.setup.endpoint_policy is not None:
                policy = self.setup.endpoint_policy
            self.endpoints[logical] = self.ec2.create_vpc_endpoint(
                VpcEndpointType="Interface",
                VpcId=props["VpcId"],
                ServiceName=props["ServiceName"],
                SubnetIds=props["SubnetIds"],
                SecurityGroupIds=props["SecurityGroupIds"],
                PrivateDnsEnabled=private_dns,
                **({"PolicyDocument": json.dumps(policy)} if policy is not None else {}),
            )["VpcEndpoint"]

    def rules(self, rendered: Rendered) -> None:
        for logical, resource in rendered.of_type("AWS::EC2::SecurityGroup").items():
            group, props = self.groups[logical], resource["Properties"]
            default = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            self.ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[default])
            for rule in props.get("SecurityGroupIngress", []):
                self.ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[_permissions(rule)])
            for rule in props.get("SecurityGroupEgress", []):
                self.ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[_permissions(rule)])
        for resource in rendered.of_type("AWS::EC2::SecurityGroupEgress").values():
            props = resource["Properties"]
            self.ec2.authorize_security_group_egress(GroupId=props["GroupId"], IpPermissions=[_permissions(props)])

    def identities(self, rendered: Rendered) -> None:
        iam, lam = self.session.client("iam"), self.session.client("lambda")
        for logical, resource in rendered.of_type("AWS::IAM::Role").items():
            props, name = resource["Properties"], _NAMES[logical].rsplit("/", 1)[-1]
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]))
            for policy in props.get("Policies", []):
                iam.put_role_policy(
                    RoleName=name, PolicyName=policy["PolicyName"], PolicyDocument=json.dumps(policy["PolicyDocument"])
                )
        # An AWS::IAM::Policy is an inline policy of each role it names (its Roles hold the roles' names).
        for resource in rendered.of_type("AWS::IAM::Policy").values():
            props = resource["Properties"]
            for role_name in props["Roles"]:
                iam.put_role_policy(
                    RoleName=role_name,
                    PolicyName=props["PolicyName"],
                    PolicyDocument=json.dumps(props["PolicyDocument"]),
                )
        for logical, resource in rendered.of_type("AWS::Lambda::Function").items():
            props = resource["Properties"]
            if "LoggingConfig" in props:
                self.gaps.logging[_NAMES[logical]] = {"LogFormat": "Text", **props["LoggingConfig"]}
            lam.create_function(
                FunctionName=_NAMES[logical],
                Runtime=MOTO_RUNTIME,
                Role=props["Role"],
                Handler=props["Handler"],
                Code={"ZipFile": _zip()},
                Environment=props["Environment"],
                VpcConfig=props["VpcConfig"],
            )


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("client/__init__.py", "")
    return buffer.getvalue()


def _start_consumer(session: Any, setup: Setup, gaps: MotoGaps) -> tuple[_Consumer, dict[str, str], str]:
    """The consumer's network, security groups and endpoints: what the provider needs (the execute-api endpoint id)."""
    side = _Consumer(session, setup, gaps)
    vpc, lambda_subnet, endpoint_subnet = side.network()
    if setup.mtls:
        # deploy-all --mtls takes the secret's ARN: the team stored the certificate and key before deploying.
        secret = json.dumps({"certificate": "(demo: no certificate)", "privateKey": "(demo: no key)"})
        secrets = session.client("secretsmanager")
        created = secrets.create_secret(Name=f"{PREFIX}-client-certificate", SecretString=secret)
        side.secret_arn = created["ARN"]
    parameters = side.parameters(vpc, lambda_subnet, endpoint_subnet)
    draft = side.render(parameters, {})
    side.security_groups(draft, vpc)
    draft = side.render(parameters, {f"{k}.GroupId": v for k, v in side.groups.items()})
    side.endpoints_from(draft)
    return side, parameters, vpc


def _finish_consumer(side: _Consumer, parameters: dict[str, str], mtls: Mtls | None) -> Rendered:
    """The rest of the consumer once the provider exists: the endpoint to its service, rules, roles, functions."""
    groups = {f"{k}.GroupId": v for k, v in side.groups.items()}
    if mtls is not None:
        side.mtls_service = mtls.service_name
        parameters["pMtlsServiceName"] = mtls.service_name
        side.endpoints_from(side.render(parameters, groups))
        # None when the consumer was deployed without its certificate client (Setup.client pEnableMtlsClient=No).
        mtls.consumer_endpoint = side.endpoints.get(_MTLS_ENDPOINT, {}).get("VpcEndpointId", "")
        mtls.secret_arn = side.secret_arn
    attributes: dict[str, str | list[str]] = dict(groups)
    for logical, endpoint in side.endpoints.items():
        attributes[f"{logical}.DnsEntries"] = [f"{e['HostedZoneId']}:{e['DnsName']}" for e in endpoint["DnsEntries"]]
    rendered = side.render(parameters, attributes)
    if "PrivateDomainHostedZone" in rendered.resources:
        side.zone_id = _hosted_zone(side.session, rendered)
        rendered = side.render(parameters, attributes)
    side.rules(rendered)
    side.identities(rendered)
    log_group = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"{CLIENT_STACK}-direct-logs"}}
    resources = {"rPythonDirectAuthClientLogGroup": log_group}
    if mtls is not None:
        certificate_logs = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": CERTIFICATE_LOG_GROUP}}
        resources["PythonCertificateClientLogGroup"] = certificate_logs
    _stack(side.session, CLIENT_STACK, rendered, resources)
    return rendered


def _hosted_zone(session: Any, rendered: Rendered) -> str:
    """The consumer's private hosted zone for the domain and its alias record to the execute-api endpoint."""
    route53 = session.client("route53")
    zone = rendered.resources["PrivateDomainHostedZone"]["Properties"]
    vpc = zone["VPCs"][0]
    zone_id = route53.create_hosted_zone(
        Name=zone["Name"],
        CallerReference=f"{CLIENT_STACK}-domain",
        HostedZoneConfig={"Comment": zone["HostedZoneConfig"]["Comment"], "PrivateZone": True},
        VPC={"VPCRegion": vpc["VPCRegion"], "VPCId": vpc["VPCId"]},
    )["HostedZone"]["Id"].rsplit("/", 1)[-1]
    record = rendered.resources["PrivateDomainRecord"]["Properties"]
    alias = record["AliasTarget"]
    change = {
        "Action": "CREATE",
        "ResourceRecordSet": {
            "Name": record["Name"],
            "Type": record["Type"],
            "AliasTarget": {
                "HostedZoneId": alias["HostedZoneId"],
                "DNSName": alias["DNSName"],
                "EvaluateTargetHealth": alias["EvaluateTargetHealth"],
            },
        },
    }
    route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": [change]})
    return str(zone_id)


def _render_backend(
    parameters: Mapping[str, str], physical: Mapping[str, str], attributes: Mapping[str, str]
) -> Rendered:
    return render_template(
        "api-backend/api-backend.yaml",
        parameters,
        account_id=PROVIDER,
        region=REGION,
        stack_name=BACKEND_STACK,
        physical_ids={
            "BackendApi": API_ID,
            "ApiAccessRole": ACCESS_ROLE.rsplit("/", 1)[-1],
            "ApiAccessLogGroup": ACCESS_LOG_GROUP,
            "PrivateDomainName": diagnose_domain.DOMAIN_ARN,
            **physical,
        },
        attributes={
            "ApiAccessRole.Arn": ACCESS_ROLE,
            "PrivateDomainName.DomainNameId": diagnose_domain.DOMAIN_ID,
            "PrivateDomainShare.Arn": diagnose_domain.SHARE_ARN,
            **attributes,
        },
    )


def _build_provider(session: Any, setup: Setup, vpce_id: str, gaps: MotoGaps) -> tuple[Rendered, Mtls | None]:
    parameters = {
        # What deploy-all.sh's step 7 passes.
        "pTrustedPrincipals": CONSUMER,
        "pAPIAccessList": DIRECT_ROLE,
        "pAllowedVPCEndpoints": vpce_id,
    }
    network: ProviderNetwork | None = None
    physical: dict[str, str] = {}
    if setup.mtls:
        network = provider_network(session, REGION)
        parameters.update(provider_parameters(network, consumer=CONSUMER, bucket=ARTIFACT_BUCKET))
        physical["MtlsApiEndpoint"] = network.api_endpoint
    if setup.domain:
        parameters.update(diagnose_domain.provider_parameters(CONSUMER))
    parameters.update(setup.backend)
    rendered = _render_backend(parameters, physical, {})
    mtls = None
    if network is not None:
        mtls, created = deploy_load_balancers(
            session, rendered, gaps, network=network, api_host=API_HOST, register_endpoint=setup.endpoint_targets
        )
        alb = session.client("elbv2").describe_load_balancers(LoadBalancerArns=[created["MtlsApplicationLoadBalancer"]])
        dns = {"MtlsApplicationLoadBalancer.DNSName": alb["LoadBalancers"][0]["DNSName"]}
        rendered = _render_backend(parameters, {**physical, **created}, dns)
    iam, apigw = session.client("iam"), session.client("apigateway")
    role = rendered.resources["ApiAccessRole"]["Properties"]
    name = ACCESS_ROLE.rsplit("/", 1)[-1]
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(role["AssumeRolePolicyDocument"]))
    access = rendered.resources["ApiAccessPolicy"]["Properties"]
    iam.put_role_policy(
        RoleName=name, PolicyName=access["PolicyName"], PolicyDocument=json.dumps(access["PolicyDocument"])
    )
    api = rendered.resources["BackendApi"]["Properties"]
    config = api["EndpointConfiguration"]
    apigw.create_rest_api(
        name=api["Name"],
        tags={"_custom_id_": API_ID},
        policy=escaped_policy(api["Body"]["x-amazon-apigateway-policy"]),
        endpointConfiguration={"types": config["Types"], "vpcEndpointIds": config.get("VpcEndpointIds", [])},
    )
    log_group = {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": ACCESS_LOG_GROUP}}
    _stack(session, BACKEND_STACK, rendered, {"ApiAccessLogGroup": log_group})
    deploy(session, rendered.resources["BackendApiStage"]["Properties"]["StageName"])
    return rendered, mtls


def deploy(session: Any, stage: str) -> None:
    """What CloudFormation does after it creates or updates the API: one method, then a deployment of the stage."""
    apigw = session.client("apigateway")
    root = apigw.get_rest_api(restApiId=API_ID)["rootResourceId"]
    methods = apigw.get_resource(restApiId=API_ID, resourceId=root).get("resourceMethods", {})
    if "GET" not in methods:
        apigw.put_method(restApiId=API_ID, resourceId=root, httpMethod="GET", authorizationType="AWS_IAM")
        apigw.put_integration(restApiId=API_ID, resourceId=root, httpMethod="GET", type="MOCK")
    apigw.create_deployment(restApiId=API_ID, stageName=stage)


def build_world(setup: Setup | None = None) -> World:
    """Both accounts as deploy-all.sh leaves them, changed as `setup` says (call inside mock_aws)."""
    setup = setup or Setup()
    gaps, domain = MotoGaps(), DomainGaps(consumer=CONSUMER)
    consumer, consumer_keys = _admin_session(CONSUMER)
    provider, provider_keys = _admin_session(PROVIDER)
    for side, account in ((consumer, CONSUMER), (provider, PROVIDER)):
        gaps.install(side)
        domain.install(side, account)
    # deploy-all's order: the consumer's endpoint first (the provider admits it), the provider, then (--mtls) the
    # consumer's endpoint to the provider's new endpoint service.
    started, parameters, vpc_id = _start_consumer(consumer, setup, gaps)
    vpce_id = started.endpoints["rAPIGatewayEndpoint"]["VpcEndpointId"]
    backend, mtls = _build_provider(provider, setup, vpce_id, gaps)
    if setup.domain:
        # deploy-all --domain: the provider's stack shares the domain, the consumer accepts before its own stack.
        domain.deploy(backend, CONSUMER)
        domain.accept(vpce_id)
    client = _finish_consumer(started, parameters, mtls)
    if mtls is not None and mtls.consumer_endpoint:
        connect(CONSUMER, provider, mtls)
    return World(
        consumer=consumer,
        provider=provider,
        consumer_keys=consumer_keys,
        provider_keys=provider_keys,
        vpc_id=vpc_id,
        vpce_id=vpce_id,
        backend=backend,
        client=client,
        gaps=gaps,
        mtls=mtls,
        domain=domain,
    )


def endpoint_policy_for(api_host: str) -> Mapping[str, Any]:
    """The execute-api endpoint policy the client template writes for another API host."""
    rendered = render_template(
        "api-client/api-client.yaml",
        {
            "pAPIHost": api_host,
            "pAPIAccountID": PROVIDER,
            "pVPCID": "vpc-0123456789abcdef0",
            "pLambdaSubnetIDs": "subnet-0123456789abcdef0",
            "pEndpointSubnetIDs": "subnet-0123456789abcdef0",
            "pDNSServerCIDR": "10.1.0.2/32",
        },
        account_id=CONSUMER,
        region=REGION,
    )
    return rendered.resources["rAPIGatewayEndpoint"]["Properties"]["PolicyDocument"]


# ---------------------------------------------------------------------------------------------------- broken worlds

OTHER_VPCE = "vpce-0456456456456456a"
INVOKE_ACTION = "execute-api:Invoke"
OTHER_ACCOUNT = "333333333333"
OTHER_HOST = ExecuteApiHost(OTHER_API_ID, None, REGION).name
OLD_ACCESS_ROLE = f"arn:aws:iam::{PROVIDER}:role/{BACKEND_STACK}-ApiAccessRole-OLD"
# diagnose counts a deployment up to 2 s older than the API's change as made after it; moto stamps whole seconds.
_STALE_GAP_SECONDS = 3.0


def update_policy_without_deployment(world: World) -> None:
    """A stack update that changes the resource policy (a new principal pattern) and creates no deployment."""
    pattern = f"arn:aws:iam::{CONSUMER}:role/team-*"
    parameters = {k: ",".join(v) if isinstance(v, list) else str(v) for k, v in world.backend.parameters.items()}
    parameters["pAllowedPrincipalPatterns"] = pattern
    rendered = render_template(
        "api-backend/api-backend.yaml",
        parameters,
        account_id=PROVIDER,
        region=REGION,
        physical_ids={"BackendApi": API_ID},
        attributes={"ApiAccessRole.Arn": ACCESS_ROLE},
    )
    policy = rendered.resources["BackendApi"]["Properties"]["Body"]["x-amazon-apigateway-policy"]
    world.provider.client("apigateway").update_rest_api(
        restApiId=API_ID, patchOperations=[{"op": "replace", "path": "/policy", "value": escaped_policy(policy)}]
    )
    cfn = world.provider.client("cloudformation")
    stack = cfn.describe_stacks(StackName=BACKEND_STACK)["Stacks"][0]
    values = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    values["pAllowedPrincipalPatterns"] = pattern
    cfn.update_stack(
        StackName=BACKEND_STACK,
        TemplateBody=json.dumps(cfn.get_template(StackName=BACKEND_STACK)["TemplateBody"]),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
    )


def _stale_stage(world: World) -> None:
    # The update must come visibly later than the deployment deploy() made while building the world.
    time.sleep(_STALE_GAP_SECONDS)
    update_policy_without_deployment(world)


def revoke_https_egress(world: World) -> tuple[str, str]:
    """Remove the client security group's HTTPS rule to the endpoint's group (an edit outside the stack).

    Returns (client group, endpoint group).
    """
    ec2 = world.consumer.client("ec2")
    endpoint = ec2.describe_vpc_endpoints(VpcEndpointIds=[world.vpce_id])["VpcEndpoints"][0]
    endpoint_group = endpoint["Groups"][0]["GroupId"]
    function = world.consumer.client("lambda").get_function_configuration(FunctionName=DIRECT_FUNCTION)
    client_group = function["VpcConfig"]["SecurityGroupIds"][0]
    rule = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "UserIdGroupPairs": [{"GroupId": endpoint_group}]}
    ec2.revoke_security_group_egress(GroupId=client_group, IpPermissions=[rule])
    return client_group, endpoint_group


def log_denial(world: World, user_arn: str) -> str:
    """One access-log line in the stage's own format, as API Gateway writes it for a denied request."""
    stage = world.backend.resources["BackendApiStage"]["Properties"]
    message = (
        f"User: {user_arn} is not authorized to perform: execute-api:Invoke on resource: ... with an explicit deny"
    )
    line = render_log_line(
        stage["AccessLogSetting"]["Format"],
        {
            "status": 403,
            "identity.userArn": user_arn,
            "identity.vpceId": world.vpce_id,
            "error.message": message,
            "authorize.status": 403,
        },
    )
    logs = world.provider.client("logs")
    logs.create_log_stream(logGroupName=ACCESS_LOG_GROUP, logStreamName="stage")
    # A second ahead so the line is newer than the function and deployment made a moment ago.
    event = {"timestamp": int(time.time() * 1000) + 1000, "message": line}
    logs.put_log_events(logGroupName=ACCESS_LOG_GROUP, logStreamName="stage", logEvents=[event])
    return message


def _direct_request_denied(world: World) -> None:
    session = f"arn:aws:sts::{CONSUMER}:assumed-role/{DIRECT_ROLE.rsplit('/', 1)[-1]}/{DIRECT_FUNCTION}"
    log_denial(world, session)


def _mtls(world: World) -> Mtls:
    if world.mtls is None:
        raise ValueError("this world was built without the certificate path (Setup(mtls=True))")
    return world.mtls


def reject_consumer_connection(world: World) -> None:
    """The provider rejects the consumer's connection (aws ec2 reject-vpc-endpoint-connections)."""
    reject_connection(CONSUMER, REGION, _mtls(world))


def disallow_consumer(world: World) -> str:
    """The provider's allowed principals changed after the consumer connected: another account instead of it.

    Returns the principal now allowed.
    """
    other = f"arn:aws:iam::{OTHER_ACCOUNT}:root"
    world.provider.client("ec2").modify_vpc_endpoint_service_permissions(
        ServiceId=_mtls(world).service_id,
        RemoveAllowedPrincipals=[f"arn:aws:iam::{CONSUMER}:root"],
        AddAllowedPrincipals=[other],
    )
    return other


def point_client_at_unreadable_secret(world: World) -> str:
    """The certificate client's secret ARN changed outside the stack to a new secret its role may not read.

    Returns the new secret's ARN.
    """
    secret = world.consumer.client("secretsmanager").create_secret(
        Name=f"{PREFIX}-client-certificate-2027", SecretString="{}"
    )["ARN"]
    lam = world.consumer.client("lambda")
    env = lam.get_function_configuration(FunctionName=CERTIFICATE_FUNCTION)["Environment"]["Variables"]
    lam.update_function_configuration(
        FunctionName=CERTIFICATE_FUNCTION, Environment={"Variables": {**env, "CLIENT_CERTIFICATE_SECRET_ARN": secret}}
    )
    return str(secret)


def leave_share_pending(world: World) -> None:
    """The provider shared the domain again (a new share, a new invitation) and the consumer has not accepted it: the
    domain is not among its shared resources and its association went with the old share."""
    world.domain.invitation, world.domain.shared = "PENDING", False
    world.domain.associations.clear()


def delete_association(world: World) -> None:
    """The consumer's domain name access association was deleted outside its stack."""
    world.domain.associations[:] = [a for a in world.domain.associations if a["owner"] != CONSUMER]


def restrict_domain_policy(world: World) -> str:
    """The domain's policy, edited outside the stack, admits another VPC endpoint only (the API's policy is intact).

    Returns the endpoint it admits.
    """
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowInvokeThroughDomain",
                "Effect": "Allow",
                "Principal": "*",
                "Action": INVOKE_ACTION,
                "Resource": "execute-api:/*",
            },
            {
                "Sid": "DenyOutsideAllowedVPCEndpoints",
                "Effect": "Deny",
                "Principal": "*",
                "Action": INVOKE_ACTION,
                "Resource": "execute-api:/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": [OTHER_VPCE]}},
            },
        ],
    }
    world.domain.set_policy(policy)
    return OTHER_VPCE


@dataclass(frozen=True)
class Cause:
    """One broken deployment: what is wrong, the check that should name it, and how to build it."""

    name: str
    summary: str
    check: str  # the first failing check diagnose reports for the affected client
    client: ClientKind  # a client this cause stops
    setup: Callable[[], Setup] = Setup
    after: Callable[[World], object] | None = None  # edits made after the stacks exist (any result is unused)


# The private custom domain path (deploy-all.sh --domain, docs/private-domain.md): what stops the IAM clients there.
DOMAIN_CAUSES: tuple[Cause, ...] = (
    Cause(
        "domain-share-pending",
        "the provider shared the private custom domain again and the consumer has not accepted the RAM invitation",
        "domain-share",
        ClientKind.DIRECT,
        lambda: Setup(domain=True),
        after=leave_share_pending,
    ),
    Cause(
        "domain-no-association",
        "the consumer's domain name access association for its execute-api endpoint was deleted",
        "domain-association",
        ClientKind.DIRECT,
        lambda: Setup(domain=True),
        after=delete_association,
    ),
    Cause(
        "domain-policy-denies",
        "the private custom domain's own policy, edited outside the stack, admits another VPC endpoint only",
        "domain-policy",
        ClientKind.DIRECT,
        lambda: Setup(domain=True),
        after=restrict_domain_policy,
    ),
    Cause(
        "domain-unknown-base-path",
        "the clients call base path v2 but the provider maps only v1 to the API's stage",
        "domain-base-path",
        ClientKind.DIRECT,
        lambda: Setup(domain=True, client={"pPrivateDomainBasePath": "v2"}),
    ),
)
CAUSES: tuple[Cause, ...] = (
    Cause(
        "endpoint-not-allowed",
        "the API's resource policy admits another VPC endpoint only (pAllowedVPCEndpoints)",
        "resource-policy",
        ClientKind.DIRECT,
        lambda: Setup(backend={"pAllowedVPCEndpoints": OTHER_VPCE}),
    ),
    Cause(
        "role-not-in-access-list",
        "the provider's pAPIAccessList does not name the direct client's role",
        "resource-policy",
        ClientKind.DIRECT,
        lambda: Setup(backend={"pAPIAccessList": "None"}),
    ),
    Cause(
        "trust-policy",
        "the provider's access role does not trust the consumer account (pTrustedPrincipals)",
        "trust-policy",
        ClientKind.ASSUME_ROLE,
        lambda: Setup(backend={"pTrustedPrincipals": "Nobody"}),
    ),
    Cause(
        "endpoint-policy-denies",
        "the consumer's execute-api endpoint policy, edited outside the stack, allows another API only",
        "endpoint-policy",
        ClientKind.DIRECT,
        lambda: Setup(endpoint_policy=endpoint_policy_for(OTHER_HOST)),
    ),
    Cause(
        "role-to-assume-mismatch",
        "the client stack still points ROLE_TO_ASSUME at a role the provider no longer outputs",
        "role-to-assume",
        ClientKind.ASSUME_ROLE,
        lambda: Setup(client={"pAPIRoleARN": OLD_ACCESS_ROLE}),
    ),
    Cause(
        "api-host-mismatch",
        "the client stack was deployed against another API host (pAPIHost)",
        "api-host",
        ClientKind.DIRECT,
        lambda: Setup(client={"pAPIHost": OTHER_HOST}),
    ),
    Cause(
        "private-dns-off",
        "private DNS turned off on the execute-api endpoint while the clients use the API's own host name",
        "dns",
        ClientKind.DIRECT,
        lambda: Setup(endpoint_private_dns=False),
    ),
    Cause(
        "no-https-egress",
        "the client security group's HTTPS rule to the endpoint was removed outside the stack",
        "network",
        ClientKind.DIRECT,
        after=revoke_https_egress,
    ),
    Cause(
        "stale-stage",
        "the resource policy changed but the stage still serves the deployment made before (takes a few seconds)",
        "stage",
        ClientKind.DIRECT,
        after=_stale_stage,
    ),
    Cause(
        "request-denied-in-log",
        "the configuration looks right but the access log shows the direct client's latest request denied",
        "access-log",
        ClientKind.DIRECT,
        after=_direct_request_denied,
    ),
    Cause(
        "mtls-pending-acceptance",
        "the provider's endpoint service requires acceptance (pMtlsAcceptanceRequired=Yes) and nobody accepted",
        "mtls-endpoint",
        ClientKind.CERTIFICATE,
        lambda: Setup(mtls=True, backend={"pMtlsAcceptanceRequired": "Yes"}),
    ),
    Cause(
        "mtls-rejected",
        "the provider rejected the consumer's connection to its endpoint service",
        "mtls-endpoint",
        ClientKind.CERTIFICATE,
        lambda: Setup(mtls=True),
        after=reject_consumer_connection,
    ),
    Cause(
        "mtls-not-allowed",
        "the endpoint service's allowed principals no longer name the consumer account",
        "mtls-principal",
        ClientKind.CERTIFICATE,
        lambda: Setup(mtls=True),
        after=disallow_consumer,
    ),
    Cause(
        "mtls-no-targets",
        "the provider's endpoint-targets custom resource registered nothing in the API target group",
        "mtls-targets",
        ClientKind.CERTIFICATE,
        lambda: Setup(mtls=True, endpoint_targets=False),
    ),
    Cause(
        "mtls-secret-unreadable",
        "the certificate client points at a secret its role may not read (changed outside the stack)",
        "mtls-secret",
        ClientKind.CERTIFICATE,
        lambda: Setup(mtls=True),
        after=point_client_at_unreadable_secret,
    ),
    *DOMAIN_CAUSES,
)


def cause_named(name: str) -> Cause | None:
    """The cause of that name, or None."""
    return next((c for c in CAUSES if c.name == name), None)


def build_broken(cause: Cause) -> World:
    """Both accounts as deploy-all.sh leaves them, broken as the cause says (call inside mock_aws)."""
    world = build_world(cause.setup())
    if cause.after is not None:
        cause.after(world)
    return world
