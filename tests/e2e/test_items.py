"""Items CRUD through the emulated private API from both real clients; each item records who wrote it."""

from __future__ import annotations

from typing import Any

from emulation.accounts.two_accounts import CONSUMER, PROVIDER, TwoAccounts
from tests.e2e.helpers import call, session_arn_prefix


def _create(env: TwoAccounts, kind: str, name: str = "first item") -> dict[str, Any]:
    result = call(env, kind, "POST", "/items", {"name": name, "description": "e2e", "tags": ["e2e"]})
    assert result.status == 201, result.payload
    return result.json()  # type: ignore[no-any-return]


def test_items_create_from_direct_client_records_consumer_session(env: TwoAccounts) -> None:
    # GIVEN the direct client, signing as its consumer execution role
    # WHEN it creates an item
    result = call(env, "direct", "POST", "/items", {"name": "from direct", "tags": ["e2e"]})
    # THEN the API answers 201 and the item names the caller's session and account
    assert result.status == 201, result.payload
    item = result.json()
    assert item["createdBy"].startswith(session_arn_prefix(env.names.client_role("main", "direct")))
    assert item["createdByAccount"] == CONSUMER
    assert (item["name"], item["version"], item["tags"]) == ("from direct", 1, ["e2e"])


def test_items_create_from_assume_role_client_records_provider_session(env: TwoAccounts) -> None:
    # GIVEN the assume-role client, signing as the provider's access role
    # WHEN it creates an item
    result = call(env, "assume_role", "POST", "/items", {"name": "from assume-role"})
    # THEN the item names a session of the access role, in the provider account
    assert result.status == 201, result.payload
    item = result.json()
    assert item["createdBy"].startswith(session_arn_prefix(env.names.access_role_arn))
    assert item["createdByAccount"] == PROVIDER


def test_items_created_item_is_stored_in_provider_table_under_caller_account(env: TwoAccounts) -> None:
    # GIVEN an item created by the direct client
    item = _create(env, "direct", "stored")
    # WHEN the provider's DynamoDB table (moto) is read directly
    table = env.client("dynamodb", PROVIDER)
    stored = table.get_item(TableName=env.names.table_name, Key={"pk": {"S": CONSUMER}, "sk": {"S": item["id"]}})
    # THEN the record is in the caller account's partition with the caller's principal ARN
    assert stored["Item"]["createdBy"]["S"] == item["createdBy"]
    assert stored["Item"]["name"]["S"] == "stored"


def test_items_get_returns_the_created_item(env: TwoAccounts) -> None:
    # GIVEN an item created by the direct client
    item = _create(env, "direct")
    # WHEN the same client reads it
    result = call(env, "direct", "GET", f"/items/{item['id']}")
    # THEN it gets the same item
    assert result.status == 200, result.payload
    assert result.json() == item


def test_items_list_shows_only_the_callers_account(env: TwoAccounts) -> None:
    # GIVEN an item created by the direct client (consumer account)
    item = _create(env, "direct", "listed")
    # WHEN both clients list items
    direct = call(env, "direct", "GET", "/items?limit=100")
    provider_side = call(env, "assume_role", "GET", "/items?limit=100")
    # THEN only the consumer account's listing contains it
    assert direct.status == provider_side.status == 200
    assert item["id"] in {i["id"] for i in direct.json()["items"]}
    assert item["id"] not in {i["id"] for i in provider_side.json()["items"]}


def test_items_other_account_get_answers_404(env: TwoAccounts) -> None:
    # GIVEN an item of the consumer account
    item = _create(env, "direct")
    # WHEN the assume-role client (provider account) asks for it by id
    result = call(env, "assume_role", "GET", f"/items/{item['id']}")
    # THEN it does not exist for that caller
    assert result.status == 404
    assert result.json()["message"] == f"Item {item['id']} not found"


def test_items_replace_with_current_version_increments_version(env: TwoAccounts) -> None:
    # GIVEN an item at version 1
    item = _create(env, "assume_role")
    # WHEN it is replaced with version 1
    result = call(env, "assume_role", "PUT", f"/items/{item['id']}", {"name": "renamed", "version": 1})
    # THEN the new fields are stored at version 2 and the updater is recorded
    assert result.status == 200, result.payload
    replaced = result.json()
    assert (replaced["name"], replaced["version"]) == ("renamed", 2)
    assert replaced["updatedBy"].startswith(session_arn_prefix(env.names.access_role_arn))


def test_items_replace_with_stale_version_answers_409(env: TwoAccounts) -> None:
    # GIVEN an item already replaced once (now version 2)
    item = _create(env, "direct")
    first = call(env, "direct", "PUT", f"/items/{item['id']}", {"name": "second", "version": 1})
    assert first.status == 200
    # WHEN another writer replaces it with the version it read before (1)
    result = call(env, "direct", "PUT", f"/items/{item['id']}", {"name": "lost update", "version": 1})
    # THEN the API refuses with 409 and the current version
    assert result.status == 409
    assert result.json()["currentVersion"] == 2
    assert call(env, "direct", "GET", f"/items/{item['id']}").json()["name"] == "second"


def test_items_delete_then_get_answers_404(env: TwoAccounts) -> None:
    # GIVEN an item
    item = _create(env, "direct")
    # WHEN it is deleted
    deleted = call(env, "direct", "DELETE", f"/items/{item['id']}")
    # THEN the delete answers 204 and the item is gone
    assert deleted.status == 204
    assert deleted.body == ""
    gone = call(env, "direct", "GET", f"/items/{item['id']}")
    assert gone.status == 404
