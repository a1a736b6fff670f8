"""The certificate (mTLS) path in a running deployment: what deploy-all.sh --mtls would set up, on 127.0.0.1.

A test PKI (emulation/alb/pki.py) stands in for the team's CA: its bundle and CRL are the trust store's S3 objects,
its client certificates are secrets in the consumer account's Secrets Manager (moto), one per case. The provider is
deployed VPC-attached with pEnableMtls=Yes, the main consumer stack with pEnableMtlsClient=Yes. The load balancer is
`emulation.alb.listener.MtlsListener`, forwarding to the gateway listener of the provider's own MtlsApiEndpoint; the
consumer VPC resolves pMtlsServiceDNSName to it only where AWS would (see `service_names`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cfnrender.stacks import Stack
from emulation.accounts.plan import CONSUMER, PROVIDER, ProviderNetwork
from emulation.alb.listener import MtlsListener, TrustConfig
from emulation.alb.pki import Issued, TestPki, make_pki
from emulation.gateway.server import Gateway
from emulation.gateway.tls import TlsMaterial

__all__ = [
    "CERTIFICATES",
    "SERVICE_DNS_NAME",
    "MtlsMaterial",
    "consumer_parameters",
    "make_material",
    "provider_parameters",
    "service_names",
    "start_listener",
    "trust_store",
]

# The name the provider's server certificate covers (ACM in AWS; here issued by the emulation's CA).
SERVICE_DNS_NAME = "api.mtls.provider.example"
TRUST_STORE_BUCKET = f"private-api-artifacts-{PROVIDER}"
CA_BUNDLE_KEY = "mtls/ca-bundle.pem"
CRL_KEY = "mtls/crl.pem"
# A made-up certificate id: the emulation presents its own certificate for SERVICE_DNS_NAME.
SERVER_CERTIFICATE_ID = "0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9"
# One secret per test certificate; tenant-a's is the certificate client's own (pMtlsCertificateSecretArn).
CERTIFICATES = ("tenant-a", "tenant-b", "unknown-ca", "expired", "revoked", "not-allowed")
CLIENT_SECRET = "tenant-a"  # noqa: S105  # nosec B105  # a secret's name, not a secret


def _issued(pki: TestPki, name: str) -> Issued:
    return {
        "tenant-a": pki.valid,
        "tenant-b": pki.tenant_b,
        "unknown-ca": pki.unknown_ca_client,
        "expired": pki.expired,
        "revoked": pki.revoked,
        "not-allowed": pki.not_allowed,
    }[name]


@dataclass(frozen=True)
class MtlsMaterial:
    """The PKI, the trust store's files and the ARN of each client certificate's secret (consumer account)."""

    pki: TestPki
    trust: TrustConfig
    secrets: Mapping[str, str]


def make_material(workdir: Path, secretsmanager: Any) -> MtlsMaterial:
    """Issue the PKI, write the CA bundle and CRL, and store each client certificate as the client reads it."""
    pki = make_pki()
    directory = workdir / "mtls"
    directory.mkdir(parents=True, exist_ok=True)
    bundle, crl = directory / "ca-bundle.pem", directory / "crl.pem"
    bundle.write_text(pki.ca_bundle_pem)
    crl.write_text(pki.crl_pem)
    secrets = {}
    for name in CERTIFICATES:
        issued = _issued(pki, name)
        # The client's secret JSON (api-client/src/client/client_cert.py): {certificate, privateKey, chain?}.
        value = json.dumps({"certificate": issued.cert_pem, "privateKey": issued.key_pem})
        created = secretsmanager.create_secret(Name=f"private-api/client-certificate/{name}", SecretString=value)
        secrets[name] = created["ARN"]
    return MtlsMaterial(pki, TrustConfig(bundle, crl), secrets)


def provider_parameters(network: ProviderNetwork, material: MtlsMaterial, region: str) -> dict[str, str]:
    """The provider's certificate-path parameters, as deploy-all.sh --mtls passes them (CRL included)."""
    return {
        **network.parameters(),
        "pEnableMtls": "Yes",
        "pMtlsTrustStoreBucket": TRUST_STORE_BUCKET,
        "pMtlsCABundleKey": CA_BUNDLE_KEY,
        "pMtlsRevocationListKey": CRL_KEY,
        "pMtlsServerCertificateArn": f"arn:aws:acm:{region}:{PROVIDER}:certificate/{SERVER_CERTIFICATE_ID}",
        "pMtlsAllowedPrincipals": f"arn:aws:iam::{CONSUMER}:root",
        "pMtlsAllowedClients": material.pki.allowed_tenants(),
    }


def consumer_parameters(provider: Stack, material: MtlsMaterial) -> dict[str, str]:
    """The main consumer stack's certificate-client parameters, fed the provider's MtlsEndpointServiceName."""
    return {
        "pEnableMtlsClient": "Yes",
        "pMtlsServiceName": provider.outputs["MtlsEndpointServiceName"],
        "pMtlsServiceDNSName": SERVICE_DNS_NAME,
        "pMtlsCertificateSecretArn": material.secrets[CLIENT_SECRET],
    }


def provider_endpoint_id(provider: Stack) -> str | None:
    """The provider's own execute-api endpoint (MtlsApiEndpoint), when the certificate path is deployed."""
    value = provider.outputs.get("MtlsApiEndpointID")
    return str(value) if value else None


def trust_store(provider: Stack, material: MtlsMaterial) -> TrustConfig:
    """The trust store as the stack deploys it: the CA bundle, and the CRL only with a TrustStoreRevocation."""
    has_crl = bool(provider.rendered.of_type("AWS::ElasticLoadBalancingV2::TrustStoreRevocation"))
    return TrustConfig(material.trust.ca_bundle, material.trust.crl if has_crl else None)


def start_listener(provider: Stack, gateway: Gateway, tls: TlsMaterial, material: MtlsMaterial) -> MtlsListener:
    """The ALB's verify-mode listener, trusting the stack's trust store, forwarding to the provider's own endpoint."""
    vpce = provider_endpoint_id(provider)
    if vpce is None:
        raise ValueError("the provider stack has no MtlsApiEndpoint (pEnableMtls=No?)")
    api = provider.api()
    return MtlsListener(
        trust=trust_store(provider, material),
        server_cert=tls.issue(SERVICE_DNS_NAME, "127.0.0.1"),
        upstream_url=gateway.url(vpce),
        upstream_ca=tls.ca_bundle,
        api_host=provider.outputs["APIGatewayFQDN"],
        stage=api.stage,
    ).start()


def _allowed_principals(provider: Stack) -> set[str]:
    permissions = provider.rendered.of_type("AWS::EC2::VPCEndpointServicePermissions")
    return {str(p) for resource in permissions.values() for p in resource["Properties"].get("AllowedPrincipals", [])}


def service_names(provider: Stack, consumers: Mapping[str, Stack], port: int, vpc_id: str | None) -> dict[str, int]:
    """pMtlsServiceDNSName -> the listener's port, for a function in `vpc_id`, where AWS would connect it.

    That is: a consumer stack in that VPC has a private hosted zone for the name (MtlsHostedZone), its interface
    endpoint (MtlsServiceEndpoint) names the provider's endpoint service, and the service's permissions allow the
    consumer's account (acceptance is not required by default). Anything else: the name does not resolve there.
    """
    if vpc_id is None:
        return {}
    service = provider.outputs.get("MtlsEndpointServiceName")
    allowed = _allowed_principals(provider)
    view: dict[str, int] = {}
    for stack in consumers.values():
        rendered = stack.rendered
        endpoint = rendered.resources.get("MtlsServiceEndpoint")
        zone = rendered.resources.get("MtlsHostedZone")
        if endpoint is None or zone is None or service is None:
            continue
        zone_vpcs = {str(v.get("VPCId")) for v in zone["Properties"].get("VPCs", [])}
        principal = f"arn:aws:iam::{stack.account}:root"
        if vpc_id in zone_vpcs and endpoint["Properties"]["ServiceName"] == service and principal in allowed:
            view[str(zone["Properties"]["Name"])] = port
    return view
