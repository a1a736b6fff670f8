"""Per-client facts derived from what was collected: the API it should reach and who it is to each policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from client.names import DEFAULT_SESSION_NAME, ClientKind, role_session_name
from diagnose.errors import not_read_needs
from diagnose.facts import Collected, Consumer, Function, Provider
from iampolicy.authz import Principal, execute_api_arn
from iampolicy.execute_api import ExecuteApiHost, parse_execute_api_host

__all__ = [
    "ClientContext",
    "MissingFactError",
    "Target",
    "build_context",
    "required",
]

T = TypeVar("T")

PROBE_METHOD = "GET"
PROBE_PATH = "/"


class MissingFactError(LookupError):
    """A check ran without a fact its Spec requires: a bug in checks.CHECKS, not in the deployment."""


def required(value: T | None, what: str) -> T:
    """The value a check's Spec guarantees (the runner checked it first)."""
    if value is None:
        raise MissingFactError(what)
    return value


@dataclass(frozen=True)
class Target:
    """The API and stage the client should reach (the provider's own values when known)."""

    region: str
    partition: str
    api_id: str | None
    account: str | None
    stage: str | None

    @property
    def host(self) -> str | None:
        """The API's execute-api host name (China's Regions have their own DNS suffix); None if unknown."""
        if not self.api_id:
            return None
        try:
            return ExecuteApiHost(self.api_id, None, self.region).name
        except ValueError:
            return None  # an id no API Gateway API has: the checks that need the host say it is unknown

    @property
    def resource_arn(self) -> str | None:
        """The execute-api ARN of the representative request (GET / on the stage)."""
        if not (self.api_id and self.account and self.stage):
            return None
        return execute_api_arn(
            region=self.region,
            account=self.account,
            api_id=self.api_id,
            stage=self.stage,
            method=PROBE_METHOD,
            path=PROBE_PATH,
            partition=self.partition,
        )


@dataclass(frozen=True)
class ClientContext:
    """Everything one client's checks need."""

    kind: ClientKind
    collected: Collected
    function: Function | None
    target: Target
    caller: Principal | None  # the function's own execution-role session
    signer: Principal | None  # who signs the API request: the caller, or the assumed provider role

    @property
    def consumer(self) -> Consumer:
        """The consumer side."""
        return self.collected.consumer

    @property
    def provider(self) -> Provider | None:
        """The provider side when its stack could be read, else None (see provider_gap)."""
        found = self.collected.provider
        return found if found is not None and found.account and found.stack else None

    @property
    def provider_gap(self) -> str:
        """What is missing to check the provider side."""
        found = self.collected.provider
        if found is None:
            return "the provider profile: ./diagnose.sh CONSUMER PROVIDER"
        if not found.account:
            return not_read_needs(
                found.errors.get("credentials"), permission="sts:GetCallerIdentity", profile=found.profile
            )
        return f"the provider stack {self.collected.provider_stack} (see provider-stack)"

    def env(self, name: str) -> str:
        """One environment variable of the client function ('' when unset)."""
        return (self.function.environment.get(name, "") if self.function else "").strip()

    @property
    def connect_host(self) -> str:
        """The host the client opens its connection to: API_ENDPOINT's when set, else API_HOST."""
        endpoint = self.env("API_ENDPOINT")
        if endpoint:
            return (urlsplit(endpoint).hostname or "").lower()
        return self.env("API_HOST").lower()

    @property
    def source_context(self) -> dict[str, str | bool] | None:
        """Condition keys the endpoint adds to every request through it (None: the endpoint is unknown)."""
        endpoint = self.consumer.endpoint
        if endpoint is None:
            return None
        return {"aws:SourceVpce": endpoint.id, "aws:SourceVpc": endpoint.vpc_id, "aws:SecureTransport": True}


def _arn_parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 else []


def role_session(
    role_arn: str, session: str, role_id: str | None = None, org_id: str | None = None
) -> Principal | None:
    """The assumed-role session principal `arn:...:sts::account:assumed-role/name/session` of a role."""
    parts = _arn_parts(role_arn)
    if not parts or not parts[5].startswith("role/"):
        return None
    name = parts[5].rsplit("/", 1)[-1]
    return Principal(
        arn=f"arn:{parts[1]}:sts::{parts[4]}:assumed-role/{name}/{session}",
        account=parts[4],
        user_id=f"{role_id}:{session}" if role_id else None,
        role_arn=role_arn,
        org_id=org_id,
    )


def _target(collected: Collected, function: Function | None, partition: str) -> Target:
    provider = collected.provider
    if provider is not None and provider.stack is not None and provider.account:
        outputs = provider.stack.outputs
        return Target(
            region=collected.region,
            partition=partition,
            api_id=outputs.get("APIGatewayID"),
            account=provider.account,
            stage=outputs.get("APIStageName"),
        )
    env = dict(function.environment) if function else {}
    consumer = collected.consumer
    if collected.domain is not None and consumer.stack is not None:
        # Through a domain API_HOST and API_PREFIX name the domain and its base path; the stack still names the API.
        parameters = consumer.stack.parameters
        env.update(API_HOST=parameters.get("pAPIHost", ""), API_PREFIX=parameters.get("pAPIPrefix", ""))
    host = parse_execute_api_host(env.get("API_HOST", ""))
    account = consumer.stack.parameters.get("pAPIAccountID") if consumer.stack else None
    if account == "Local":
        account = consumer.account
    role_parts = _arn_parts(env.get("ROLE_TO_ASSUME", ""))
    if not account and role_parts:
        account = role_parts[4]
    stage = env.get("API_PREFIX", "").strip().strip("/") or None
    return Target(
        region=collected.region,
        partition=partition,
        api_id=host.api_id if host else None,
        account=account or None,
        stage=stage,
    )


def build_context(collected: Collected, kind: ClientKind) -> ClientContext:
    """The context of one client kind."""
    function = collected.consumer.functions.get(kind)
    partition = _arn_parts(function.role_arn)[1] if function and _arn_parts(function.role_arn) else "aws"
    caller = None
    if function is not None:
        role_id = function.role.role_id if function.role else None
        caller = role_session(function.role_arn, function.name, role_id, collected.consumer.org_id)
    signer = caller
    if kind is ClientKind.ASSUME_ROLE:
        role_arn = function.environment.get("ROLE_TO_ASSUME", "").strip() if function else ""
        provider = collected.provider
        known = provider.roles.get(role_arn) if provider is not None else None
        session = role_session_name(function.name) if function else DEFAULT_SESSION_NAME
        org_id = provider.org_id if provider is not None else None
        signer = role_session(role_arn, session, known.role_id if known else None, org_id) if role_arn else None
    return ClientContext(
        kind=kind,
        collected=collected,
        function=function,
        target=_target(collected, function, partition),
        caller=caller,
        signer=signer,
    )
