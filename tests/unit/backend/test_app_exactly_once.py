"""Writes happen once: Idempotency-Key replays, a DynamoDB retry that meets its own write, input errors are 400."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from backend import repository
from backend.errors import BadRequestError
from backend.identity import Caller
from backend.validation import ItemFields
from tests.unit.backend.conftest import FakeLambdaContext

REQUEST_ID = "6f1c2e1a-0000-4000-8000-000000000001"  # requestContext.requestId of the shipped events
OTHER_ACCOUNT = "999999999999"


def _with_key(event: dict[str, Any], key: str) -> dict[str, Any]:
    event["headers"] = {**(event.get("headers") or {}), "Idempotency-Key": key}
    event["multiValueHeaders"] = {**(event.get("multiValueHeaders") or {}), "Idempotency-Key": [key]}
    return event


def _stored(items_table: Any) -> list[dict[str, Any]]:
    return items_table.scan()["Items"]


# ---------------------------------------------------------------------------------------------- Idempotency-Key
def test_create_item_same_idempotency_key_and_body_returns_the_first_answer_and_stores_one_item(
    invoke, make_event, items_table
):
    # GIVEN a create sent with an Idempotency-Key
    first = invoke(_with_key(make_event("POST", "/items", body={"name": "once"}), "key-1"))
    # WHEN the same request is sent again with the same key
    again = invoke(_with_key(make_event("POST", "/items", body={"name": "once"}), "key-1"))
    # THEN the first answer comes back (same status and body) and the table holds one item
    assert first.status == 201
    assert (again.status, again.body) == (first.status, first.body)
    assert [item["sk"] for item in _stored(items_table)] == [first.body["id"]]


def test_create_item_same_idempotency_key_other_body_is_422_and_nothing_more_is_stored(invoke, make_event, items_table):
    # GIVEN a create sent with an Idempotency-Key
    first = invoke(_with_key(make_event("POST", "/items", body={"name": "first"}), "key-2"))
    # WHEN another body is sent with the same key
    other = invoke(_with_key(make_event("POST", "/items", body={"name": "second"}), "key-2"))
    # THEN 422 says the key was used for a different request, and only the first item exists
    assert other.status == 422
    assert "Idempotency-Key" in other.body["message"]
    assert "different request" in other.body["message"]
    assert [item["name"] for item in _stored(items_table)] == ["first"]
    assert first.status == 201


def test_create_item_same_idempotency_key_from_another_account_never_sees_the_first_answer(
    invoke, make_event, items_table
):
    # GIVEN one account's create with a key
    mine = invoke(_with_key(make_event("POST", "/items", body={"name": "tenant"}), "shared-key"))
    # WHEN another account sends the same key and body
    other = make_event("POST", "/items", body={"name": "tenant"}, account=OTHER_ACCOUNT)
    theirs = invoke(_with_key(other, "shared-key"))
    # THEN each gets its own item: the key is scoped to the caller's account
    assert (mine.status, theirs.status) == (201, 201)
    assert mine.body["id"] != theirs.body["id"]
    assert theirs.body["createdByAccount"] == OTHER_ACCOUNT
    assert len(_stored(items_table)) == 2


def test_create_item_same_idempotency_key_while_first_in_progress_is_409(invoke, make_event, backend, monkeypatch):
    # GIVEN a create whose DynamoDB write is still running when the same keyed request arrives
    event = _with_key(make_event("POST", "/items", body={"name": "racing"}), "key-3")
    overlapping = []
    real_create = backend.repository.create_item

    def create_while_repeated(*args: Any, **kwargs: Any) -> dict[str, Any]:
        overlapping.append(invoke(event))  # the repeat arrives mid-request
        return real_create(*args, **kwargs)

    monkeypatch.setattr(backend.repository, "create_item", create_while_repeated)
    # WHEN the first request completes
    first = invoke(event)
    # THEN the overlapping repeat was refused with 409 (retry later), the first succeeded
    assert first.status == 201
    (repeat,) = overlapping
    assert repeat.status == 409
    assert "in progress" in repeat.body["message"]


def test_create_item_without_idempotency_key_twice_stores_two_items(invoke, make_event, items_table):
    # GIVEN no Idempotency-Key WHEN the same create is sent twice THEN two items exist (nothing is deduplicated)
    statuses = [invoke(make_event("POST", "/items", body={"name": "twice"})).status for _ in range(2)]
    assert statuses == [201, 201]
    assert len(_stored(items_table)) == 2


def test_delete_item_same_idempotency_key_again_returns_204_again(invoke, make_event, items_table):
    # GIVEN an item deleted with an Idempotency-Key (a client retry after a lost answer carries the same key)
    item = invoke(make_event("POST", "/items", body={"name": "gone"})).body
    first = invoke(_with_key(make_event("DELETE", f"/items/{item['id']}"), "del-1"))
    # WHEN the delete is sent again with the same key
    again = invoke(_with_key(make_event("DELETE", f"/items/{item['id']}"), "del-1"))
    # THEN the first answer (204) comes back, not a 404 for the request's own earlier delete
    assert (first.status, again.status) == (204, 204)
    assert _stored(items_table) == []


def test_replace_item_same_idempotency_key_again_returns_the_first_200(invoke, make_event, items_table):
    # GIVEN an item replaced once with an Idempotency-Key
    item = invoke(make_event("POST", "/items", body={"name": "v1"})).body
    replace = {"name": "v2", "version": 1}
    first = invoke(_with_key(make_event("PUT", f"/items/{item['id']}", body=replace), "put-1"))
    # WHEN the same replace is sent again with the same key
    again = invoke(_with_key(make_event("PUT", f"/items/{item['id']}", body=replace), "put-1"))
    # THEN it answers the first 200 (version 2) instead of a 409 against its own write
    assert (first.status, again.status) == (200, 200)
    assert again.body == first.body
    assert [int(i["version"]) for i in _stored(items_table)] == [2]


def test_replace_item_same_idempotency_key_other_body_is_409_and_keeps_the_first(invoke, make_event, items_table):
    # GIVEN an item replaced once with an Idempotency-Key
    item = invoke(make_event("POST", "/items", body={"name": "v1"})).body
    first = invoke(_with_key(make_event("PUT", f"/items/{item['id']}", body={"name": "v2", "version": 1}), "put-2"))
    # WHEN the key is reused for another replace of the same version
    other = invoke(_with_key(make_event("PUT", f"/items/{item['id']}", body={"name": "v3", "version": 1}), "put-2"))
    # THEN it is not taken for a repeat: a 409 naming the current version, and the first replace stays
    assert (first.status, other.status) == (200, 409)
    assert other.body["currentVersion"] == 2
    assert [(i["name"], int(i["version"])) for i in _stored(items_table)] == [("v2", 2)]


# ---------------------------------------------------------------------------------------------- own earlier write
def test_replace_item_condition_failed_on_own_write_returns_the_stored_item(backend, items_table, caller):
    # GIVEN an item this request already replaced (version 2, its token stored with it)
    owner = Caller(caller["account"], caller["arn"])
    created = repository.create_item(items_table, owner, ItemFields("v1", "", []), token="create-1")
    first = repository.replace_item(items_table, owner, created["id"], ItemFields("v2", "", []), 1, token="put-1")
    # WHEN the same replace runs again (as the SDK's retry would) and its condition fails
    again = repository.replace_item(items_table, owner, created["id"], ItemFields("v2", "", []), 1, token="put-1")
    # THEN it is recognised as this request's own write
    assert again == first
    assert again["version"] == 2


def test_replace_item_condition_failed_on_someone_elses_write_is_still_409(backend, items_table, caller):
    # GIVEN an item replaced by another request (another token)
    owner = Caller(caller["account"], caller["arn"])
    created = repository.create_item(items_table, owner, ItemFields("v1", "", []), token="create-2")
    repository.replace_item(items_table, owner, created["id"], ItemFields("theirs", "", []), 1, token="other")
    # WHEN this request replaces version 1
    with pytest.raises(repository.ConflictError) as raised:
        repository.replace_item(items_table, owner, created["id"], ItemFields("mine", "", []), 1, token="mine")
    # THEN it is a conflict naming the current version
    assert raised.value.extra["currentVersion"] == 2


# ---------------------------------------------------------------------------------------------- retry budget
def test_create_item_with_too_little_time_left_answers_503_without_calling_dynamodb(
    invoke, make_event, backend, items_table
):
    # GIVEN an invocation with less time left than one DynamoDB attempt can take (connect 2 s + read 3 s)
    event = make_event("POST", "/items", body={"name": "late"})
    # WHEN it runs
    raw = backend.handler(event, FakeLambdaContext(remaining_ms=1_500))
    # THEN the backend answers its own 503 with the request id, and nothing was written
    assert raw["statusCode"] == 503
    assert json.loads(raw["body"])["requestId"] == REQUEST_ID
    assert _stored(items_table) == []


def test_boto_config_counts_three_attempts_in_total(backend):
    # GIVEN the backend's DynamoDB client WHEN its retry settings are read THEN attempts are counted in total
    retries = backend.table.meta.client.meta.config.retries
    assert retries["total_max_attempts"] == 3


# ---------------------------------------------------------------------------------------------- input errors
def test_create_item_dynamodb_validation_exception_is_400_not_503(backend, items_table):
    # GIVEN a write DynamoDB itself refuses because of its values (an empty key value: a real moto answer)
    nobody = Caller("", "arn:aws:iam::111122223333:role/x")
    # WHEN it is stored THEN it is the caller's error (400), not a retryable store outage
    with pytest.raises(BadRequestError) as raised:
        repository.create_item(items_table, nobody, ItemFields("x", "", []), token="t")
    assert "DynamoDB refused" in raised.value.message


def test_create_item_validation_exception_answers_400_with_clear_message(invoke, make_event, backend):
    # GIVEN DynamoDB answering the write with a ValidationException
    stubber = Stubber(backend.table.meta.client)
    stubber.add_client_error(
        "put_item",
        service_error_code="ValidationException",
        service_message="Item size has exceeded the maximum allowed size",
        http_status_code=400,
    )
    # WHEN an item is created
    with stubber:
        response = invoke(make_event("POST", "/items", body={"name": "x"}))
    # THEN 400 says DynamoDB refused the values, with no retry invitation and without DynamoDB's own text
    assert response.status == 400
    assert response.body["message"] == repository.REFUSED_BY_STORE
    assert "Item size" not in json.dumps(response.body)
