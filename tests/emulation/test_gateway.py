"""The emulated private API Gateway over real HTTPS on 127.0.0.1, one listener per VPC endpoint."""

from __future__ import annotations

import dataclasses
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from emulation.gateway.access_log import AccessLog
from emulation.gateway.pipeline import ApiDeployment, Endpoint
from emulation.gateway.server import Gateway
from emulation.gateway.sigv4 import SigningCredentials
from emulation.gateway.tls import TlsMaterial
from emulation.lambdas.sandbox import FunctionError, InvokeResult
from iampolicy.authz import Principal
from tests.emulation.helpers import (
    API_HOST,
    API_ID,
    CONSUMER,
    PROVIDER,
    REGION,
    StaticCredentials,
    call,
    project_policy,
)

ALLOWED_VPCE = "vpce-0a11000000000a11d"  # hexadecimal, as EC2 makes endpoint ids (the alias parser holds to it)
OTHER_VPCE = "vpce-0b0000000000000e2"
CLIENT_ROLE = f"arn:aws:iam::{CONSUMER}:role/direct-client-role"
UNLISTED_ROLE = f"arn:aws:iam::{CONSUMER}:role/unlisted-role"
ACCESS_ROLE = f"arn:aws:iam::{PROVIDER}:role/api-access-role"
INVOKE_ANY = {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}
LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "status": "$context.status",
        "caller": "$context.identity.userArn",
        "vpce": "$context.identity.vpceId",
        "responseType": "$context.error.responseType",
        "authorizeError": "$context.authorize.error",
        "resourcePath": "$context.resourcePath",
    }
)
OPENAPI = {
    "openapi": "3.0.1",
    "paths": {
        "/items": {"get": {}, "post": {}},
        "/items/{id}": {"get": {}, "put": {}, "delete": {}},
        "/boom": {"get": {}},
        "/slow": {"get": {}},
    },
}


def _session(role_arn: str, key: str) -> tuple[Principal, SigningCredentials]:
    account = role_arn.split(":")[4]
    name = role_arn.rsplit("/", 1)[1]
    principal = Principal(
        arn=f"arn:aws:sts::{account}:assumed-role/{name}/fn",
        account=account,
        user_id=f"AROA{name.upper()[:8]}:fn",
        role_arn=role_arn,
        access_key=key,
    )
    return principal, SigningCredentials(key, f"secret-{key}", f"token-{key}")


def echo_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A stand-in backend that shows what it received."""
    if event["resource"] == "/boom":
        raise RuntimeError("backend failed")
    if event["resource"] == "/slow":
        # What the sandbox pool raises when Lambda stops the function at its timeout.
        error = {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 10.00 seconds"}
        raise FunctionError(InvokeResult("backend", context.aws_request_id, None, error, False, None, 10_000.0))
    body = {
        "resource": event["resource"],
        "path": event["path"],
        "pathParameters": event["pathParameters"],
        "query": event["queryStringParameters"],
        "body": event["body"],
        "identity": event["requestContext"]["identity"],
        "function": context.function_name,
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


@pytest.fixture
def store() -> StaticCredentials:
    """Three callers: the listed consumer role, an unlisted consumer role, the provider's access role."""
    store = StaticCredentials()
    for role, key in ((CLIENT_ROLE, "ASIACLIENT"), (UNLISTED_ROLE, "ASIAUNLISTED"), (ACCESS_ROLE, "ASIAACCESS")):
        principal, creds = _session(role, key)
        store.add(principal, creds, [INVOKE_ANY])
    return store


@pytest.fixture
def access_log(tmp_path: Path) -> AccessLog:
    """The API's access log in the template's JSON style."""
    return AccessLog(LOG_FORMAT, tmp_path / "access.log")


@pytest.fixture
def gateway(tls: TlsMaterial, store: StaticCredentials, access_log: AccessLog) -> Iterator[Gateway]:
    """A running gateway with two endpoints and the API deployed allowing only ALLOWED_VPCE."""
    deployment = ApiDeployment(
        api_id=API_ID,
        account=PROVIDER,
        region=REGION,
        stage="Prod",
        openapi=OPENAPI,
        resource_policy=project_policy([CLIENT_ROLE], [ALLOWED_VPCE]),
        handler=echo_handler,
        vpc_endpoint_ids=(ALLOWED_VPCE,),
        access_log=access_log,
    )
    endpoints = [Endpoint(ALLOWED_VPCE, "vpc-0consumer"), Endpoint(OTHER_VPCE, "vpc-0consumer")]
    with Gateway(endpoints=endpoints, apis=[deployment], callbacks=store.callbacks(), tls=tls) as running:
        yield running


def _creds(store: StaticCredentials, key: str) -> SigningCredentials:
    return store.secrets[key]


def test_gateway_listed_role_through_allowed_endpoint_reaches_backend(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN the consumer role listed in the resource policy
    # WHEN it calls GET /items/42 through the allowed endpoint, signed by botocore
    reply = call(http, gateway.url(ALLOWED_VPCE), path="/Prod/items/42?x=1", creds=_creds(store, "ASIACLIENT"))
    # THEN the backend runs and sees the caller and the endpoint in the proxy event
    assert reply.status == 200
    body = reply.json()
    assert (body["resource"], body["path"], body["pathParameters"], body["query"]) == (
        "/items/{id}",
        "/items/42",
        {"id": "42"},
        {"x": "1"},
    )
    identity = body["identity"]
    assert (identity["accountId"], identity["userArn"], identity["vpceId"], identity["accessKey"]) == (
        CONSUMER,
        f"arn:aws:sts::{CONSUMER}:assumed-role/direct-client-role/fn",
        ALLOWED_VPCE,
        "ASIACLIENT",
    )
    assert reply.headers["x-amzn-RequestId"]


def test_gateway_post_body_reaches_backend(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN a signed POST with a JSON body WHEN sent THEN the backend receives the body unchanged
    payload = b'{"name":"widget"}'
    reply = call(
        http,
        gateway.url(ALLOWED_VPCE),
        method="POST",
        path="/Prod/items",
        body=payload,
        headers={"Content-Type": "application/json"},
        creds=_creds(store, "ASIACLIENT"),
    )
    assert (reply.status, reply.json()["body"]) == (200, payload.decode())


def test_gateway_unsigned_request_is_missing_authentication_token(gateway: Gateway, http: urllib3.PoolManager) -> None:
    # GIVEN no signature WHEN an existing method is called THEN API Gateway's Missing Authentication Token comes back
    reply = call(http, gateway.url(ALLOWED_VPCE), path="/Prod/items")
    assert (reply.status, reply.json()) == (403, {"message": "Missing Authentication Token"})
    assert reply.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_gateway_unlisted_role_is_denied_by_resource_policy(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN a consumer role with an identity Allow but not in the resource policy
    # WHEN it calls through the allowed endpoint
    reply = call(http, gateway.url(ALLOWED_VPCE), path="/Prod/items", creds=_creds(store, "ASIAUNLISTED"))
    # THEN cross-account needs both sides: refused for lack of a resource-policy Allow
    assert reply.status == 403
    assert reply.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert reply.json() == {
        "Message": f"User: arn:aws:sts::{CONSUMER}:assumed-role/unlisted-role/fn is not authorized to perform: "
        f"execute-api:Invoke on resource: arn:aws:execute-api:{REGION}:********2222:{API_ID}/Prod/GET/items "
        "because no resource-based policy allows the execute-api:Invoke action"
    }


def test_gateway_listed_role_through_other_endpoint_meets_explicit_deny(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN the listed role WHEN it calls through an endpoint the policy does not allow
    reply = call(http, gateway.url(OTHER_VPCE), path="/Prod/items", creds=_creds(store, "ASIACLIENT"))
    # THEN the resource policy's Deny wins
    assert reply.status == 403
    assert reply.json()["Message"].endswith(f"{API_ID}/Prod/GET/items with an explicit deny in a resource-based policy")


def test_gateway_same_account_role_needs_only_its_identity_allow(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN the provider's access role: not in the resource policy, but same account with an identity Allow
    # WHEN it calls through the allowed endpoint THEN one Allow suffices within the account
    reply = call(http, gateway.url(ALLOWED_VPCE), path="/Prod/items", creds=_creds(store, "ASIAACCESS"))
    assert (reply.status, reply.json()["identity"]["accountId"]) == (200, PROVIDER)


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/Dev/items"), ("DELETE", "/Prod/items"), ("GET", "/Prod/nothing"), ("GET", "/")],
)
def test_gateway_wrong_stage_path_or_method_is_missing_authentication_token(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials, method: str, path: str
) -> None:
    # GIVEN a signed request for a stage, path or method the API does not have
    reply = call(http, gateway.url(ALLOWED_VPCE), method=method, path=path, creds=_creds(store, "ASIACLIENT"))
    # THEN API Gateway answers as for a missing token
    assert (reply.status, reply.json()) == (403, {"message": "Missing Authentication Token"})


def test_gateway_unknown_api_host_is_forbidden(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN a Host naming an API that is not deployed WHEN called THEN the endpoint answers Forbidden
    reply = call(
        http,
        gateway.url(ALLOWED_VPCE),
        host=f"zzz999.execute-api.{REGION}.amazonaws.com",
        creds=_creds(store, "ASIACLIENT"),
    )
    assert (reply.status, reply.json(), reply.headers["x-amzn-ErrorType"]) == (
        403,
        {"message": "Forbidden"},
        "ForbiddenException",
    )


def test_gateway_wrong_secret_is_invalid_signature(gateway: Gateway, http: urllib3.PoolManager) -> None:
    # GIVEN a known key signed with the wrong secret WHEN called THEN API Gateway's signature mismatch comes back
    bad = SigningCredentials("ASIACLIENT", "not-the-secret", "token-ASIACLIENT")
    reply = call(http, gateway.url(ALLOWED_VPCE), creds=bad)
    assert (reply.status, reply.headers["x-amzn-ErrorType"]) == (403, "InvalidSignatureException")
    assert reply.json()["message"].startswith("The request signature we calculated does not match")


def test_gateway_unknown_key_is_invalid_security_token(gateway: Gateway, http: urllib3.PoolManager) -> None:
    # GIVEN a key nobody issued WHEN called THEN the security token is invalid
    reply = call(http, gateway.url(ALLOWED_VPCE), creds=SigningCredentials("ASIANOBODY", "x", "y"))
    assert (reply.status, reply.json(), reply.headers["x-amzn-ErrorType"]) == (
        403,
        {"message": "The security token included in the request is invalid."},
        "UnrecognizedClientException",
    )


def test_gateway_new_deployment_changes_policy_without_restart(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN the listed role is denied through the other endpoint
    url = gateway.url(OTHER_VPCE)
    assert call(http, url, creds=_creds(store, "ASIACLIENT")).status == 403
    # WHEN a new deployment allows that endpoint too
    current = gateway.deployment(API_ID)
    gateway.deploy(
        dataclasses.replace(current, resource_policy=project_policy([CLIENT_ROLE], [ALLOWED_VPCE, OTHER_VPCE]))
    )
    # THEN the same listener lets the role in
    assert call(http, url, creds=_creds(store, "ASIACLIENT")).status == 200


def test_gateway_endpoint_policy_change_applies_to_the_next_request(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN an endpoint policy that only allows another API
    other_api = f"arn:aws:execute-api:{REGION}:{PROVIDER}:otherapi/*"
    policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "execute-api:*", "Resource": other_api}]}
    gateway.set_endpoint_policy(ALLOWED_VPCE, policy)
    # WHEN the listed role calls through that endpoint
    reply = call(http, gateway.url(ALLOWED_VPCE), creds=_creds(store, "ASIACLIENT"))
    # THEN the endpoint policy refuses it before the API's own policy is consulted
    assert reply.status == 403
    assert reply.json()["Message"].endswith("because no VPC endpoint policy allows the execute-api:Invoke action")


def test_gateway_vpce_alias_host_works_for_a_listed_endpoint(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN the {api-id}-{vpce-id} alias of an endpoint the API lists WHEN called through that endpoint
    alias = f"{API_ID}-{ALLOWED_VPCE}.execute-api.{REGION}.amazonaws.com"
    reply = call(http, gateway.url(ALLOWED_VPCE), host=alias, creds=_creds(store, "ASIACLIENT"))
    # THEN the API answers
    assert reply.status == 200


def test_gateway_vpce_alias_of_unlisted_endpoint_is_forbidden(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN the alias for an endpoint the API does not list (the DNS name would not exist on AWS)
    alias = f"{API_ID}-{OTHER_VPCE}.execute-api.{REGION}.amazonaws.com"
    # WHEN used THEN the gateway does not route it
    reply = call(http, gateway.url(OTHER_VPCE), host=alias, creds=_creds(store, "ASIACLIENT"))
    assert (reply.status, reply.json()) == (403, {"message": "Forbidden"})


def test_gateway_api_id_header_with_endpoint_host_selects_the_api(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN the endpoint's own DNS name as Host and x-apigw-api-id, signed for the API's host
    endpoint_host = f"{ALLOWED_VPCE}-abcd1234.execute-api.{REGION}.vpce.amazonaws.com"
    reply = call(
        http,
        gateway.url(ALLOWED_VPCE),
        host=endpoint_host,
        sign_host=API_HOST,
        headers={"x-apigw-api-id": API_ID},
        creds=_creds(store, "ASIACLIENT"),
    )
    # THEN the header selects the API
    assert reply.status == 200


def test_gateway_backend_exception_is_502_internal_server_error(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN a backend that raises WHEN its route is called THEN API Gateway's 502 comes back
    reply = call(http, gateway.url(ALLOWED_VPCE), path="/Prod/boom", creds=_creds(store, "ASIACLIENT"))
    assert (reply.status, reply.json()) == (502, {"message": "Internal server error"})


def test_gateway_backend_timed_out_is_502_internal_server_error_without_the_functions_error(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials
) -> None:
    # GIVEN a backend that Lambda stopped at its timeout WHEN its route is called
    reply = call(http, gateway.url(ALLOWED_VPCE), path="/Prod/slow", creds=_creds(store, "ASIACLIENT"))
    # THEN API Gateway's generic 502 comes back; the function's timeout message never reaches the caller
    assert (reply.status, reply.json()) == (502, {"message": "Internal server error"})
    assert b"timed out" not in reply.body


def test_gateway_writes_one_access_log_line_per_request(
    gateway: Gateway, http: urllib3.PoolManager, store: StaticCredentials, access_log: AccessLog
) -> None:
    # GIVEN an allowed and a denied call
    call(http, gateway.url(ALLOWED_VPCE), path="/Prod/items/7", creds=_creds(store, "ASIACLIENT"))
    call(http, gateway.url(OTHER_VPCE), path="/Prod/items", creds=_creds(store, "ASIACLIENT"))
    # WHEN the access log is read THEN each call has a line in the API's format with its outcome
    first, second = (json.loads(line) for line in access_log.lines)
    assert (first["status"], first["resourcePath"], first["vpce"], first["responseType"]) == (
        "200",
        "/items/{id}",
        ALLOWED_VPCE,
        "-",
    )
    assert (second["status"], second["vpce"], second["responseType"]) == ("403", OTHER_VPCE, "ACCESS_DENIED")
    assert second["authorizeError"].endswith("with an explicit deny in a resource-based policy")
    assert second["caller"] == f"arn:aws:sts::{CONSUMER}:assumed-role/direct-client-role/fn"
    assert access_log.path is not None
    assert len(access_log.path.read_text(encoding="utf-8").splitlines()) == 2


def test_gateway_counts_new_connections_per_listener(
    gateway: Gateway, tls: TlsMaterial, store: StaticCredentials
) -> None:
    # GIVEN one keep-alive client making two calls, then a second client making one
    first = urllib3.PoolManager(ca_certs=str(tls.ca_bundle), retries=False)
    second = urllib3.PoolManager(ca_certs=str(tls.ca_bundle), retries=False)
    url = gateway.url(ALLOWED_VPCE)
    for manager in (first, first, second):
        assert call(manager, url, creds=_creds(store, "ASIACLIENT")).status == 200
    # WHEN the listener's counters are read THEN reused connections count once
    stats = gateway.stats(ALLOWED_VPCE)
    assert (stats.connections, stats.requests) == (2, 3)
    assert gateway.stats(OTHER_VPCE).connections == 0
    first.clear()
    second.clear()


def test_gateway_stop_leaves_nothing_listening(tls: TlsMaterial, store: StaticCredentials) -> None:
    # GIVEN a gateway with two listeners
    endpoints = [Endpoint(ALLOWED_VPCE, "vpc-1"), Endpoint(OTHER_VPCE, "vpc-1")]
    with Gateway(endpoints=endpoints, apis=[], callbacks=store.callbacks(), tls=tls) as running:
        ports = [running.stats(e.vpce_id).port for e in endpoints]
    # WHEN it has stopped THEN no port accepts connections
    for port in ports:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
