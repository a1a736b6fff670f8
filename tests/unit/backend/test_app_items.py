"""Items CRUD through the handler against moto DynamoDB."""

from __future__ import annotations

import pytest

OTHER_ACCOUNT = "333333333333"
OTHER_ARN = "arn:aws:iam::333333333333:role/other-team"


def create(invoke, make_event, **body):
    response = invoke(make_event("POST", "/items", body={"name": "item", **body}))
    assert response.status == 201
    return response.body


def test_create_item_valid_body_returns_201_with_server_generated_id(invoke, make_event):
    # GIVEN a valid create request
    event = make_event("POST", "/items", body={"name": "widget", "description": "blue", "tags": ["a", "b"]})

    # WHEN it is handled
    response = invoke(event)

    # THEN the item comes back with a 26-character id, version 1 and the given fields
    assert response.status == 201
    assert len(response.body["id"]) == 26
    assert (response.body["name"], response.body["description"], response.body["tags"]) == (
        "widget",
        "blue",
        ["a", "b"],
    )
    assert response.body["version"] == 1


def test_create_item_records_caller_principal_and_account(invoke, make_event, items_table, caller):
    # GIVEN a caller identified by API Gateway
    event = make_event("POST", "/items", body={"name": "widget"})

    # WHEN it creates an item
    response = invoke(event)

    # THEN the response and the stored record carry the caller's ARN and account, keyed by the account
    assert response.status == 201
    assert (response.body["createdBy"], response.body["createdByAccount"]) == (caller["arn"], caller["account"])
    stored = items_table.get_item(Key={"pk": caller["account"], "sk": response.body["id"]})["Item"]
    assert (stored["createdBy"], stored["updatedBy"], stored["createdByAccount"]) == (
        caller["arn"],
        caller["arn"],
        caller["account"],
    )


def test_create_item_minimal_body_defaults_description_and_tags(invoke, make_event):
    # GIVEN a body with only the required name
    event = make_event("POST", "/items", body={"name": "bare"})

    # WHEN it is handled
    response = invoke(event)

    # THEN description and tags default to empty values
    assert response.status == 201
    assert (response.body["description"], response.body["tags"]) == ("", [])


def test_create_item_base64_encoded_body_returns_201(invoke, make_event):
    # GIVEN a body API Gateway delivered base64-encoded
    event = make_event("POST", "/items", raw_body="eyJuYW1lIjogImI2NCJ9")  # {"name": "b64"}
    event["isBase64Encoded"] = True

    # WHEN it is handled
    response = invoke(event)

    # THEN it is decoded like a plain body
    assert response.status == 201
    assert response.body["name"] == "b64"


def test_create_item_id_collision_returns_409(invoke, make_event, backend, monkeypatch):
    # GIVEN an id generator that repeats itself (patched where the repository looks it up)
    monkeypatch.setattr("backend.repository.new_item_id", lambda: "01ARZ3NDEKTSV4RRFFQ69G5FAV")
    create(invoke, make_event)

    # WHEN a second request (API Gateway gives it its own request id) gets the same item id
    second = make_event("POST", "/items", body={"name": "again"})
    second["requestContext"]["requestId"] = "another-request"
    response = invoke(second)

    # THEN the conditional put refuses to overwrite and the caller is told to retry
    assert response.status == 409
    assert "retry" in response.body["message"]


def test_get_item_existing_returns_200_with_item(invoke, make_event):
    # GIVEN a stored item
    created = create(invoke, make_event, description="d")

    # WHEN it is read back
    response = invoke(make_event("GET", f"/items/{created['id']}"))

    # THEN it is the same item
    assert response.status == 200
    assert response.body == created


def test_get_item_unknown_id_returns_404(invoke, make_event):
    # GIVEN a well-formed id that was never created
    event = make_event("GET", "/items/01ARZ3NDEKTSV4RRFFQ69G5FAV")

    # WHEN it is read
    response = invoke(event)

    # THEN 404 with a message naming the id
    assert response.status == 404
    assert response.body == {"message": "Item 01ARZ3NDEKTSV4RRFFQ69G5FAV not found"}


@pytest.mark.parametrize(
    "bad_id",
    [
        "not-an-id",
        "01arz3ndektsv4rrffq69g5fav",
        "01ARZ3NDEKTSV4RRFFQ69G5FA",
        "81ARZ3NDEKTSV4RRFFQ69G5FAV",
        "01ARZ3NDEKTSV4RRFFQ69G5FAU",
    ],
)
def test_get_item_malformed_id_returns_400(invoke, make_event, bad_id):
    # GIVEN an id that cannot have come from POST /items (lowercase, short, overflow, excluded letter U)
    event = make_event("GET", f"/items/{bad_id}")

    # WHEN it is read
    response = invoke(event)

    # THEN 400 explains the id format
    assert response.status == 400
    assert "malformed" in response.body["message"]


def test_get_item_of_another_account_returns_404(invoke, make_event):
    # GIVEN an item created by another account
    other = invoke(make_event("POST", "/items", body={"name": "theirs"}, account=OTHER_ACCOUNT, user_arn=OTHER_ARN))
    assert other.status == 201

    # WHEN this account asks for it by id
    response = invoke(make_event("GET", f"/items/{other.body['id']}"))

    # THEN it does not exist for this tenant
    assert response.status == 404
    assert "not found" in response.body["message"]


def test_list_items_empty_table_returns_empty_page(invoke, make_event):
    # GIVEN no items
    event = make_event("GET", "/items")

    # WHEN the caller lists
    response = invoke(event)

    # THEN an empty page without a next token
    assert response.status == 200
    assert response.body == {"items": [], "next": None}


def test_list_items_pages_follow_creation_order_until_next_is_null(invoke, make_event):
    # GIVEN five items created one after another
    created = [create(invoke, make_event, description=str(n))["id"] for n in range(5)]

    # WHEN the caller pages through them two at a time
    seen, token, pages = [], None, 0
    while True:
        query = {"limit": "2", **({"next": token} if token else {})}
        response = invoke(make_event("GET", "/items", query=query))
        assert response.status == 200
        seen += [item["id"] for item in response.body["items"]]
        token, pages = response.body["next"], pages + 1
        if token is None:
            break

    # THEN every item appears exactly once, oldest first, over at least three pages
    assert seen == created
    assert pages >= 3


def test_list_items_returns_only_the_callers_account(invoke, make_event):
    # GIVEN one item in this account and one in another
    mine = create(invoke, make_event)
    theirs = invoke(make_event("POST", "/items", body={"name": "theirs"}, account=OTHER_ACCOUNT, user_arn=OTHER_ARN))
    assert theirs.status == 201

    # WHEN this account lists
    response = invoke(make_event("GET", "/items"))

    # THEN only its own item is listed
    assert response.status == 200
    assert [item["id"] for item in response.body["items"]] == [mine["id"]]


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", "0010"])
def test_list_items_limit_out_of_range_returns_400(invoke, make_event, limit):
    # GIVEN a limit outside 1..100 or not an integer
    event = make_event("GET", "/items", query={"limit": limit})

    # WHEN the caller lists
    response = invoke(event)

    # THEN 400 names the allowed range
    assert response.status == 400
    assert response.body == {"message": "limit must be an integer from 1 to 100"}


def test_list_items_token_of_another_account_returns_400(invoke, make_event):
    # GIVEN a next token obtained by another account
    for n in range(2):
        invoke(make_event("POST", "/items", body={"name": f"t{n}"}, account=OTHER_ACCOUNT, user_arn=OTHER_ARN))
    page = invoke(make_event("GET", "/items", query={"limit": "1"}, account=OTHER_ACCOUNT, user_arn=OTHER_ARN))
    assert page.body["next"]

    # WHEN this account replays it
    response = invoke(make_event("GET", "/items", query={"next": page.body["next"]}))

    # THEN the token is rejected rather than used to start a query
    assert response.status == 400
    assert response.body == {"message": "next is not a token returned by GET /items"}


def test_replace_item_current_version_returns_200_with_next_version(invoke, make_event):
    # GIVEN an item at version 1
    created = create(invoke, make_event)

    # WHEN it is replaced with version 1
    body = {"name": "renamed", "description": "new", "tags": ["x"], "version": 1}
    response = invoke(make_event("PUT", f"/items/{created['id']}", body=body))

    # THEN the fields change, the version becomes 2 and the creation data stays
    assert response.status == 200
    assert (response.body["name"], response.body["description"], response.body["tags"]) == ("renamed", "new", ["x"])
    assert response.body["version"] == 2
    assert (response.body["createdAt"], response.body["createdBy"]) == (created["createdAt"], created["createdBy"])


def test_replace_item_stale_version_returns_409_with_current_version(invoke, make_event):
    # GIVEN an item two writers read at version 1, and the first writer already replaced it
    created = create(invoke, make_event)
    first = invoke(make_event("PUT", f"/items/{created['id']}", body={"name": "first", "version": 1}))
    assert first.status == 200

    # WHEN the second writer (another request, another request id) replaces it with the version it read
    stale = make_event("PUT", f"/items/{created['id']}", body={"name": "second", "version": 1})
    stale["requestContext"]["requestId"] = "another-request"
    response = invoke(stale)

    # THEN 409 reports the current version and the first write survives
    assert response.status == 409
    assert response.body["currentVersion"] == 2
    assert "version 2, not 1" in response.body["message"]
    assert invoke(make_event("GET", f"/items/{created['id']}")).body["name"] == "first"


def test_replace_item_unknown_id_returns_404(invoke, make_event):
    # GIVEN an id that was never created
    event = make_event("PUT", "/items/01ARZ3NDEKTSV4RRFFQ69G5FAV", body={"name": "x", "version": 1})

    # WHEN it is replaced
    response = invoke(event)

    # THEN 404, and nothing was created by the update
    assert response.status == 404
    assert invoke(make_event("GET", "/items")).body["items"] == []


def test_replace_item_of_another_account_returns_404(invoke, make_event):
    # GIVEN an item of another account
    theirs = invoke(make_event("POST", "/items", body={"name": "theirs"}, account=OTHER_ACCOUNT, user_arn=OTHER_ARN))

    # WHEN this account tries to replace it
    response = invoke(make_event("PUT", f"/items/{theirs.body['id']}", body={"name": "mine now", "version": 1}))

    # THEN it is not found for this tenant
    assert response.status == 404
    assert "not found" in response.body["message"]


def test_replace_item_records_updating_principal(invoke, make_event, caller):
    # GIVEN an item created by one principal of the account
    created = create(invoke, make_event)
    other_role = f"arn:aws:sts::{caller['account']}:assumed-role/editor/session"

    # WHEN another principal of the same account replaces it
    response = invoke(
        make_event("PUT", f"/items/{created['id']}", body={"name": "n", "version": 1}, user_arn=other_role)
    )

    # THEN updatedBy changes and createdBy does not
    assert response.status == 200
    assert (response.body["createdBy"], response.body["updatedBy"]) == (caller["arn"], other_role)


def test_delete_item_existing_returns_204_and_item_is_gone(invoke, make_event):
    # GIVEN a stored item
    created = create(invoke, make_event)

    # WHEN it is deleted
    response = invoke(make_event("DELETE", f"/items/{created['id']}"))

    # THEN 204 with no body, and reading it afterwards gives 404
    assert response.status == 204
    assert response.body is None
    assert invoke(make_event("GET", f"/items/{created['id']}")).status == 404


def test_delete_item_unknown_id_returns_404(invoke, make_event):
    # GIVEN an id that was never created
    event = make_event("DELETE", "/items/01ARZ3NDEKTSV4RRFFQ69G5FAV")

    # WHEN it is deleted
    response = invoke(event)

    # THEN 404
    assert response.status == 404
    assert response.body == {"message": "Item 01ARZ3NDEKTSV4RRFFQ69G5FAV not found"}


def test_delete_item_malformed_id_returns_400(invoke, make_event):
    # GIVEN a malformed id
    event = make_event("DELETE", "/items/..%2Fetc")

    # WHEN it is deleted
    response = invoke(event)

    # THEN 400
    assert response.status == 400
    assert "malformed" in response.body["message"]
