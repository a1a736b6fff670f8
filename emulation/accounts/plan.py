"""What gets deployed where: accounts, consumer sites, physical ids chosen once and the templates rendered with them.

Everything here is known before anything starts: `Plan(region, rng).names()` reads every id and ARN from the stacks'
outputs, as a first deployment with the templates' defaults would produce them.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cfnrender.stacks import FunctionView, Stack, StackIds, generate_ids
from client.names import ClientKind

PROVIDER = "111111111111"
CONSUMER = "222222222222"
OUTSIDER_ACCOUNT = "333333333333"
MAIN, OTHER, OUTSIDER = "main", "other", "outsider"
REPO = Path(__file__).resolve().parents[2]
BACKEND_TEMPLATE = REPO / "api-backend" / "api-backend.yaml"
CLIENT_TEMPLATE = REPO / "api-client" / "api-client.yaml"
PROVIDER_STACK = "private-api-backend"
CLIENT_STACK = "private-api-client"
# Parameters that describe where a consumer stack lives; every other consumer parameter is shared by all sites.
NETWORK_PARAMETERS = ("pVPCID", "pLambdaSubnetIDs", "pEndpointSubnetIDs", "pDNSServerCIDR")
# The certificate client's parameters: given to `main` only (deploy-all.sh --mtls sets up one consumer stack).
MTLS_CLIENT_PARAMETERS = (
    "pEnableMtlsClient",
    "pMtlsServiceName",
    "pMtlsServiceDNSName",
    "pMtlsCertificateSecretArn",
    "pCreateMtlsHostedZone",
    "pCreateSecretsManagerEndpoint",
)
MAIN_ONLY_PARAMETERS = (*NETWORK_PARAMETERS, *MTLS_CLIENT_PARAMETERS)
# The provider's private custom domain name (start(domain=True)): its ARN embeds the name, so the ids are chosen with
# it (a provider rendered with another pPrivateDomainName would name a domain these ids do not).
PRIVATE_DOMAIN_NAME = "orders.provider.example"
# us-east-1's com.amazonaws.us-east-1.dynamodb prefix list id shape; the emulation routes nothing by it.
DYNAMODB_PREFIX_LIST = "pl-02cd2c6b"
_HEX = "0123456789abcdef"


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
    client_roles: Mapping[tuple[str, ClientKind], str]
    client_functions: Mapping[tuple[str, ClientKind], str]

    def client_role(self, site: str, kind: str) -> str:
        """The execution role ARN of a site's client function (a ClientKind, or "direct" / "assume_role")."""
        return self.client_roles[(site, ClientKind.of(kind))]

    def client_function(self, site: str, kind: str) -> str:
        """The function name of a site's client function (a ClientKind, or "direct" / "assume_role")."""
        return self.client_functions[(site, ClientKind.of(kind))]


def _random_id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choices(_HEX, k=16))


def place_sites(rng: random.Random) -> dict[str, Site]:
    """The three consumer sites, each with its own VPC and subnets: main and other in the consumer account."""
    placements: tuple[tuple[str, str, str, int], ...] = (
        (MAIN, CONSUMER, CLIENT_STACK, 1),
        (OTHER, CONSUMER, f"{CLIENT_STACK}-b", 2),
        (OUTSIDER, OUTSIDER_ACCOUNT, CLIENT_STACK, 3),
    )
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


@dataclass(frozen=True)
class ProviderNetwork:
    """The provider VPC, used only when the provider stack is VPC-attached (the certificate path needs it)."""

    vpc_id: str
    subnets: tuple[str, ...]

    def parameters(self) -> dict[str, str]:
        """The provider template's VPC parameters: the backend, the load balancers and its own endpoint run there."""
        return {
            "pVPCID": self.vpc_id,
            "pLambdaSubnetIDs": ",".join(self.subnets),
            "pDynamoDBPrefixListID": DYNAMODB_PREFIX_LIST,
        }


def consumer_defaults(provider: Stack) -> dict[str, str]:
    """What the seed README passes the consumer stacks from the provider stack's outputs."""
    outputs = provider.outputs
    return {
        "pAPIHost": outputs["APIGatewayFQDN"],
        "pAPIAccountID": PROVIDER,
        "pAPIRoleARN": outputs["APIAccessRole"],
        "pAPIPrefix": f"/{outputs['APIStageName']}",
    }


def default_provider_params(names: Names) -> dict[str, str]:
    """The seed README's provider update: the main direct role listed, the consumer trusted, main endpoint only."""
    return {
        "pAPIAccessList": names.client_role(MAIN, ClientKind.DIRECT),
        "pTrustedPrincipals": CONSUMER,
        "pAllowedVPCEndpoints": names.endpoints[MAIN],
    }


def backend_function(provider: Stack) -> FunctionView:
    """The one function the API's integration URI names."""
    api = provider.api()
    functions = [f for f in provider.functions().values() if f.arn in api.integration_arns]
    if len(functions) != 1:
        raise ValueError(f"expected the API to integrate one function, found {[f.name for f in functions]}")
    return functions[0]


class Plan:
    """Physical ids chosen as CloudFormation would (seeded), and the two templates rendered with them."""

    def __init__(self, region: str, rng: random.Random) -> None:
        self.region = region
        self.sites = place_sites(rng)
        self._provider_ids = generate_ids(
            BACKEND_TEMPLATE,
            stack=PROVIDER_STACK,
            account=PROVIDER,
            region=region,
            rng=rng,
            parameters={"pPrivateDomainName": PRIVATE_DOMAIN_NAME},
        )
        # A consumer's access association ARN names the domain it associates with (pPrivateDomainNameArn).
        domain = {"pPrivateDomainNameArn": self._provider_ids.physical_ids["PrivateDomainName"]}
        self._site_ids: dict[str, StackIds] = {
            key: generate_ids(
                CLIENT_TEMPLATE, stack=site.stack_name, account=site.account, region=region, rng=rng, parameters=domain
            )
            for key, site in self.sites.items()
        }
        # Drawn last, so every id above stays what a given seed gave before the provider had a network.
        self.provider_network = ProviderNetwork(
            _random_id(rng, "vpc-0"), (_random_id(rng, "subnet-0"), _random_id(rng, "subnet-0"))
        )

    def render_provider(self, params: Mapping[str, str]) -> Stack:
        """The provider stack deployed with these parameters."""
        return Stack.deploy(
            BACKEND_TEMPLATE,
            name=PROVIDER_STACK,
            account=PROVIDER,
            region=self.region,
            ids=self._provider_ids,
            parameters=params,
        )

    def render_site(self, key: str, defaults: Mapping[str, str], params: Mapping[str, str]) -> Stack:
        """A site's consumer stack; network and certificate-client parameters among `params` apply to `main` only."""
        site = self.sites[key]
        shared = {k: v for k, v in params.items() if k not in MAIN_ONLY_PARAMETERS or key == MAIN}
        return Stack.deploy(
            CLIENT_TEMPLATE,
            name=site.stack_name,
            account=site.account,
            region=self.region,
            ids=self._site_ids[key],
            parameters={**defaults, **site.network_parameters(), **shared},
        )

    def render_consumers(self, provider: Stack, params: Mapping[str, str]) -> dict[str, Stack]:
        """Every site's consumer stack, fed the provider stack's outputs."""
        defaults = consumer_defaults(provider)
        return {key: self.render_site(key, defaults, params) for key in self.sites}

    def names(self) -> Names:
        """Every id and ARN, read from the stacks rendered with defaults, as a first deployment would be."""
        provider = self.render_provider({})
        outputs = provider.outputs
        sites = self.render_consumers(provider, {})
        client_roles: dict[tuple[str, ClientKind], str] = {}
        client_functions: dict[tuple[str, ClientKind], str] = {}
        for key, stack in sites.items():
            for kind in ClientKind:
                function = stack.function_by_handler(kind.handler)
                if function is not None:
                    client_roles[(key, kind)] = function.role_arn
                    client_functions[(key, kind)] = function.name
        backend = backend_function(provider)
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
