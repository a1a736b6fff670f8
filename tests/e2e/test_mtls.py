"""The certificate path's /mtls routes in the two-account emulation, with mTLS at its default (off).

The routes are always in the definition (authorization NONE); DenyCertificatePathElsewhere (an explicit Deny with
no condition when mTLS is off) keeps every caller out, whatever it signs or forges. The IAM path is unchanged and
ignores forged certificate headers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cfnrender.render import load_template
from emulation.accounts.two_accounts import TwoAccounts
from tests.e2e.helpers import session_arn_prefix

REPO = Path(__file__).resolve().parents[2]
FORGED = {
    "X-Amzn-Mtls-Clientcert-Subject": "CN=tenant-a client,O=Tenant A",
    "X-Amzn-Mtls-Clientcert-Serial-Number": "01",
}
_BODY = load_template(REPO / "api-backend/api-backend.yaml")["Resources"]["BackendApi"]["Properties"]["DefinitionBody"]
pytestmark = pytest.mark.skipif(
    "/mtls/items" not in _BODY["paths"], reason="needs the provider template's /mtls routes (T1, issue 16)"
)
EXPLICIT_DENY = "with an explicit deny in a resource-based policy"


@pytest.mark.parametrize("path", ["/mtls", "/mtls/items"])
def test_mtls_route_unsigned_with_forged_headers_through_consumer_endpoint_is_explicitly_denied(
    env: TwoAccounts, path: str
) -> None:
    # GIVEN mTLS off WHEN an unsigned request with forged certificate headers goes through the consumer's endpoint
    reply = env.request("GET", path, headers=FORGED)
    # THEN the resource policy's explicit Deny answers before the backend runs
    assert reply.status == 403, reply.text
    assert reply.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert reply.json()["Message"].startswith("User: anonymous is not authorized")
    assert reply.json()["Message"].endswith(EXPLICIT_DENY)


def test_mtls_route_signed_iam_caller_is_explicitly_denied(env: TwoAccounts) -> None:
    # GIVEN the consumer's direct client credentials WHEN a signed request asks for /mtls/items
    reply = env.request("GET", "/mtls/items", credentials=env.lambda_credentials("main", "direct"), headers=FORGED)
    # THEN the route's authorization is NONE, so the caller is anonymous and meets the same explicit Deny
    assert reply.status == 403, reply.text
    assert reply.json()["Message"].endswith(EXPLICIT_DENY)


def test_iam_route_ignores_forged_certificate_headers(env: TwoAccounts) -> None:
    # GIVEN a signed IAM caller that also sends forged certificate headers WHEN it calls GET /
    credentials = env.lambda_credentials("main", "direct")
    reply = env.request("GET", "/", credentials=credentials, headers=FORGED)
    # THEN it is answered as its IAM session, exactly as without the headers
    assert reply.status == 200, reply.text
    assert reply.json()["userArn"].startswith(session_arn_prefix(env.names.client_role("main", "direct")))
