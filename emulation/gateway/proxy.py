"""The REST API Lambda proxy contract: build the event API Gateway sends, read back the function's result."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from emulation.gateway.routes import RouteMatch
from iampolicy.authz import Principal


@dataclass(frozen=True)
class Invocation:
    """Everything about one request that ends up in the proxy event."""

    api_id: str
    api_account: str
    stage: str
    domain_name: str
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    route: RouteMatch
    principal: Principal
    source_ip: str
    vpce_id: str
    vpc_id: str
    request_id: str
    extended_request_id: str
    received_at: datetime
    event_path_prefix: str | None = None  # removed from the event's `path`; None: the stage ("/{stage}")


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's context object that handlers and Powertools read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int = 128
    function_version: str = "$LATEST"
    log_group_name: str = "/aws/lambda/emulated"
    log_stream_name: str = "emulated"

    def get_remaining_time_in_millis(self) -> int:
        """A generous constant: the emulation does not enforce Lambda timeouts."""
        return 30_000


@dataclass(frozen=True)
class ProxyResponse:
    """What API Gateway sends back for a proxy integration result."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


class MalformedProxyResponse(ValueError):
    """The function returned something API Gateway cannot turn into an HTTP response (a 502 on AWS)."""


def _multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return single, multi


def _body(raw: bytes) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def _identity(inv: Invocation) -> dict[str, Any]:
    principal = inv.principal
    user_agent = next((v for k, v in reversed(inv.headers) if k.lower() == "user-agent"), None)
    return {
        "cognitoIdentityPoolId": None,
        "cognitoIdentityId": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "accountId": principal.account,
        "caller": principal.user_id,
        "user": principal.user_id,
        "userArn": None if principal.is_anonymous else principal.arn,
        "accessKey": principal.access_key,
        "principalOrgId": principal.org_id,
        "sourceIp": inv.source_ip,
        "userAgent": user_agent,
        "vpceId": inv.vpce_id,
        "vpcId": inv.vpc_id,
    }


def _gateway_headers(inv: Invocation) -> list[tuple[str, str]]:
    # Headers API Gateway adds in front of a private API's integration.
    return [
        ("X-Amzn-Trace-Id", f"Root=1-{int(inv.received_at.timestamp()):08x}-{inv.request_id.replace('-', '')[:24]}"),
        ("X-Forwarded-For", inv.source_ip),
        ("x-amzn-vpce-id", inv.vpce_id),
    ]


def build_event(inv: Invocation) -> dict[str, Any]:
    """The REST API (payload 1.0) proxy event for one request."""
    split = urlsplit(inv.target)
    prefix = f"/{inv.stage}" if inv.event_path_prefix is None else inv.event_path_prefix
    raw_path = unquote(split.path)
    path = raw_path[len(prefix) :] or "/"
    header_pairs = [(k, v) for k, v in inv.headers if k.lower() != "host"] + [("Host", inv.domain_name)]
    header_pairs += _gateway_headers(inv)
    headers, multi_headers = _multi(header_pairs)
    query, multi_query = _multi(parse_qsl(split.query, keep_blank_values=True))
    body, is_base64 = _body(inv.body)
    resource = inv.route.route.resource
    return {
        "resource": resource,
        "path": path,
        "httpMethod": inv.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": inv.route.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": inv.api_id[:6],
            "resourcePath": resource,
            "httpMethod": inv.method,
            "extendedRequestId": inv.extended_request_id,
            "requestTime": inv.received_at.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(inv.received_at.timestamp() * 1000),
            "path": raw_path,
            "accountId": inv.api_account,
            "protocol": "HTTP/1.1",
            "stage": inv.stage,
            "domainPrefix": inv.domain_name.split(".", 1)[0],
            "requestId": inv.request_id,
            "identity": _identity(inv),
            "domainName": inv.domain_name,
            "apiId": inv.api_id,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _header_pairs(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise MalformedProxyResponse("headers and multiValueHeaders must be objects")
    # Like API Gateway, multiValueHeaders and headers merge; a name in both keeps the multi-value list.
    for name, values in multi.items():
        pairs += [(str(name), str(v)) for v in (values if isinstance(values, list) else [values])]
    lowered = {name.lower() for name in multi}
    pairs += [(str(name), str(value)) for name, value in single.items() if name.lower() not in lowered]
    return pairs


def read_result(result: Any) -> ProxyResponse:
    """Turn a proxy integration result into the HTTP response; raise MalformedProxyResponse like AWS's 502."""
    if not isinstance(result, Mapping):
        raise MalformedProxyResponse(f"result must be an object, got {type(result).__name__}")
    unknown = set(result) - {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded", "cookies"}
    if unknown:
        raise MalformedProxyResponse(f"unexpected keys {sorted(unknown)}")
    try:
        status = int(result.get("statusCode", 200))
    except (TypeError, ValueError) as error:
        raise MalformedProxyResponse("statusCode must be an integer") from error
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResponse("body must be a string")
    raw = (body or "").encode("utf-8")
    if result.get("isBase64Encoded") and body:
        raw = base64.b64decode(body)
    headers = _header_pairs(result)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return ProxyResponse(status=status, headers=tuple(headers), body=raw)


def json_body(payload: Mapping[str, Any]) -> bytes:
    """API Gateway's compact JSON for its own error bodies."""
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")
