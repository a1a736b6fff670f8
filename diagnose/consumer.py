"""Read the consumer account: its stack, client functions and their roles, the endpoints and the network."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from diagnose.collect import CLIENT_OUTPUTS, caller_account, parse_policy, read, read_org_id, read_role, read_stack
from diagnose.facts import Consumer, Endpoint, Function, Network, Rule, SecurityGroup, Stack

__all__ = ["collect_consumer"]

_LAMBDA_TIME = re.compile(
    r"^(?P<base>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d+))?(?P<zone>Z|[+-]\d\d:?\d\d)?$"
)


def _function(lam: Any, iam: Any, name: str, key: str, errors: dict[str, str]) -> Function | None:
    raw = read(errors, key, lambda: lam.get_function_configuration(FunctionName=name))
    if raw is None:
        return None
    vpc = raw.get("VpcConfig") or {}
    modified = raw.get("LastModified")
    return Function(
        name=raw["FunctionName"],
        role_arn=raw["Role"],
        environment=dict((raw.get("Environment") or {}).get("Variables") or {}),
        vpc_id=vpc.get("VpcId") or None,
        subnet_ids=tuple(vpc.get("SubnetIds") or ()),
        security_group_ids=tuple(vpc.get("SecurityGroupIds") or ()),
        last_modified=_parse_time(modified) if isinstance(modified, str) else None,
        role=read_role(iam, raw["Role"], errors),
        log_group=(raw.get("LoggingConfig") or {}).get("LogGroup") or None,
    )


def _parse_time(text: str) -> datetime | None:
    """Lambda's LastModified (2024-01-02T03:04:05.000+0000); extra fraction digits and a Z suffix are tolerated."""
    found = _LAMBDA_TIME.match(text.strip())
    if not found:
        return None
    fraction = (found["fraction"] or "0")[:6]
    zone = "+0000" if found["zone"] in ("Z", None) else found["zone"].replace(":", "")
    try:
        return datetime.strptime(f"{found['base']}.{fraction}{zone}", "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None


def _endpoint(raw: Mapping[str, Any]) -> Endpoint:
    return Endpoint(
        id=raw["VpcEndpointId"],
        service_name=raw.get("ServiceName", ""),
        vpc_id=raw.get("VpcId", ""),
        state=str(raw.get("State", "unknown")),
        private_dns=bool(raw.get("PrivateDnsEnabled")),
        policy=parse_policy(raw.get("PolicyDocument")),
        dns_names=tuple(entry["DnsName"].lower() for entry in raw.get("DnsEntries", []) if entry.get("DnsName")),
        subnet_ids=tuple(raw.get("SubnetIds", [])),
        security_group_ids=tuple(g["GroupId"] for g in raw.get("Groups", [])),
    )


def _endpoints(ec2: Any, **filters: Any) -> list[Endpoint]:
    found: list[Endpoint] = []
    for page in ec2.get_paginator("describe_vpc_endpoints").paginate(**filters):
        found.extend(_endpoint(raw) for raw in page["VpcEndpoints"])
    return found


def _service_endpoints(ec2: Any, vpc_id: str, service: str) -> list[Endpoint]:
    candidates = _endpoints(ec2, Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return [e for e in candidates if e.service_name.endswith(service) and e.state.lower() != "deleted"]


def _rules(permissions: Iterable[Mapping[str, Any]]) -> tuple[Rule, ...]:
    return tuple(
        Rule(
            protocol=str(p.get("IpProtocol", "-1")),
            from_port=p.get("FromPort"),
            to_port=p.get("ToPort"),
            cidrs=tuple(r["CidrIp"] for r in p.get("IpRanges", []) if r.get("CidrIp")),
            groups=tuple(g["GroupId"] for g in p.get("UserIdGroupPairs", []) if g.get("GroupId")),
        )
        for p in permissions
    )


def _subnets(ec2: Any, subnet_ids: set[str]) -> dict[str, tuple[str, str]]:
    """subnet id -> (VPC id, CIDR)."""
    if not subnet_ids:
        return {}
    found = ec2.describe_subnets(SubnetIds=sorted(subnet_ids))["Subnets"]
    return {s["SubnetId"]: (s["VpcId"], s["CidrBlock"]) for s in found}


def _network(ec2: Any, vpc_id: str, subnets: Mapping[str, tuple[str, str]], group_ids: set[str]) -> Network:
    def attribute(name: str, key: str) -> bool | None:
        return bool(ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=name)[key]["Value"])

    groups = ec2.describe_security_groups(GroupIds=sorted(group_ids))["SecurityGroups"] if group_ids else []
    return Network(
        dns_support=attribute("enableDnsSupport", "EnableDnsSupport"),
        dns_hostnames=attribute("enableDnsHostnames", "EnableDnsHostnames"),
        subnet_cidrs={subnet: cidr for subnet, (_, cidr) in subnets.items()},
        security_groups={
            g["GroupId"]: SecurityGroup(
                id=g["GroupId"],
                ingress=_rules(g.get("IpPermissions", [])),
                egress=_rules(g.get("IpPermissionsEgress", [])),
            )
            for g in groups
        },
    )


def _functions(lam: Any, iam: Any, stack: Stack, errors: dict[str, str]) -> dict[str, Function]:
    functions: dict[str, Function] = {}
    for kind, output in CLIENT_OUTPUTS.items():
        name = stack.outputs.get(output)
        found = _function(lam, iam, name, f"function:{kind}", errors) if name else None
        if found is not None:
            functions[kind] = found
    return functions


def _in_subnet_vpcs(functions: dict[str, Function], subnets: Mapping[str, tuple[str, str]]) -> dict[str, Function]:
    """Each function's VPC as its subnets say (authoritative: Lambda derives its VpcId from them)."""
    placed: dict[str, Function] = {}
    for kind, found in functions.items():
        vpc = next((subnets[s][0] for s in found.subnet_ids if s in subnets), found.vpc_id)
        placed[kind] = replace(found, vpc_id=vpc)
    return placed


def collect_consumer(session: Any, *, profile: str, region: str, stack_name: str) -> Consumer:
    """The consumer stack, its client functions and roles, the execute-api (and STS) endpoints and the network."""
    errors: dict[str, str] = {}
    account = caller_account(session, region, errors)
    if account is None:
        return Consumer(profile=profile, account=None, errors=errors)
    cfn, lam, iam, ec2 = (session.client(n, region_name=region) for n in ("cloudformation", "lambda", "iam", "ec2"))
    org_id = read_org_id(session, region, errors)
    stack = read_stack(cfn, stack_name, errors)
    if stack is None:
        return Consumer(profile=profile, account=account, org_id=org_id, errors=errors)
    functions = _functions(lam, iam, stack, errors)
    endpoint = _consumer_endpoint(ec2, stack, None, region, errors)
    subnet_ids = {s for f in functions.values() for s in f.subnet_ids} | set(endpoint.subnet_ids if endpoint else ())
    subnets = read(errors, "network", lambda: _subnets(ec2, subnet_ids)) or {}
    functions = _in_subnet_vpcs(functions, subnets)
    vpc_id = next((f.vpc_id for f in functions.values() if f.vpc_id), endpoint.vpc_id if endpoint else None)
    if endpoint is None and vpc_id and not stack.outputs.get("APIGatewayEndpointID"):
        endpoint = _consumer_endpoint(ec2, stack, vpc_id, region, errors)
    sts: list[Endpoint] | None = None  # stays None unless the VPC's endpoints were read
    network = None
    if vpc_id:
        sts = read(errors, "sts-endpoints", lambda: _service_endpoints(ec2, vpc_id, f"{region}.sts"))
        groups = {g for f in functions.values() for g in f.security_group_ids}
        groups |= set(endpoint.security_group_ids if endpoint else ())
        network = read(errors, "network", lambda: _network(ec2, vpc_id, subnets, groups))
    return Consumer(
        profile=profile,
        account=account,
        org_id=org_id,
        stack=stack,
        functions=functions,
        endpoint=endpoint,
        sts_endpoints=None if sts is None else tuple(sts),
        network=network,
        errors=errors,
    )


def _consumer_endpoint(
    ec2: Any, stack: Stack, vpc_id: str | None, region: str, errors: dict[str, str]
) -> Endpoint | None:
    endpoint_id = stack.outputs.get("APIGatewayEndpointID")
    if endpoint_id:
        found = read(errors, "endpoint", lambda: _endpoints(ec2, VpcEndpointIds=[endpoint_id]))
        return found[0] if found else None
    if vpc_id:
        # No output (an older or hand-made stack): the execute-api endpoint of the functions' VPC.
        found = read(errors, "endpoint", lambda: _service_endpoints(ec2, vpc_id, f"{region}.execute-api"))
        return found[0] if found else None
    return None
