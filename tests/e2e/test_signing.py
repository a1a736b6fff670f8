"""The gateway's SigV4 verification accepts a request signed by botocore itself, not by the project's client."""

from __future__ import annotations

from dataclasses import replace

from emulation.accounts import TwoAccounts
from tests.e2e.helpers import session_arn_prefix


def test_gateway_request_signed_by_botocore_answers_200_with_caller(env: TwoAccounts) -> None:
    # GIVEN credentials of the main direct client's execution role
    credentials = env.lambda_credentials("main", "direct")
    # WHEN a request signed by botocore's SigV4Auth goes through the main endpoint
    reply = env.request("GET", "/", credentials=credentials)
    # THEN the gateway accepts it and the backend sees that role's session
    assert reply.status == 200, reply.text
    assert reply.json()["userArn"].startswith(session_arn_prefix(env.names.client_role("main", "direct")))
    assert reply.json()["accessKey"] == credentials.access_key


def test_gateway_request_signed_by_botocore_with_body_creates_item(env: TwoAccounts) -> None:
    # GIVEN credentials of the access role's session (same account as the API)
    credentials = env.role_credentials(env.names.access_role_arn, "botocore-signer")
    # WHEN botocore signs a POST with a JSON body
    body = b'{"name": "signed by botocore"}'
    reply = env.request(
        "POST", "/items", credentials=credentials, body=body, headers={"Content-Type": "application/json"}
    )
    # THEN the item is created as that session
    assert reply.status == 201, reply.text
    assert reply.json()["createdBy"] == f"{session_arn_prefix(env.names.access_role_arn)}botocore-signer"


def test_gateway_request_signed_with_wrong_secret_answers_signature_mismatch(env: TwoAccounts) -> None:
    # GIVEN a real access key with a wrong secret
    credentials = replace(env.lambda_credentials("main", "direct"), secret_key="not-the-secret")
    # WHEN botocore signs with it
    reply = env.request("GET", "/", credentials=credentials)
    # THEN the gateway answers API Gateway's signature mismatch
    assert reply.status == 403
    assert reply.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert reply.json()["message"].startswith("The request signature we calculated does not match")
