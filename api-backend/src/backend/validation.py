"""Request parsing and validation; mirrors the OpenAPI models in api-backend.yaml (API Gateway checks them too)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from backend import config
from backend.errors import BadRequestError, PayloadTooLargeError
from backend.ids import is_item_id

NAME_MAX = 200
DESCRIPTION_MAX = 2000
TAGS_MAX_ITEMS = 20
TAG_MAX = 50
# The largest integer every JSON parser reads exactly (I-JSON, RFC 7493): far above any reachable version, and
# version + 1 stays well inside DynamoDB's 38 significant digits, so a bigger one is refused before any store call.
VERSION_MAX = 2**53 - 1
NEXT_TOKEN_MAX = 1024
CREATE_FIELDS = frozenset({"name", "description", "tags"})
CREATE_REQUIRED = frozenset({"name"})
REPLACE_FIELDS = CREATE_FIELDS | {"version"}
REPLACE_REQUIRED = frozenset({"name", "version"})
_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_-]+$")
_DIGITS = re.compile(r"^[0-9]{1,3}$")
# json.loads joins a correctly paired escape into one character, so any surrogate left in a string is unpaired.
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True)
class ItemFields:
    """The fields a caller may set on an item."""

    name: str
    description: str
    tags: list[str]


def body_bytes(event: dict[str, Any]) -> bytes:
    """The raw request body of a proxy event, base64-decoded when API Gateway encoded it."""
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise BadRequestError("Request body must be text")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except binascii.Error:
            raise BadRequestError("Request body is not valid base64") from None
    try:
        return body.encode("utf-8")
    except UnicodeEncodeError:
        # An unpaired surrogate in the event's own text: no UTF-8 body can have produced it.
        raise BadRequestError("Request body is not valid UTF-8 text") from None


def parse_json_object(body: str | bytes | None) -> dict[str, Any]:
    """Decode a request body that must be one JSON object of bounded size."""
    raw = body.encode("utf-8") if isinstance(body, str) else (body or b"")
    if not raw.strip():
        raise BadRequestError("Request body is required (a JSON object)")
    if len(raw) > config.MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"Request body exceeds {config.MAX_BODY_BYTES} bytes")
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise BadRequestError("Request body is not valid JSON") from None
    except RecursionError:
        # Deeply nested arrays/objects blow the parser's stack; still the caller's fault, not ours.
        raise BadRequestError("Request body is nested too deeply") from None
    if not isinstance(payload, dict):
        raise BadRequestError("Request body must be a JSON object")
    return payload


def parse_create(payload: dict[str, Any]) -> ItemFields:
    """Validate a create request."""
    _check_keys(payload, CREATE_FIELDS, CREATE_REQUIRED)
    return _fields(payload)


def parse_replace(payload: dict[str, Any]) -> tuple[ItemFields, int]:
    """Validate a replace request: the new fields and the version the caller last read."""
    _check_keys(payload, REPLACE_FIELDS, REPLACE_REQUIRED)
    version = payload["version"]
    # bool is an int subclass in Python; JSON true must not pass as version 1.
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= VERSION_MAX:
        raise BadRequestError(f"version must be an integer from 1 to {VERSION_MAX} (the version you last read)")
    return _fields(payload), version


def parse_item_id(value: str | None) -> str:
    """Validate an item id taken from the path."""
    if not value or not is_item_id(value):
        raise BadRequestError("Item id is malformed (expected a 26-character id returned by POST /items)")
    return value


def parse_limit(value: str | None) -> int:
    """Validate the optional page size."""
    if value is None:
        return config.DEFAULT_PAGE_SIZE
    if not _DIGITS.fullmatch(value) or not 1 <= int(value) <= config.MAX_PAGE_SIZE:
        raise BadRequestError(f"limit must be an integer from 1 to {config.MAX_PAGE_SIZE}")
    return int(value)


def encode_next_token(last_key: dict[str, Any] | None) -> str | None:
    """Turn DynamoDB's LastEvaluatedKey into an opaque URL-safe token."""
    if not last_key:
        return None
    data = json.dumps({"pk": str(last_key["pk"]), "sk": str(last_key["sk"])}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode("utf-8")).decode("ascii").rstrip("=")


def decode_next_token(token: str | None, owner: str) -> dict[str, str] | None:
    """Turn a token back into an ExclusiveStartKey, accepting only keys of the caller's own partition."""
    if token is None:
        return None
    invalid = BadRequestError("next is not a token returned by GET /items")
    if not token or len(token) > NEXT_TOKEN_MAX or not _TOKEN_CHARS.fullmatch(token):
        raise invalid
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid from None
    if not isinstance(key, dict) or set(key) != {"pk", "sk"}:
        raise invalid
    if key["pk"] != owner or not isinstance(key["sk"], str) or not is_item_id(key["sk"]):
        raise invalid
    return {"pk": owner, "sk": key["sk"]}


def _check_keys(payload: dict[str, Any], allowed: frozenset[str], required: frozenset[str]) -> None:
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise BadRequestError(f"Unknown field(s): {', '.join(unknown)}")
    missing = sorted(required - set(payload))
    if missing:
        raise BadRequestError(f"Missing field(s): {', '.join(missing)}")


def _fields(payload: dict[str, Any]) -> ItemFields:
    name = payload["name"]
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_MAX:
        raise BadRequestError(f"name must be a non-blank string of at most {NAME_MAX} characters")
    _check_text(name, "name")
    description = payload.get("description", "")
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        raise BadRequestError(f"description must be a string of at most {DESCRIPTION_MAX} characters")
    _check_text(description, "description")
    tags = payload.get("tags", [])
    if not isinstance(tags, list) or len(tags) > TAGS_MAX_ITEMS:
        raise BadRequestError(f"tags must be a list of at most {TAGS_MAX_ITEMS} strings")
    for tag in tags:
        if not isinstance(tag, str) or not tag or len(tag) > TAG_MAX:
            raise BadRequestError(f"each tag must be a string of 1 to {TAG_MAX} characters")
        _check_text(tag, "each tag")
    return ItemFields(name=name, description=description, tags=list(tags))


def _check_text(value: str, label: str) -> None:
    # JSON may escape half of a UTF-16 pair ("\\ud800"); Python decodes it to a lone surrogate that no UTF-8
    # encoder (DynamoDB's included) accepts. JSON Schema cannot say "valid Unicode", so this check is the backend's.
    surrogate = _LONE_SURROGATE.search(value)
    if surrogate:
        code = f"\\u{ord(surrogate.group()):04x}"
        raise BadRequestError(f"{label} must be valid Unicode text: it contains an unpaired surrogate ({code})")
