"""Methods with authorization NONE (the certificate path's /mtls routes): no SigV4, policies still decide."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from emulation.gateway.pipeline import ApiDeployment, Endpoint
from emulation.gateway.routes import AWS_IAM, NONE, routes_from_openapi
from emulation.gateway.server import Gateway
from emulation.gateway.tls import TlsMaterial
from tests.emulation.helpers import API_ID, CONSUMER, PROVIDER, REGION, StaticCredentials, call, project_policy

CONSUMER_VPCE = "vpce-0c0000000000000c1"
MTLS_VPCE = "vpce-0d0000000000000d1"  # the provider's own endpoint, where the load balancer forwards
CLIENT_ROLE = f"arn:aws:iam::{CONSUMER}:role/direct-client-role"
SIGV4_SCHEME = {"in": "header", "type": "apiKey", "name": "Authorization", "x-amazon-apigateway-authtype": "awsSigv4"}
# What SAM renders for DefaultAuthorizer AWS_IAM plus per-event `Authorizer: NONE, OverrideApiAuth: true`
# (checked with samtranslator: the NONE method gets `security: [{"NONE": []}]`, a name with no scheme).
OPENAPI = {
    "openapi": "3.0.1",
    "paths": {
        "/items": {"get": {"security": [{"AWS_IAM": []}]}},
        "/mtls/items": {"get": {"security": [{"NONE": []}]}},
    },
    "components": {"securitySchemes": {"AWS_IAM": SIGV4_SCHEME}},
}
MTLS_RESOURCES = ["execute-api:/*/*/mtls", "execute-api:/*/*/mtls/*"]


def mtls_policy() -> dict[str, Any]:
    """The design's resource policy with the certificate path on: /mtls admitted only through MTLS_VPCE."""
    policy = project_policy([CLIENT_ROLE], [CONSUMER_VPCE, MTLS_VPCE])
    policy["Statement"] += [
        {
            "Sid": "AllowCertificatePath",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": MTLS_RESOURCES,
            "Condition": {"StringEquals": {"aws:SourceVpce": MTLS_VPCE}},
        },
        {
            "Sid": "DenyCertificatePathElsewhere",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": MTLS_RESOURCES,
            "Condition": {"StringNotEquals": {"aws:SourceVpce": MTLS_VPCE}},
        },
    ]
    return policy


def echo_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A stand-in backend that shows the identity and the headers it received."""
    body = {"identity": event["requestContext"]["identity"], "headers": event["multiValueHeaders"]}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


@pytest.fixture
def gateway(tls: TlsMaterial) -> Iterator[Gateway]:
    """A gateway with a consumer endpoint and the provider's own endpoint, the API deployed with mTLS on."""
    deployment = ApiDeployment(
        api_id=API_ID,
        account=PROVIDER,
        region=REGION,
        stage="Prod",
        openapi=OPENAPI,
        resource_policy=mtls_policy(),
        handler=echo_handler,
        vpc_endpoint_ids=(CONSUMER_VPCE,),
    )
    endpoints = [Endpoint(CONSUMER_VPCE, "vpc-0consumer"), Endpoint(MTLS_VPCE, "vpc-0provider")]
    with Gateway(endpoints=endpoints, apis=[deployment], callbacks=StaticCredentials().callbacks(), tls=tls) as gw:
        yield gw


def test_routes_from_openapi_sam_none_override_is_none_and_default_is_aws_iam() -> None:
    # GIVEN SAM's rendering of AWS_IAM by default and NONE on one method WHEN the route table is built
    routes = {route.resource: route for route in routes_from_openapi(OPENAPI)}
    # THEN each method carries the authorization its security entry names
    assert routes["/items"].authorization_of("GET") == AWS_IAM
    assert routes["/mtls/items"].authorization_of("GET") == NONE


def test_routes_from_openapi_top_level_security_applies_to_methods_without_their_own() -> None:
    # GIVEN a definition whose top-level security is SigV4 and one method that opts out with an empty list
    definition = {
        "security": [{"sigv4": []}],
        "components": {"securitySchemes": {"sigv4": SIGV4_SCHEME}},
        "paths": {"/a": {"get": {}, "post": {"security": []}}},
    }
    # WHEN the route table is built
    (route,) = routes_from_openapi(definition)
    # THEN the method inherits SigV4 and the empty list means no authorization
    assert (route.authorization_of("GET"), route.authorization_of("POST")) == (AWS_IAM, NONE)


def test_gateway_none_method_through_allowed_endpoint_reaches_backend_anonymous(
    gateway: Gateway, http: urllib3.PoolManager
) -> None:
    # GIVEN an unsigned request WHEN it calls the NONE method through the provider's own endpoint
    reply = call(http, gateway.url(MTLS_VPCE), path="/Prod/mtls/items")
    # THEN the resource policy's Allow to "*" admits it and the backend sees an anonymous caller on that endpoint
    assert reply.status == 200
    identity = reply.json()["identity"]
    assert (identity["userArn"], identity["accountId"], identity["vpceId"]) == (None, None, MTLS_VPCE)


def test_gateway_none_method_ignores_a_bad_signature(gateway: Gateway, http: urllib3.PoolManager) -> None:
    # GIVEN a request with an Authorization header no key signed WHEN it calls the NONE method
    headers = {"Authorization": "AWS4-HMAC-SHA256 Credential=ASIAFORGED/20260101/us-east-1/execute-api/aws4_request"}
    reply = call(http, gateway.url(MTLS_VPCE), path="/Prod/mtls/items", headers=headers)
    # THEN nothing is verified (API Gateway does not authenticate a NONE method): the caller is still anonymous
    assert (reply.status, reply.json()["identity"]["userArn"]) == (200, None)


def test_gateway_none_method_through_consumer_endpoint_meets_explicit_deny(
    gateway: Gateway, http: urllib3.PoolManager
) -> None:
    # GIVEN forged certificate headers WHEN sent unsigned to the NONE method through a consumer's endpoint
    headers = {"X-Amzn-Mtls-Clientcert-Subject": "CN=forged"}
    reply = call(http, gateway.url(CONSUMER_VPCE), path="/Prod/mtls/items", headers=headers)
    # THEN the explicit Deny wins over the Allow to "*" and the backend never runs
    assert reply.status == 403
    assert reply.json() == {
        "Message": f"User: anonymous is not authorized to perform: execute-api:Invoke on resource: "
        f"arn:aws:execute-api:{REGION}:********2222:{API_ID}/Prod/GET/mtls/items "
        "with an explicit deny in a resource-based policy"
    }


def test_gateway_none_method_without_resource_allow_is_denied(tls: TlsMaterial, http: urllib3.PoolManager) -> None:
    # GIVEN the API deployed without the certificate path's Allow to "*" (the template with mTLS off)
    deployment = ApiDeployment(
        api_id=API_ID,
        account=PROVIDER,
        region=REGION,
        stage="Prod",
        openapi=OPENAPI,
        resource_policy=project_policy([CLIENT_ROLE], [CONSUMER_VPCE]),
        handler=echo_handler,
    )
    endpoints = [Endpoint(CONSUMER_VPCE, "vpc-0consumer")]
    with Gateway(endpoints=endpoints, apis=[deployment], callbacks=StaticCredentials().callbacks(), tls=tls) as gw:
        # WHEN an unsigned request calls the NONE method through the listed endpoint
        reply = call(http, gw.url(CONSUMER_VPCE), path="/Prod/mtls/items")
    # THEN no policy grants an anonymous caller: refused, backend not run
    assert reply.status == 403
    assert reply.json()["Message"].endswith("because no resource-based policy allows the execute-api:Invoke action")


def test_gateway_none_method_endpoint_policy_still_applies(gateway: Gateway, http: urllib3.PoolManager) -> None:
    # GIVEN the provider's endpoint with a policy that allows only signed principals of the consumer account
    only_consumer = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{CONSUMER}:root"},
                "Action": "execute-api:Invoke",
                "Resource": "*",
            }
        ]
    }
    gateway.set_endpoint_policy(MTLS_VPCE, only_consumer)
    # WHEN an unsigned request calls the NONE method through it
    reply = call(http, gateway.url(MTLS_VPCE), path="/Prod/mtls/items")
    # THEN the endpoint policy refuses the anonymous caller before the resource policy is read
    assert reply.status == 403
    assert reply.json()["Message"].endswith("because no VPC endpoint policy allows the execute-api:Invoke action")


def test_gateway_iam_method_unsigned_through_mtls_endpoint_is_missing_token(
    gateway: Gateway, http: urllib3.PoolManager
) -> None:
    # GIVEN the provider's own endpoint (admitted by the resource policy) WHEN an unsigned call hits an IAM method
    reply = call(http, gateway.url(MTLS_VPCE), path="/Prod/items")
    # THEN AWS_IAM still stops it: the certificate path opens nothing else
    assert (reply.status, reply.json()) == (403, {"message": "Missing Authentication Token"})
