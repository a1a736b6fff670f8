"""The gateway's SigV4 verification accepts a request signed by botocore itself, not by the project's client."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulation.accounts.two_accounts import PROVIDER, HttpReply, TwoAccounts
from tests.e2e.helpers import session_arn_prefix

_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)


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


def _signed_headers(env: TwoAccounts, body: bytes, content_sha256: str) -> dict[str, str]:
    """Headers botocore's SigV4Auth signs for a POST /items whose X-Amz-Content-Sha256 is `content_sha256`."""
    credentials = env.role_credentials(env.names.access_role_arn, "payload-signer")
    host = env.names.api_host
    request = AWSRequest(
        method="POST",
        url=f"https://{host}/{env.provider.api().stage}/items",  # type: ignore[union-attr]
        data=body,
        headers={"Host": host, "Content-Type": "application/json", "X-Amz-Content-Sha256": content_sha256},
    )
    # botocore signs the header's value as the payload hash when the header is present (S3's way).
    SigV4Auth(
        Credentials(credentials.access_key, credentials.secret_key, credentials.token), "execute-api", env.region
    ).add_auth(request)
    return dict(request.headers.items())


def _stored_names(env: TwoAccounts) -> set[str]:
    table = env.client("dynamodb", PROVIDER)
    items = table.scan(TableName=env.names.table_name)["Items"]
    return {item["name"]["S"] for item in items if "name" in item}


def _assert_generic_mismatch(reply: HttpReply) -> None:
    assert reply.status == 403, reply.text
    assert reply.headers["x-amzn-ErrorType"] == "InvalidSignatureException"
    assert reply.json()["message"].startswith(_MISMATCH), reply.json()["message"]
    assert "The provided 'x-amz-content-sha256' header" not in reply.json()["message"]  # S3's wording


def test_gateway_unsigned_payload_with_swapped_body_answers_signature_mismatch_and_stores_nothing(
    env: TwoAccounts,
) -> None:
    # GIVEN a POST signed with X-Amz-Content-Sha256: UNSIGNED-PAYLOAD (S3's option, not execute-api's)
    headers = _signed_headers(env, b'{"name": "signed body"}', "UNSIGNED-PAYLOAD")
    # WHEN the body is swapped after signing
    reply = env.request("POST", "/items", body=b'{"name": "swapped after signing"}', headers=headers)
    # THEN API Gateway's generic signature mismatch, and the swapped item is not stored
    _assert_generic_mismatch(reply)
    assert "swapped after signing" not in _stored_names(env)


def test_gateway_unsigned_payload_with_unchanged_body_answers_signature_mismatch(env: TwoAccounts) -> None:
    # GIVEN a POST signed with UNSIGNED-PAYLOAD and sent with the body it was built with
    body = b'{"name": "unsigned payload"}'
    headers = _signed_headers(env, body, "UNSIGNED-PAYLOAD")
    # WHEN it reaches the gateway, which hashes the body it received
    reply = env.request("POST", "/items", body=body, headers=headers)
    # THEN the signature does not match (execute-api has no unsigned-payload mode)
    _assert_generic_mismatch(reply)
    assert "unsigned payload" not in _stored_names(env)


def test_gateway_content_sha256_of_another_body_answers_generic_signature_mismatch(env: TwoAccounts) -> None:
    # GIVEN a POST whose X-Amz-Content-Sha256 is the digest of the body it was signed with
    signed = b'{"name": "digest signed"}'
    headers = _signed_headers(env, signed, hashlib.sha256(signed).hexdigest())
    # WHEN another body is sent under that header
    reply = env.request("POST", "/items", body=b'{"name": "digest swapped"}', headers=headers)
    # THEN API Gateway's generic mismatch, not S3's x-amz-content-sha256 wording
    _assert_generic_mismatch(reply)
    assert "digest swapped" not in _stored_names(env)


def test_gateway_content_sha256_matching_the_body_is_accepted(env: TwoAccounts) -> None:
    # GIVEN a POST whose X-Amz-Content-Sha256 is the digest of the body sent
    body = b'{"name": "digest matches"}'
    headers = _signed_headers(env, body, hashlib.sha256(body).hexdigest())
    # WHEN it is sent unchanged
    reply = env.request("POST", "/items", body=body, headers=headers)
    # THEN the item is created
    assert reply.status == 201, reply.text
    assert "digest matches" in _stored_names(env)
