"""Bad input never yields a 5xx: every malformed request gets a 4xx JSON {"message": ...}."""

from __future__ import annotations

import json

import pytest

VALID_ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
BAD_VERSION = "version must be an integer from 1 to 9007199254740991 (the version you last read)"
UNPAIRED = "must be valid Unicode text: it contains an unpaired surrogate"


@pytest.mark.parametrize(
    ("raw_body", "message"),
    [
        ('{"name": "unterminated', "Request body is not valid JSON"),
        ("not json at all", "Request body is not valid JSON"),
        ("", "Request body is required (a JSON object)"),
        ("   ", "Request body is required (a JSON object)"),
        ('["a", "list"]', "Request body must be a JSON object"),
        ('"a string"', "Request body must be a JSON object"),
        ("null", "Request body must be a JSON object"),
        ("[" * 4000 + "]" * 4000, "Request body is nested too deeply"),
    ],
)
def test_create_item_malformed_body_returns_400(invoke, make_event, raw_body, message):
    # GIVEN a body that is not one JSON object
    event = make_event("POST", "/items", raw_body=raw_body)

    # WHEN it is handled
    response = invoke(event)

    # THEN 400 with a message saying what is wrong
    assert response.status == 400
    assert response.body == {"message": message}


def test_create_item_missing_body_returns_400(invoke, make_event):
    # GIVEN a POST without any body (body is null in the event)
    event = make_event("POST", "/items")

    # WHEN it is handled
    response = invoke(event)

    # THEN 400 asks for a JSON object
    assert response.status == 400
    assert response.body == {"message": "Request body is required (a JSON object)"}


def test_create_item_invalid_utf8_base64_body_returns_400(invoke, make_event):
    # GIVEN a base64 body that decodes to bytes that are not UTF-8 text
    event = make_event("POST", "/items", raw_body="//79")  # 0xff 0xfe 0xfd
    event["isBase64Encoded"] = True

    # WHEN it is handled
    response = invoke(event)

    # THEN 400 rather than a decoding crash
    assert response.status == 400
    assert response.body == {"message": "Request body is not valid JSON"}


def test_create_item_invalid_base64_body_returns_400(invoke, make_event):
    # GIVEN a body flagged base64 that is not base64
    event = make_event("POST", "/items", raw_body="%%% not base64 %%%")
    event["isBase64Encoded"] = True

    # WHEN it is handled
    response = invoke(event)

    # THEN 400
    assert response.status == 400
    assert response.body == {"message": "Request body is not valid base64"}


def test_create_item_oversize_body_returns_413(invoke, make_event):
    # GIVEN a syntactically valid body larger than 8 KB
    event = make_event("POST", "/items", body={"name": "big", "description": "x" * 9000})

    # WHEN it is handled
    response = invoke(event)

    # THEN 413 names the limit
    assert response.status == 413
    assert response.body == {"message": "Request body exceeds 8192 bytes"}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "colour": "red"}, "Unknown field(s): colour"),
        ({"name": "x", "version": 1}, "Unknown field(s): version"),
        ({"description": "no name"}, "Missing field(s): name"),
        ({"name": 42}, "name must be a non-blank string of at most 200 characters"),
        ({"name": "   "}, "name must be a non-blank string of at most 200 characters"),
        ({"name": "n" * 201}, "name must be a non-blank string of at most 200 characters"),
        ({"name": None}, "name must be a non-blank string of at most 200 characters"),
        ({"name": "x", "description": ["not", "text"]}, "description must be a string of at most 2000 characters"),
        ({"name": "x", "description": "d" * 2001}, "description must be a string of at most 2000 characters"),
        ({"name": "x", "tags": "one"}, "tags must be a list of at most 20 strings"),
        ({"name": "x", "tags": [str(n) for n in range(21)]}, "tags must be a list of at most 20 strings"),
        ({"name": "x", "tags": [1]}, "each tag must be a string of 1 to 50 characters"),
        ({"name": "x", "tags": [""]}, "each tag must be a string of 1 to 50 characters"),
        ({"name": "x", "tags": ["t" * 51]}, "each tag must be a string of 1 to 50 characters"),
    ],
)
def test_create_item_invalid_fields_returns_400(invoke, make_event, body, message):
    # GIVEN a JSON object with a wrong, missing or unknown field
    event = make_event("POST", "/items", body=body)

    # WHEN it is handled
    response = invoke(event)

    # THEN 400 names the field and the rule
    assert response.status == 400
    assert response.body == {"message": message}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x"}, "Missing field(s): version"),
        ({"name": "x", "version": "1"}, BAD_VERSION),
        ({"name": "x", "version": True}, BAD_VERSION),
        ({"name": "x", "version": 0}, BAD_VERSION),
        ({"name": "x", "version": 1.5}, BAD_VERSION),
        ({"name": "x", "version": 1, "id": VALID_ID}, "Unknown field(s): id"),
    ],
)
def test_replace_item_invalid_fields_returns_400(invoke, make_event, body, message):
    # GIVEN a replace body with a bad or missing version, or a field the caller may not set
    event = make_event("PUT", f"/items/{VALID_ID}", body=body)

    # WHEN it is handled
    response = invoke(event)

    # THEN 400 before DynamoDB is asked
    assert response.status == 400
    assert response.body == {"message": message}


def test_replace_item_malformed_json_returns_400(invoke, make_event):
    # GIVEN a replace request whose body is not JSON
    event = make_event("PUT", f"/items/{VALID_ID}", raw_body="{version: 1}")

    # WHEN it is handled
    response = invoke(event)

    # THEN 400
    assert response.status == 400
    assert response.body == {"message": "Request body is not valid JSON"}


def test_replace_item_malformed_id_returns_400_before_reading_body(invoke, make_event):
    # GIVEN a malformed id and a valid body
    event = make_event("PUT", "/items/nope", body={"name": "x", "version": 1})

    # WHEN it is handled
    response = invoke(event)

    # THEN the id is what gets reported
    assert response.status == 400
    assert "malformed" in response.body["message"]


@pytest.mark.parametrize(
    "token",
    [
        "%%%",  # not URL-safe base64 characters
        "bm90IGpzb24",  # "not json"
        "WzEsMl0",  # [1,2]
        "eyJwayI6IjExMTExMTExMTExMSJ9",  # {"pk":"111111111111"} (no sk)
        "eyJwayI6IjExMTExMTExMTExMSIsInNrIjoiLi4vIn0",  # sk is not an item id
        "eyJwayI6IjExMTExMTExMTExMSIsInNrIjoiMDFBUlozTkRFS1RTVjRSUkZGUTY5RzVGQVYiLCJ4IjoxfQ",  # extra key
        "A" * 1025,  # longer than any real token
    ],
)
def test_list_items_tampered_next_token_returns_400(invoke, make_event, token):
    # GIVEN a next token the API never issued
    event = make_event("GET", "/items", query={"next": token})

    # WHEN the caller lists
    response = invoke(event)

    # THEN 400, never a DynamoDB validation error turned into 5xx
    assert response.status == 400
    assert response.body == {"message": "next is not a token returned by GET /items"}


def test_bad_input_responses_are_json_content_type(invoke, make_event):
    # GIVEN a malformed request
    event = make_event("POST", "/items", raw_body="{")

    # WHEN it is handled
    response = invoke(event)

    # THEN the error is labelled JSON and parses as such
    assert response.status == 400
    assert response.raw["multiValueHeaders"]["Content-Type"] == ["application/json"]
    assert json.loads(response.raw["body"]) == {"message": "Request body is not valid JSON"}


# DynamoDB numbers hold at most 38 significant digits; a version past that cannot be compared or stored.
@pytest.mark.parametrize("version", [10**38, 10**38 + 1, 10**400, 2**53], ids=["1e38", "1e38+1", "1e400", "2^53"])
def test_replace_item_version_past_the_json_safe_integer_limit_returns_400(invoke, make_event, version):
    # GIVEN a replace whose version is larger than any version an item can reach
    event = make_event("PUT", f"/items/{VALID_ID}", raw_body=json.dumps({"name": "x", "version": version}))

    # WHEN it is handled
    response = invoke(event)

    # THEN 400 names the bound, before any DynamoDB call (which would fail on the 39th digit)
    assert response.status == 400
    assert response.body == {"message": BAD_VERSION}


@pytest.mark.parametrize(
    ("field", "fields", "message"),
    [
        ("name", {"name": "\ud800"}, f"name {UNPAIRED} (\\ud800)"),
        ("name", {"name": "ok\udfffok"}, f"name {UNPAIRED} (\\udfff)"),
        (
            "description",
            {"name": "x", "description": "a\udc00"},
            f"description {UNPAIRED} (\\udc00)",
        ),
        ("tags", {"name": "x", "tags": ["ok", "\ud83d"]}, f"each tag {UNPAIRED} (\\ud83d)"),
    ],
)
@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_item_fields_with_lone_surrogate_returns_400(invoke, make_event, method, field, fields, message):
    # GIVEN a body whose JSON escapes decode to an unpaired UTF-16 surrogate (valid JSON, not valid Unicode text)
    body = {**fields, "version": 1} if method == "PUT" else fields
    path = f"/items/{VALID_ID}" if method == "PUT" else "/items"
    event = make_event(method, path, raw_body=json.dumps(body))  # ensure_ascii: the escape travels as \\ud800
    assert "\\ud" in event["body"]

    # WHEN it is handled
    response = invoke(event)

    # THEN 400 names the field, rather than a 500 from DynamoDB's encoder
    assert response.status == 400
    assert response.body == {"message": message}


def test_item_with_surrogate_pair_escape_is_stored(invoke, make_event):
    # GIVEN a name with a correctly paired surrogate escape (an emoji), which is valid Unicode
    event = make_event("POST", "/items", raw_body='{"name": "party \\ud83c\\udf89"}')

    # WHEN it is handled
    response = invoke(event)

    # THEN it is created with the character it stands for
    assert response.status == 201
    assert response.body["name"] == "party \U0001f389"


def test_create_item_event_body_with_lone_surrogate_returns_400(invoke, make_event):
    # GIVEN a proxy event whose body text itself holds an unpaired surrogate (not encodable as UTF-8)
    event = make_event("POST", "/items", raw_body='{"name": "\ud800"}')

    # WHEN it is handled
    response = invoke(event)

    # THEN 400 rather than an encoding crash
    assert response.status == 400
    assert response.body == {"message": "Request body is not valid UTF-8 text"}
