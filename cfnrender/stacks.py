"""Deployed stacks as the emulation sees them: a template rendered with realistic physical ids, and what is in it.

Physical ids are chosen before rendering (as CloudFormation would name the resources) and fed to
`render_template`, so every ARN, policy and environment variable the template derives carries them. Everything the
emulation creates (roles, policies, the table, functions, the API and the endpoints) is read from the rendered
resources, never re-typed.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnrender.render import Rendered, load_template, partition_of, render_template

__all__ = [
    "ApiView",
    "EndpointView",
    "FunctionView",
    "RoleView",
    "Stack",
    "StackIds",
    "create_table_request",
    "generate_ids",
]


_UPPER_ALNUM = string.ascii_uppercase + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_HEX = "0123456789abcdef"
# Route 53 hosted zone of execute-api interface endpoint names in us-east-1 (what DnsEntries shows before ':').
_ENDPOINT_ZONE = "Z7HUB22UULQXV"
_NAME_LIMITS = {"AWS::IAM::Role": 64, "AWS::Lambda::Function": 64, "AWS::Serverless::Function": 64}


@dataclass(frozen=True)
class StackIds:
    """Physical ids (what Ref returns) and attributes (what GetAtt returns) for one stack's resources."""

    physical_ids: Mapping[str, str]
    attributes: Mapping[str, Any]


class _Names:
    def __init__(
        self, stack: str, account: str, region: str, rng: random.Random, parameters: Mapping[str, str]
    ) -> None:
        self.stack, self.account, self.region, self.rng = stack, account, region, rng
        self.partition = partition_of(region)
        # Parameter values (given, else the template's defaults) and the ids chosen so far: names some ARNs embed.
        self.parameters = parameters
        self.chosen: dict[str, str] = {}

    def value(self, raw: Any, fallback: str) -> str:
        """A property that is a literal, a Ref to a parameter or to a resource named before; else `fallback`."""
        if isinstance(raw, str):
            return raw
        if isinstance(raw, Mapping) and isinstance(raw.get("Ref"), str):
            name = raw["Ref"]
            return self.parameters.get(name) or self.chosen.get(name) or fallback
        return fallback

    def pick(self, alphabet: str, length: int) -> str:
        return "".join(self.rng.choices(alphabet, k=length))

    def cfn_name(self, logical_id: str, limit: int = 255) -> str:
        # CloudFormation's generated names: <stack>-<logical id>-<random suffix>, trimmed to the service limit.
        suffix = self.pick(_UPPER_ALNUM, 12)
        return f"{self.stack}-{logical_id}"[: limit - len(suffix) - 1] + "-" + suffix

    def arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"


def _resources_to_name(template: Mapping[str, Any]) -> dict[str, tuple[str, Mapping[str, Any]]]:
    """Logical id -> (type, raw properties), including the roles SAM generates for functions without one."""
    found: dict[str, tuple[str, Mapping[str, Any]]] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        properties = resource.get("Properties") or {}
        found[logical_id] = (resource["Type"], properties)
        if resource["Type"] == "AWS::Serverless::Function" and "Role" not in properties:
            found[f"{logical_id}Role"] = ("AWS::IAM::Role", {})
    return found


def _endpoint_service(properties: Mapping[str, Any]) -> str:
    # ServiceName is a !Sub of <prefix>.${AWS::Region}.<service> (string or [string, variables] form): the service
    # is the last dotted label of the string.
    raw = properties.get("ServiceName", "")
    text = raw.get("Fn::Sub", "") if isinstance(raw, Mapping) else raw
    if isinstance(text, list):
        text = text[0] if text else ""
    return str(text).rsplit(".", 1)[-1]


IdFactory = Callable[[_Names, str, str, Mapping[str, Any]], tuple[str, dict[str, Any]]]


def _rest_api_ids(
    names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    return names.pick(_LOWER_ALNUM, 10), {"RootResourceId": names.pick(_LOWER_ALNUM, 10)}


def _endpoint_ids(
    names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    vpce = "vpce-0" + names.pick(_HEX, 16)
    service, region = _endpoint_service(properties), names.region
    dns = [
        f"{_ENDPOINT_ZONE}:{vpce}-{names.pick(_LOWER_ALNUM, 8)}.{service}.{region}.vpce.amazonaws.com",
        f"{_ENDPOINT_ZONE}:{vpce}-{names.pick(_LOWER_ALNUM, 8)}-{region}a.{service}.{region}.vpce.amazonaws.com",
    ]
    return vpce, {"DnsEntries": dns, "Id": vpce, "NetworkInterfaceIds": ["eni-0" + names.pick(_HEX, 16)]}


def _security_group_ids(
    names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    group = "sg-0" + names.pick(_HEX, 16)
    return group, {"GroupId": group}


def _kms_key_ids(
    names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    key_id = "-".join(names.pick(_HEX, n) for n in (8, 4, 4, 4, 12))
    return key_id, {"Arn": names.arn("kms", f"key/{key_id}"), "KeyId": key_id}


def _named_ids(names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Resources CloudFormation names <stack>-<logical id>-<suffix>, and the attributes derived from the name."""
    name = names.cfn_name(logical_id, _NAME_LIMITS.get(kind, 255))
    # Other types: an ARN of the usual shape, so a GetAtt never renders as a bare "Id.Arn" placeholder.
    service = kind.split("::")[1].lower() if kind.count("::") == 2 else "unknown"
    attributes: dict[str, Any] = {"Arn": names.arn(service, f"{kind.rsplit('::', 1)[-1].lower()}/{name}")}
    if kind == "AWS::IAM::Role":
        path = properties.get("Path", "/") if isinstance(properties.get("Path", "/"), str) else "/"
        attributes = {
            "Arn": names.arn("iam", f"role{path}{name}", region=False),
            "RoleId": "AROA" + names.pick(_UPPER_ALNUM, 17),
        }
    elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        attributes = {"Arn": names.arn("lambda", f"function:{name}")}
    elif kind == "AWS::DynamoDB::Table":
        table_arn = names.arn("dynamodb", f"table/{name}")
        attributes = {"Arn": table_arn, "StreamArn": f"{table_arn}/stream/2025-01-01T00:00:00.000"}
    elif kind == "AWS::Logs::LogGroup":
        attributes = {"Arn": names.arn("logs", f"log-group:{name}:*")}
    elif kind == "AWS::WAFv2::WebACL":
        acl_id = "-".join(names.pick(_HEX, n) for n in (8, 4, 4, 4, 12))
        attributes = {"Arn": names.arn("wafv2", f"regional/webacl/{name}/{acl_id}"), "Id": acl_id}
        name = f"{name}|{acl_id}|REGIONAL"
    return name, attributes


def _elb_ids(names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Load balancing resources: Ref is the ARN (ELB names are at most 32 characters)."""
    name = names.cfn_name(logical_id, 32)
    suffix = names.pick(_HEX, 16)
    if kind == "AWS::ElasticLoadBalancingV2::LoadBalancer":
        short = "net" if properties.get("Type") == "network" else "app"
        arn = names.arn("elasticloadbalancing", f"loadbalancer/{short}/{name}/{suffix}")
        region = names.region
        dns = f"internal-{name}-{names.pick(string.digits, 10)}.{region}.elb.amazonaws.com"
        attributes: dict[str, Any] = {
            "DNSName": dns,
            "LoadBalancerArn": arn,
            "LoadBalancerFullName": f"{short}/{name}/{suffix}",
            "LoadBalancerName": name,
            "CanonicalHostedZoneID": "Z" + names.pick(_UPPER_ALNUM, 13),
        }
        return arn, attributes
    if kind == "AWS::ElasticLoadBalancingV2::TargetGroup":
        arn = names.arn("elasticloadbalancing", f"targetgroup/{name}/{suffix}")
        return arn, {
            "TargetGroupArn": arn,
            "TargetGroupFullName": f"targetgroup/{name}/{suffix}",
            "TargetGroupName": name,
        }
    if kind == "AWS::ElasticLoadBalancingV2::TrustStore":
        arn = names.arn("elasticloadbalancing", f"truststore/{name}/{suffix}")
        return arn, {"TrustStoreArn": arn, "Status": "ACTIVE", "NumberOfCaCertificates": 1}
    if kind == "AWS::ElasticLoadBalancingV2::ListenerRule":
        arn = names.arn("elasticloadbalancing", f"listener-rule/app/{name}/{suffix}/{names.pick(_HEX, 16)}/{suffix}")
        return arn, {"RuleArn": arn, "IsDefault": False}
    if kind == "AWS::ElasticLoadBalancingV2::TrustStoreRevocation":
        revocation = str(int(suffix[:8], 16))
        return f"{revocation}|{name}", {"RevocationId": revocation, "TrustStoreRevocations": []}
    arn = names.arn("elasticloadbalancing", f"listener/app/{name}/{suffix}/{names.pick(_HEX, 16)}")
    return arn, {"ListenerArn": arn}


def _endpoint_service_ids(
    names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    service = "vpce-svc-0" + names.pick(_HEX, 16)
    return service, {"ServiceId": service}


def _hosted_zone_ids(
    names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Route 53 hosted zones: Ref is the zone id (Z and up to 31 upper-case letters and digits), not a name."""
    zone = "Z" + names.pick(_UPPER_ALNUM, 20)
    return zone, {"Id": zone, "NameServers": []}


def _private_domain_ids(
    names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Private custom domain names: Ref is the type's primary identifier, DomainNameArn, in the form AWS's
    associations page shows (arn:...:/domainnames/{name}+{id})."""
    domain_id = names.pick(_LOWER_ALNUM, 8)
    name = names.value(properties.get("DomainName"), f"{logical_id.lower()}.example.com")
    arn = names.arn("apigateway", f"/domainnames/{name}+{domain_id}")
    return arn, {"DomainNameArn": arn, "DomainNameId": domain_id}


def _base_path_mapping_ids(
    names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Base path mappings (V2): Ref is a mapping ARN under its domain's (the form is unverified; nothing reads it).

    The base path is named when it is a literal or a parameter; an expression (api-backend.yaml's !If) is not
    evaluated here, so a random segment stands in for it.
    """
    domain = names.value(properties.get("DomainNameArn"), names.arn("apigateway", "/domainnames/unknown"))
    arn = f"{domain}/basepathmappings/{names.value(properties.get('BasePath'), names.pick(_LOWER_ALNUM, 6))}"
    return arn, {"BasePathMappingArn": arn}


def _access_association_ids(
    names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Domain name access associations: ARN in the consumer's account naming the domain and the endpoint."""
    domain = names.value(properties.get("DomainNameArn"), "/domainnames/unknown").split(":/domainnames/")[-1]
    source = names.value(properties.get("AccessAssociationSource"), "vpce-unknown")
    arn = names.arn("apigateway", f"/domainnameaccessassociations/domainname/{domain}/vpcesource/{source}")
    return arn, {"DomainNameAccessAssociationArn": arn}


def _resource_share_ids(
    names: _Names, logical_id: str, kind: str, properties: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    """RAM resource shares: Ref and Arn are the share ARN (resource-share/<uuid>)."""
    share = "-".join(names.pick(_HEX, n) for n in (8, 4, 4, 4, 12))
    arn = names.arn("ram", f"resource-share/{share}")
    return arn, {"Arn": arn}


# Types whose ids embed another resource's id: named after every other resource.
_NAMED_LAST = ("AWS::ApiGateway::BasePathMappingV2", "AWS::ApiGateway::DomainNameAccessAssociation")

_ID_FACTORIES: dict[str, IdFactory] = {
    "AWS::ApiGateway::DomainNameV2": _private_domain_ids,
    "AWS::ApiGateway::BasePathMappingV2": _base_path_mapping_ids,
    "AWS::ApiGateway::DomainNameAccessAssociation": _access_association_ids,
    "AWS::RAM::ResourceShare": _resource_share_ids,
    "AWS::Route53::HostedZone": _hosted_zone_ids,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _elb_ids,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _elb_ids,
    "AWS::ElasticLoadBalancingV2::Listener": _elb_ids,
    "AWS::ElasticLoadBalancingV2::ListenerRule": _elb_ids,
    "AWS::ElasticLoadBalancingV2::TrustStore": _elb_ids,
    "AWS::ElasticLoadBalancingV2::TrustStoreRevocation": _elb_ids,
    "AWS::EC2::VPCEndpointService": _endpoint_service_ids,
    "AWS::Serverless::Api": _rest_api_ids,
    "AWS::ApiGateway::RestApi": _rest_api_ids,
    "AWS::EC2::VPCEndpoint": _endpoint_ids,
    "AWS::EC2::SecurityGroup": _security_group_ids,
    "AWS::KMS::Key": _kms_key_ids,
}


def generate_ids(
    template: str | Path,
    *,
    stack: str,
    account: str,
    region: str,
    rng: random.Random | None = None,
    parameters: Mapping[str, str] | None = None,
) -> StackIds:
    """Choose physical ids and attributes for every resource a template (and SAM for it) creates.

    `parameters` only matter for ids that embed a parameter's value (a private custom domain's ARN holds its name);
    a parameter not given counts with the template's default.
    """
    source = load_template(template)
    defaults = {name: str(spec.get("Default", "")) for name, spec in source.get("Parameters", {}).items()}
    values = {**defaults, **dict(parameters or {})}
    rng = rng or random.Random()  # noqa: S311 - names, not secrets  # nosec B311
    names = _Names(stack, account, region, rng, values)
    physical_ids: dict[str, str] = {}
    attributes: dict[str, Any] = {}
    resources = _resources_to_name(source)
    ordered = sorted(resources.items(), key=lambda item: item[1][0] in _NAMED_LAST)
    for logical_id, (kind, properties) in ordered:
        physical_id, attrs = _ID_FACTORIES.get(kind, _named_ids)(names, logical_id, kind, properties)
        physical_ids[logical_id] = names.chosen[logical_id] = physical_id
        attributes.update({f"{logical_id}.{name}": value for name, value in attrs.items()})
    return StackIds(physical_ids=physical_ids, attributes=attributes)


# ---------------------------------------------------------------------------------------------- resource views
@dataclass(frozen=True)
class RoleView:
    """An IAM role as the template defines it, with its inline and AWS::IAM::Policy documents merged."""

    logical_id: str
    name: str
    arn: str
    path: str
    trust_policy: Mapping[str, Any]
    inline_policies: Mapping[str, Mapping[str, Any]]
    managed_policy_arns: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class FunctionView:
    """A Lambda function as the template defines it (after `sam package`: code from CodeUri's folder)."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    role_arn: str
    environment: Mapping[str, str]
    timeout: float
    memory_mb: int
    log_group: str
    in_vpc: bool


@dataclass(frozen=True)
class EndpointView:
    """An interface VPC endpoint: id, VPC, policy, private DNS and its own DNS names."""

    logical_id: str
    vpce_id: str
    vpc_id: str
    service: str
    policy: Mapping[str, Any] | None
    private_dns: bool
    dns_names: tuple[str, ...]


@dataclass(frozen=True)
class ApiView:
    """A REST API and its one stage, as deployed."""

    logical_id: str
    api_id: str
    openapi: Mapping[str, Any]
    resource_policy: Mapping[str, Any] | None
    vpc_endpoint_ids: tuple[str, ...]
    stage: str
    access_log_format: str | None
    deployment_id: str
    integration_arns: tuple[str, ...]
    always_deploy: bool


@dataclass
class Stack:
    """One stack: its template rendered for one parameter set with fixed physical ids."""

    name: str
    template: Path
    account: str
    region: str
    ids: StackIds
    parameters: dict[str, str]
    rendered: Rendered = field(repr=False)
    source: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def deploy(
        cls, template: Path, *, name: str, account: str, region: str, ids: StackIds, parameters: Mapping[str, str]
    ) -> Stack:
        """Render the template as CloudFormation would deploy it with these parameters."""
        rendered = render_template(
            template,
            dict(parameters),
            account_id=account,
            region=region,
            stack_name=name,
            physical_ids=ids.physical_ids,
            attributes=ids.attributes,
        )
        return cls(name, template, account, region, ids, dict(parameters), rendered, load_template(template))

    def update(self, parameters: Mapping[str, str]) -> Stack:
        """The same stack (same physical ids) with new parameter values, as a stack update would render it."""
        return Stack.deploy(
            self.template, name=self.name, account=self.account, region=self.region, ids=self.ids, parameters=parameters
        )

    @property
    def outputs(self) -> dict[str, Any]:
        """The stack's outputs (only those whose condition holds)."""
        return self.rendered.outputs

    def physical_id(self, logical_id: str) -> str:
        """What Ref returns for a resource."""
        return self.ids.physical_ids[logical_id]

    def attribute(self, logical_id: str, name: str) -> Any:
        """What GetAtt returns for a resource."""
        return self.ids.attributes[f"{logical_id}.{name}"]

    # ------------------------------------------------------------------------------------------ IAM
    def roles(self) -> list[RoleView]:
        """Every role in the stack with all the policies the template attaches to it."""
        extra: dict[str, dict[str, Mapping[str, Any]]] = {}
        for policy in self.rendered.of_type("AWS::IAM::Policy").values():
            properties = policy["Properties"]
            for role_name in properties.get("Roles", []):
                extra.setdefault(role_name, {})[properties["PolicyName"]] = properties["PolicyDocument"]
        views = []
        for logical_id, resource in self.rendered.of_type("AWS::IAM::Role").items():
            properties = resource["Properties"]
            name = properties.get("RoleName") or self.physical_id(logical_id)
            inline = {p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies", [])}
            views.append(
                RoleView(
                    logical_id=logical_id,
                    name=name,
                    arn=self.attribute(logical_id, "Arn"),
                    path=properties.get("Path", "/"),
                    trust_policy=properties["AssumeRolePolicyDocument"],
                    inline_policies={**inline, **extra.get(name, {})},
                    managed_policy_arns=tuple(properties.get("ManagedPolicyArns", [])),
                    description=properties.get("Description", ""),
                )
            )
        return views

    # ------------------------------------------------------------------------------------------ Lambda
    def functions(self) -> dict[str, FunctionView]:
        """Every function by logical id."""
        views = {}
        for logical_id, resource in self.rendered.of_type("AWS::Lambda::Function").items():
            properties = resource["Properties"]
            name = properties.get("FunctionName") or self.physical_id(logical_id)
            code_dir = (self.template.parent / properties["Code"]["S3Key"]).resolve()
            if not code_dir.is_dir():
                raise FileNotFoundError(f"{self.template}: {logical_id} code folder {code_dir} does not exist")
            variables = (properties.get("Environment") or {}).get("Variables") or {}
            log_group = (properties.get("LoggingConfig") or {}).get("LogGroup") or f"/aws/lambda/{name}"
            views[logical_id] = FunctionView(
                logical_id=logical_id,
                name=name,
                arn=self.attribute(logical_id, "Arn"),
                handler=properties["Handler"],
                code_dir=code_dir,
                role_arn=properties["Role"],
                environment={k: str(v) for k, v in variables.items()},
                timeout=float(properties.get("Timeout", 3)),
                memory_mb=int(properties.get("MemorySize", 128)),
                log_group=log_group,
                in_vpc="VpcConfig" in properties,
            )
        return views

    def function_by_handler(self, handler: str) -> FunctionView | None:
        """The function running a given handler, if the stack has it (conditions may remove it)."""
        return next((f for f in self.functions().values() if f.handler == handler), None)

    # ------------------------------------------------------------------------------------------ network
    def endpoints(self, service: str = "execute-api") -> list[EndpointView]:
        """Interface VPC endpoints for one service."""
        views = []
        for logical_id, resource in self.rendered.of_type("AWS::EC2::VPCEndpoint").items():
            properties = resource["Properties"]
            if properties.get("VpcEndpointType") != "Interface" or not properties["ServiceName"].endswith(
                f".{service}"
            ):
                continue
            entries = self.attribute(logical_id, "DnsEntries")
            views.append(
                EndpointView(
                    logical_id=logical_id,
                    vpce_id=self.physical_id(logical_id),
                    vpc_id=properties["VpcId"],
                    service=service,
                    policy=properties.get("PolicyDocument"),
                    private_dns=str(properties.get("PrivateDnsEnabled", False)).lower() == "true",
                    dns_names=tuple(entry.split(":", 1)[1] for entry in entries),
                )
            )
        return views

    # ------------------------------------------------------------------------------------------ data
    def tables(self) -> dict[str, tuple[str, Mapping[str, Any]]]:
        """Every DynamoDB table of the stack by logical id: name and rendered properties."""
        tables = {}
        for logical_id, resource in self.rendered.of_type("AWS::DynamoDB::Table").items():
            properties = resource["Properties"]
            tables[logical_id] = (properties.get("TableName") or self.physical_id(logical_id), properties)
        return tables

    def table(self, logical_id: str = "ItemsTable") -> tuple[str, Mapping[str, Any]]:
        """One DynamoDB table (the items table by default): name and rendered properties."""
        return self.tables()[logical_id]

    # ------------------------------------------------------------------------------------------ API
    def api(self) -> ApiView:
        """The stack's one REST API with its stage, policy and integrations."""
        logical_id, api = next(iter(self.rendered.of_type("AWS::ApiGateway::RestApi").items()))
        stage = self.rendered.one("AWS::ApiGateway::Stage")["Properties"]
        body = api["Properties"].get("Body") or {}
        # The policy is either inside the definition (x-amazon-apigateway-policy) or the RestApi's Policy property.
        policy = body.get("x-amazon-apigateway-policy") or api["Properties"].get("Policy")
        endpoint_configuration = api["Properties"].get("EndpointConfiguration") or {}
        access_log = stage.get("AccessLogSetting") or {}
        raw = self.source.get("Resources", {}).get(logical_id, {}).get("Properties", {})
        return ApiView(
            logical_id=logical_id,
            api_id=self.physical_id(logical_id),
            openapi=body,
            resource_policy=policy,
            vpc_endpoint_ids=tuple(endpoint_configuration.get("VpcEndpointIds") or ()),
            stage=stage["StageName"],
            access_log_format=access_log.get("Format"),
            deployment_id=stage.get("DeploymentId", ""),
            integration_arns=_integration_arns(body),
            always_deploy=raw.get("AlwaysDeploy") is True,
        )


def _integration_arns(body: Mapping[str, Any]) -> tuple[str, ...]:
    found = []
    for operations in (body.get("paths") or {}).values():
        for operation in operations.values() if isinstance(operations, Mapping) else ():
            uri = (
                (operation.get("x-amazon-apigateway-integration") or {}).get("uri", "")
                if isinstance(operation, Mapping)
                else ""
            )
            # arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function arn}/invocations
            if "/functions/" in uri:
                found.append(uri.split("/functions/", 1)[1].rsplit("/invocations", 1)[0])
    return tuple(dict.fromkeys(found))


# CloudFormation property -> CreateTable parameter, for the properties that map one to one.
_TABLE_PASS_THROUGH = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "TableClass",
    "DeletionProtectionEnabled",
    "Tags",
)
# Properties applied by other calls than CreateTable, or with no effect on requests offline.
_TABLE_ELSEWHERE = (
    "TableName",
    "PointInTimeRecoverySpecification",
    "TimeToLiveSpecification",
    "ContributorInsightsSpecification",
)


def create_table_request(name: str, properties: Mapping[str, Any]) -> dict[str, Any]:
    """The CreateTable call for a rendered AWS::DynamoDB::Table (fails on properties it does not know)."""
    request: dict[str, Any] = {"TableName": name}
    for key, value in properties.items():
        if key in _TABLE_PASS_THROUGH:
            request[key] = value
        elif key == "SSESpecification":
            sse = {"Enabled": bool(value.get("SSEEnabled"))}
            sse.update({k: value[k] for k in ("SSEType", "KMSMasterKeyId") if k in value})
            request["SSESpecification"] = sse
        elif key == "StreamSpecification":
            request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": value["StreamViewType"]}
        elif key not in _TABLE_ELSEWHERE:
            raise ValueError(f"table {name}: property {key} is not emulated; add it to cfnrender/stacks.py")
    return request
