"""The REST API Lambda proxy contract: event shape and result mapping."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from emulation.gateway.proxy import Invocation, MalformedProxyResponse, build_event, read_result
from emulation.gateway.routes import match_route, routes_from_openapi
from iampolicy.authz import Principal

ROUTES = routes_from_openapi({"paths": {"/items/{id}": {"get": {}, "put": {}}}})
CALLER = Principal(
    arn="arn:aws:sts::111111111111:assumed-role/client/fn",
    account="111111111111",
    user_id="AROACLIENT:fn",
    role_arn="arn:aws:iam::111111111111:role/client",
    org_id="o-abc",
    access_key="ASIAKEY",
)


def _invocation(target: str, method: str = "GET", body: bytes = b"") -> Invocation:
    route = match_route(ROUTES, target.split("?", maxsplit=1)[0].removeprefix("/Prod"), method)
    assert route is not None
    return Invocation(
        api_id="abc123defg",
        api_account="222222222222",
        stage="Prod",
        domain_name="abc123defg.execute-api.us-east-1.amazonaws.com",
        method=method,
        target=target,
        headers=(("Host", "ignored"), ("Accept", "a"), ("X-Multi", "1"), ("X-Multi", "2"), ("User-Agent", "ua/1")),
        body=body,
        route=route,
        principal=CALLER,
        source_ip="127.0.0.1",
        vpce_id="vpce-0allowed",
        vpc_id="vpc-0consumer",
        request_id="req-1",
        extended_request_id="ext-1",
        received_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_build_event_has_rest_proxy_shape_and_identity() -> None:
    # GIVEN a signed GET with a path parameter, a repeated query key and repeated headers
    event = build_event(_invocation("/Prod/items/a%20b?q=1&q=2&e="))
    # THEN the event carries the REST proxy fields, values decoded, multi-values kept
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/items/{id}", "/items/a b", "GET")
    assert event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"q": "2", "e": ""}
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"], "e": [""]}
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["headers"]["Host"] == "abc123defg.execute-api.us-east-1.amazonaws.com"
    assert (event["body"], event["isBase64Encoded"]) == (None, False)
    context = event["requestContext"]
    assert (context["stage"], context["path"], context["resourcePath"]) == ("Prod", "/Prod/items/a b", "/items/{id}")
    assert (context["accountId"], context["apiId"], context["requestId"]) == ("222222222222", "abc123defg", "req-1")
    assert context["identity"] == {
        "cognitoIdentityPoolId": None,
        "cognitoIdentityId": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "accountId": "111111111111",
        "caller": "AROACLIENT:fn",
        "user": "AROACLIENT:fn",
        "userArn": CALLER.arn,
        "accessKey": "ASIAKEY",
        "principalOrgId": "o-abc",
        "sourceIp": "127.0.0.1",
        "userAgent": "ua/1",
        "vpceId": "vpce-0allowed",
        "vpcId": "vpc-0consumer",
    }


def test_build_event_without_query_has_null_query_fields() -> None:
    # GIVEN a request without a query string WHEN the event is built THEN the query fields are null, as on AWS
    event = build_event(_invocation("/Prod/items/1"))
    assert (event["queryStringParameters"], event["multiValueQueryStringParameters"]) == (None, None)


def test_build_event_binary_body_is_base64_encoded() -> None:
    # GIVEN a body that is not UTF-8 WHEN the event is built THEN it travels base64-encoded and flagged
    event = build_event(_invocation("/Prod/items/1", method="PUT", body=b"\xff\x00"))
    assert (event["body"], event["isBase64Encoded"]) == (base64.b64encode(b"\xff\x00").decode(), True)


def test_read_result_maps_status_headers_and_body() -> None:
    # GIVEN a proxy result with single and multi-value headers WHEN read
    response = read_result(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-One": "a"},
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
            "body": '{"ok":true}',
        }
    )
    # THEN status, every header value and the body come through
    assert response.status == 201
    assert set(response.headers) == {
        ("Content-Type", "application/json"),
        ("X-One", "a"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
    }
    assert response.body == b'{"ok":true}'


def test_read_result_base64_body_is_decoded() -> None:
    # GIVEN a base64-encoded result body WHEN read THEN the raw bytes are sent
    result = {"statusCode": 200, "body": base64.b64encode(b"\x01\x02").decode(), "isBase64Encoded": True}
    assert read_result(result).body == b"\x01\x02"


@pytest.mark.parametrize(
    "result",
    [None, "text", {"statusCode": "abc"}, {"statusCode": 200, "body": {"a": 1}}, {"statusCode": 200, "extra": 1}],
)
def test_read_result_malformed_result_is_rejected(result: object) -> None:
    # GIVEN something API Gateway cannot map WHEN read THEN it is malformed (API Gateway answers 502)
    with pytest.raises(MalformedProxyResponse):
        read_result(result)
