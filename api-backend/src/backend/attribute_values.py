"""DynamoDB attribute values ({"N": "3"}, {"S": "x"}...) to and from plain Python values, as boto3 converts them.

The same conversions as boto3's TypeSerializer and TypeDeserializer (boto3.dynamodb.types), without importing boto3:
its package imports boto3.session and s3transfer on every cold start, a fifth of the backend's import, for two small
functions. Numbers go through DynamoDB's decimal context (38 significant digits; more, or a float, is refused with
the same errors as boto3's); numbers come back as Decimal. One difference: binary values come back as `bytes`, not
wrapped in boto3's `Binary` (the backend stores none). tests/unit/backend/test_attribute_values.py compares both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

__all__ = ["plain", "plain_map", "typed", "typed_map"]

# DynamoDB's number range and precision, with every lossy conversion trapped (boto3's DYNAMODB_CONTEXT).
_NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])


def typed(value: Any) -> dict[str, Any]:
    """One Python value as a DynamoDB attribute value."""
    if value is None or isinstance(value, bool):
        return {"NULL": True} if value is None else {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str | bytes | bytearray):
        return {"S" if isinstance(value, str) else "B": value}
    kind = _set_kind(value) if isinstance(value, Set) else None
    if kind is not None:
        return {kind: [_number(member) for member in value] if kind == "NS" else list(value)}
    if isinstance(value, Mapping):
        return {"M": typed_map(value)}
    if isinstance(value, list | tuple):
        return {"L": [typed(member) for member in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def typed_map(values: Mapping[str, Any]) -> dict[str, Any]:
    """A map of plain values (an item, a key, expression values) as DynamoDB attribute values."""
    return {name: typed(value) for name, value in values.items()}


def plain(attribute: Mapping[str, Any]) -> Any:
    """One DynamoDB attribute value as a plain Python value (numbers as Decimal)."""
    if not attribute:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, value = next(iter(attribute.items()))
    convert = _PLAIN.get(kind)
    if convert is None:
        raise TypeError(f"Dynamodb type {kind} is not supported")
    return convert(value)


def plain_map(values: Mapping[str, Any]) -> dict[str, Any]:
    """A map of DynamoDB attribute values (an item, a key) as plain Python values."""
    return {name: plain(value) for name, value in values.items()}


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, int | Decimal)  # bool too, as in boto3: typed() takes booleans first, sets do not


def _number(value: int | Decimal) -> str:
    number = str(_NUMBERS.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _set_kind(members: Set[Any]) -> str | None:
    # A set of one kind is a DynamoDB set; boto3 checks numbers first, then strings, then binaries.
    if all(_is_number(member) for member in members):
        return "NS"
    if all(isinstance(member, str) for member in members):
        return "SS"
    if all(isinstance(member, bytes | bytearray) for member in members):
        return "BS"
    return None


def _same(value: Any) -> Any:
    return value


_PLAIN: dict[str, Callable[[Any], Any]] = {
    "S": _same,
    "BOOL": _same,
    "B": _same,
    "N": _NUMBERS.create_decimal,
    "NULL": lambda _: None,
    "M": plain_map,
    "L": lambda members: [plain(member) for member in members],
    "SS": set,
    "BS": set,
    "NS": lambda members: {_NUMBERS.create_decimal(member) for member in members},
}
