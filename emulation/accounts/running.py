"""What exists only while the accounts are started: moto, the deployed stacks, STS front, sandboxes, the gateway.

`start()` builds a `Running` in the order the seed README deploys (provider, consumers, provider again with their
outputs) and `Running.stop()` undoes it in reverse: no new requests first, then the functions behind them, then the
AWS services they call. A start that fails half-way stops what it had started.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cfnrender.stacks import Stack
from emulation.accounts import domain
from emulation.accounts.functions import Functions
from emulation.accounts.https import HttpsClient
from emulation.accounts.moto_identity import MotoIdentity
from emulation.accounts.moto_server import MotoServer
from emulation.accounts.mtls import (
    MtlsMaterial,
    consumer_parameters,
    make_material,
    provider_parameters,
    start_listener,
)
from emulation.accounts.network import all_endpoints, listener_ports, provider_endpoints
from emulation.accounts.plan import CONSUMER, Plan, backend_function
from emulation.accounts.provisioning import create_roles, create_tables
from emulation.alb.listener import MtlsListener
from emulation.gateway.access_log import AccessLog
from emulation.gateway.pipeline import ApiDeployment, Endpoint
from emulation.gateway.server import Gateway
from emulation.gateway.tls import TlsMaterial, api_hostnames, make_tls
from emulation.sts.front import StsFront

__all__ = ["Options", "Running", "api_deployment", "start"]


@dataclass(frozen=True)
class Options:
    """How a deployment runs, fixed for its lifetime."""

    org_ids: Mapping[str, str]
    max_concurrency: int
    endpoint_idle_timeout: float
    mtls: bool = False  # deploy the certificate path (provider pEnableMtls=Yes, main consumer pEnableMtlsClient=Yes)
    domain: bool = False  # deploy the private custom domain (provider pEnablePrivateDomain=Yes, consumers associate)


@dataclass
class Running:
    """A started deployment. `provider` and `consumers` are the live stacks: a redeploy replaces them."""

    moto: MotoServer
    provider: Stack
    consumers: dict[str, Stack]
    tls: TlsMaterial
    http: HttpsClient
    sts: StsFront
    functions: Functions
    access_log: AccessLog
    gateway: Gateway
    teardown: ExitStack = field(repr=False)
    mtls: MtlsMaterial | None = None
    alb: MtlsListener | None = None  # the certificate path's load balancer listener, when deployed
    # Associations API Gateway refused to create, by consumer site (start(domain=True) only).
    domain_refusals: Mapping[str, str] = field(default_factory=dict)
    org_ids: Mapping[str, str] = field(default_factory=dict)  # account -> organization id (RAM shares to an org)

    def refresh_domains(self) -> None:
        """Domains and associations read again from the live stacks (after an update); rejections are forgotten."""
        state = domain.registry(self.provider, self.consumers, self.org_ids)
        self.gateway.set_domains(state.registry)
        self.domain_refusals = state.refused

    def stop(self) -> None:
        """Stop gateway, STS front, sandboxes and moto; close every socket; remove the temporary files."""
        self.teardown.close()

    def listening_ports(self) -> dict[str, int]:
        """Every 127.0.0.1 port the deployment listens on, by what listens there."""
        ports = {"moto": self.moto.port, "sts": int(self.sts.url.rsplit(":", 1)[1])}
        if self.alb is not None:
            ports["mtls-alb"] = self.alb.port
        return {**ports, **listener_ports(self.gateway, self.consumers, self.provider)}


def api_deployment(
    provider: Stack, region: str, access_log: AccessLog, handler: Callable[[dict[str, Any], Any], Any]
) -> ApiDeployment:
    """The provider stack's API as a stage deployment fixes it: definition, resource policy, endpoints, log format."""
    api = provider.api()
    if api.access_log_format:
        access_log.log_format = api.access_log_format
    return ApiDeployment(
        api_id=api.api_id,
        account=provider.account,
        region=region,
        stage=api.stage,
        openapi=api.openapi,
        resource_policy=api.resource_policy,
        handler=handler,
        vpc_endpoint_ids=api.vpc_endpoint_ids,
        access_log=access_log,
        function_name=backend_function(provider).name,
    )


def start(
    plan: Plan, provider_params: Mapping[str, str], consumer_params: Mapping[str, str], options: Options
) -> Running:
    """Deploy both accounts' stacks into a new moto and start every server in front of them."""
    region = plan.region
    with ExitStack() as teardown:
        workdir = Path(tempfile.mkdtemp(prefix="private-api-emulation-"))
        teardown.callback(shutil.rmtree, workdir, ignore_errors=True)
        moto = MotoServer(region)
        teardown.callback(moto.stop)
        mtls = make_material(workdir, moto.client("secretsmanager", CONSUMER)) if options.mtls else None
        # The caller's own parameters win, so a test can deploy a variant (e.g. without the CRL, another base path).
        if mtls is not None:
            provider_params = {**provider_parameters(plan.provider_network, mtls, region), **provider_params}
        if options.domain:
            provider_params = {**domain.provider_parameters(region), **provider_params}
        provider = plan.render_provider(provider_params)
        if mtls is not None:
            consumer_params = {**consumer_parameters(provider, mtls), **consumer_params}
        if options.domain:
            consumer_params = {**domain.consumer_parameters(provider), **consumer_params}
        consumers = plan.render_consumers(provider, consumer_params)
        domains = domain.registry(provider, consumers, options.org_ids)
        for stack in (provider, *consumers.values()):
            create_roles(moto.client("iam", stack.account), stack)
        create_tables(moto.client("dynamodb", provider.account), provider)
        tls = make_tls(api_hostnames(region), workdir)
        http = HttpsClient(tls.ca_bundle, endpoint_idle_timeout=options.endpoint_idle_timeout)
        teardown.callback(http.close)
        functions = Functions(
            backend_function(provider),
            region=region,
            role_credentials=moto.role_credentials,
            dynamodb_url=moto.url,
            max_concurrency=options.max_concurrency,
        )
        teardown.callback(functions.stop)
        identity = MotoIdentity(org_ids=options.org_ids)
        sts = StsFront(
            upstream=moto.url, callbacks=identity.callbacks(), trust_policy=identity.trust_policy, region=region
        ).start()
        teardown.callback(sts.stop)
        log_format = provider.api().access_log_format
        log_path = workdir / "access.log"
        # A stage without a format of its own gets AWS's documented CLF example (access_log.DEFAULT_FORMAT).
        access_log = AccessLog(log_format, log_path) if log_format else AccessLog(path=log_path)
        gateway = Gateway(
            endpoints=[
                Endpoint(e.vpce_id, e.vpc_id, e.policy)
                for e in [*all_endpoints(consumers), *provider_endpoints(provider)]
            ],
            apis=[api_deployment(provider, region, access_log, functions.invoke_backend)],
            callbacks=identity.callbacks(),
            tls=tls,
            idle_timeout=options.endpoint_idle_timeout,
            domains=domains.registry,
        ).start()
        teardown.callback(gateway.stop)
        alb = None
        if mtls is not None and provider.outputs.get("MtlsApiEndpointID"):
            alb = start_listener(provider, gateway, tls, mtls)
            teardown.callback(alb.stop)  # stopped first: it forwards to the gateway
        return Running(
            moto,
            provider,
            consumers,
            tls,
            http,
            sts,
            functions,
            access_log,
            gateway,
            teardown.pop_all(),
            mtls,
            alb,
            domains.refused,
            options.org_ids,
        )
