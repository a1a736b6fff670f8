"""Two AWS accounts (and an untrusted third) on moto, deployed from the real templates, with the private API between.

    env = TwoAccounts(seed=7)                       # physical ids chosen, templates rendered (no servers yet)
    env.start()                                     # moto, roles, table, STS front, gateway, Lambda sandboxes
    env.invoke_client("direct", {"path": "/"})      # the real client handler, as Lambda would run it
    env.redeploy_provider({"pAllowedVPCEndpoints": "None"})   # a stack update: a new stage deployment
    env.stop()                                      # every server and sandbox stopped, nothing listens

Deployment follows the seed README: the provider stack first (its outputs give the consumer pAPIHost and
pAPIRoleARN), then the consumer stacks (their outputs give the provider pAPIAccessList and pAllowedVPCEndpoints), then
the provider again. Consumer stacks ("sites"): `main` in the consumer account (the allowed one), `other` in the same
account but another VPC (a second endpoint and a role the provider does not list), `outsider` in an account nobody
trusts.

`TwoAccounts` is a facade: ids and names come from `plan`, `start()` builds one `running.Running` (moto, stacks, STS
front, sandboxes, gateway) and `stop()` drops it; functions, network, https and redeploy do the work on it.
"""

from __future__ import annotations

import os
import random
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

from cfnrender.stacks import Stack
from client.names import ClientKind
from emulation.accounts import domain, functions, mtls, network, redeploy
from emulation.accounts.functions import BACKEND, ClientKey
from emulation.accounts.https import HttpReply
from emulation.accounts.plan import (
    BACKEND_TEMPLATE,
    CLIENT_TEMPLATE,
    CONSUMER,
    MAIN,
    OTHER,
    OUTSIDER,
    OUTSIDER_ACCOUNT,
    PROVIDER,
    Names,
    Plan,
    Site,
    default_provider_params,
)
from emulation.accounts.running import Options, Running, start
from emulation.alb.listener import MtlsListener
from emulation.alb.pki import TestPki
from emulation.gateway.access_log import AccessLog
from emulation.gateway.server import PRIVATELINK_IDLE_TIMEOUT, Gateway
from emulation.gateway.sigv4 import SigningCredentials
from emulation.gateway.tls import TlsMaterial
from emulation.lambdas.sandbox import FunctionPool, FunctionSpec, InvokeResult
from emulation.sts.front import StsFront

__all__ = [
    "BACKEND_TEMPLATE",
    "CLIENT_TEMPLATE",
    "CONSUMER",
    "MAIN",
    "OTHER",
    "OUTSIDER",
    "OUTSIDER_ACCOUNT",
    "PROVIDER",
    "HttpReply",
    "Names",
    "Site",
    "TwoAccounts",
]

_NOT_RUNNING = "the emulation is not running"


class TwoAccounts:
    """The whole two-account deployment on 127.0.0.1: start it, invoke the real clients, redeploy, stop it."""

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        seed: int | None = None,
        org_ids: Mapping[str, str] | None = None,
        max_concurrency: int = 10,
        endpoint_idle_timeout: float = PRIVATELINK_IDLE_TIMEOUT,
    ) -> None:
        if os.environ.get("MOTO_ACCOUNT_ID"):
            raise RuntimeError("unset MOTO_ACCOUNT_ID: it forces every moto request into one account")
        rng = random.Random(seed)  # noqa: S311 - resource names, not secrets  # nosec B311
        self.region = region
        self._plan = Plan(region, rng)
        self.sites = self._plan.sites
        self.names = self._plan.names()
        # PrivateLink's idle timeout is 350 s; tests scale it down.
        self._options = Options(dict(org_ids or {}), max_concurrency, endpoint_idle_timeout)
        self._running: Running | None = None

    # ------------------------------------------------------------------------------------------ lifecycle
    def start(
        self,
        provider_params: Mapping[str, str] | None = None,
        consumer_params: Mapping[str, str] | None = None,
        *,
        warm: bool = True,
        mtls: bool = False,
        domain: bool = False,
    ) -> TwoAccounts:
        """Deploy everything; params override the defaults (consumer network parameters apply to `main` only).

        `mtls`: also the certificate path, as deploy-all.sh --mtls deploys it (emulation/accounts/mtls.py): the
        provider VPC-attached with pEnableMtls=Yes and a CRL, `main` with the certificate client, the test PKI's
        certificates in the consumer account's Secrets Manager, the load balancer listening.
        `domain`: also the private custom domain name, as deploy-all.sh --domain deploys it
        (emulation/accounts/domain.py): the provider with pEnablePrivateDomain=Yes (base path v1, shared with the
        consumer account), every consumer stack associating its endpoint, its hosted zone resolving the name, and
        the IAM clients calling the domain; the gateway's domains and associations read from the rendered stacks.
        """
        if self._running is not None:
            raise RuntimeError("already started: stop() first")
        parameters = {**default_provider_params(self.names), **(provider_params or {})}
        options = replace(self._options, mtls=mtls, domain=domain)
        self._running = start(self._plan, parameters, consumer_params or {}, options)
        if warm:
            try:
                main = self._running.consumers[MAIN]
                kinds = [kind for kind in ClientKind if main.function_by_handler(kind.handler)]
                clients = [self._client_pool(kind, MAIN, None, None) for kind in kinds]
                functions.warm([self._running.functions.backend, *clients])
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        """Stop gateway, STS front, sandboxes and moto; close every socket; remove the temporary files."""
        running, self._running = self._running, None
        if running is not None:
            running.stop()

    def __enter__(self) -> TwoAccounts:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _state(self) -> Running:
        if self._running is None:
            raise RuntimeError(_NOT_RUNNING)
        return self._running

    @property
    def listening_ports(self) -> dict[str, int]:
        """Every 127.0.0.1 port the emulation listens on, by what listens there (none when stopped)."""
        return self._running.listening_ports() if self._running is not None else {}

    # ------------------------------------------------------------------------------------------ while running
    @property
    def provider(self) -> Stack:
        """The provider stack as last deployed."""
        return self._state().provider

    def consumer(self, site: str = MAIN) -> Stack:
        """A site's consumer stack as last deployed."""
        return self._state().consumers[site]

    @property
    def gateway(self) -> Gateway:
        """The execute-api gateway: one listener per VPC endpoint."""
        return self._state().gateway

    @property
    def sts(self) -> StsFront:
        """The STS front in front of moto (verifies signatures, enforces trust policies)."""
        return self._state().sts

    @property
    def tls(self) -> TlsMaterial:
        """The CA and server certificate the endpoints present."""
        return self._state().tls

    @property
    def access_log(self) -> AccessLog:
        """The API stage's access log."""
        return self._state().access_log

    @property
    def mtls_listener(self) -> MtlsListener:
        """The certificate path's load balancer listener (start(mtls=True) only)."""
        alb = self._state().alb
        if alb is None:
            raise RuntimeError("the certificate path is not deployed: start(mtls=True)")
        return alb

    @property
    def pki(self) -> TestPki:
        """The test PKI behind the certificate path (start(mtls=True) only)."""
        material = self._state().mtls
        if material is None:
            raise RuntimeError("the certificate path is not deployed: start(mtls=True)")
        return material.pki

    def certificate_secret(self, name: str = mtls.CLIENT_SECRET) -> str:
        """ARN of the consumer-account secret holding one test certificate (mtls.CERTIFICATES names them)."""
        material = self._state().mtls
        if material is None:
            raise RuntimeError("the certificate path is not deployed: start(mtls=True)")
        return material.secrets[name]

    @property
    def domain_refusals(self) -> dict[str, str]:
        """Consumer sites whose access association API Gateway refused to create, with why (start(domain=True))."""
        return dict(self._state().domain_refusals)

    @property
    def moto_url(self) -> str:
        """http://127.0.0.1:port of moto (IAM, STS, DynamoDB of every account)."""
        return self._state().moto.url

    # ------------------------------------------------------------------------------------------ moto
    def client(self, service: str, account: str) -> Any:
        """A boto3 client for moto acting as an administrator of `account` (setup and inspection)."""
        return self._state().moto.client(service, account)

    def role_credentials(self, role_arn: str, session_name: str) -> SigningCredentials:
        """Temporary credentials of a role straight from moto (no trust check: what Lambda gets for its role)."""
        return self._state().moto.role_credentials(role_arn, session_name)

    def lambda_credentials(self, site: str = MAIN, kind: str = ClientKind.DIRECT) -> SigningCredentials:
        """Fresh credentials of a site's client function role (what that function signs with)."""
        return self.role_credentials(self.names.client_role(site, kind), self.names.client_function(site, kind))

    # ------------------------------------------------------------------------------------------ Lambda
    def client_spec(
        self,
        kind: str,
        site: str = MAIN,
        via: str | None = None,
        env: Mapping[str, str] | None = None,
        *,
        handler: str | None = None,
        code_dir: Path | None = None,
    ) -> FunctionSpec:
        """How a site's client function (a ClientKind, or "direct" / "assume_role") runs: its environment (role keys,
        CA bundle, STS front, `via`: another site's endpoint DNS name, `env` overrides) and its VPC's DNS view.
        ``handler`` and ``code_dir`` replace the deployed code (the bench runs other clients as if deployed in this
        function's place).
        """
        running, kind = self._state(), ClientKind.of(kind)
        function = running.consumers[site].function_by_handler(kind.handler)
        if function is None:
            raise LookupError(f"site {site} has no {kind} client (its stack was deployed with pAPIRoleARN=None?)")
        vpc = self.sites[site].vpc_id if function.in_vpc else None

        def extra() -> dict[str, str]:
            now = self._state()
            values = {"API_CA_BUNDLE": str(now.tls.ca_bundle), "AWS_ENDPOINT_URL_STS": now.sts.url}
            if kind is ClientKind.CERTIFICATE:
                # Secrets Manager is moto (plain http on loopback, which the client allows only there).
                values["AWS_ENDPOINT_URL_SECRETS_MANAGER"] = now.moto.url
            if via is not None:
                # As if the function were configured with another endpoint's DNS name (e.g. a peered VPC's).
                values["API_ENDPOINT"] = f"https://{network.site_endpoint(now.consumers, via).dns_names[0]}"
            return {**values, **(env or {})}

        deployed = replace(function, handler=handler or function.handler, code_dir=code_dir or function.code_dir)
        return running.functions.spec(deployed, extra, lambda: self.dns_view(vpc))

    def _client_pool(self, kind: str, site: str, via: str | None, env: Mapping[str, str] | None) -> FunctionPool:
        key: ClientKey = (ClientKind.of(kind), site, via, tuple(sorted((env or {}).items())))
        return self._state().functions.client(key, lambda: self.client_spec(kind, site, via, env))

    def invoke_client(
        self,
        kind: str,
        event: Mapping[str, Any] | None = None,
        *,
        site: str = MAIN,
        via: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> InvokeResult:
        """Invoke a site's real client handler (a ClientKind, or "direct" / "assume_role"); `via`: through another
        site's endpoint.

        Each (kind, site, via, env) combination is its own function configuration with its own warm sandboxes.
        An unknown kind raises ValueError.
        """
        return self._client_pool(kind, site, via, env).invoke(dict(event or {}))

    def function_logs(self, kind: str = BACKEND, site: str = MAIN) -> list[str]:
        """Log lines of the backend (default) or of a site's client function so far."""
        if self._running is None:
            return []
        return self._running.functions.logs(_function_kind(kind), site)

    def recycle_functions(self, kind: str | None = None, site: str = MAIN) -> None:
        """Next invocation is a cold start (new sandboxes): of every function, the backend, or one site's client."""
        if self._running is not None:
            self._running.functions.recycle(None if kind is None else _function_kind(kind), site)

    def warm_clients(self, clients: Iterable[tuple[str, str, str | None]], count: int = 1) -> None:
        """Start `count` sandboxes per (kind, site, via) client configuration, in parallel, before its first call."""
        self.warm_client_configs([(kind, site, via, None) for kind, site, via in clients], count)

    def warm_client_configs(
        self, configs: Iterable[tuple[str, str, str | None, Mapping[str, str] | None]], count: int = 1
    ) -> None:
        """Like warm_clients, each configuration with its `env` overrides (as invoke_client's `env`)."""
        functions.warm([self._client_pool(kind, site, via, env) for kind, site, via, env in configs], count)

    @contextmanager
    def backend_dynamodb_through(self, url: str) -> Iterator[None]:
        """Backend sandboxes started inside the block reach DynamoDB at `url` (e.g. a fault proxy in front of moto).

        The backend is recycled on entry and on exit, so only sandboxes of the block use `url`.
        """
        pools = self._state().functions
        original, pools.backend_dynamodb = pools.backend_dynamodb, url
        pools.recycle(BACKEND, MAIN)
        try:
            yield
        finally:
            pools.backend_dynamodb = original
            pools.recycle(BACKEND, MAIN)

    # ------------------------------------------------------------------------------------------ network
    def endpoint_id(self, site: str = MAIN) -> str:
        """A site's execute-api VPC endpoint id."""
        return network.site_endpoint(self._state().consumers, site).vpce_id

    def endpoint_url(self, site: str = MAIN) -> str:
        """The https://127.0.0.1:port listener of a site's execute-api endpoint."""
        return self._state().gateway.url(self.endpoint_id(site))

    def dns_view(self, vpc_id: str | None) -> dict[str, int]:
        """Host names a function in `vpc_id` can resolve, each to the listener port it reaches (none when stopped)."""
        running = self._running
        if running is None:
            return {}
        view = network.dns_view(
            running.gateway, running.consumers, api_id=self.names.api_id, region=self.region, vpc_id=vpc_id
        )
        if running.alb is not None:
            view.update(mtls.service_names(running.provider, running.consumers, running.alb.port, vpc_id))
        ports = network.listener_ports(running.gateway, running.consumers)
        view.update(domain.domain_names(running.consumers, ports, vpc_id))
        return view

    # ------------------------------------------------------------------------------------------ stack updates
    def redeploy_provider(self, changes: Mapping[str, str], *, replace_all: bool = False) -> bool:
        """Update the provider stack with changed parameters; True when the stage got a new deployment.

        `changes` are merged over the current parameters (like --parameter-overrides with a samconfig), or used alone
        with `replace_all`. Roles and policies change at once (IAM). The resource policy and routes change only with a
        new stage deployment: SAM creates one when the definition's hash changes or, with AlwaysDeploy, on every update.
        """
        running = self._state()
        parameters = dict(changes) if replace_all else {**running.provider.parameters, **changes}
        return redeploy.redeploy_provider(running, self._plan, parameters)

    def redeploy_consumers(self, changes: Mapping[str, str]) -> None:
        """Update every consumer stack with changed parameters (roles, endpoint policies, private DNS, clients)."""
        redeploy.redeploy_consumers(self._state(), self._plan, changes)

    # ------------------------------------------------------------------------------------------ raw requests
    def request(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        credentials: SigningCredentials | None = None,
        site: str = MAIN,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        host: str | None = None,
    ) -> HttpReply:
        """One HTTPS request through a site's endpoint, signed by botocore's SigV4Auth itself when given credentials.

        `path` is relative to the stage (e.g. /items); the Host header is the API's own name unless `host` is given.
        """
        running = self._state()
        target = f"/{running.provider.api().stage}{path}"
        return running.http.send(
            method,
            self.endpoint_url(site),
            target,
            host=host or self.names.api_host,
            body=body,
            headers=headers or {},
            credentials=credentials,
            region=self.region,
        )


def _function_kind(kind: str) -> str:
    """BACKEND, or the ClientKind `kind` names in either spelling ("assume-role" or "assume_role")."""
    return kind if kind == BACKEND else ClientKind.of(kind)
