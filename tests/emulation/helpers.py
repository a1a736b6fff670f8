"""Helpers for the emulation tests: an independent SigV4 signer, an HTTPS caller, in-memory credentials."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulation.gateway.pipeline import Callbacks
from emulation.gateway.sigv4 import SigningCredentials
from iampolicy.authz import Principal

REGION = "us-east-1"
PROVIDER = "222222222222"
CONSUMER = "111111111111"
OTHER = "333333333333"
API_ID = "abc123defg"
API_HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"


@dataclass(frozen=True)
class Reply:
    """An HTTP reply as a test reads it."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


def project_policy(principals: list[str], allowed_endpoints: list[str]) -> dict[str, Any]:
    """The resource policy shape the backend template renders: listed principals, other endpoints denied."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AllowAccessList",
                "Effect": "Allow",
                "Principal": {"AWS": principals},
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
            },
            {
                "Sid": "DenyOtherEndpoints",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
                "Condition": {"StringNotEquals": {"aws:SourceVpce": allowed_endpoints}},
            },
        ],
    }


def sign(
    *,
    method: str,
    url: str,
    creds: SigningCredentials,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    service: str = "execute-api",
    region: str = REGION,
) -> dict[str, str]:
    """Headers signed by botocore's SigV4Auth directly (not our client code): the independent signer."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials(creds.access_key, creds.secret_key, creds.token), service, region).add_auth(request)
    return dict(request.headers.items())


def call(
    manager: urllib3.PoolManager,
    base_url: str,
    *,
    method: str = "GET",
    path: str = "/Prod/items",
    host: str = API_HOST,
    creds: SigningCredentials | None = None,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    sign_host: str | None = None,
) -> Reply:
    """Send one request to a listener with the API's Host header, signed when creds are given."""
    sent = {"Host": host, **(headers or {})}
    if creds is not None:
        signed = sign(method=method, url=f"https://{sign_host or host}{path}", creds=creds, body=body, headers=sent)
        sent = {**signed, "Host": host}
    response = manager.request(method, base_url + path, body=body or None, headers=sent)
    return Reply(response.status, dict(response.headers), response.data)


class StaticCredentials:
    """In-memory credential store and principal directory for tests that do not need moto."""

    def __init__(self) -> None:
        self.secrets: dict[str, SigningCredentials] = {}
        self.principals: dict[str, Principal] = {}
        self.policies: dict[str, list[dict[str, Any]]] = {}

    def add(self, principal: Principal, creds: SigningCredentials, policies: list[dict[str, Any]]) -> None:
        """Register an access key, its owner and the owner's identity policies."""
        self.secrets[creds.access_key] = creds
        self.principals[creds.access_key] = principal
        self.policies[principal.arn] = policies

    def callbacks(self) -> Callbacks:
        """The gateway's three lookups over this store."""
        return Callbacks(
            credentials=self.secrets.get,
            principals=self.principals.get,
            identity_policies=lambda p: self.policies.get(p.arn, []),
        )


def account_client(service: str, account: str, moto_url: str) -> Any:
    """A boto3 client acting in one emulated account (moto reads the x-moto-account-id header)."""
    # boto3-stubs type client() for literal service names only; this helper serves any service.
    client = boto3.client(  # type: ignore[call-overload]
        service,
        region_name=REGION,
        endpoint_url=moto_url,
        aws_access_key_id="AKIDBOOTSTRAP",
        aws_secret_access_key="bootstrap",
    )

    def add_account(request: AWSRequest, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign", add_account)
    return client
