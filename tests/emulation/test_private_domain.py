"""A private custom domain name through the emulated gateway: real HTTPS (SNI picks the domain's certificate), real
SigV4 over the domain's Host, the association, the endpoint policy, the domain's policy and the API's policy."""

from __future__ import annotations

import dataclasses
import json
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from cryptography import x509

from emulation.gateway.domains import Association, DomainRegistry, PrivateDomain
from emulation.gateway.pipeline import ApiDeployment, Endpoint
from emulation.gateway.server import Gateway
from emulation.gateway.sigv4 import SigningCredentials
from emulation.gateway.tls import TlsMaterial
from iampolicy.authz import Principal
from tests.emulation.helpers import API_HOST, API_ID, CONSUMER, PROVIDER, REGION, Reply, StaticCredentials, call, sign

DOMAIN = "orders.example.internal"
DOMAIN_ID = "abcd1234"
DOMAIN_EXECUTE_API_ARN = f"arn:aws:execute-api:{REGION}:{PROVIDER}:/domainnames/{DOMAIN}+{DOMAIN_ID}"
MASKED_DOMAIN_ARN = f"arn:aws:execute-api:{REGION}:********2222:/domainnames/{DOMAIN}+{DOMAIN_ID}"
ALLOWED_VPCE = "vpce-0a11000000000a11d"  # associated; listed in the domain's and the API's policy
UNASSOCIATED_VPCE = "vpce-0b0000000000000e2"  # listed in both policies, but no association
API_ONLY_VPCE = "vpce-0c0000000000000c3"  # associated; listed in the API's policy only
DOMAIN_ONLY_VPCE = "vpce-0d0000000000000d4"  # associated; listed in the domain's policy only
MTLS_VPCE = "vpce-0e0000000000000e5"  # the provider's certificate-path endpoint: the only one /mtls admits
CLIENT_ROLE = f"arn:aws:iam::{CONSUMER}:role/direct-client-role"
INVOKE_ANY = {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}
OPENAPI = {"openapi": "3.0.1", "paths": {"/items": {"get": {}}, "/items/{id}": {"get": {}}, "/mtls/who": {"get": {}}}}
CLIENT = SigningCredentials("ASIACLIENT", "secret-client", "token-client")


def _deny_other_endpoints(endpoints: list[str], resource: str | list[str] = "execute-api:/*") -> dict[str, Any]:
    return {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Resource": resource,
        "Condition": {"StringNotEquals": {"aws:SourceVpce": endpoints}},
    }


def api_policy() -> dict[str, Any]:
    """The backend template's shape: listed principals, other endpoints denied, /mtls only from its endpoint."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowAccessList",
                "Effect": "Allow",
                "Principal": {"AWS": [CLIENT_ROLE]},
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
            },
            {"Sid": "DenyOtherEndpoints", **_deny_other_endpoints([ALLOWED_VPCE, UNASSOCIATED_VPCE, API_ONLY_VPCE])},
            {
                "Sid": "DenyCertificatePathElsewhere",
                **_deny_other_endpoints([MTLS_VPCE], ["execute-api:/*/*/mtls", "execute-api:/*/*/mtls/*"]),
            },
        ],
    }


def domain_policy() -> dict[str, Any]:
    """AWS's domain policy shape (tutorial): Allow everyone, Deny endpoints not listed."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowInvokeThroughDomain",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
            },
            {
                "Sid": "DenyOutsideAllowedVPCEndpoints",
                **_deny_other_endpoints([ALLOWED_VPCE, UNASSOCIATED_VPCE, DOMAIN_ONLY_VPCE]),
            },
        ],
    }


def echo_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A stand-in backend that shows the parts of the event a domain call changes."""
    body = {
        "resource": event["resource"],
        "path": event["path"],
        "pathParameters": event["pathParameters"],
        "host": event["headers"]["Host"],
        "stage": event["requestContext"]["stage"],
        "domainName": event["requestContext"]["domainName"],
        "requestPath": event["requestContext"]["path"],
        "caller": event["requestContext"]["identity"]["userArn"],
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def private_domain(mappings: dict[str, tuple[str, str]] | None = None) -> PrivateDomain:
    """The provider's domain: base path v1 maps the API's Prod stage."""
    return PrivateDomain(
        name=DOMAIN,
        domain_id=DOMAIN_ID,
        account=PROVIDER,
        region=REGION,
        certificate_arn=f"arn:aws:acm:{REGION}:{PROVIDER}:certificate/0000",
        policy=domain_policy(),
        mappings=mappings if mappings is not None else {"v1": (API_ID, "Prod")},
    )


def registry(domain: PrivateDomain) -> DomainRegistry:
    """Associations for every endpoint but UNASSOCIATED_VPCE."""
    vpces = (ALLOWED_VPCE, API_ONLY_VPCE, DOMAIN_ONLY_VPCE, MTLS_VPCE)
    return DomainRegistry([domain], [Association(vpce, domain.arn) for vpce in vpces])


@pytest.fixture
def store() -> StaticCredentials:
    """The listed consumer role's session."""
    store = StaticCredentials()
    principal = Principal(
        arn=f"arn:aws:sts::{CONSUMER}:assumed-role/direct-client-role/fn",
        account=CONSUMER,
        user_id="AROACLIENT:fn",
        role_arn=CLIENT_ROLE,
        access_key=CLIENT.access_key,
    )
    store.add(principal, CLIENT, [INVOKE_ANY])
    return store


@pytest.fixture
def gateway(tls: TlsMaterial, store: StaticCredentials) -> Iterator[Gateway]:
    """The API (stage Prod) mapped at base path v1 of the domain; five endpoints with the default endpoint policy."""
    deployment = ApiDeployment(
        api_id=API_ID,
        account=PROVIDER,
        region=REGION,
        stage="Prod",
        openapi=OPENAPI,
        resource_policy=api_policy(),
        handler=echo_handler,
        vpc_endpoint_ids=(ALLOWED_VPCE,),
    )
    vpces = (ALLOWED_VPCE, UNASSOCIATED_VPCE, API_ONLY_VPCE, DOMAIN_ONLY_VPCE, MTLS_VPCE)
    endpoints = [Endpoint(vpce, "vpc-0consumer") for vpce in vpces]
    domains = registry(private_domain())
    with Gateway(endpoints=endpoints, apis=[deployment], callbacks=store.callbacks(), tls=tls, domains=domains) as gw:
        yield gw


def domain_call(
    gateway: Gateway,
    tls: TlsMaterial,
    vpce: str,
    path: str,
    *,
    creds: SigningCredentials | None = CLIENT,
    host: str = DOMAIN,
    sign_host: str | None = None,
) -> Reply:
    """GET https://<host><path> through one endpoint's listener: SNI and certificate check for `host`, signed."""
    headers = {"Host": host}
    if creds is not None:
        signed_for = sign_host or host
        signed = sign(method="GET", url=f"https://{signed_for}{path}", creds=creds, headers={"Host": signed_for})
        headers = {**signed, "Host": host}
    pool = urllib3.HTTPSConnectionPool(
        "127.0.0.1",
        gateway.stats(vpce).port,
        server_hostname=host,
        ca_certs=str(tls.ca_bundle),
        cert_reqs="CERT_REQUIRED",
        retries=False,
    )
    try:
        response = pool.request("GET", path, headers=headers)
    finally:
        pool.close()
    return Reply(response.status, dict(response.headers), response.data)


def _peer_names(gateway: Gateway, tls: TlsMaterial, server_name: str) -> list[str]:
    context = ssl.create_default_context(cafile=str(tls.ca_bundle))
    context.check_hostname = False  # read whatever certificate comes back; the names are the assertion
    with (
        socket.create_connection(("127.0.0.1", gateway.stats(ALLOWED_VPCE).port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as conn,
    ):
        der = conn.getpeercert(binary_form=True)
    assert der is not None
    names = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    return names.value.get_values_for_type(x509.DNSName)


def test_private_domain_sni_presents_the_domain_certificate(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN a served domain WHEN a client says its name in SNI THEN the certificate is the domain's, nothing else
    assert _peer_names(gateway, tls, DOMAIN) == [DOMAIN]
    # AND another name still gets the execute-api certificate
    assert f"*.execute-api.{REGION}.amazonaws.com" in _peer_names(gateway, tls, "unknown.example.internal")


def test_private_domain_signed_call_reaches_the_mapped_stage(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN an associated endpoint listed by both policies WHEN the listed role calls /v1/items/42 on the domain
    reply = domain_call(gateway, tls, ALLOWED_VPCE, "/v1/items/42")
    # THEN the base path routes to the API's Prod stage; the event keeps the base path and names the domain
    assert reply.status == 200, reply.body
    assert reply.json() == {
        "resource": "/items/{id}",
        "path": "/v1/items/42",
        "pathParameters": {"id": "42"},
        "host": DOMAIN,
        "stage": "Prod",
        "domainName": DOMAIN,
        "requestPath": "/v1/items/42",
        "caller": f"arn:aws:sts::{CONSUMER}:assumed-role/direct-client-role/fn",
    }


def test_private_domain_endpoint_without_association_is_forbidden(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN an endpoint both policies list but with no access association WHEN it calls the domain
    reply = domain_call(gateway, tls, UNASSOCIATED_VPCE, "/v1/items")
    # THEN API Gateway's 403 Forbidden, before any policy
    assert (reply.status, reply.json(), reply.headers["x-amzn-ErrorType"]) == (
        403,
        {"message": "Forbidden"},
        "ForbiddenException",
    )


def test_private_domain_rejected_association_is_forbidden(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN the provider rejected the endpoint's association WHEN it calls THEN Forbidden, as with none
    gateway.set_domains(gateway.domains.rejecting(ALLOWED_VPCE, private_domain().arn))
    reply = domain_call(gateway, tls, ALLOWED_VPCE, "/v1/items")
    assert (reply.status, reply.json()) == (403, {"message": "Forbidden"})


def test_private_domain_policy_omitting_the_endpoint_is_an_explicit_deny(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN an associated endpoint the API's policy allows but the domain's policy does not list
    reply = domain_call(gateway, tls, API_ONLY_VPCE, "/v1/items")
    # THEN the domain's Deny refuses it, naming the domain's execute-api ARN
    assert (reply.status, reply.headers["x-amzn-ErrorType"]) == (403, "AccessDeniedException")
    assert reply.json() == {
        "Message": f"User: arn:aws:sts::{CONSUMER}:assumed-role/direct-client-role/fn is not authorized to perform: "
        f"execute-api:Invoke on resource: {MASKED_DOMAIN_ARN} with an explicit deny in a resource-based policy"
    }


def test_private_domain_api_policy_omitting_the_endpoint_still_denies(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN an associated endpoint the domain's policy lists but the API's policy does not
    reply = domain_call(gateway, tls, DOMAIN_ONLY_VPCE, "/v1/items")
    # THEN the API's Deny refuses it on the API's method ARN: both policies must allow
    assert reply.status == 403
    assert reply.json()["Message"].endswith(f"{API_ID}/Prod/GET/items with an explicit deny in a resource-based policy")


def test_private_domain_without_policy_denies_all(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN a domain created without a policy (API Gateway provisions a deny-all one) WHEN called
    domain = dataclasses.replace(private_domain(), policy=None)
    gateway.set_domains(registry(domain))
    reply = domain_call(gateway, tls, ALLOWED_VPCE, "/v1/items")
    # THEN no resource-based policy allows the domain
    assert reply.status == 403
    assert reply.json()["Message"].endswith(
        f"on resource: {MASKED_DOMAIN_ARN} because no resource-based policy allows the execute-api:Invoke action"
    )


@pytest.mark.parametrize("path", ["/v2/items", "/items", "/", "/Prod/items"])
def test_private_domain_unknown_base_path_is_forbidden(gateway: Gateway, tls: TlsMaterial, path: str) -> None:
    # GIVEN a path whose first segment is no base path (the stage is not one either) THEN Forbidden
    reply = domain_call(gateway, tls, ALLOWED_VPCE, path)
    assert (reply.status, reply.json()) == (403, {"message": "Forbidden"})


def test_private_domain_root_mapping_takes_every_path(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN the API mapped at the root (no base path) WHEN /items/7 is called THEN the route is the whole path
    gateway.set_domains(registry(private_domain({"": (API_ID, "Prod")})))
    reply = domain_call(gateway, tls, ALLOWED_VPCE, "/items/7")
    assert (reply.status, reply.json()["resource"], reply.json()["path"]) == (200, "/items/{id}", "/items/7")


def test_private_domain_unknown_route_after_base_path_is_missing_token(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN a known base path and a resource the API lacks THEN as on the API's own host: Missing Authentication Token
    reply = domain_call(gateway, tls, ALLOWED_VPCE, "/v1/nothing")
    assert (reply.status, reply.json()) == (403, {"message": "Missing Authentication Token"})


def test_private_domain_unsigned_call_is_missing_authentication_token(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN an associated, allowed endpoint WHEN the call carries no signature THEN the AWS_IAM method refuses it
    reply = domain_call(gateway, tls, ALLOWED_VPCE, "/v1/items", creds=None)
    assert (reply.status, reply.json()) == (403, {"message": "Missing Authentication Token"})


def test_private_domain_signature_must_cover_the_domain_host(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN a request signed for the execute-api host but sent with the domain's Host THEN the signature fails
    reply = domain_call(gateway, tls, ALLOWED_VPCE, "/v1/items", sign_host=API_HOST)
    assert (reply.status, reply.headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")


def test_private_domain_mtls_path_keeps_its_explicit_deny(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN the API's Deny on /mtls for every endpoint but the certificate path's WHEN /v1/mtls/who is called
    reply = domain_call(gateway, tls, ALLOWED_VPCE, "/v1/mtls/who")
    # THEN the Deny holds through the domain, on the route path after the base path
    assert reply.status == 403
    assert reply.json()["Message"].endswith(
        f"{API_ID}/Prod/GET/mtls/who with an explicit deny in a resource-based policy"
    )


def test_private_domain_endpoint_policy_must_allow_the_domain_arn(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN the consumer's endpoint policy allowing only the API's ARN (the template before issue 17)
    api_only = {
        "Statement": [
            {
                "Sid": "InvokeProviderAPIOnly",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": f"arn:aws:execute-api:{REGION}:{PROVIDER}:{API_ID}/Prod/*",
            }
        ]
    }
    gateway.set_endpoint_policy(ALLOWED_VPCE, api_only)
    # WHEN the domain is called THEN the endpoint refuses the domain's ARN
    refused = domain_call(gateway, tls, ALLOWED_VPCE, "/v1/items")
    assert refused.status == 403
    assert refused.json()["Message"].endswith(
        f"on resource: {MASKED_DOMAIN_ARN} because no VPC endpoint policy allows the execute-api:Invoke action"
    )
    # AND once the policy also allows the domain's ARN (AWS's endpoint policy example 5) the call goes through
    api_arn = f"arn:aws:execute-api:{REGION}:{PROVIDER}:{API_ID}/Prod/*"
    both = {"Statement": [{**api_only["Statement"][0], "Resource": [api_arn, DOMAIN_EXECUTE_API_ARN]}]}
    gateway.set_endpoint_policy(ALLOWED_VPCE, both)
    assert domain_call(gateway, tls, ALLOWED_VPCE, "/v1/items").status == 200
    # AND the API's own host still needs only the API's ARN
    assert call_api_host(gateway, tls, ALLOWED_VPCE).status == 200


def test_private_domain_via_domain_arn_is_in_the_condition_context(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN an API policy that admits the role only when called through the domain (execute-api:viaDomainArn)
    deployment = gateway.deployment(API_ID)
    policy = api_policy()
    policy["Statement"][0]["Condition"] = {"ArnEquals": {"execute-api:viaDomainArn": DOMAIN_EXECUTE_API_ARN}}
    gateway.deploy(dataclasses.replace(deployment, resource_policy=policy))
    # THEN the domain call passes and the same call on the execute-api host finds no Allow
    assert domain_call(gateway, tls, ALLOWED_VPCE, "/v1/items").status == 200
    direct = call_api_host(gateway, tls, ALLOWED_VPCE)
    assert direct.status == 403
    assert direct.json()["Message"].endswith("because no resource-based policy allows the execute-api:Invoke action")


def call_api_host(gateway: Gateway, tls: TlsMaterial, vpce: str) -> Reply:
    """GET /Prod/items on the API's execute-api host through one endpoint, signed."""
    manager = urllib3.PoolManager(ca_certs=str(tls.ca_bundle), cert_reqs="CERT_REQUIRED", retries=False)
    try:
        return call(manager, gateway.url(vpce), path="/Prod/items", creds=CLIENT)
    finally:
        manager.clear()


def test_private_domain_leaves_the_execute_api_host_unchanged(gateway: Gateway, tls: TlsMaterial) -> None:
    # GIVEN the gateway serving a domain WHEN the API is called on its own host THEN the stage is in the path as before
    reply = call_api_host(gateway, tls, ALLOWED_VPCE)
    assert (reply.status, reply.json()["path"], reply.json()["domainName"]) == (200, "/items", API_HOST)
