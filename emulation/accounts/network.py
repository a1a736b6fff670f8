"""The consumer VPCs' view of the network: execute-api endpoints, their listeners, and the names a function resolves."""

from __future__ import annotations

from collections.abc import Mapping

from cfnrender.stacks import EndpointView, Stack
from emulation.gateway.server import Gateway
from iampolicy.execute_api import ExecuteApiHost

__all__ = ["all_endpoints", "dns_view", "listener_ports", "provider_endpoints", "site_endpoint"]


def all_endpoints(consumers: Mapping[str, Stack]) -> list[EndpointView]:
    """Every execute-api VPC endpoint of every consumer stack."""
    return [endpoint for stack in consumers.values() for endpoint in stack.endpoints()]


def provider_endpoints(provider: Stack) -> list[EndpointView]:
    """The provider's own execute-api endpoints: MtlsApiEndpoint with the certificate path, else none.

    Private DNS is off on it and only the load balancer's security group reaches it, so no consumer VPC resolves or
    reaches it: it gets a gateway listener, and only the mTLS listener sends requests there.
    """
    return provider.endpoints()


def site_endpoint(consumers: Mapping[str, Stack], site: str) -> EndpointView:
    """A site's one execute-api VPC endpoint."""
    (endpoint,) = consumers[site].endpoints()
    return endpoint


def listener_ports(gateway: Gateway, consumers: Mapping[str, Stack], provider: Stack | None = None) -> dict[str, int]:
    """The 127.0.0.1 port of each endpoint's gateway listener (the consumers', then the provider's own), by id."""
    endpoints = [*all_endpoints(consumers), *(provider_endpoints(provider) if provider is not None else [])]
    return {endpoint.vpce_id: gateway.stats(endpoint.vpce_id).port for endpoint in endpoints}


def dns_view(
    gateway: Gateway, consumers: Mapping[str, Stack], *, api_id: str, region: str, vpc_id: str | None
) -> dict[str, int]:
    """Host names a function in `vpc_id` can resolve, each to the listener port it reaches (443 on AWS).

    Endpoint names and the {api-id}-{vpce-id} aliases of associated endpoints are public DNS names; the API host
    resolves only inside a VPC whose execute-api endpoint has private DNS enabled.
    """
    view: dict[str, int] = {}
    listeners: dict[str, int] = {}
    for endpoint in all_endpoints(consumers):
        port = listeners[endpoint.vpce_id] = gateway.stats(endpoint.vpce_id).port
        view.update(dict.fromkeys(endpoint.dns_names, port))
        if endpoint.private_dns and vpc_id is not None and endpoint.vpc_id == vpc_id:
            view[f"*.execute-api.{region}.amazonaws.com"] = port
    api = gateway.deployment(api_id)
    for vpce in api.vpc_endpoint_ids:
        if vpce in listeners:
            view[ExecuteApiHost(api.api_id, vpce, region).name] = listeners[vpce]
    return view
