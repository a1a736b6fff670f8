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
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from moto.server import ThreadedMotoServer

from cfnrender.stacks import EndpointView, FunctionView, Stack, StackIds, create_table_request, generate_ids
from emulation.accounts import moto_atomic, moto_isolation
from emulation.accounts.moto_identity import MotoIdentity
from emulation.gateway.access_log import AccessLog
from emulation.gateway.pipeline import ApiDeployment, Endpoint
from emulation.gateway.server import PRIVATELINK_IDLE_TIMEOUT, Gateway
from emulation.gateway.sigv4 import SigningCredentials
from emulation.gateway.tls import TlsMaterial, api_hostnames, make_tls
from emulation.lambdas.sandbox import FunctionPool, FunctionSpec, InvokeResult
from emulation.sts.front import StsFront

__all__ = [
    "CLIENT_HANDLERS",
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

PROVIDER = "111111111111"
CONSUMER = "222222222222"
OUTSIDER_ACCOUNT = "333333333333"
MAIN, OTHER, OUTSIDER = "main", "other", "outsider"
REPO = Path(__file__).resolve().parents[2]
BACKEND_TEMPLATE = REPO / "api-backend" / "api-backend.yaml"
CLIENT_TEMPLATE = REPO / "api-client" / "api-client.yaml"
PROVIDER_STACK = "private-api-backend"
CLIENT_STACK = "private-api-client"
CLIENT_HANDLERS = {"direct": "client.direct_auth.handler", "assume_role": "client.assume_role.handler"}
# Parameters that describe where a consumer stack lives; every other consumer parameter is shared by all sites.
NETWORK_PARAMETERS = ("pVPCID", "pLambdaSubnetIDs", "pEndpointSubnetIDs", "pDNSServerCIDR")
_HEX = "0123456789abcdef"
_AWS_MANAGED_POLICY = ":iam::aws:policy/"


@dataclass(frozen=True)
class Site:
    """Where one consumer stack is deployed: account, stack name and network."""

    key: str
    account: str
    stack_name: str
    vpc_id: str
    lambda_subnets: tuple[str, ...]
    endpoint_subnets: tuple[str, ...]
    dns_server: str

    def network_parameters(self) -> dict[str, str]:
        """The consumer template's network parameters for this site."""
        return {
            "pVPCID": self.vpc_id,
            "pLambdaSubnetIDs": ",".join(self.lambda_subnets),
            "pEndpointSubnetIDs": ",".join(self.endpoint_subnets),
            "pDNSServerCIDR": self.dns_server,
        }


@dataclass(frozen=True)
class Names:
    """Ids and ARNs of the deployed resources, taken from the stacks' outputs (known before start)."""

    region: str
    provider: str
    consumer: str
    outsider: str
    api_id: str
    api_host: str
    stage: str
    access_role_arn: str
    table_name: str
    backend_function: str
    backend_role_arn: str
    endpoints: Mapping[str, str]
    vpcs: Mapping[str, str]
    client_roles: Mapping[tuple[str, str], str]
    client_functions: Mapping[tuple[str, str], str]

    def client_role(self, site: str, kind: str) -> str:
        """The execution role ARN of a site's client function ("direct" or "assume_role")."""
        return self.client_roles[(site, kind)]


@dataclass(frozen=True)
class HttpReply:
    """An HTTP answer as tests and the demo read it."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", "replace")


def _random_id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choices(_HEX, k=16))


def _sites(rng: random.Random) -> dict[str, Site]:
    placements: tuple[tuple[str, str, str, int], ...] = (
        (MAIN, CONSUMER, CLIENT_STACK, 1),
        (OTHER, CONSUMER, f"{CLIENT_STACK}-b", 2),
    )
    placements += ((OUTSIDER, OUTSIDER_ACCOUNT, CLIENT_STACK, 3),)
    sites = {}
    for key, account, stack_name, octet in placements:
        sites[key] = Site(
            key=key,
            account=account,
            stack_name=stack_name,
            vpc_id=_random_id(rng, "vpc-0"),
            lambda_subnets=(_random_id(rng, "subnet-0"), _random_id(rng, "subnet-0")),
            endpoint_subnets=(_random_id(rng, "subnet-0"),),
            dns_server=f"10.{octet}.0.2/32",  # the VPC resolver: base address + 2
        )
    return sites


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
        self.sites = _sites(rng)
        self._org_ids = dict(org_ids or {})
        self._max_concurrency = max_concurrency
        self._endpoint_idle_timeout = endpoint_idle_timeout  # PrivateLink's 350 s; tests scale it down
        self._provider_ids = generate_ids(
            BACKEND_TEMPLATE, stack=PROVIDER_STACK, account=PROVIDER, region=region, rng=rng
        )
        self._site_ids: dict[str, StackIds] = {
            key: generate_ids(CLIENT_TEMPLATE, stack=site.stack_name, account=site.account, region=region, rng=rng)
            for key, site in self.sites.items()
        }
        self.names = self._bootstrap_names()
        self._lock = threading.Lock()
        self._boto = boto3.session.Session()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._reset_runtime()

    # ------------------------------------------------------------------------------------------ parameters
    def _bootstrap_names(self) -> Names:
        # Rendered once with defaults, as a first deployment would be, to read the stacks' outputs.
        provider = self._render_provider({})
        outputs = provider.outputs
        sites = {key: self._render_site(key, self._consumer_defaults(provider), {}) for key in self.sites}
        client_roles, client_functions = {}, {}
        for key, stack in sites.items():
            for kind, handler in CLIENT_HANDLERS.items():
                function = stack.function_by_handler(handler)
                if function is not None:
                    client_roles[(key, kind)] = function.role_arn
                    client_functions[(key, kind)] = function.name
        backend = _backend_function(provider)
        return Names(
            region=self.region,
            provider=PROVIDER,
            consumer=CONSUMER,
            outsider=OUTSIDER_ACCOUNT,
            api_id=outputs["APIGatewayID"],
            api_host=outputs["APIGatewayFQDN"],
            stage=outputs["APIStageName"],
            access_role_arn=outputs["APIAccessRole"],
            table_name=outputs["TableName"],
            backend_function=backend.name,
            backend_role_arn=backend.role_arn,
            endpoints={key: stack.outputs["APIGatewayEndpointID"] for key, stack in sites.items()},
            vpcs={key: site.vpc_id for key, site in self.sites.items()},
            client_roles=client_roles,
            client_functions=client_functions,
        )

    def default_provider_params(self) -> dict[str, str]:
        """The seed README's provider update: the main direct role listed, the consumer trusted, main endpoint only."""
        return {
            "pAPIAccessList": self.names.client_role(MAIN, "direct"),
            "pTrustedPrincipals": CONSUMER,
            "pAllowedVPCEndpoints": self.names.endpoints[MAIN],
        }

    def _consumer_defaults(self, provider: Stack) -> dict[str, str]:
        outputs = provider.outputs
        return {
            "pAPIHost": outputs["APIGatewayFQDN"],
            "pAPIAccountID": PROVIDER,
            "pAPIRoleARN": outputs["APIAccessRole"],
            "pAPIPrefix": f"/{outputs['APIStageName']}",
        }

    def _render_provider(self, params: Mapping[str, str]) -> Stack:
        return Stack.deploy(
            BACKEND_TEMPLATE,
            name=PROVIDER_STACK,
            account=PROVIDER,
            region=self.region,
            ids=self._provider_ids,
            parameters=params,
        )

    def _render_site(self, key: str, defaults: Mapping[str, str], params: Mapping[str, str]) -> Stack:
        site = self.sites[key]
        shared = {k: v for k, v in params.items() if k not in NETWORK_PARAMETERS or key == MAIN}
        return Stack.deploy(
            CLIENT_TEMPLATE,
            name=site.stack_name,
            account=site.account,
            region=self.region,
            ids=self._site_ids[key],
            parameters={**defaults, **site.network_parameters(), **shared},
        )

    # ------------------------------------------------------------------------------------------ lifecycle
    def _reset_runtime(self) -> None:
        self.provider: Stack | None = None
        self.consumers: dict[str, Stack] = {}
        self._moto: ThreadedMotoServer | None = None
        self.moto_url = ""
        self.identity = MotoIdentity(org_ids=self._org_ids)
        self.sts: StsFront | None = None
        self.gateway: Gateway | None = None
        self.tls: TlsMaterial | None = None
        self.access_log: AccessLog | None = None
        self._workdir: Path | None = None
        self._backend_pool: FunctionPool | None = None
        self._client_pools: dict[tuple[Any, ...], FunctionPool] = {}
        self._http: urllib3.PoolManager | None = None

    def start(
        self,
        provider_params: Mapping[str, str] | None = None,
        consumer_params: Mapping[str, str] | None = None,
        *,
        warm: bool = True,
    ) -> TwoAccounts:
        """Deploy everything; params override the defaults (consumer network parameters apply to `main` only)."""
        if self._moto is not None:
            raise RuntimeError("already started: stop() first")
        try:
            self._workdir = Path(tempfile.mkdtemp(prefix="private-api-emulation-"))
            self._start_moto()
            self.provider = self._render_provider({**self.default_provider_params(), **(provider_params or {})})
            consumer_defaults = self._consumer_defaults(self.provider)
            self.consumers = {
                key: self._render_site(key, consumer_defaults, consumer_params or {}) for key in self.sites
            }
            for stack in (self.provider, *self.consumers.values()):
                self._create_roles(stack)
            self._create_table(self.provider)
            self.tls = make_tls(api_hostnames(self.region), self._workdir)
            self._http = urllib3.PoolManager(ca_certs=str(self.tls.ca_bundle), cert_reqs="CERT_REQUIRED", retries=False)
            self.sts = StsFront(
                upstream=self.moto_url,
                callbacks=self.identity.callbacks(),
                trust_policy=self.identity.trust_policy,
                region=self.region,
            ).start()
            self._backend_pool = self._new_backend_pool(self.provider)
            # Sandboxes start (a second or so of imports) while the gateway comes up.
            warming = self._start_warming() if warm else []
            log_format = self.provider.api().access_log_format
            log_path = self._workdir / "access.log"
            # A stage without a format of its own gets AWS's documented CLF example (access_log.DEFAULT_FORMAT).
            self.access_log = AccessLog(log_format, log_path) if log_format else AccessLog(path=log_path)
            self.gateway = Gateway(
                endpoints=[Endpoint(e.vpce_id, e.vpc_id, e.policy) for e in self._all_endpoints()],
                apis=[self._api_deployment(self.provider)],
                callbacks=self.identity.callbacks(),
                tls=self.tls,
                idle_timeout=self._endpoint_idle_timeout,
            ).start()
            for thread in warming:
                thread.join()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop gateway, STS front, sandboxes and moto; close every socket; remove the temporary files."""
        # No new requests first, then the functions behind them, then the AWS services they call.
        if self.gateway is not None:
            self.gateway.stop()
        if self.sts is not None:
            self.sts.stop()
        with self._lock:
            pools = [*self._client_pools.values()]
            self._client_pools.clear()
        if self._backend_pool is not None:
            pools.append(self._backend_pool)
        # Sandboxes exit in parallel: each takes a moment to tear its interpreter down.
        stopping = [threading.Thread(target=pool.stop, daemon=True) for pool in pools]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
        if self._http is not None:
            self._http.clear()
        moto_isolation.release(self)
        if self._moto is not None:
            self._moto.stop()
            # ThreadedMotoServer.stop() leaves its listening socket open.
            server = getattr(self._moto, "_server", None)
            if server is not None:
                server.server_close()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        with self._lock:
            self._clients.clear()
        self._reset_runtime()

    def __enter__(self) -> TwoAccounts:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def listening_ports(self) -> dict[str, int]:
        """Every 127.0.0.1 port the emulation listens on, by what listens there."""
        ports: dict[str, int] = {}
        if self._moto is not None:
            ports["moto"] = self._moto.get_host_and_port()[1]
        if self.sts is not None:
            ports["sts"] = int(self.sts.url.rsplit(":", 1)[1])
        if self.gateway is not None:
            for endpoint in self._all_endpoints():
                ports[endpoint.vpce_id] = self.gateway.stats(endpoint.vpce_id).port
        return ports

    # ------------------------------------------------------------------------------------------ moto setup
    def _start_moto(self) -> None:
        # moto's server logs every request through werkzeug at INFO; the access log is the record here.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_atomic.install()  # conditional writes atomic, as DynamoDB's are
        moto_isolation.hold(self)  # an in-process mock_aws can no longer wipe this deployment
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        # werkzeug writes headers and body separately: without TCP_NODELAY every moto answer waits ~40 ms for a
        # delayed ACK. Accepted sockets inherit the option from the listener on Linux.
        listener = getattr(getattr(self._moto, "_server", None), "socket", None)
        if listener is not None:
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        host, port = self._moto.get_host_and_port()
        self.moto_url = f"http://{host}:{port}"

    def client(self, service: str, account: str) -> Any:
        """A boto3 client for moto acting as an administrator of `account` (setup and inspection)."""
        key = (service, account, self.moto_url)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        # boto3-stubs type client() for literal service names only; this helper serves any service.
        client = self._boto.client(  # type: ignore[call-overload]
            service,
            region_name=self.region,
            endpoint_url=self.moto_url,
            aws_access_key_id="AKIAEMULATIONSETUP00",
            aws_secret_access_key="emulation-setup",  # noqa: S106 - moto does not check it  # nosec B106
            config=Config(retries={"max_attempts": 1}),
        )

        def in_account(request: AWSRequest, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign", in_account)
        with self._lock:
            return self._clients.setdefault(key, client)

    def _create_roles(self, stack: Stack, only: set[str] | None = None) -> None:
        """Create the stack's roles (or only those with the given logical ids) with all their policies."""
        iam = self.client("iam", stack.account)
        for role in stack.roles():
            if only is not None and role.logical_id not in only:
                continue
            iam.create_role(
                RoleName=role.name,
                Path=role.path,
                AssumeRolePolicyDocument=json.dumps(role.trust_policy),
                Description=role.description,
            )
            self._sync_role_policies(iam, role.name, role.inline_policies, {})
            for arn in role.managed_policy_arns:
                # moto does not load AWS managed policies by default; none of them grants execute-api or sts.
                if _AWS_MANAGED_POLICY not in arn:
                    iam.attach_role_policy(RoleName=role.name, PolicyArn=arn)

    @staticmethod
    def _sync_role_policies(
        iam: Any, role: str, wanted: Mapping[str, Mapping[str, Any]], current: Mapping[str, Mapping[str, Any]]
    ) -> None:
        for name, document in wanted.items():
            if current.get(name) != document:
                iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
        for name in set(current) - set(wanted):
            iam.delete_role_policy(RoleName=role, PolicyName=name)

    def _update_roles(self, old: Stack, new: Stack) -> None:
        iam = self.client("iam", new.account)
        before = {r.logical_id: r for r in old.roles()}
        after = {r.logical_id: r for r in new.roles()}
        for logical_id, role in after.items():
            previous = before.get(logical_id)
            if previous is None:
                self._create_roles(new, {logical_id})
                continue
            if previous.trust_policy != role.trust_policy:
                iam.update_assume_role_policy(RoleName=role.name, PolicyDocument=json.dumps(role.trust_policy))
            self._sync_role_policies(iam, role.name, role.inline_policies, previous.inline_policies)
        for logical_id in set(before) - set(after):
            role = before[logical_id]
            self._sync_role_policies(iam, role.name, {}, role.inline_policies)
            iam.delete_role(RoleName=role.name)

    def _create_table(self, stack: Stack) -> None:
        dynamodb = self.client("dynamodb", stack.account)
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

    def role_credentials(self, role_arn: str, session_name: str) -> SigningCredentials:
        """Temporary credentials of a role straight from moto (no trust check: what Lambda gets for its role)."""
        account = role_arn.split(":")[4]
        answer = self.client("sts", account).assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])
        creds = answer["Credentials"]
        return SigningCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])

    # ------------------------------------------------------------------------------------------ Lambda
    def _lambda_environment(self, function: FunctionView, extra: Mapping[str, str]) -> dict[str, str]:
        """What Lambda puts in a sandbox's environment, plus the emulation's stand-ins for AWS endpoints."""
        creds = self.role_credentials(function.role_arn, function.name)
        reserved = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "_HANDLER": function.handler,
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
            "AWS_ACCESS_KEY_ID": creds.access_key,
            "AWS_SECRET_ACCESS_KEY": creds.secret_key,
            "AWS_SESSION_TOKEN": creds.token or "",
        }
        offline = {
            # Never read the developer's AWS files or the instance metadata service; no X-Ray daemon offline.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
        return {**function.environment, **reserved, **offline, **extra}

    def function_spec(
        self, function: FunctionView, extra: Callable[[], Mapping[str, str]], dns: Callable[[], Mapping[str, int]]
    ) -> FunctionSpec:
        """How to run one rendered function in a sandbox: its code, limits, Lambda-like environment and DNS view."""
        return FunctionSpec(
            name=function.name,
            arn=function.arn,
            handler=function.handler,
            code_dir=function.code_dir,
            timeout=function.timeout,
            memory_mb=function.memory_mb,
            log_group=function.log_group,
            environment=lambda: self._lambda_environment(function, extra()),
            dns=dns,
        )

    def _new_backend_pool(self, provider: Stack) -> FunctionPool:
        function = _backend_function(provider)
        # DynamoDB is moto; the backend signs with its own role's credentials, in the provider account.
        spec = self.function_spec(function, lambda: {"AWS_ENDPOINT_URL_DYNAMODB": self.moto_url}, lambda: {})
        return FunctionPool(spec, max_concurrency=self._max_concurrency)

    def _invoke_backend(self, event: dict[str, Any], context: Any) -> Any:
        pool = self._backend_pool
        if pool is None:
            raise RuntimeError("the emulation is not running")
        return pool.handler()(event, context)

    def _client_pool(self, kind: str, site: str, via: str | None, env: Mapping[str, str] | None) -> FunctionPool:
        key = (kind, site, via, tuple(sorted((env or {}).items())))
        with self._lock:
            pool = self._client_pools.get(key)
            if pool is not None:
                return pool
        pool = FunctionPool(self.client_spec(kind, site, via, env), max_concurrency=self._max_concurrency)
        with self._lock:
            return self._client_pools.setdefault(key, pool)

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
        """How a site's client function ("direct" or "assume_role") runs: its environment (role keys, CA bundle, STS
        front, `via`: another site's endpoint DNS name, `env` overrides) and its VPC's DNS view. ``handler`` and
        ``code_dir`` replace the deployed code (the bench runs other clients as if deployed in this function's place).
        """
        function = self.consumers[site].function_by_handler(CLIENT_HANDLERS[kind])
        if function is None:
            raise LookupError(f"site {site} has no {kind} client (its stack was deployed with pAPIRoleARN=None?)")
        vpc = self.sites[site].vpc_id if function.in_vpc else None

        def extra() -> dict[str, str]:
            if self.tls is None or self.sts is None:
                raise RuntimeError("the emulation is not running")
            values = {"API_CA_BUNDLE": str(self.tls.ca_bundle), "AWS_ENDPOINT_URL_STS": self.sts.url}
            if via is not None:
                # As if the function were configured with another endpoint's DNS name (e.g. a peered VPC's).
                values["API_ENDPOINT"] = f"https://{self._endpoint(via).dns_names[0]}"
            return {**values, **(env or {})}

        deployed = replace(function, handler=handler or function.handler, code_dir=code_dir or function.code_dir)
        return self.function_spec(deployed, extra, lambda: self.dns_view(vpc))

    def invoke_client(
        self,
        kind: str,
        event: Mapping[str, Any] | None = None,
        *,
        site: str = MAIN,
        via: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> InvokeResult:
        """Invoke a site's real client handler ("direct" or "assume_role"); `via`: through another site's endpoint.

        Each (kind, site, via, env) combination is its own function configuration with its own warm sandboxes.
        """
        if kind not in CLIENT_HANDLERS:
            raise ValueError(f"kind must be one of {sorted(CLIENT_HANDLERS)}, got {kind!r}")
        return self._client_pool(kind, site, via, env).invoke(dict(event or {}))

    def function_logs(self, kind: str = "backend", site: str = MAIN) -> list[str]:
        """Log lines of the backend (default) or of a site's client function so far."""
        if kind == "backend":
            return self._backend_pool.logs if self._backend_pool else []
        with self._lock:
            pools = [p for k, p in self._client_pools.items() if k[0] == kind and k[1] == site]
        return [line for pool in pools for line in pool.logs]

    def recycle_functions(self, kind: str | None = None, site: str = MAIN) -> None:
        """Next invocation is a cold start (new sandboxes): of every function, the backend, or one site's client."""
        with self._lock:
            clients = [p for k, p in self._client_pools.items() if kind is None or (k[0] == kind and k[1] == site)]
        backend = [self._backend_pool] if self._backend_pool and kind in (None, "backend") else []
        for pool in [*clients, *backend]:
            pool.recycle()

    def warm_clients(self, clients: Iterable[tuple[str, str, str | None]], count: int = 1) -> None:
        """Start `count` sandboxes per (kind, site, via) client configuration, in parallel, before its first call."""
        pools = [self._client_pool(kind, site, via, None) for kind, site, via in clients]
        threads = [
            threading.Thread(target=pool.warm, args=(count,), name=f"warm-{pool.spec.name}", daemon=True)
            for pool in pools
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _start_warming(self) -> list[threading.Thread]:
        pools = [self._backend_pool] if self._backend_pool else []
        pools += [self._client_pool(kind, MAIN, None, None) for kind in CLIENT_HANDLERS if self._has_client(MAIN, kind)]
        threads = [threading.Thread(target=pool.warm, name=f"warm-{pool.spec.name}", daemon=True) for pool in pools]
        for thread in threads:
            thread.start()
        return threads

    def _has_client(self, site: str, kind: str) -> bool:
        return self.consumers[site].function_by_handler(CLIENT_HANDLERS[kind]) is not None

    # ------------------------------------------------------------------------------------------ network
    def _all_endpoints(self) -> list[EndpointView]:
        return [endpoint for stack in self.consumers.values() for endpoint in stack.endpoints()]

    def _endpoint(self, site: str) -> EndpointView:
        (endpoint,) = self.consumers[site].endpoints()
        return endpoint

    def endpoint_id(self, site: str = MAIN) -> str:
        """A site's execute-api VPC endpoint id."""
        return self._endpoint(site).vpce_id

    def endpoint_url(self, site: str = MAIN) -> str:
        """The https://127.0.0.1:port listener of a site's execute-api endpoint."""
        if self.gateway is None:
            raise RuntimeError("the emulation is not running")
        return self.gateway.url(self.endpoint_id(site))

    def dns_view(self, vpc_id: str | None) -> dict[str, int]:
        """Host names a function in `vpc_id` can resolve, each to the listener port it reaches (443 on AWS).

        Endpoint names and the {api-id}-{vpce-id} aliases of associated endpoints are public DNS names; the API host
        resolves only inside a VPC whose execute-api endpoint has private DNS enabled.
        """
        if self.gateway is None:
            return {}
        view: dict[str, int] = {}
        listeners: dict[str, int] = {}
        for endpoint in self._all_endpoints():
            port = listeners[endpoint.vpce_id] = self.gateway.stats(endpoint.vpce_id).port
            view.update(dict.fromkeys(endpoint.dns_names, port))
            if endpoint.private_dns and vpc_id is not None and endpoint.vpc_id == vpc_id:
                view[f"*.execute-api.{self.region}.amazonaws.com"] = port
        api = self.gateway.deployment(self.names.api_id)
        for vpce in api.vpc_endpoint_ids:
            if vpce in listeners:
                view[f"{api.api_id}-{vpce}.execute-api.{self.region}.amazonaws.com"] = listeners[vpce]
        return view

    # ------------------------------------------------------------------------------------------ the API
    def _api_deployment(self, provider: Stack) -> ApiDeployment:
        api = provider.api()
        backend = _backend_function(provider)
        if self.access_log is not None and api.access_log_format:
            self.access_log.log_format = api.access_log_format
        return ApiDeployment(
            api_id=api.api_id,
            account=provider.account,
            region=self.region,
            stage=api.stage,
            openapi=api.openapi,
            resource_policy=api.resource_policy,
            handler=self._invoke_backend,
            vpc_endpoint_ids=api.vpc_endpoint_ids,
            access_log=self.access_log,
            function_name=backend.name,
        )

    def redeploy_provider(self, changes: Mapping[str, str], *, replace_all: bool = False) -> bool:
        """Update the provider stack with changed parameters; True when the stage got a new deployment.

        `changes` are merged over the current parameters (like --parameter-overrides with a samconfig), or used alone
        with `replace_all`. Roles and policies change at once (IAM). The resource policy and routes change only with a
        new stage deployment: SAM creates one when the definition's hash changes or, with AlwaysDeploy, on every update.
        """
        if self.provider is None or self.gateway is None:
            raise RuntimeError("the emulation is not running")
        parameters = dict(changes) if replace_all else {**self.provider.parameters, **changes}
        old, new = self.provider, self.provider.update(parameters)
        self._update_roles(old, new)
        if _backend_function(new) != _backend_function(old):
            previous, self._backend_pool = self._backend_pool, self._new_backend_pool(new)
            if previous is not None:
                previous.stop()
        old_api, new_api = old.api(), new.api()
        redeployed = new_api.always_deploy or new_api.deployment_id != old_api.deployment_id
        self.provider = new
        if redeployed:
            self.gateway.deploy(self._api_deployment(new))
        else:
            # Endpoint associations are a property of the API, not of a deployment: they apply at once.
            current = self.gateway.deployment(new_api.api_id)
            self.gateway.deploy(replace(current, vpc_endpoint_ids=new_api.vpc_endpoint_ids))
        return redeployed

    def redeploy_consumers(self, changes: Mapping[str, str]) -> None:
        """Update every consumer stack with changed parameters (roles, endpoint policies, private DNS, clients)."""
        if self.provider is None or self.gateway is None:
            raise RuntimeError("the emulation is not running")
        for key, old in list(self.consumers.items()):
            params = {k: v for k, v in {**old.parameters, **changes}.items() if k not in NETWORK_PARAMETERS}
            new = self._render_site(key, self._consumer_defaults(self.provider), params)
            self._update_roles(old, new)
            for endpoint in new.endpoints():
                self.gateway.set_endpoint_policy(endpoint.vpce_id, endpoint.policy)
            self.consumers[key] = new
        with self._lock:
            pools = [*self._client_pools.values()]
            self._client_pools.clear()
        for pool in pools:
            pool.stop()  # new function configuration: the next invocations are cold starts

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
        if self._http is None or self.provider is None:
            raise RuntimeError("the emulation is not running")
        host = host or self.names.api_host
        target = f"/{self.provider.api().stage}{path}"
        sent = {"Host": host, **(headers or {})}
        if credentials is not None:
            request = AWSRequest(method=method, url=f"https://{host}{target}", data=body, headers=sent)
            signer = Credentials(credentials.access_key, credentials.secret_key, credentials.token)
            SigV4Auth(signer, "execute-api", self.region).add_auth(request)
            sent = {**dict(request.headers.items()), "Host": host}
        response = self._http.request(method, self.endpoint_url(site) + target, body=body or None, headers=sent)
        return HttpReply(response.status, dict(response.headers), response.data)

    def lambda_credentials(self, site: str = MAIN, kind: str = "direct") -> SigningCredentials:
        """Fresh credentials of a site's client function role (what that function signs with)."""
        return self.role_credentials(self.names.client_role(site, kind), self.names.client_functions[(site, kind)])


def _backend_function(provider: Stack) -> FunctionView:
    api = provider.api()
    functions = [f for f in provider.functions().values() if f.arn in api.integration_arns]
    if len(functions) != 1:
        raise ValueError(f"expected the API to integrate one function, found {[f.name for f in functions]}")
    return functions[0]
