"""DynamoDB failures become 503 with the request id; the cause is logged, never returned."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

VALID_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
REQUEST_ID = "6f1c2e1a-0000-4000-8000-000000000001"  # requestContext.requestId of the shipped events


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/items", {"name": "x"}),
        ("GET", "/items", None),
        ("GET", f"/items/{VALID_ID}", None),
        ("PUT", f"/items/{VALID_ID}", {"name": "x", "version": 1}),
        ("DELETE", f"/items/{VALID_ID}", None),
    ],
)
def test_items_route_table_missing_returns_503_with_request_id(invoke, make_event, items_table, method, path, body):
    # GIVEN the table is gone (a real ResourceNotFoundException from DynamoDB)
    items_table.delete()

    # WHEN any items route runs
    response = invoke(make_event(method, path, body=body))

    # THEN 503 with a generic message and the request id to quote
    assert response.status == 503
    assert response.body == {"message": "The item store is unavailable; retry later", "requestId": REQUEST_ID}


def test_create_item_throttled_logs_cause_but_hides_it_from_caller(invoke, make_event, backend, caplog):
    # GIVEN DynamoDB answers the write with a throttling error (a genuine botocore ClientError)
    stubber = Stubber(backend.table.meta.client)
    stubber.add_client_error(
        "put_item",
        service_error_code="ProvisionedThroughputExceededException",
        service_message="Rate of requests exceeds the allowed throughput",
        http_status_code=400,
    )

    # WHEN an item is created
    with stubber:
        response = invoke(make_event("POST", "/items", body={"name": "x"}))

    # THEN the caller gets 503 without the DynamoDB details, which go to the log instead
    assert response.status == 503
    assert "ProvisionedThroughput" not in response.raw["body"]
    assert response.body["requestId"] == REQUEST_ID
    assert "ProvisionedThroughputExceededException" in caplog.text


def test_get_item_unreachable_endpoint_returns_503(invoke, make_event, backend, monkeypatch):
    # GIVEN the table is reached through an endpoint nothing listens on (as in a VPC without the DynamoDB route)
    unreachable = boto3.resource(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=0.5, read_timeout=0.5, retries={"mode": "standard", "max_attempts": 1}),
    ).Table(backend.table.name)
    monkeypatch.setattr(backend, "table", unreachable)

    # WHEN an item is read
    response = invoke(make_event("GET", f"/items/{VALID_ID}"))

    # THEN the connection error (a BotoCoreError, not a ClientError) is a 503 too
    assert response.status == 503
    assert response.body["requestId"] == REQUEST_ID


def test_unexpected_error_returns_500_with_request_id_only(invoke, make_event, backend, monkeypatch, caplog):
    # GIVEN a bug deep in the repository (patched where app.py looks it up)
    def broken(*_args: object) -> None:
        raise RuntimeError("bug: secret detail")

    monkeypatch.setattr(backend.repository, "get_item", broken)

    # WHEN the route runs
    response = invoke(make_event("GET", f"/items/{VALID_ID}"))

    # THEN 500 with the request id, the detail only in the log
    assert response.status == 500
    assert response.body == {"message": "Internal error", "requestId": REQUEST_ID}
    assert "bug: secret detail" in caplog.text
