"""Injected faults through the whole path, with the table read afterwards: no write is lost or duplicated.

The real clients run in their Lambda sandboxes and connect to a fault proxy in front of the gateway (API_ENDPOINT
points at it; TLS and SigV4 are unchanged, the API host is still what is signed). DynamoDB faults come from the same
proxy between the real backend and emulated DynamoDB. What each fault must produce follows HTTP semantics and the
client's contract: idempotent methods (GET, PUT, DELETE) and writes carrying an Idempotency-Key (the clients key every
POST, PUT and DELETE) are retried a bounded number of times (3 attempts): the backend applies a keyed write once and
answers a repeat with the first answer; every failure comes back as a result with `error` and `hint`.

Unit tests already cover the pieces in isolation (tests/unit/client/test_retries.py: retry and timeout rules against
a local HTTP server; test_credentials.py: one AssumeRole per credential lifetime, refresh near expiry, STS denied or
unreachable; tests/unit/backend/test_app_store_failures.py: DynamoDB errors become 503). These tests add the whole
path and the table's contents.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
from moto.sts.models import sts_backends

from backend.ids import new_item_id
from emulation.accounts.two_accounts import CONSUMER, MAIN, PROVIDER, HttpReply, TwoAccounts
from emulation.lambdas.sandbox import InvokeResult
from tests.security.conftest import Caller, Deployment
from tests.security.faults import FaultProxy

SLOW_TIMEOUT = {"API_TIMEOUT": "1"}


@pytest.fixture(scope="module", autouse=True)
def allowed(deployment: Deployment) -> None:
    """The main direct role listed, the main endpoint allowed, the consumer account trusted by the access role."""
    deployment.use("single", pTrustedPrincipals=CONSUMER)


@pytest.fixture(scope="module")
def gateway_proxy(env: TwoAccounts, allowed: None) -> Iterator[FaultProxy]:
    """A TLS proxy in front of the main endpoint's listener (same certificate: it serves the same names)."""
    assert env.tls is not None
    with FaultProxy(env.endpoint_url(MAIN), tls=env.tls.server_context, ca_bundle=env.tls.ca_bundle) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def dynamodb_proxy(env: TwoAccounts) -> Iterator[FaultProxy]:
    """A proxy in front of emulated DynamoDB."""
    with FaultProxy(env.moto_url) as proxy:
        yield proxy


@contextmanager
def backend_through(env: TwoAccounts, proxy: FaultProxy) -> Iterator[None]:
    """Backend sandboxes started inside the block reach DynamoDB through `proxy` (its endpoint is read at start)."""
    with env.backend_dynamodb_through(proxy.url):
        yield


def _client(
    env: TwoAccounts, proxy: FaultProxy, event: dict[str, Any], *, kind: str = "direct", **extra: str
) -> InvokeResult:
    result = env.invoke_client(kind, event, env={"API_ENDPOINT": proxy.url, **extra})
    assert result.error is None, result.error  # the handler itself never fails: failures are results
    return result


def _items_named(env: TwoAccounts, name: str, owner: str = CONSUMER) -> list[dict[str, Any]]:
    """What the provider's table holds for `name` in the owner's partition (read with the table's own client)."""
    dynamodb = env.client("dynamodb", PROVIDER)
    pages = dynamodb.get_paginator("query").paginate(
        TableName=env.names.table_name,
        KeyConditionExpression="pk = :owner",
        ExpressionAttributeValues={":owner": {"S": owner}},
    )
    return [item for page in pages for item in page["Items"] if item["name"]["S"] == name]


def _create(env: TwoAccounts, caller: Caller, name: str) -> dict[str, Any]:
    reply = env.request("POST", "/items", credentials=caller.credentials(), body=f'{{"name": "{name}"}}'.encode())
    assert reply.status == 201, reply.text
    return dict(reply.json())


def _create_reply(env: TwoAccounts, caller: Caller, name: str, headers: dict[str, str] | None = None) -> HttpReply:
    body = f'{{"name": "{name}"}}'.encode()
    return env.request("POST", "/items", credentials=caller.credentials(), body=body, headers=headers)


def _closed_port() -> int:
    # A port the OS just handed out and that nothing listens on any more: connecting is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _unique(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:8]}"


# ---------------------------------------------------------------------------------------------- API 5xx
def test_fault_get_answered_503_twice_is_retried_and_third_attempt_succeeds(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN a gateway that answers 503 to the next two requests
    with gateway_proxy.script(["status-before:503", "status-before:503"]):
        # WHEN the direct client lists items
        result = _client(env, gateway_proxy, {"path": "/items"})
        attempts = gateway_proxy.count("GET /Prod/items")
    # THEN the third attempt's answer is returned
    assert result.status == 200, result.payload
    assert "items" in result.json()
    assert attempts == 3


def test_fault_get_answered_503_always_stops_after_three_attempts_with_hint(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN a gateway that keeps answering 503
    with gateway_proxy.script(["status-before:503"] * 10):
        # WHEN the direct client lists items
        result = _client(env, gateway_proxy, {"path": "/items"})
        attempts = gateway_proxy.count("GET /Prod/items")
    # THEN it gives up after three attempts and explains
    assert result.status == 503
    assert result.payload["error"].endswith("answered 503 after 3 attempts")
    assert "backend failed" in result.payload["hint"]
    assert attempts == 3


def test_fault_post_answered_502_after_the_write_is_retried_with_its_key_and_item_exists_once(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN a gateway whose answer to the next request is lost and replaced by 502 after the backend wrote the item
    name = _unique("post-502-after")
    with gateway_proxy.script(["status-after:502"]):
        # WHEN the direct client creates an item
        result = _client(env, gateway_proxy, {"method": "POST", "path": "/items", "body": {"name": name}})
        attempts = gateway_proxy.count("POST /Prod/items")
    # THEN the POST was sent again with the same key and answered with the item the first one stored, stored once
    assert result.status == 201, result.payload
    assert attempts == 2
    (stored,) = _items_named(env, name)
    assert result.json()["id"] == stored["sk"]["S"]


def test_fault_post_answered_503_before_the_backend_is_retried_with_its_key_and_item_exists_once(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN a gateway that refuses the next request with 503 before it reaches the backend
    name = _unique("post-503-before")
    with gateway_proxy.script(["status-before:503"]):
        # WHEN the direct client creates an item
        result = _client(env, gateway_proxy, {"method": "POST", "path": "/items", "body": {"name": name}})
        attempts = gateway_proxy.count("POST /Prod/items")
    # THEN the keyed POST is sent again and creates the item, once
    assert result.status == 201, result.payload
    assert attempts == 2
    assert len(_items_named(env, name)) == 1


# ---------------------------------------------------------------------------------------------- API 429
def test_fault_get_throttled_429_is_retried_after_backoff_and_succeeds(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN a gateway that throttles the next request
    with gateway_proxy.script(["status-before:429"]):
        # WHEN the direct client lists items
        result = _client(env, gateway_proxy, {"path": "/items"})
        attempts = gateway_proxy.count("GET /Prod/items")
    # THEN the second attempt succeeds
    assert result.status == 200, result.payload
    assert attempts == 2


def test_fault_post_throttled_429_is_retried_with_its_key_and_item_exists_once(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN a gateway that throttles the next request (API Gateway throttles before the integration runs)
    name = _unique("post-429")
    with gateway_proxy.script(["status-before:429"]):
        # WHEN the direct client creates an item
        result = _client(env, gateway_proxy, {"method": "POST", "path": "/items", "body": {"name": name}})
        attempts = gateway_proxy.count("POST /Prod/items")
    # THEN the keyed POST is sent again after a backoff and creates the item, once
    assert result.status == 201, result.payload
    assert attempts == 2
    assert len(_items_named(env, name)) == 1


# ---------------------------------------------------------------------------------------------- slow answers
@pytest.fixture
def warm_backend(env: TwoAccounts, callers: dict[str, Caller]) -> None:
    """A warm backend sandbox: a cold start (after a DynamoDB fault test recycled the backend, or in a fresh session)
    inside the retried attempt would outlast the 1-second client timeout too, and add a third attempt."""
    assert env.request("GET", "/", credentials=callers["main-direct"].credentials()).status == 200


@pytest.mark.usefixtures("warm_backend")
def test_fault_get_slower_than_timeout_is_retried_and_succeeds(env: TwoAccounts, gateway_proxy: FaultProxy) -> None:
    # GIVEN a 1-second client timeout and a first answer held back for 2 seconds
    with gateway_proxy.script(["slow-after:2"]):
        # WHEN the direct client lists items
        result = _client(env, gateway_proxy, {"path": "/items"}, **SLOW_TIMEOUT)
        attempts = gateway_proxy.count("GET /Prod/items")
    # THEN the first attempt times out and the second answers
    assert result.status == 200, result.payload
    assert attempts == 2


@pytest.mark.usefixtures("warm_backend")
def test_fault_post_slower_than_timeout_is_retried_with_its_key_and_answered_with_the_first_item(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN a 1-second client timeout and an answer held back for 2 seconds after the backend wrote the item
    name = _unique("post-slow")
    with gateway_proxy.script(["slow-after:2"]):
        # WHEN the direct client creates an item
        result = _client(
            env, gateway_proxy, {"method": "POST", "path": "/items", "body": {"name": name}}, **SLOW_TIMEOUT
        )
        attempts = gateway_proxy.count("POST /Prod/items")
    # THEN the retry with the same key gets the first request's answer: the item exists once
    assert result.status == 201, result.payload
    assert attempts == 2
    (stored,) = _items_named(env, name)
    assert result.json()["id"] == stored["sk"]["S"]


# ---------------------------------------------------------------------------------------------- connection reset
def test_fault_post_connection_reset_after_the_write_is_retried_with_its_key_and_item_exists_once(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN a connection reset after the backend wrote the item, before the answer
    name = _unique("post-reset")
    with gateway_proxy.script(["reset-after"]):
        # WHEN the direct client creates an item
        result = _client(env, gateway_proxy, {"method": "POST", "path": "/items", "body": {"name": name}})
        attempts = gateway_proxy.count("POST /Prod/items")
    # THEN the keyed POST is sent again and answered with the first request's item: it exists exactly once
    assert result.status == 201, result.payload
    assert attempts == 2
    (stored,) = _items_named(env, name)
    assert result.json()["id"] == stored["sk"]["S"]


def test_fault_get_connection_reset_before_forwarding_is_retried_and_succeeds(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN a connection reset on the next request
    with gateway_proxy.script(["reset-before"]):
        # WHEN the direct client lists items
        result = _client(env, gateway_proxy, {"path": "/items"})
        attempts = gateway_proxy.count("GET /Prod/items")
    # THEN the second attempt answers
    assert result.status == 200, result.payload
    assert attempts == 2


def test_fault_put_reset_after_applying_is_retried_with_its_key_answered_200_and_applied_once(
    env: TwoAccounts, gateway_proxy: FaultProxy, callers: dict[str, Caller]
) -> None:
    # GIVEN an item at version 1 and a connection reset after the backend applied the next request
    item = _create(env, callers["main-direct"], _unique("put-reset"))
    renamed = _unique("put-reset-renamed")
    with gateway_proxy.script(["reset-after"]):
        # WHEN the direct client replaces it (PUT is idempotent, so the client retries)
        event = {"method": "PUT", "path": f"/items/{item['id']}", "body": {"name": renamed, "version": 1}}
        result = _client(env, gateway_proxy, event)
        attempts = gateway_proxy.count(f"PUT /Prod/items/{item['id']}")
    # THEN the retry (same key) gets the first attempt's answer, not a 409 against its own write: applied once
    assert attempts == 2
    assert result.status == 200, result.payload
    assert result.json()["version"] == 2
    (stored,) = _items_named(env, renamed)
    assert stored["version"]["N"] == "2"


def test_fault_delete_reset_after_applying_is_retried_with_its_key_and_answered_204(
    env: TwoAccounts, gateway_proxy: FaultProxy, callers: dict[str, Caller]
) -> None:
    # GIVEN an item and a connection reset after the backend deleted it
    name = _unique("delete-reset")
    item = _create(env, callers["main-direct"], name)
    with gateway_proxy.script(["reset-after"]):
        # WHEN the direct client deletes it (the client retries)
        result = _client(env, gateway_proxy, {"method": "DELETE", "path": f"/items/{item['id']}"})
        attempts = gateway_proxy.count(f"DELETE /Prod/items/{item['id']}")
    # THEN the retry (same key) gets the first attempt's 204, not a 404 for its own delete
    assert attempts == 2
    assert result.status == 204, result.payload
    assert _items_named(env, name) == []


# ---------------------------------------------------------------------------------------------- DynamoDB
def test_fault_dynamodb_put_throttled_once_is_retried_by_sdk_and_item_exists_once(
    env: TwoAccounts, dynamodb_proxy: FaultProxy, callers: dict[str, Caller]
) -> None:
    # GIVEN DynamoDB throttling the backend's next PutItem
    name = _unique("ddb-throttled-once")
    with backend_through(env, dynamodb_proxy), dynamodb_proxy.script(["throttle"], operation="PutItem"):
        # WHEN an item is created through the gateway
        reply = env.request(
            "POST", "/items", credentials=callers["main-direct"].credentials(), body=f'{{"name": "{name}"}}'.encode()
        )
        puts = dynamodb_proxy.count("PutItem")
    # THEN the SDK's bounded retry absorbs it: 201, two PutItem calls, one item
    assert reply.status == 201, reply.text
    assert puts == 2
    assert len(_items_named(env, name)) == 1


def test_fault_dynamodb_put_throttled_always_answers_503_with_request_id_and_nothing_written(
    env: TwoAccounts, dynamodb_proxy: FaultProxy, callers: dict[str, Caller]
) -> None:
    # GIVEN DynamoDB throttling every PutItem
    name = _unique("ddb-throttled")
    with backend_through(env, dynamodb_proxy), dynamodb_proxy.script(["throttle"] * 10, operation="PutItem"):
        # WHEN an item is created through the gateway
        reply = env.request(
            "POST", "/items", credentials=callers["main-direct"].credentials(), body=f'{{"name": "{name}"}}'.encode()
        )
        puts = dynamodb_proxy.count("PutItem")
        logs = env.function_logs("backend")
    # THEN 503 with only a message and the request id (the cause stays in the log), after a bounded 3 attempts
    # (botocore's retries={"max_attempts": 2} counts retries: 1 call + 2 retries)
    assert reply.status == 503
    body = reply.json()
    assert body["message"] == "The item store is unavailable; retry later"
    assert body["requestId"] == reply.headers["x-amzn-RequestId"]
    assert "Provisioned" not in reply.text
    assert puts == 3
    assert any("DynamoDB request failed" in line and "ProvisionedThroughputExceeded" in line for line in logs)
    assert _items_named(env, name) == []


def test_fault_dynamodb_conditional_check_stale_put_answers_409_and_table_is_unchanged(
    env: TwoAccounts, callers: dict[str, Caller]
) -> None:
    # GIVEN an item already replaced once (now at version 2)
    caller = callers["main-direct"]
    name = _unique("stale")
    item = _create(env, caller, name)
    first = env.request(
        "PUT",
        f"/items/{item['id']}",
        credentials=caller.credentials(),
        body=f'{{"name":"{name}","version":1}}'.encode(),
    )
    assert first.status == 200, first.text
    # WHEN a replace still carrying version 1 arrives (DynamoDB's condition check fails)
    stale = env.request(
        "PUT", f"/items/{item['id']}", credentials=caller.credentials(), body=b'{"name":"lost update","version":1}'
    )
    # THEN 409 names the current version, and the table keeps version 2 with the first replace's fields
    assert stale.status == 409
    assert stale.json()["currentVersion"] == 2
    (stored,) = _items_named(env, name)
    assert stored["version"]["N"] == "2"
    assert _items_named(env, "lost update") == []


def test_fault_concurrent_puts_with_same_version_one_wins_one_409_applied_once(
    env: TwoAccounts, callers: dict[str, Caller]
) -> None:
    # GIVEN an item at version 1 and two writers that both read version 1
    caller = callers["main-direct"]
    item = _create(env, caller, _unique("race"))
    names = [_unique("race-a"), _unique("race-b")]
    start = threading.Barrier(2)

    def replace(name: str) -> int:
        body = f'{{"name": "{name}", "version": 1}}'.encode()
        start.wait()
        return env.request("PUT", f"/items/{item['id']}", credentials=caller.credentials(), body=body).status

    # WHEN both replace it at the same time
    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = list(pool.map(replace, names))
    # THEN exactly one wins and one gets 409; the table holds the winner's name at version 2
    assert sorted(statuses) == [200, 409]
    winner = names[statuses.index(200)]
    (stored,) = _items_named(env, winner)
    assert stored["version"]["N"] == "2"
    assert _items_named(env, names[statuses.index(409)]) == []


# ---------------------------------------------------------------------------------------------- DynamoDB reply lost
@pytest.mark.parametrize(
    "fault",
    [
        pytest.param("reset-after", id="reply-lost"),
        # held past the backend's 2 s read timeout: botocore gives up on it and resends
        pytest.param("slow-after:2.5", id="reply-slower-than-read-timeout", marks=pytest.mark.slow),
    ],
)
def test_fault_dynamodb_put_applied_reply_lost_or_late_answers_201_and_item_exists_once(
    env: TwoAccounts, dynamodb_proxy: FaultProxy, callers: dict[str, Caller], fault: str
) -> None:
    # GIVEN DynamoDB applying the backend's next PutItem and its reply lost or late; the SDK sends it again
    name = _unique("ddb-put-" + fault.partition(":")[0])
    with backend_through(env, dynamodb_proxy), dynamodb_proxy.script([fault], operation="PutItem"):
        # WHEN an item is created through the gateway
        reply = _create_reply(env, callers["main-direct"], name)
        puts = dynamodb_proxy.count("PutItem")
    # THEN the resend's failed condition is recognised as this request's own write: 201 with the one stored item
    assert reply.status == 201, reply.text
    assert puts == 2
    (stored,) = _items_named(env, name)
    assert reply.json()["id"] == stored["sk"]["S"]


def test_fault_dynamodb_update_reply_lost_after_write_answers_200_with_version_2_applied_once(
    env: TwoAccounts, dynamodb_proxy: FaultProxy, callers: dict[str, Caller]
) -> None:
    # GIVEN an item at version 1, and DynamoDB applying the next UpdateItem with its reply lost
    caller = callers["main-direct"]
    item = _create(env, caller, _unique("ddb-update-lost"))
    renamed = _unique("ddb-update-lost-renamed")
    with backend_through(env, dynamodb_proxy), dynamodb_proxy.script(["reset-after"], operation="UpdateItem"):
        # WHEN the item is replaced at version 1
        body = f'{{"name": "{renamed}", "version": 1}}'.encode()
        reply = env.request("PUT", f"/items/{item['id']}", credentials=caller.credentials(), body=body)
        updates = dynamodb_proxy.count("UpdateItem")
    # THEN the SDK's retry fails its condition on this request's own version 2: 200 with the stored item
    assert reply.status == 200, reply.text
    assert updates == 2
    assert (reply.json()["version"], reply.json()["name"]) == (2, renamed)
    (stored,) = _items_named(env, renamed)
    assert stored["version"]["N"] == "2"


@pytest.mark.parametrize("fault", ["reset-after", "status-after:500"], ids=["reply-lost", "answered-500-after"])
def test_fault_dynamodb_delete_reply_lost_after_delete_answers_204_and_item_is_gone(
    env: TwoAccounts, dynamodb_proxy: FaultProxy, callers: dict[str, Caller], fault: str
) -> None:
    # GIVEN an item, and DynamoDB applying the next DeleteItem with its reply lost, or replaced by a 500
    caller = callers["main-direct"]
    name = _unique("ddb-delete-lost")
    item = _create(env, caller, name)
    with backend_through(env, dynamodb_proxy), dynamodb_proxy.script([fault], operation="DeleteItem"):
        # WHEN the item is deleted
        reply = env.request("DELETE", f"/items/{item['id']}", credentials=caller.credentials())
        deletes = dynamodb_proxy.count("DeleteItem")
    # THEN the retry finding it gone is this request's own delete: 204, and the item no longer exists
    assert reply.status == 204, reply.text
    assert deletes == 2
    assert _items_named(env, name) == []


def test_fault_dynamodb_delete_throttled_then_retried_of_a_missing_item_is_still_404(
    env: TwoAccounts, dynamodb_proxy: FaultProxy, callers: dict[str, Caller]
) -> None:
    # GIVEN an id no item has, and DynamoDB throttling the first DeleteItem (a throttled attempt applies nothing)
    missing = new_item_id()
    with backend_through(env, dynamodb_proxy), dynamodb_proxy.script(["throttle"], operation="DeleteItem"):
        # WHEN it is deleted
        reply = env.request("DELETE", f"/items/{missing}", credentials=callers["main-direct"].credentials())
        deletes = dynamodb_proxy.count("DeleteItem")
    # THEN botocore's retry finding nothing is not taken for this request's own delete: still 404
    assert deletes == 2
    assert reply.status == 404, reply.text


# ---------------------------------------------------------------------------------------------- retry budget
@pytest.mark.slow
def test_fault_dynamodb_never_answering_answers_503_with_request_id_before_the_function_timeout(
    env: TwoAccounts, callers: dict[str, Caller]
) -> None:
    # GIVEN a DynamoDB that accepts every PutItem and never answers (the function's timeout is 10 s)
    timeout = env.provider.functions()["BackendFunction"].timeout if env.provider else 0
    name = _unique("ddb-hang")
    caller = callers["main-direct"]
    with FaultProxy(env.moto_url) as dynamodb, backend_through(env, dynamodb):
        # (a warm backend: Lambda's timeout does not count the init phase, the wall clock here would)
        assert env.request("GET", "/", credentials=caller.credentials()).status == 200
        with dynamodb.script(["hang"] * 5, operation="PutItem"):
            # WHEN an item is created through the gateway
            started = time.monotonic()
            reply = _create_reply(env, caller, name)
            elapsed = time.monotonic() - started
            attempts = dynamodb.count("PutItem")
    # THEN the backend answers its own 503 with the request id before Lambda would stop it (not API Gateway's 502)
    assert reply.status == 503, reply.text
    assert reply.json()["requestId"] == reply.headers["x-amzn-RequestId"]
    assert elapsed < timeout, elapsed
    assert attempts >= 1
    assert _items_named(env, name) == []
    print(f"never-answering DynamoDB: {reply.status} after {elapsed:.2f} s, {attempts} PutItem attempts")


def test_fault_keyed_post_whose_write_outcome_was_unknown_resent_with_its_key_stores_one_item(
    env: TwoAccounts, dynamodb_proxy: FaultProxy, callers: dict[str, Caller]
) -> None:
    # GIVEN every reply to the items table's PutItem lost after DynamoDB applied it: the backend cannot tell whether
    # the item was stored and answers 503 (its Idempotency-Key record released, as Powertools does on an error)
    name = _unique("ddb-keyed-unknown")
    caller = callers["main-direct"]
    key = {"Idempotency-Key": f"key-{name}"}
    with backend_through(env, dynamodb_proxy):
        with dynamodb_proxy.script(["reset-after"] * 5, operation="PutItem", table="ItemsTable"):
            first = _create_reply(env, caller, name, headers=key)
            writes = dynamodb_proxy.count("PutItem", table="ItemsTable")
        # WHEN the caller resends the same request with the same key
        again = _create_reply(env, caller, name, headers=key)
    # THEN the resend is answered 201 with the item the lost write stored: one item, never a second
    assert (first.status, writes) == (503, 3), first.text
    assert again.status == 201, again.text
    (stored,) = _items_named(env, name)
    assert again.json()["id"] == stored["sk"]["S"]


# ---------------------------------------------------------------------------------------------- STS
def test_fault_sts_unreachable_assume_role_client_returns_504_and_calls_no_api(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN an assume-role client whose STS endpoint refuses connections (nothing listens there)
    dead_sts = f"http://127.0.0.1:{_closed_port()}"
    with gateway_proxy.script([]):
        # WHEN it is invoked
        result = _client(env, gateway_proxy, {"path": "/"}, kind="assume_role", AWS_ENDPOINT_URL_STS=dead_sts)
        calls = len(gateway_proxy.seen)
    # THEN 504 explains STS is unreachable, and no API request was made
    assert result.status == 504
    assert "STS unreachable" in result.payload["error"]
    assert "STS interface endpoint" in result.payload["hint"]
    assert calls == 0


# ---------------------------------------------------------------------------------------------- credentials
def test_fault_credentials_nearing_expiry_between_invocations_are_refreshed_before_use(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN an STS that issues a first session expiring in 15 minutes + 2 seconds (botocore refreshes below 15)
    assert env.sts is not None
    with FaultProxy(env.sts.url) as sts, sts.script(["expire-in:902"]):
        where = {"AWS_ENDPOINT_URL_STS": sts.url}
        # WHEN the warm assume-role client is invoked, then again once those 2 seconds have passed
        first = _client(env, gateway_proxy, {"path": "/"}, kind="assume_role", **where)
        threading.Event().wait(2.5)
        second = _client(env, gateway_proxy, {"path": "/"}, kind="assume_role", **where)
        assume_calls = sts.count("POST /")
    # THEN the second invocation assumed the role again and signed with the new session: both succeed
    assert (first.status, second.status) == (200, 200)
    assert assume_calls == 2
    assert first.json()["accessKey"] != second.json()["accessKey"]
    assert second.cold_start is False


def test_fault_session_expired_before_the_request_answers_403_with_expiry_hint(
    env: TwoAccounts, gateway_proxy: FaultProxy
) -> None:
    # GIVEN a warm direct client whose session (its execution role's) has expired since its last call
    marker = {"API_TIMEOUT": "9"}  # a function configuration of its own: its sandbox is discarded afterwards
    first = _client(env, gateway_proxy, {"path": "/"}, **marker)
    assert first.status == 200, first.payload
    session = sts_backends[CONSUMER]["aws"].get_assumed_role_from_access_key(first.json()["accessKey"])
    assert session is not None
    session.expiration = datetime.utcnow() - timedelta(minutes=1)  # moto keeps naive UTC times
    try:
        # WHEN it is invoked again
        result = _client(env, gateway_proxy, {"path": "/"}, **marker)
    finally:
        env.recycle_functions("direct", MAIN)
    # THEN API Gateway's expired-token answer comes back with a hint that says so
    assert result.status == 403
    assert "The security token included in the request is expired" in result.body
    assert result.payload["hint"].startswith("Expired credentials")
