"""A rendered stack's IAM roles and DynamoDB tables created in moto, and its roles updated as a stack update would."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cfnrender.stacks import Stack, create_table_request

__all__ = ["create_roles", "create_tables", "update_roles"]

_AWS_MANAGED_POLICY = ":iam::aws:policy/"


def create_roles(iam: Any, stack: Stack, only: set[str] | None = None) -> None:
    """Create the stack's roles (or only those with the given logical ids) with all their policies."""
    for role in stack.roles():
        if only is not None and role.logical_id not in only:
            continue
        iam.create_role(
            RoleName=role.name,
            Path=role.path,
            AssumeRolePolicyDocument=json.dumps(role.trust_policy),
            Description=role.description,
        )
        _sync_role_policies(iam, role.name, role.inline_policies, {})
        for arn in role.managed_policy_arns:
            # moto does not load AWS managed policies by default; none of them grants execute-api or sts.
            if _AWS_MANAGED_POLICY not in arn:
                iam.attach_role_policy(RoleName=role.name, PolicyArn=arn)


def update_roles(iam: Any, old: Stack, new: Stack) -> None:
    """Bring the roles of `old` to those of `new`: trust and inline policies changed, roles added or deleted."""
    before = {r.logical_id: r for r in old.roles()}
    after = {r.logical_id: r for r in new.roles()}
    for logical_id, role in after.items():
        previous = before.get(logical_id)
        if previous is None:
            create_roles(iam, new, {logical_id})
            continue
        if previous.trust_policy != role.trust_policy:
            iam.update_assume_role_policy(RoleName=role.name, PolicyDocument=json.dumps(role.trust_policy))
        _sync_role_policies(iam, role.name, role.inline_policies, previous.inline_policies)
    for logical_id in set(before) - set(after):
        role = before[logical_id]
        _sync_role_policies(iam, role.name, {}, role.inline_policies)
        iam.delete_role(RoleName=role.name)


def create_tables(dynamodb: Any, stack: Stack) -> None:
    """Create the stack's tables from their key schema, with point-in-time recovery and TTL as configured."""
    for name, properties in stack.tables().values():
        dynamodb.create_table(**create_table_request(name, properties))
        recovery = properties.get("PointInTimeRecoverySpecification") or {}
        if recovery.get("PointInTimeRecoveryEnabled"):
            dynamodb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )
        ttl = properties.get("TimeToLiveSpecification") or {}
        if ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
            )


def _sync_role_policies(
    iam: Any, role: str, wanted: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]]
) -> None:
    for name, document in wanted.items():
        if current.get(name) != document:
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
    for name in set(current) - set(wanted):
        iam.delete_role_policy(RoleName=role, PolicyName=name)
