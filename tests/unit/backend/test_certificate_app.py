"""The /mtls routes through the real handler on moto: the certificate checks in order, and tenant isolation."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

ENDPOINT = "vpce-0f1e2d3c4b5a69788"  # the provider's own endpoint in api-backend/events/mtls-*.json
SUBJECT = "CN=partner-a.example.com,O=Partner A,C=US"
OTHER_SUBJECT = "CN=partner-b.example.com,O=Partner B,C=US"
ALLOWED = f"partner-a:{SUBJECT};partner-b:{OTHER_SUBJECT}"
SUBJECT_HEADER = "X-Amzn-Mtls-Clientcert-Subject"


@pytest.fixture
def start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Callable[..., Any]]:
    """Cold-start the backend with the certificate path's environment, return its invoke."""

    def begin(endpoint: str = ENDPOINT, allowed: str = ALLOWED) -> Callable[..., Any]:
        monkeypatch.setenv("MTLS_ENDPOINT_ID", endpoint)
        monkeypatch.setenv("MTLS_ALLOWED_CLIENTS", allowed)
        return request.getfixturevalue("invoke")

    return begin


def _mtls(shipped_event, method: str, path: str, *, subject: str = SUBJECT, body: str | None = None) -> dict:
    """The shipped certificate event, re-aimed at `path` (under /mtls) with the given subject."""
    event = copy.deepcopy(shipped_event("mtls-whoami.json"))
    segments = path.strip("/").split("/")
    resource = "/mtls/items/{id}" if len(segments) == 3 else path
    event.update(httpMethod=method, path=path, resource=resource, body=body)
    event["pathParameters"] = {"id": segments[2]} if len(segments) == 3 else None
    event["requestContext"].update(httpMethod=method, resourcePath=resource, path=f"/Prod{path}")
    event["headers"][SUBJECT_HEADER] = subject
    event["multiValueHeaders"][SUBJECT_HEADER] = [subject]
    return event


def test_mtls_root_allowed_subject_returns_the_certificate_caller(start, shipped_event):
    # GIVEN the path enabled for the provider's endpoint and the shipped GET /mtls event of an allowed subject
    invoke = start()

    # WHEN the backend handles it
    response = invoke(shipped_event("mtls-whoami.json"))

    # THEN GET /mtls was routed to GET / (prefix stripped) and names the tenant and the certificate serial
    assert response.status == 200
    assert response.body["accountId"] == "cert:partner-a"
    assert response.body["userArn"] == "cert:partner-a/serial/5A1C0FFEE0DDF00D"
    assert response.body["vpceId"] == ENDPOINT


def test_mtls_list_items_shipped_event_returns_200(start, shipped_event):
    invoke = start()
    response = invoke(shipped_event("mtls-list-items.json"))
    assert response.status == 200
    assert response.body == {"items": [], "next": None}


def test_mtls_subject_not_allowed_returns_403_naming_it(start, shipped_event):
    # GIVEN a certificate the ALB verified whose subject is not on the allow-list
    invoke = start()
    event = _mtls(shipped_event, "GET", "/mtls/items", subject="CN=stranger,O=Elsewhere")

    # WHEN / THEN 403 naming the subject (the client's hint keys on "subject not allowed")
    response = invoke(event)
    assert response.status == 403
    assert response.body == {"message": "Certificate subject not allowed: CN=stranger,O=Elsewhere"}


@pytest.mark.parametrize("header", [SUBJECT_HEADER, "X-Amzn-Mtls-Clientcert-Serial-Number"])
def test_mtls_missing_header_returns_403_ambiguous(start, shipped_event, header):
    # GIVEN a request through the right endpoint without one of the ALB's headers
    invoke = start()
    event = shipped_event("mtls-list-items.json")
    del event["headers"][header]
    del event["multiValueHeaders"][header]

    # WHEN / THEN it is refused
    response = invoke(event)
    assert response.status == 403
    assert response.body == {"message": "Ambiguous client certificate headers"}


def test_mtls_duplicated_subject_forged_append_returns_403_ambiguous(start, shipped_event):
    # GIVEN the client's forged copy next to the ALB's own value (what an appending ALB would pass on)
    invoke = start()
    event = shipped_event("mtls-whoami.json")
    event["multiValueHeaders"][SUBJECT_HEADER] = [OTHER_SUBJECT, SUBJECT]
    event["headers"][SUBJECT_HEADER] = SUBJECT

    # WHEN / THEN neither value is believed
    response = invoke(event)
    assert response.status == 403
    assert response.body == {"message": "Ambiguous client certificate headers"}


def test_mtls_duplicated_subject_other_spelling_returns_403_ambiguous(start, shipped_event):
    # GIVEN the forged copy under a lower-case name (API Gateway keeps the two spellings apart)
    invoke = start()
    event = shipped_event("mtls-whoami.json")
    event["multiValueHeaders"][SUBJECT_HEADER.lower()] = [OTHER_SUBJECT]
    event["headers"][SUBJECT_HEADER.lower()] = OTHER_SUBJECT

    response = invoke(event)
    assert response.status == 403
    assert response.body == {"message": "Ambiguous client certificate headers"}


def test_mtls_wrong_vpce_returns_403_before_reading_headers(start, shipped_event):
    # GIVEN forged certificate headers arriving through a consumer's endpoint (the resource policy's job, checked again)
    invoke = start()
    event = shipped_event("mtls-whoami.json")
    event["requestContext"]["identity"]["vpceId"] = "vpce-0a1b2c3d4e5f60718"

    # WHEN / THEN refused for the endpoint
    response = invoke(event)
    assert response.status == 403
    assert response.body == {"message": "Certificate requests must arrive through the provider's load balancer"}


def test_mtls_path_disabled_returns_403_not_enabled(start, shipped_event):
    # GIVEN the certificate path switched off (the template sets MTLS_ENDPOINT_ID to '')
    invoke = start(endpoint="", allowed="")

    # WHEN / THEN every /mtls route is refused
    response = invoke(shipped_event("mtls-list-items.json"))
    assert response.status == 403
    assert response.body == {"message": "The certificate path is not enabled"}


def test_mtls_malformed_allow_list_answers_500_on_mtls_only(start, shipped_event):
    # GIVEN a malformed MTLS_ALLOWED_CLIENTS: the cold start must not fail
    invoke = start(allowed="partner-a CN=a")

    # WHEN a certificate request and an IAM request arrive
    refused = invoke(shipped_event("mtls-whoami.json"))
    served = invoke(shipped_event("whoami.json"))

    # THEN /mtls answers 500 (a deployment fault, logged at cold start) and the IAM path is unaffected
    assert refused.status == 500
    assert refused.body == {"message": "The certificate allow-list is misconfigured; see the function's log"}
    assert served.status == 200
    assert served.body["accountId"] == "222222222222"


def test_iam_route_ignores_certificate_headers(start, shipped_event, make_event):
    # GIVEN an IAM request carrying forged certificate headers
    invoke = start()
    event = make_event("GET", "/")
    event["headers"][SUBJECT_HEADER] = SUBJECT
    event["multiValueHeaders"][SUBJECT_HEADER] = [SUBJECT]

    # WHEN / THEN the caller is the IAM account, as before
    response = invoke(event)
    assert response.status == 200
    assert response.body["accountId"] == "222222222222"


def test_tenant_isolation_between_accounts_and_certificate_tenants(start, shipped_event, make_event):
    # GIVEN one item created by the IAM account and one by certificate tenant partner-a
    invoke = start()
    by_account = invoke(make_event("POST", "/items", body={"name": "account item"}))
    by_tenant = invoke(_mtls(shipped_event, "POST", "/mtls/items", body='{"name": "tenant item"}'))
    assert (by_account.status, by_tenant.status) == (201, 201)

    # WHEN each caller lists and reads the other's item, and a second tenant lists
    tenant_list = invoke(_mtls(shipped_event, "GET", "/mtls/items"))
    account_list = invoke(make_event("GET", "/items"))
    other_tenant_list = invoke(_mtls(shipped_event, "GET", "/mtls/items", subject=OTHER_SUBJECT))
    tenant_reads_account = invoke(_mtls(shipped_event, "GET", f"/mtls/items/{by_account.body['id']}"))
    account_reads_tenant = invoke(make_event("GET", f"/items/{by_tenant.body['id']}"))

    # THEN each sees only its own item, and the other's id is not found
    assert [item["id"] for item in tenant_list.body["items"]] == [by_tenant.body["id"]]
    assert [item["id"] for item in account_list.body["items"]] == [by_account.body["id"]]
    assert other_tenant_list.body["items"] == []
    assert (tenant_reads_account.status, account_reads_tenant.status) == (404, 404)
    assert by_tenant.body["createdBy"] == "cert:partner-a/serial/5A1C0FFEE0DDF00D"


@pytest.mark.parametrize(
    ("path", "resource"), [("/mtls", "/mtls"), ("/mtls/", "/mtls"), ("/mtls/items", "/mtls/items")]
)
def test_mtls_prefix_is_stripped_by_the_pinned_powertools(start, shipped_event, path, resource):
    # GIVEN /mtls requests as API Gateway passes them (path as sent, resource as matched)
    invoke = start()
    event = shipped_event("mtls-whoami.json")
    event.update(path=path, resource=resource)

    # WHEN the resolver (APIGatewayRestResolver(strip_prefixes=["/mtls"])) routes them
    response = invoke(event)

    # THEN they reach the IAM routes' handlers: GET / (who am I) or GET /items (a page of items), never the 404
    assert response.status == 200
    assert ("accountId" in response.body) == (path != "/mtls/items")
    assert ("items" in response.body) == (path == "/mtls/items")


def test_mtls_lookalike_prefix_is_not_stripped(start, shipped_event):
    # GIVEN a path that only starts with the letters of the prefix (no such route exists)
    invoke = start()
    event = shipped_event("mtls-whoami.json")
    event.update(path="/mtlsitems", resource="/mtlsitems")

    # WHEN / THEN it is not taken for /mtls + items: 404
    assert invoke(event).status == 404
