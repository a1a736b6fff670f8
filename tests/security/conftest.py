"""Fixtures for the security tests: one offline two-account deployment, callers of every kind, parameter sets."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import pytest

from emulation.accounts.two_accounts import (
    CONSUMER,
    MAIN,
    OTHER,
    OUTSIDER,
    OUTSIDER_ACCOUNT,
    PROVIDER,
    Names,
    TwoAccounts,
)
from emulation.gateway.sigv4 import SigningCredentials
from tests.e2e.helpers import session_arn_prefix

SEED = 6_060_606  # its own resource names, so it can run next to the e2e deployment in one process
ORG_ID = "o-consumer0001"  # the consumer account's organization
OTHER_ORG_ID = "o-outsider001"  # the outsider account belongs to another organization
PROVIDER_ROLE_WITH_ALLOW = "provider-ops-with-invoke"
PROVIDER_ROLE_WITHOUT_ALLOW = "provider-ops-without-invoke"
_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}

# Provider parameters that decide who gets in, with the template's defaults; every parameter set sets all of them.
ACCESS_DEFAULTS = {
    "pAPIAccessList": "None",
    "pAllowedPrincipalPatterns": "None",
    "pAllowedOrgID": "None",
    "pAllowedVPCEndpoints": "None",
    "pTrustedPrincipals": "Nobody",
}


@dataclass(frozen=True)
class Caller:
    """One principal of the matrix: the role it signs as, and how it gets credentials."""

    key: str
    role_arn: str
    credentials: Callable[[], SigningCredentials]

    @property
    def session_prefix(self) -> str:
        """arn:aws:sts::<account>:assumed-role/<role name>/ (what API Gateway names a session of the role)."""
        return session_arn_prefix(self.role_arn)


def parameter_sets(names: Names) -> dict[str, dict[str, str]]:
    """The provider's access parameters per named set (defaults, single values, lists, patterns, org)."""
    main_direct = names.client_role(MAIN, "direct")
    # Matches every role of the main consumer stack (its names start with the stack name), not the other site's.
    main_stack_roles = f"arn:aws:iam::{CONSUMER}:role/private-api-client-rPython*"
    return {
        "defaults": dict(ACCESS_DEFAULTS),
        "single": {**ACCESS_DEFAULTS, "pAPIAccessList": main_direct, "pAllowedVPCEndpoints": names.endpoints[MAIN]},
        "lists": {
            **ACCESS_DEFAULTS,
            "pAPIAccessList": f"{CONSUMER},{names.client_role(OUTSIDER, 'direct')}",
            "pAllowedVPCEndpoints": f"{names.endpoints[MAIN]},{names.endpoints[OUTSIDER]}",
        },
        "pattern": {
            **ACCESS_DEFAULTS,
            "pAllowedPrincipalPatterns": main_stack_roles,
            "pAllowedVPCEndpoints": f"{names.endpoints[MAIN]},{names.endpoints[OTHER]}",
        },
        "org": {**ACCESS_DEFAULTS, "pAllowedOrgID": ORG_ID},
    }


class Deployment:
    """Redeploys the provider with a named parameter set only when it is not the live one."""

    def __init__(self, env: TwoAccounts) -> None:
        self.env = env
        self.sets = parameter_sets(env.names)
        self.current: Mapping[str, str] | None = None

    def use(self, name: str, **overrides: str) -> None:
        """Make `name` (plus overrides) the deployed access configuration."""
        wanted = {**self.sets[name], **overrides}
        if wanted != self.current:
            self.env.redeploy_provider(wanted)
            self.current = wanted


def _provider_role(env: TwoAccounts, name: str, policy: Mapping[str, object] | None) -> str:
    iam = env.client("iam", PROVIDER)
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(_LAMBDA_TRUST))["Role"]["Arn"])
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="ops", PolicyDocument=json.dumps(policy))
    return arn


@pytest.fixture(scope="session")
def env() -> Iterator[TwoAccounts]:
    """Provider, consumer (two VPCs) and outsider accounts from the real templates; consumer and outsider in orgs."""
    accounts = TwoAccounts(seed=SEED, org_ids={CONSUMER: ORG_ID, OUTSIDER_ACCOUNT: OTHER_ORG_ID})
    accounts.start(ACCESS_DEFAULTS, warm=False)
    api_arn = f"arn:aws:execute-api:{accounts.region}:{PROVIDER}:{accounts.names.api_id}/*"
    # Two more provider-account roles: one whose identity policy allows invoking the API (and assuming the
    # access role), one with no policy at all.
    _provider_role(
        accounts,
        PROVIDER_ROLE_WITH_ALLOW,
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": api_arn},
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": accounts.names.access_role_arn},
            ],
        },
    )
    _provider_role(accounts, PROVIDER_ROLE_WITHOUT_ALLOW, None)
    yield accounts
    accounts.stop()


@pytest.fixture(scope="session")
def deployment(env: TwoAccounts) -> Deployment:
    """The provider's live access configuration, switched between named parameter sets."""
    return Deployment(env)


@pytest.fixture(scope="session")
def callers(env: TwoAccounts) -> dict[str, Caller]:
    """Every kind of principal the matrix needs, by key."""
    names = env.names

    def role(arn: str, session: str) -> Caller:
        return Caller(session, arn, lambda: env.role_credentials(arn, session))

    provider_role = f"arn:aws:iam::{PROVIDER}:role/"
    return {
        "main-direct": role(names.client_role(MAIN, "direct"), "main-direct"),
        "other-direct": role(names.client_role(OTHER, "direct"), "other-direct"),
        # A consumer role whose identity policy allows sts:AssumeRole only, not execute-api:Invoke.
        "main-assume-client": role(names.client_role(MAIN, "assume_role"), "main-assume-client"),
        "other-assume-client": role(names.client_role(OTHER, "assume_role"), "other-assume-client"),
        "outsider-direct": role(names.client_role(OUTSIDER, "direct"), "outsider-direct"),
        "outsider-assume-client": role(names.client_role(OUTSIDER, "assume_role"), "outsider-assume-client"),
        "access-role": role(names.access_role_arn, "access-role"),
        "provider-with-allow": role(provider_role + PROVIDER_ROLE_WITH_ALLOW, "provider-with-allow"),
        "provider-without-allow": role(provider_role + PROVIDER_ROLE_WITHOUT_ALLOW, "provider-without-allow"),
    }


SITES = {"main": MAIN, "other": OTHER, "outsider": OUTSIDER}
