"""Secrets, principals and policies from moto's in-process backends (moto must run in this process).

moto does not check signatures or policies itself; the gateway and the STS front ask these functions instead.
moto keeps every account's IAM state in `iam_backends[account][partition]`; access keys (users' and the temporary
ones AssumeRole issues) live in that account's `access_keys`, and assumed-role sessions in `sts_backends`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends
from moto.sts.models import sts_backends

from emulation.gateway.pipeline import Callbacks
from emulation.gateway.sigv4 import SigningCredentials
from iampolicy.authz import Principal, policies_from
from iampolicy.policy import Policy


def _accounts(partition: str) -> list[tuple[str, Any]]:
    # list(): other threads (the moto server) may add accounts while we iterate.
    return [(account_id, backend[partition]) for account_id, backend in list(iam_backends.items())]


def _find_key(access_key_id: str, partition: str) -> tuple[str, Any] | None:
    for account_id, iam in _accounts(partition):
        for key in list(iam.access_keys.values()):
            if key.access_key_id == access_key_id:
                return account_id, key
    return None


def _assumed_role(account_id: str, access_key_id: str, partition: str) -> Any | None:
    return sts_backends[account_id][partition].get_assumed_role_from_access_key(access_key_id)


def _role(iam: Any, role_arn: str) -> Any | None:
    try:
        return iam.get_role_by_arn(role_arn)
    except NotFoundException:
        # The caller may name the role without its path; IAM role names are unique per account.
        name = role_arn.rsplit("/", 1)[-1]
        return next((r for r in iam.get_roles() if r.name == name), None)


def _managed_documents(entity: Any) -> list[str | None]:
    documents = []
    for managed in entity.managed_policies.values():
        default = next((v for v in managed.versions if v.is_default), None)
        documents.append(default.document if default else None)
    return documents


@dataclass
class MotoIdentity:
    """The emulation's view of moto: pass `callbacks()` to the gateway and the STS front."""

    org_ids: Mapping[str, str] = field(default_factory=dict)
    partition: str = "aws"

    def credentials(self, access_key_id: str) -> SigningCredentials | None:
        """The secret and session token moto issued for an access key (None if unknown or inactive)."""
        found = _find_key(access_key_id, self.partition)
        if found is None or found[1].status != "Active":
            return None
        account_id, key = found
        session = _assumed_role(account_id, access_key_id, self.partition)
        token = session.session_token if session else None
        expires = session.expiration.replace(tzinfo=UTC) if session else None
        return SigningCredentials(access_key_id, key.secret_access_key, token, expires_at=expires)

    def principal(self, access_key_id: str) -> Principal | None:
        """Who an access key belongs to: an assumed-role session or an IAM user."""
        found = _find_key(access_key_id, self.partition)
        if found is None:
            return None
        account_id = found[0]
        session = _assumed_role(account_id, access_key_id, self.partition)
        org_id = self.org_ids.get(account_id)
        if session is not None:
            role = _role(iam_backends[account_id][self.partition], session.role_arn)
            return Principal(
                arn=session.arn,
                account=account_id,
                user_id=session.user_id,
                role_arn=role.arn if role is not None else session.role_arn,
                org_id=org_id,
                access_key=access_key_id,
            )
        user = iam_backends[account_id][self.partition].get_user_from_access_key_id(access_key_id)
        if user is None:
            return None
        return Principal(arn=user.arn, account=account_id, user_id=user.id, org_id=org_id, access_key=access_key_id)

    def identity_policies(self, principal: Principal) -> list[Policy]:
        """The caller's inline and attached managed policies (a session gets its role's)."""
        if principal.is_anonymous or principal.account is None:
            return []
        iam = iam_backends[principal.account][self.partition]
        entity: Any | None
        if principal.is_assumed_role:
            entity = _role(iam, principal.role_arn or "")
        else:
            entity = next((u for u in iam.users.values() if u.arn == principal.arn), None)
        if entity is None:
            return []
        # IAM hands documents back URL-encoded in some calls; moto may store either form.
        return policies_from([*entity.policies.values(), *_managed_documents(entity)])

    def trust_policy(self, role_arn: str) -> Policy | None:
        """A role's trust policy (None if the role does not exist)."""
        parts = role_arn.split(":")
        if len(parts) < 6 or not parts[4]:
            return None
        role = _role(iam_backends[parts[4]][self.partition], role_arn)
        return policies_from([role.assume_role_policy_document])[0] if role is not None else None

    def callbacks(self) -> Callbacks:
        """The three lookups the gateway and the STS front need."""
        return Callbacks(
            credentials=self.credentials, principals=self.principal, identity_policies=self.identity_policies
        )
