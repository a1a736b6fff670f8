"""The certificate path's wiring into the two-account deployment (emulation/accounts/mtls.py), without servers:
template parameters, the trust store, the client secrets, and where the service's DNS name resolves."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import boto3
import pytest
from cryptography import x509

from cfnrender.stacks import Stack
from emulation.accounts import mtls
from emulation.accounts.network import provider_endpoints
from emulation.accounts.plan import CONSUMER, MAIN, OTHER, OUTSIDER, Plan, default_provider_params
from emulation.alb.listener import TrustConfig
from emulation.alb.pki import ALLOWED_TENANTS, make_pki
from emulation.gateway.tls import TlsMaterial
from tests.emulation.helpers import REGION

PORT = 44_301  # any listener port: service_names only maps names to it
CERTIFICATE_HANDLER = "client.certificate.handler"


@pytest.fixture(scope="module")
def plan() -> Plan:
    return Plan(REGION, random.Random(16))  # nosec B311 - resource ids


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> mtls.MtlsMaterial:
    """The PKI and trust files, with made-up secret ARNs (no Secrets Manager needed to render)."""
    pki = make_pki()
    directory = tmp_path_factory.mktemp("trust")
    bundle, crl = directory / "ca.pem", directory / "crl.pem"
    bundle.write_text(pki.ca_bundle_pem)
    crl.write_text(pki.crl_pem)
    arn = f"arn:aws:secretsmanager:{REGION}:{CONSUMER}:secret:private-api/client-certificate/tenant-a-AbCdEf"
    return mtls.MtlsMaterial(pki, TrustConfig(bundle, crl), {"tenant-a": arn})


def _deploy(
    plan: Plan, material: mtls.MtlsMaterial, provider_changes: dict[str, str], consumer_changes: dict[str, str]
) -> tuple[Stack, dict[str, Stack]]:
    names = plan.names()
    provider = plan.render_provider(
        {
            **default_provider_params(names),
            **mtls.provider_parameters(plan.provider_network, material, REGION),
            **provider_changes,
        }
    )
    consumers = plan.render_consumers(provider, {**mtls.consumer_parameters(provider, material), **consumer_changes})
    return provider, consumers


@pytest.fixture(scope="module")
def deployed(plan: Plan, material: mtls.MtlsMaterial) -> tuple[Stack, dict[str, Stack]]:
    return _deploy(plan, material, {}, {})


def test_mtls_parameters_deploy_the_certificate_path_on_both_sides(deployed: tuple[Stack, dict[str, Stack]]) -> None:
    # GIVEN the provider and consumer stacks rendered with the certificate path's parameters (their Rules passed)
    provider, consumers = deployed
    # THEN the provider has its own endpoint (private DNS off) and the backend's allow-list; main has the client
    (endpoint,) = provider_endpoints(provider)
    assert endpoint.vpce_id == provider.outputs["MtlsApiEndpointID"]
    assert not endpoint.private_dns
    assert endpoint.vpc_id == provider.parameters["pVPCID"]
    backend = provider.function_by_handler("backend.app.handler")
    assert backend is not None
    assert backend.environment["MTLS_ALLOWED_CLIENTS"] == ALLOWED_TENANTS
    client = consumers[MAIN].function_by_handler(CERTIFICATE_HANDLER)
    assert client is not None
    assert client.environment["API_ENDPOINT"] == f"https://{mtls.SERVICE_DNS_NAME}"


def test_mtls_client_parameters_reach_the_main_site_only(deployed: tuple[Stack, dict[str, Stack]]) -> None:
    # GIVEN the certificate client's parameters given to every consumer stack
    _, consumers = deployed
    # THEN only main gets the client (deploy-all.sh --mtls sets up one consumer stack)
    assert [site for site, stack in consumers.items() if stack.function_by_handler(CERTIFICATE_HANDLER)] == [MAIN]
    assert consumers[OTHER].parameters.get("pEnableMtlsClient") is None


def test_provider_without_mtls_has_no_own_endpoint(plan: Plan) -> None:
    # GIVEN the provider with its defaults THEN it has no execute-api endpoint of its own (no extra gateway listener)
    assert provider_endpoints(plan.render_provider(default_provider_params(plan.names()))) == []


def test_service_name_resolves_to_the_listener_in_the_main_vpc_only(
    plan: Plan, deployed: tuple[Stack, dict[str, Stack]]
) -> None:
    # GIVEN the full wiring (hosted zone in main's VPC, endpoint to the provider's service, the account allowed)
    provider, consumers = deployed
    # THEN main's VPC resolves the service name to the listener, no other VPC does, and a function outside a VPC
    assert mtls.service_names(provider, consumers, PORT, plan.sites[MAIN].vpc_id) == {mtls.SERVICE_DNS_NAME: PORT}
    for site in (OTHER, OUTSIDER):
        assert mtls.service_names(provider, consumers, PORT, plan.sites[site].vpc_id) == {}
    assert mtls.service_names(provider, consumers, PORT, None) == {}


@pytest.mark.parametrize(
    ("provider_changes", "consumer_changes"),
    [
        ({}, {"pCreateMtlsHostedZone": "No"}),  # nobody gives the name an address in the VPC
        ({"pMtlsAllowedPrincipals": "arn:aws:iam::444444444444:root"}, {}),  # the service does not allow the account
        ({}, {"pMtlsServiceName": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0"}),  # another service
    ],
    ids=["no-hosted-zone", "account-not-allowed", "other-service"],
)
def test_service_name_does_not_resolve_without_each_part_of_the_wiring(
    plan: Plan, material: mtls.MtlsMaterial, provider_changes: dict[str, str], consumer_changes: dict[str, str]
) -> None:
    # GIVEN one part of the wiring missing
    provider, consumers = _deploy(plan, material, provider_changes, consumer_changes)
    # THEN the certificate client's VPC has no address for the service name
    assert mtls.service_names(provider, consumers, PORT, plan.sites[MAIN].vpc_id) == {}


def test_trust_store_has_the_crl_only_with_a_revocation_list_key(
    plan: Plan, material: mtls.MtlsMaterial, deployed: tuple[Stack, dict[str, Stack]]
) -> None:
    # GIVEN the provider with and without pMtlsRevocationListKey
    without, _ = _deploy(plan, material, {"pMtlsRevocationListKey": "None"}, {})
    # THEN the listener's trust store checks revocation only when the stack has a TrustStoreRevocation
    assert mtls.trust_store(deployed[0], material) == material.trust
    assert mtls.trust_store(without, material) == TrustConfig(material.trust.ca_bundle, None)


def test_make_material_stores_each_certificate_as_the_client_reads_it(moto_url: str, tmp_path: Path) -> None:
    # GIVEN moto's Secrets Manager
    client: Any = boto3.client(
        "secretsmanager", region_name=REGION, endpoint_url=moto_url,
        aws_access_key_id="AKIAEMULATIONTEST000", aws_secret_access_key="test",  # nosec B106
    )  # fmt: skip
    # WHEN the material is made
    made = mtls.make_material(tmp_path, client)
    # THEN every test certificate is a secret holding {certificate, privateKey} PEMs, and the trust files exist
    assert set(made.secrets) == set(mtls.CERTIFICATES)
    for name, arn in made.secrets.items():
        value = json.loads(client.get_secret_value(SecretId=arn)["SecretString"])
        assert set(value) == {"certificate", "privateKey"}, name
        assert value["certificate"].startswith("-----BEGIN CERTIFICATE-----")
        assert "PRIVATE KEY-----" in value["privateKey"]
    assert made.trust.ca_bundle.read_text() == made.pki.ca_bundle_pem
    assert made.trust.crl is not None
    assert made.trust.crl.read_text() == made.pki.crl_pem


def test_tls_material_issues_other_names_from_the_same_ca(tls: TlsMaterial) -> None:
    # GIVEN the emulation's CA WHEN the load balancer's certificate is issued THEN it names the service, same issuer
    leaf = x509.load_pem_x509_certificate(tls.issue(mtls.SERVICE_DNS_NAME).cert_chain_pems[0].bytes())
    assert tls.ca is not None
    names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [mtls.SERVICE_DNS_NAME]
    assert leaf.issuer == x509.load_pem_x509_certificate(tls.ca_bundle.read_bytes()).subject
    with pytest.raises(ValueError, match="no CA"):
        TlsMaterial(tls.server_context, tls.ca_bundle).issue("x.example")
