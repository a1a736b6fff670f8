"""backend.attribute_values converts DynamoDB attribute values exactly as boto3's TypeSerializer/TypeDeserializer."""

from __future__ import annotations

from decimal import Decimal, Inexact, Rounded
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from backend.attribute_values import plain, plain_map, typed, typed_map

VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -7,
    2**53 - 1,
    Decimal("3.14"),
    Decimal("-1E+100"),
    Decimal("1.2345678901234567890123456789012345678"),  # 38 significant digits: DynamoDB's precision
    "",
    "név ✓",
    b"\x00\xff",
    bytearray(b"ab"),
    [],
    ["a", 1, None, [True, {"x": "y"}]],
    ("a", "b"),
    {},
    {"name": "x", "tags": ["a", "b"], "version": 2, "nested": {"n": Decimal("1.5"), "l": [], "none": None}},
    {"a", "b"},
    {1, Decimal("2.5")},
    {True, 2},  # booleans in a set are numbers to boto3
    {b"x", b"y"},
]
REFUSED: list[Any] = [
    1.5,  # floats are refused: Decimal only
    [1, 2.5],
    {"x": 0.1},
    {"a", 1.5},
    10**38 + 1,  # more digits than DynamoDB keeps
    Decimal("NaN"),
    Decimal("Infinity"),
    object(),
    {"a", 1},  # a set of mixed kinds
]


def _kind(value: Any) -> str:
    # Ids that every xdist worker computes alike (a set's repr depends on the worker's hash seed).
    return type(value).__name__


@pytest.mark.parametrize("value", VALUES, ids=_kind)
def test_typed_value_equals_boto3s_serialization(value: Any) -> None:
    # GIVEN a Python value WHEN it is typed THEN it is what boto3's TypeSerializer makes of it (sets in any order)
    ours: dict[str, Any] = typed(value)
    boto3s: dict[str, Any] = dict(TypeSerializer().serialize(value))
    if isinstance(value, set | frozenset):
        assert {kind: sorted(members, key=repr) for kind, members in ours.items()} == {
            kind: sorted(members, key=repr) for kind, members in boto3s.items()
        }
    else:
        assert ours == boto3s


@pytest.mark.parametrize("value", REFUSED, ids=_kind)
def test_typed_value_boto3_refuses_is_refused_with_the_same_error(value: Any) -> None:
    # GIVEN a value boto3 refuses WHEN it is typed THEN the same exception type and message come back
    with pytest.raises((TypeError, ArithmeticError)) as boto3s:  # decimal's traps are ArithmeticErrors
        TypeSerializer().serialize(value)
    with pytest.raises(type(boto3s.value)) as ours:
        typed(value)
    assert str(ours.value) == str(boto3s.value)


@pytest.mark.parametrize("value", [v for v in VALUES if not isinstance(v, bytes | bytearray)], ids=_kind)
def test_plain_value_equals_boto3s_deserialization(value: Any) -> None:
    # GIVEN an attribute value as DynamoDB returns it WHEN it is made plain THEN it equals boto3's deserialization
    attribute = TypeSerializer().serialize(value)
    ours, boto3s = plain(attribute), TypeDeserializer().deserialize(attribute)
    assert ours == boto3s
    assert type(ours) is type(boto3s)


def test_plain_number_is_a_decimal_in_dynamodbs_context() -> None:
    # GIVEN numbers as DynamoDB returns them WHEN made plain THEN Decimals, and a 39-digit one is refused as by boto3
    assert plain({"N": "3"}) == Decimal(3)
    assert plain_map({"v": {"N": "-1.50"}}) == {"v": Decimal("-1.50")}
    with pytest.raises((Inexact, Rounded)):
        plain({"N": "1" * 39})


def test_plain_binary_is_bytes_where_boto3_wraps_it() -> None:
    # GIVEN binary attribute values (the backend stores none) WHEN made plain THEN the bytes themselves, equal to
    # boto3's Binary wrapper
    assert plain({"B": b"\x01"}) == b"\x01"
    assert TypeDeserializer().deserialize({"B": b"\x01"}) == plain({"B": b"\x01"})
    assert plain({"BS": [b"a", b"b"]}) == {b"a", b"b"}


@pytest.mark.parametrize("attribute", [{}, {"X": "1"}])
def test_plain_unknown_or_empty_attribute_is_refused_like_boto3(attribute: dict[str, Any]) -> None:
    # GIVEN an empty attribute or an unknown type WHEN made plain THEN TypeError, as from boto3
    with pytest.raises(TypeError) as boto3s:
        TypeDeserializer().deserialize(attribute)  # type: ignore[arg-type]  # an invalid attribute on purpose
    with pytest.raises(TypeError) as ours:
        plain(attribute)
    assert str(ours.value) == str(boto3s.value)


def test_typed_map_and_plain_map_round_trip_an_item() -> None:
    # GIVEN an item as the repository writes it WHEN typed and made plain again THEN it comes back unchanged
    item = {"pk": "111122223333", "sk": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "version": 1, "tags": ["a"], "description": ""}
    assert plain_map(typed_map(item)) == item
