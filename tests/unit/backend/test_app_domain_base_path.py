"""Calls through the private custom domain name: API Gateway passes `path` with the base path (/v1/items) while
`resource` is the API's own (/items), so the backend strips DOMAIN_BASE_PATH (the template's /<base path>, or '')."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

BASE_PATH = "/v1"
DOMAIN = "orders.example.internal"


@pytest.fixture
def aws_env(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function's environment with the domain on and the base path v1 mapped (api-backend.yaml)."""
    monkeypatch.setenv("DOMAIN_BASE_PATH", BASE_PATH)


def _through_domain(event: dict[str, Any]) -> dict[str, Any]:
    """The same request as a domain call: the base path before the path, the domain as host, no stage in the URL."""
    event["path"] = BASE_PATH + event["path"].rstrip("/") if event["path"] != "/" else BASE_PATH
    event["headers"]["Host"] = DOMAIN
    context = event["requestContext"]
    context.update(path=event["path"], domainName=DOMAIN, domainPrefix=DOMAIN.split(".", 1)[0])
    return event


def test_domain_root_routes_to_who_am_i(invoke, make_event: Callable[..., dict[str, Any]], caller) -> None:
    # GIVEN GET / called as https://<domain>/v1 (path /v1, resource /)
    event = _through_domain(make_event("GET", "/"))
    # WHEN the handler routes it
    response = invoke(event)
    # THEN the base path is stripped and the caller's identity comes back
    assert response.status == 200, response.body
    assert response.body["userArn"] == caller["arn"]


def test_domain_items_create_then_list_and_get_route_without_the_base_path(
    invoke, make_event: Callable[..., dict[str, Any]]
) -> None:
    # GIVEN POST /v1/items through the domain (resource /items)
    created = invoke(_through_domain(make_event("POST", "/items", body={"name": "via domain"})))
    assert created.status == 201, created.body
    item_id = created.body["id"]
    # WHEN the item is read back through the domain, as a list and by id
    listed = invoke(_through_domain(make_event("GET", "/items")))
    fetched = invoke(_through_domain(make_event("GET", f"/items/{item_id}")))
    # THEN each request reached its route
    assert listed.status == 200, listed.body
    assert [item["id"] for item in listed.body["items"]] == [item_id]
    assert fetched.status == 200, fetched.body
    assert fetched.body["name"] == "via domain"


def test_domain_on_execute_api_path_still_routes(invoke, make_event: Callable[..., dict[str, Any]]) -> None:
    # GIVEN the domain on WHEN a call comes through the execute-api host (path /items, no base path)
    response = invoke(make_event("GET", "/items"))
    # THEN it routes as before: both hosts keep working
    assert response.status == 200, response.body


def test_domain_base_path_is_not_a_route_of_its_own(invoke, make_event: Callable[..., dict[str, Any]]) -> None:
    # GIVEN a path that only starts with the base path's letters (/v1items is not under /v1)
    event = make_event("GET", "/items")
    event["path"] = "/v1items"
    # WHEN the handler routes it
    response = invoke(event)
    # THEN nothing is stripped: 404 in the API's error shape
    assert response.status == 404, response.body
