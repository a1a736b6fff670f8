"""A DynamoDB table over a low-level client, with plain Python values in and out, as boto3's Table resource has them.

The resource layer (`boto3.resource("dynamodb").Table(...)`) loads its own model and builds its classes at every cold
start, for the five operations the backend uses: here they are a thin map over the client with boto3's type conversions
(backend.attribute_values, which does not import boto3). Only the item maps are converted (Item, Key,
ExpressionAttributeValues, ExclusiveStartKey on the way in; Item, Items, Attributes, LastEvaluatedKey on the way out);
expressions are strings. Errors are the client's, unconverted, as with the resource (an item in a ConditionalCheckFailed
answer stays typed).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from backend.attribute_values import plain_map, typed_map

__all__ = ["Table", "plain"]

_ITEM_MAPS_IN = ("Item", "Key", "ExclusiveStartKey")
_ITEM_MAPS_OUT = ("Item", "Attributes", "LastEvaluatedKey")


class Table:
    """One table's item operations over `client`; `name` and `meta.client` as on boto3's Table resource."""

    def __init__(self, name: str, client: Any) -> None:
        self.name = name
        self.meta = SimpleNamespace(client=client)

    def put_item(self, **request: Any) -> dict[str, Any]:
        """PutItem with a plain item."""
        return self._call("put_item", request)

    def get_item(self, **request: Any) -> dict[str, Any]:
        """GetItem with a plain key; the item comes back plain."""
        return self._call("get_item", request)

    def update_item(self, **request: Any) -> dict[str, Any]:
        """UpdateItem with a plain key and values; the attributes come back plain."""
        return self._call("update_item", request)

    def delete_item(self, **request: Any) -> dict[str, Any]:
        """DeleteItem with a plain key."""
        return self._call("delete_item", request)

    def query(self, **request: Any) -> dict[str, Any]:
        """Query; the items and the key to continue from come back plain."""
        return self._call("query", request)

    def _call(self, operation: str, request: dict[str, Any]) -> dict[str, Any]:
        typed = {**request, "TableName": self.name}
        for name in _ITEM_MAPS_IN:
            if name in typed:
                typed[name] = typed_map(typed[name])
        if "ExpressionAttributeValues" in typed:
            typed["ExpressionAttributeValues"] = typed_map(typed["ExpressionAttributeValues"])
        answer: dict[str, Any] = getattr(self.meta.client, operation)(**typed)
        for name in _ITEM_MAPS_OUT:
            if name in answer:
                answer[name] = plain(answer[name])
        if "Items" in answer:
            answer["Items"] = [plain(item) for item in answer["Items"]]
        return answer


def plain(item: dict[str, Any]) -> dict[str, Any]:
    """A typed item map ({"N": "3"}...) as plain Python values (numbers as Decimal, as the resource has them)."""
    return plain_map(item)
