"""Pure validation helpers: ids, page tokens, limits."""

from __future__ import annotations

import base64
import json

import pytest

from backend import validation
from backend.errors import BadRequestError
from backend.ids import is_item_id, new_item_id

OWNER = "111111111111"


def test_new_item_id_later_time_sorts_after_earlier():
    # GIVEN ids minted at increasing milliseconds
    ids = [new_item_id(now_ms=ms) for ms in (1, 2, 1_000, 1_700_000_000_000, 2**48 - 1)]

    # WHEN they are sorted as strings (the DynamoDB sort key order)
    ordered = sorted(ids)

    # THEN string order is time order and every id has the documented shape
    assert ordered == ids
    assert all(is_item_id(item_id) for item_id in ids)


def test_new_item_id_same_millisecond_ids_differ():
    # GIVEN many ids minted in the same millisecond
    ids = {new_item_id(now_ms=42) for _ in range(1000)}

    # WHEN they are counted
    count = len(ids)

    # THEN the 80 random bits keep them unique
    assert count == 1000


def test_next_token_round_trip_returns_same_key():
    # GIVEN a LastEvaluatedKey of the owner's partition
    key = {"pk": OWNER, "sk": new_item_id()}

    # WHEN it is encoded and decoded for the same owner
    token = validation.encode_next_token(key)
    decoded = validation.decode_next_token(token, OWNER)

    # THEN the key survives and the token is URL-safe without padding
    assert decoded == key
    assert token is not None
    assert "=" not in token
    assert token.replace("-", "").replace("_", "").isalnum()


def test_next_token_no_last_key_returns_none():
    # GIVEN DynamoDB returned no LastEvaluatedKey
    last_key = None

    # WHEN it is encoded
    token = validation.encode_next_token(last_key)

    # THEN there is no next page
    assert token is None


def test_decode_next_token_other_owner_raises_bad_request():
    # GIVEN a genuine token of another account's partition
    token = validation.encode_next_token({"pk": "222222222222", "sk": new_item_id()})

    # WHEN this owner decodes it
    with pytest.raises(BadRequestError) as raised:
        validation.decode_next_token(token, OWNER)

    # THEN it is refused
    assert raised.value.status == 400


def test_decode_next_token_non_string_sk_raises_bad_request():
    # GIVEN a forged token whose sort key is a number
    forged = base64.urlsafe_b64encode(json.dumps({"pk": OWNER, "sk": 5}).encode()).decode().rstrip("=")

    # WHEN it is decoded
    with pytest.raises(BadRequestError) as raised:
        validation.decode_next_token(forged, OWNER)

    # THEN it is refused with the token message
    assert raised.value.message == "next is not a token returned by GET /items"


@pytest.mark.parametrize(("raw", "expected"), [(None, 25), ("1", 1), ("100", 100), ("42", 42)])
def test_parse_limit_valid_values_return_int(raw, expected):
    # GIVEN an absent or in-range limit
    # WHEN it is parsed
    limit = validation.parse_limit(raw)

    # THEN the page size is that number (25 when absent)
    assert limit == expected


def test_parse_json_object_exact_limit_size_is_accepted():
    # GIVEN a JSON object of exactly 8192 bytes
    padding = 8192 - len(json.dumps({"name": ""}).encode())
    body = json.dumps({"name": "x" * padding})
    assert len(body.encode()) == 8192

    # WHEN it is parsed
    payload = validation.parse_json_object(body)

    # THEN it is accepted (the limit is inclusive)
    assert len(payload["name"]) == padding
