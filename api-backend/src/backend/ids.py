"""Time-sortable item ids (ULID format: 48-bit milliseconds + 80 random bits, Crockford base32)."""

from __future__ import annotations

import re
import secrets
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ITEM_ID_PATTERN = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def new_item_id(now_ms: int | None = None) -> str:
    """A new id; ids created later sort after earlier ones (to the millisecond)."""
    millis = int(time.time() * 1000) if now_ms is None else now_ms
    value = (millis << 80) | secrets.randbits(80)
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))


def is_item_id(value: str) -> bool:
    """True when value has the shape of an id this API creates."""
    return bool(ITEM_ID_PATTERN.fullmatch(value))
