"""Every deployable variant of a template, resolved as CloudFormation would deploy it, for linters and scanners.

Linters read source templates, where a condition is an expression and a parameter a Ref; what CloudFormation
deploys is one resolved variant per parameter set. This module renders the variants (SAM transform, parameters,
conditions, intrinsics: cfnrender.render) and keeps each distinct resolved resource once.

Which parameter sets: parameters that one resource reaches through its conditions (or one Rule names) must vary
together, so they form a group and every group takes the full product of its parameters' sample values. Groups
touch disjoint resources, so combination i simply takes the i-th assignment of every group (cycling the shorter
ones): every resource sees every reachable assignment of its own conditions, at the cost of the largest group
instead of the product of all of them. Parameters no condition reads are cycled through their samples.
"""

from __future__ import annotations

import itertools
import json
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnrender.render import ParameterError, Rendered, load_template, render_template
from cfnrender.stacks import generate_ids

REPO = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
PROVIDER = "111111111111"
CONSUMER = "222222222222"
OUTSIDER = "333333333333"
# What CloudFormation puts in place of the SSM parameter before it deploys (AWS publishes the layer).
LAYER_ARN = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:18"
API_HOST = f"a1b2c3d4e5.execute-api.{REGION}.amazonaws.com"
ACCESS_ROLE = f"arn:aws:iam::{PROVIDER}:role/private-api-backend-ApiAccessRole-ABCDEF123456"
CLIENT_ROLE = f"arn:aws:iam::{CONSUMER}:role/private-api-client-rPythonDirectAuthClientRole-ABCDEF123456"
OUTSIDER_ROLE = f"arn:aws:iam::{OUTSIDER}:role/caller"
VPCE_A, VPCE_B = "vpce-0a1b2c3d4e5f60718", "vpce-0f1e2d3c4b5a69788"
SUBNET_A, SUBNET_B = "subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"
SUBNET_C = "subnet-0c1c2c3c4c5c6c7c8"


# The certificate (mTLS) path. Its conditions reach the resource policy, the function and the VPC resources, so as
# ordinary samples it would join every group into one product (tens of thousands of sets). Its parameters therefore
# keep their defaults in the grouped sets (mTLS off: exactly the sets without the feature) and come on in overlays.
MTLS_DEFAULTS: dict[str, Sequence[str]] = {
    "pEnableMtls": ["No"],
    "pMtlsTrustStoreBucket": [""],
    "pMtlsCABundleKey": [""],
    "pMtlsRevocationListKey": ["None"],
    "pMtlsServerCertificateArn": [""],
    "pMtlsAllowedPrincipals": ["None"],
    "pMtlsAcceptanceRequired": ["No"],
    "pMtlsAllowedClients": ["None"],
    "pMtlsLogBucket": ["None"],
}
MTLS_ON = {
    "pEnableMtls": "Yes",
    "pMtlsTrustStoreBucket": "provider-artifacts",
    "pMtlsCABundleKey": "mtls/ca.pem",
    "pMtlsServerCertificateArn": f"arn:aws:acm:{REGION}:{PROVIDER}:certificate/0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9",
    "pMtlsAllowedPrincipals": f"arn:aws:iam::{CONSUMER}:root,arn:aws:iam::{OUTSIDER}:role/caller",
    "pMtlsAllowedClients": "acme:CN=client.acme.example,O=Acme;beta:CN=svc,O=Beta\\, Inc.",
}
# on x (CRL, no CRL) x (acceptance, none), alternating two and three subnets (AZs; the ALB needs two or more).
MTLS_OVERLAYS_BACKEND: list[dict[str, str]] = [
    {
        **MTLS_ON,
        "pVPCID": "vpc-0a1b2c3d4e5f60718",
        "pLambdaSubnetIDs": subnets,
        "pDynamoDBPrefixListID": "pl-02cd2c6b",
        "pMtlsRevocationListKey": crl,
        "pMtlsAcceptanceRequired": acceptance,
        "pMtlsLogBucket": "provider-elb-logs" if acceptance == "Yes" else "None",
    }
    for (crl, acceptance), subnets in zip(
        itertools.product(["None", "mtls/crl.pem"], ["No", "Yes"]),
        itertools.cycle([f"{SUBNET_A},{SUBNET_B}", f"{SUBNET_A},{SUBNET_B},{SUBNET_C}"]),
        strict=False,
    )
]
MTLS_CONDITIONS = frozenset({"IsMtlsEnabled", "HasMtlsRevocationList", "IsMtlsAcceptanceRequired", "HasMtlsLogBucket"})
MTLS_OVERLAYS_VPC: list[dict[str, str]] = [
    {
        **MTLS_ON,
        "pMtlsRevocationListKey": crl,
        "pMtlsAcceptanceRequired": acceptance,
        "pMtlsLogBucket": "provider-elb-logs" if crl == "None" else "None",
        "pSubnetCount": count,
    }
    for (crl, acceptance), count in zip(
        itertools.product(["None", "mtls/crl.pem"], ["No", "Yes"]), itertools.cycle(["3", "2"]), strict=False
    )
]

# The private custom domain (issue 17), the same way: its policy reads the endpoint list and its base path reaches
# the function's environment, so it is off in the grouped sets and on in overlays: share to nobody / one account /
# an account and an organization, each with a base path and with the root mapped, and once with mTLS on as well
# (the domain's Deny list then holds the provider's own endpoint too).
DOMAIN_DEFAULTS: dict[str, Sequence[str]] = {
    "pEnablePrivateDomain": ["No"],
    "pPrivateDomainName": ["None"],
    "pPrivateDomainCertificateArn": ["None"],
    "pPrivateDomainBasePath": ["v1"],
    "pPrivateDomainSharePrincipals": ["None"],
}
DOMAIN_ON = {
    "pEnablePrivateDomain": "Yes",
    "pPrivateDomainName": "api.partner.example.com",
    "pPrivateDomainCertificateArn": f"arn:aws:acm:{REGION}:{PROVIDER}:certificate/1a2b3c4d-5e6f-7081-9203-b4c5d6e7f809",
}
DOMAIN_SHARES = ["None", CONSUMER, f"{CONSUMER},arn:aws:organizations::{PROVIDER}:organization/o-a1b2c3d4e5"]
DOMAIN_OVERLAYS: list[dict[str, str]] = [
    {**DOMAIN_ON, "pPrivateDomainSharePrincipals": share, "pPrivateDomainBasePath": base}
    for share, base in itertools.product(DOMAIN_SHARES, ["v1", "None"])
]
DOMAIN_CONDITIONS = frozenset({"IsPrivateDomainEnabled", "HasPrivateDomainShare", "HasPrivateDomainBasePath"})

# The consumer's certificate client, the same way: off in the grouped sets, on in overlays (hosted zone and Secrets
# Manager endpoint each on and off).
MTLS_CLIENT_DEFAULTS: dict[str, Sequence[str]] = {
    "pEnableMtlsClient": ["No"],
    "pMtlsServiceName": ["None"],
    "pMtlsServiceDNSName": ["None"],
    "pMtlsCertificateSecretArn": ["None"],
    "pCreateMtlsHostedZone": ["Yes"],
    "pCreateSecretsManagerEndpoint": ["Yes"],
}
MTLS_CLIENT_OVERLAYS: list[dict[str, str]] = [
    {
        "pEnableMtlsClient": "Yes",
        "pMtlsServiceName": f"com.amazonaws.vpce.{REGION}.vpce-svc-0a1b2c3d4e5f60718",
        "pMtlsServiceDNSName": "api.partner.example.com",
        "pMtlsCertificateSecretArn": f"arn:aws:secretsmanager:{REGION}:{CONSUMER}:secret:api/client-cert-AbCdEf",
        "pCreateMtlsHostedZone": zone,
        "pCreateSecretsManagerEndpoint": endpoint,
    }
    for zone, endpoint in itertools.product(["Yes", "No"], ["Yes", "No"])
]
MTLS_CLIENT_CONDITIONS = frozenset(
    {"IsMtlsClientEnabled", "ShouldCreateMtlsHostedZone", "ShouldCreateSecretsManagerEndpoint"}
)

# The consumer's private custom domain, the same way: off in the grouped sets (one sample each, so its conditions
# join no group into a larger product), on in overlays: hosted zone and base path each on and off, then once with
# the certificate client on too (its function keeps the API's host while the SigV4 clients call the domain).
# Interleaved with the certificate client's overlays, each domain overlay meets private DNS on and off. The parent
# vpc-api-client.yaml has only four grouped sets (its child's parameters pass through): there each certificate client
# overlay is combined with a domain overlay, so all four of each still appear.
PRIVATE_DOMAIN_CLIENT_DEFAULTS: dict[str, Sequence[str]] = {
    "pPrivateDomainName": ["None"],
    "pPrivateDomainNameArn": ["None"],
    "pPrivateDomainBasePath": ["v1"],
    "pCreatePrivateDomainHostedZone": ["Yes"],
}
PRIVATE_DOMAIN_ON = {
    "pPrivateDomainName": "orders.example.com",
    "pPrivateDomainNameArn": f"arn:aws:apigateway:{REGION}:{PROVIDER}:/domainnames/orders.example.com+a1b2c3d4",
}
PRIVATE_DOMAIN_CLIENT_OVERLAYS: list[dict[str, str]] = [
    {**PRIVATE_DOMAIN_ON, "pCreatePrivateDomainHostedZone": zone, "pPrivateDomainBasePath": base_path}
    for zone, base_path in [("Yes", "v1"), ("No", "None"), ("No", "v1"), ("Yes", "None")]
]
CONSUMER_OVERLAYS: list[dict[str, str]] = [
    *itertools.chain.from_iterable(zip(MTLS_CLIENT_OVERLAYS, PRIVATE_DOMAIN_CLIENT_OVERLAYS, strict=True)),
    {**MTLS_CLIENT_OVERLAYS[0], **PRIVATE_DOMAIN_CLIENT_OVERLAYS[1]},
]
VPC_CONSUMER_OVERLAYS: list[dict[str, str]] = [
    {**mtls, **domain} for mtls, domain in zip(MTLS_CLIENT_OVERLAYS, PRIVATE_DOMAIN_CLIENT_OVERLAYS, strict=True)
]


@dataclass(frozen=True)
class TemplateSpec:
    """A template, the account it is deployed to, and sample values for each of its parameters (first: default)."""

    path: str
    account: str
    samples: Mapping[str, Sequence[str]]
    # Laid over the grouped sets, one per set in turn, as extra sets (a feature whose product with every group
    # would explode); each must be accepted with every grouped set.
    overlays: Sequence[Mapping[str, str]] = ()
    # Conditions that are constant (false) in the grouped sets because the overlaid switch is off there: they
    # join no parameters into a group.
    constant_conditions: frozenset[str] = frozenset()


# Sample values: every AllowedValue, None/empty and several items for lists (one item too where a list becomes a
# single principal), limits for numbers. The first value is the template's default.
SPECS: dict[str, TemplateSpec] = {
    "api-backend/api-backend.yaml": TemplateSpec(
        "api-backend/api-backend.yaml",
        PROVIDER,
        {
            "pTrustedPrincipals": ["Nobody", CONSUMER, f"{CONSUMER},{OUTSIDER_ROLE}"],
            "pAPIAccessList": ["None", CLIENT_ROLE, f"{CONSUMER},{OUTSIDER_ROLE}"],
            "pAllowedPrincipalPatterns": [
                "None",
                f"arn:aws:iam::{CONSUMER}:role/team-*,arn:aws:sts::{OUTSIDER}:assumed-role/ops-?/*",
            ],
            "pAllowedOrgID": ["None", "o-a1b2c3d4e5"],
            "pAllowedVPCEndpoints": ["None", f"{VPCE_A},{VPCE_B}"],
            "pAssociateVPCEndpoints": ["No", "Yes"],
            "pAPIStageName": ["Prod", "v2_beta-1"],
            "pAPIAccessLogRetention": ["60", "1", "3653"],
            "pAPIGatewayAccountRole": ["Yes", "No"],
            "pEnableWAF": ["Yes", "No"],
            "pThrottlingRateLimit": ["50", "1", "10000"],
            "pThrottlingBurstLimit": ["100", "1", "5000"],
            "pWAFRateLimit": ["20000", "10", "2000000000"],
            "pVPCID": ["", "vpc-0a1b2c3d4e5f60718"],
            "pLambdaSubnetIDs": ["", SUBNET_A, f"{SUBNET_A},{SUBNET_B}"],
            "pCreateDDBEndpoint": ["No", "Yes"],
            "pLambdaSubnetRouteTable": ["None", "rtb-0a1b2c3d4e5f60718", "rtb-0a1b2c3d4e5f60718,rtb-0f1e2d3c4b5a69788"],
            "pDynamoDBPrefixListID": ["", "pl-02cd2c6b"],
            "pDNSServerCIDR": ["169.254.169.253/32", "10.0.0.0/16"],
            "pPowertoolsLayerArn": ["/aws/service/powertools/python/arm64/python3.14/latest", LAYER_ARN, "None"],
            **MTLS_DEFAULTS,
            **DOMAIN_DEFAULTS,
        },
        [*MTLS_OVERLAYS_BACKEND, *DOMAIN_OVERLAYS, {**MTLS_OVERLAYS_BACKEND[0], **DOMAIN_OVERLAYS[1]}],
        MTLS_CONDITIONS | DOMAIN_CONDITIONS,
    ),
    "api-backend/vpc-api-backend.yaml": TemplateSpec(
        "api-backend/vpc-api-backend.yaml",
        PROVIDER,
        {
            "pTrustedPrincipals": ["Nobody", f"{CONSUMER},{OUTSIDER_ROLE}"],
            "pAPIAccessList": ["None", f"{CONSUMER},{CLIENT_ROLE}"],
            "pAllowedPrincipalPatterns": ["None", f"arn:aws:iam::{CONSUMER}:role/team-*"],
            "pAllowedOrgID": ["None", "o-a1b2c3d4e5"],
            "pAllowedVPCEndpoints": ["None", f"{VPCE_A},{VPCE_B}"],
            "pAssociateVPCEndpoints": ["No", "Yes"],
            "pAPIStageName": ["Prod", "v2_beta-1"],
            "pAPIAccessLogRetention": ["60", "3653"],
            "pAPIGatewayAccountRole": ["Yes", "No"],
            "pEnableWAF": ["Yes", "No"],
            "pThrottlingRateLimit": ["50", "10000"],
            "pThrottlingBurstLimit": ["100", "5000"],
            "pWAFRateLimit": ["20000", "10"],
            "pVPCCIDR": ["10.0.0.0/16", "172.16.0.0/22"],
            "pSubnetCount": ["2", "3"],
            "pDynamoDBPrefixListID": ["pl-02cd2c6b"],
            "pPowertoolsLayerArn": ["/aws/service/powertools/python/arm64/python3.14/latest", LAYER_ARN, "None"],
            **MTLS_DEFAULTS,
            **DOMAIN_DEFAULTS,
        },
        [*MTLS_OVERLAYS_VPC, *DOMAIN_OVERLAYS, {**MTLS_OVERLAYS_VPC[0], **DOMAIN_OVERLAYS[1]}],
        MTLS_CONDITIONS | DOMAIN_CONDITIONS,
    ),
    "api-client/api-client.yaml": TemplateSpec(
        "api-client/api-client.yaml",
        CONSUMER,
        {
            "pAPIHost": [API_HOST],
            "pAPIPrefix": ["/Prod", "/v2_beta-1"],
            "pAPIAccountID": ["Local", PROVIDER],
            "pAPITimeout": ["10", "1", "30"],
            "pAPIRoleARN": ["None", ACCESS_ROLE],
            "pVPCID": ["vpc-0a1b2c3d4e5f60718"],
            "pLambdaSubnetIDs": [SUBNET_A, f"{SUBNET_A},{SUBNET_B}"],
            "pEndpointSubnetIDs": [SUBNET_B, f"{SUBNET_A},{SUBNET_B}"],
            "pCreateSTSEndpoint": ["Yes", "No"],
            "pEnablePrivateDNS": ["True", "False"],
            "pDNSServerCIDR": ["10.1.0.2/32"],
            "pPowertoolsLayerArn": ["/aws/service/powertools/python/arm64/python3.14/latest", LAYER_ARN, "None"],
            **MTLS_CLIENT_DEFAULTS,
            **PRIVATE_DOMAIN_CLIENT_DEFAULTS,
        },
        CONSUMER_OVERLAYS,
        MTLS_CLIENT_CONDITIONS,
    ),
    "api-client/vpc-api-client.yaml": TemplateSpec(
        "api-client/vpc-api-client.yaml",
        CONSUMER,
        {
            "pAPIHost": [API_HOST],
            "pAPIPrefix": ["/Prod"],
            "pAPIAccountID": ["Local", PROVIDER],
            "pAPITimeout": ["10", "30"],
            "pAPIRoleARN": ["None", ACCESS_ROLE],
            "pVPCCIDR": ["10.1.0.0/16", "192.168.0.0/21"],
            "pNumberOfAZs": ["2", "3"],
            "pAvailabilityZones": ["", "us-east-1a,us-east-1b,us-east-1c"],
            "pCreateSTSEndpoint": ["Yes", "No"],
            "pEnablePrivateDNS": ["True", "False"],
            "pPowertoolsLayerArn": ["/aws/service/powertools/python/arm64/python3.14/latest", LAYER_ARN, "None"],
            **MTLS_CLIENT_DEFAULTS,
            **PRIVATE_DOMAIN_CLIENT_DEFAULTS,
        },
        VPC_CONSUMER_OVERLAYS,
        MTLS_CLIENT_CONDITIONS,
    ),
}


# ---------------------------------------------------------------------------------------------- parameter groups
def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, Mapping):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _refs(node: Any, names: set[str]) -> set[str]:
    found: set[str] = set()
    for item in _walk(node):
        if isinstance(item, Mapping) and item.get("Ref") in names:
            found.add(item["Ref"])
        if isinstance(item, Mapping) and isinstance(item.get("Fn::Sub"), str | list):
            text = item["Fn::Sub"] if isinstance(item["Fn::Sub"], str) else item["Fn::Sub"][0]
            found |= {name for name in re.findall(r"\$\{([^}!.]+)\}", str(text)) if name in names}
    return found


def _conditions_used(node: Any, conditions: set[str]) -> set[str]:
    used: set[str] = set()
    for item in _walk(node):
        if not isinstance(item, Mapping):
            continue
        if isinstance(item.get("Condition"), str) and item["Condition"] in conditions:
            used.add(item["Condition"])
        branch = item.get("Fn::If")
        if isinstance(branch, list) and branch and branch[0] in conditions:
            used.add(branch[0])
    return used


def _condition_parameters(template: Mapping[str, Any]) -> dict[str, set[str]]:
    """Parameters each condition reads, through the conditions it names as well."""
    conditions = dict(template.get("Conditions") or {})
    parameters = set(template.get("Parameters") or {})
    direct = {name: _refs(body, parameters) for name, body in conditions.items()}
    nested = {name: _conditions_used(body, set(conditions)) for name, body in conditions.items()}
    resolved: dict[str, set[str]] = {}

    def reach(name: str, seen: frozenset[str]) -> set[str]:
        if name in resolved:
            return resolved[name]
        found = set(direct[name])
        for other in nested[name] - seen:
            found |= reach(other, seen | {name})
        resolved[name] = found
        return found

    return {name: reach(name, frozenset()) for name in conditions}


def parameter_groups(template: Mapping[str, Any], constant: frozenset[str] = frozenset()) -> list[frozenset[str]]:
    """Parameters that must vary together (see the module docstring); singletons for the rest."""
    parameters = set(template.get("Parameters") or {})
    by_condition = {c: set() if c in constant else p for c, p in _condition_parameters(template).items()}
    conditions = set(by_condition)
    globals_section = template.get("Globals") or {}
    units: list[set[str]] = []
    for resource in (template.get("Resources") or {}).values():
        node: Any = resource
        if resource.get("Type", "").startswith("AWS::Serverless::"):
            node = [resource, globals_section]  # Globals end up inside every SAM resource
        units.append({p for c in _conditions_used(node, conditions) for p in by_condition[c]})
    for output in (template.get("Outputs") or {}).values():
        units.append({p for c in _conditions_used(output, conditions) for p in by_condition[c]})
    for rule in (template.get("Rules") or {}).values():
        units.append(_refs(rule, parameters) | {p for c in _conditions_used(rule, conditions) for p in by_condition[c]})
    parent = {name: name for name in parameters}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for unit in units:
        first, *rest = sorted(unit) or [""]
        for other in rest:
            parent[root(other)] = root(first)
    groups: dict[str, set[str]] = {}
    for name in parameters:
        groups.setdefault(root(name), set()).add(name)
    return sorted((frozenset(g) for g in groups.values()), key=lambda g: (-len(g), sorted(g)))


def _accepted(template: Mapping[str, Any], values: Mapping[str, str]) -> bool:
    """True when CloudFormation would accept the values (constraints and Rules), checked without the transform."""
    skeleton = {
        "Parameters": template.get("Parameters", {}),
        "Rules": template.get("Rules", {}),
        "Conditions": template.get("Conditions", {}),
        "Resources": {"Nothing": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
    }
    try:
        render_template(skeleton, dict(values))
    except ParameterError:
        return False
    return True


@dataclass
class Combinations:
    """The parameter sets of one template and what they cover."""

    spec: TemplateSpec
    groups: list[frozenset[str]]
    group_assignments: list[list[dict[str, str]]]
    parameter_sets: list[dict[str, str]] = field(default_factory=list)

    @property
    def full_product(self) -> int:
        """How many parameter sets the product of every group's assignments would be."""
        total = 1
        for assignments in self.group_assignments:
            total *= len(assignments)
        return total


def combinations(spec: TemplateSpec) -> Combinations:
    """Parameter sets in which every group takes each of its accepted assignments at least once."""
    template = load_template(REPO / spec.path)
    missing = set(template.get("Parameters") or {}) - set(spec.samples)
    if missing:
        raise AssertionError(f"{spec.path}: choose sample values for {sorted(missing)}")
    defaults = {name: values[0] for name, values in spec.samples.items()}
    groups = parameter_groups(template, spec.constant_conditions)
    per_group: list[list[dict[str, str]]] = []
    for group in groups:
        names = sorted(group)
        assignments = [
            dict(zip(names, values, strict=True)) for values in itertools.product(*(spec.samples[n] for n in names))
        ]
        accepted = [a for a in assignments if _accepted(template, {**defaults, **a})] if len(names) > 1 else assignments
        per_group.append(accepted)
    count = max(len(a) for a in per_group)
    parameter_sets = [{k: v for a in per_group for k, v in a[i % len(a)].items()} for i in range(count)]
    # Each grouped set takes one overlay in turn, and every overlay is used even when there are fewer grouped sets.
    overlaid = [
        {**parameter_sets[i % len(parameter_sets)], **spec.overlays[i % len(spec.overlays)]}
        for i in range(max(len(parameter_sets), len(spec.overlays)) if spec.overlays else 0)
    ]
    refused = [s for s in overlaid if not _accepted(template, s)]
    if refused:
        raise AssertionError(f"{spec.path}: an overlay is refused by the template: {refused[0]}")
    parameter_sets += overlaid
    return Combinations(spec, groups, per_group, parameter_sets)


# ---------------------------------------------------------------------------------------------- resolving
_EXTRA_IDS = {
    "AWS::EC2::VPC": "vpc-0",
    "AWS::EC2::Subnet": "subnet-0",
    "AWS::EC2::RouteTable": "rtb-0",
    "AWS::EC2::SubnetRouteTableAssociation": "rtbassoc-0",
    "AWS::EC2::SecurityGroupEgress": "sgr-0",
}
_HEX = "0123456789abcdef"
_DEPLOYED_KEYS = ("Type", "Properties", "DeletionPolicy", "UpdateReplacePolicy")
_DEPLOYMENT_HASH = re.compile(r"[0-9a-f]{10}")


def _stack_name(spec: TemplateSpec) -> str:
    return "private-api-backend" if spec.account == PROVIDER else "private-api-client"


def fake_ids(spec: TemplateSpec) -> tuple[dict[str, str], dict[str, Any]]:
    """Physical ids and attributes in the formats AWS returns, so linters check real-looking values."""
    rng = random.Random(7)  # resource names, not secrets
    ids = generate_ids(REPO / spec.path, stack=_stack_name(spec), account=spec.account, region=REGION, rng=rng)
    physical_ids, attributes = dict(ids.physical_ids), dict(ids.attributes)
    # The resources SAM adds (deployment, stage, permissions) need no particular format; the source's do.
    for logical_id, resource in load_template(REPO / spec.path).get("Resources", {}).items():
        kind = resource["Type"]
        if kind in _EXTRA_IDS:
            physical_ids[logical_id] = _EXTRA_IDS[kind] + "".join(rng.choices(_HEX, k=16))
        if kind == "AWS::EC2::VPC":
            attributes[f"{logical_id}.CidrBlock"] = "10.0.0.0/16"
        elif kind == "AWS::CloudFormation::WaitConditionHandle":
            physical_ids[logical_id] = f"https://cloudformation-waitcondition-{REGION}.s3.amazonaws.com/{logical_id}"
    return physical_ids, attributes


def _without_deployment_noise(rendered: Rendered) -> dict[str, dict[str, Any]]:
    """Resources with the per-render deployment id (AlwaysDeploy makes a new one each time) replaced by one value."""
    deployments = [rid for rid, r in rendered.resources.items() if r["Type"] == "AWS::ApiGateway::Deployment"]
    text = json.dumps(rendered.resources)
    for logical_id in deployments:
        text = text.replace(f'"{logical_id}"', '"a1b2c3"')
    resources: dict[str, dict[str, Any]] = json.loads(text)
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::ApiGateway::Deployment" and isinstance(properties.get("Description"), str):
            properties["Description"] = _DEPLOYMENT_HASH.sub("0" * 10, properties["Description"])
    return resources


def _checkov_skips(transformed: Mapping[str, Any], logical_id: str) -> Any:
    """The checkov skips of a resource, or of the SAM API it was generated from (its Stage, Deployment)."""
    resources = transformed.get("Resources", {})
    metadata = resources.get(logical_id, {}).get("Metadata") or {}
    if "checkov" in metadata:
        return metadata["checkov"]
    for owner in sorted((r for r in resources if logical_id.startswith(r) and r != logical_id), key=len, reverse=True):
        owner_metadata = resources[owner].get("Metadata") or {}
        if "checkov" in owner_metadata and resources[owner]["Type"] == "AWS::ApiGateway::RestApi":
            return owner_metadata["checkov"]
    return None


@dataclass
class Variants:
    """The distinct resolved resources and outputs over all parameter sets of one template.

    Each linted document holds what one parameter set added (resources and outputs not seen in an earlier set), so
    every document is part of one real deployment: rules that compare resources (unique identifiers, one private
    DNS endpoint per service and VPC) see a consistent set.
    """

    parameter_sets: int
    full_product: int
    documents: list[dict[str, Any]] = field(default_factory=list)

    @property
    def resource_count(self) -> int:
        """Distinct resolved resources over all parameter sets."""
        return sum(len(d["Resources"]) for d in self.documents)


def resolved_variants(spec: TemplateSpec) -> Variants:
    """Render every parameter set; keep each distinct resolved resource and output once (in the first set with it)."""
    if spec.path not in _RESOLVED:
        _RESOLVED[spec.path] = _resolve_all(spec)  # cfn-lint and checkov tests read the same renders
    return _RESOLVED[spec.path]


_RESOLVED: dict[str, Variants] = {}


def _resolve_all(spec: TemplateSpec) -> Variants:
    plan = combinations(spec)
    variants = Variants(parameter_sets=len(plan.parameter_sets), full_product=plan.full_product)
    physical_ids, attributes = fake_ids(spec)
    seen: set[str] = set()
    for parameters in plan.parameter_sets:
        rendered = render_template(
            REPO / spec.path,
            parameters,
            account_id=spec.account,
            region=REGION,
            stack_name=_stack_name(spec),
            physical_ids=physical_ids,
            attributes=attributes,
        )
        document: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}, "Outputs": {}}
        for logical_id, resource in _without_deployment_noise(rendered).items():
            kept = {
                k: v
                for k, v in resource.items()
                if k in ("Type", "Properties", "DeletionPolicy", "UpdateReplacePolicy")
            }
            key = json.dumps(kept, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            skips = _checkov_skips(rendered.transformed, logical_id)
            if skips is not None:
                kept["Metadata"] = {"checkov": skips}
            document["Resources"][logical_id] = kept
        for output, value in rendered.outputs.items():
            key = json.dumps([output, value], sort_keys=True)
            if key not in seen:
                seen.add(key)
                document["Outputs"][output] = {"Value": value}
        if document["Resources"]:
            if not document["Outputs"]:
                del document["Outputs"]
            variants.documents.append(document)
    return variants
