"""Items in DynamoDB: partition key pk = owner account id, sort key sk = time-sortable item id.

Every function takes the table as an argument (built once by the caller) and only ever touches the caller's
own partition, so one account can never read or change another account's items.

Writes happen once. When DynamoDB applies a write but its reply is lost or late, botocore sends the same request
again and that retry fails its own condition (DynamoDB documents this for conditional writes). Each write therefore
stores the request's token (the Idempotency-Key, else API Gateway's request id) and asks for the stored item on a
failed condition (ReturnValuesOnConditionCheckFailure=ALL_OLD): an item carrying this token, at the version this
write produces, is this request's own earlier attempt and is answered as a success.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from backend import attempts
from backend.errors import ApiError, BadRequestError, ConflictError, NotFoundError, store_unavailable
from backend.identity import Caller
from backend.ids import new_item_id
from backend.table import plain
from backend.validation import ItemFields

Table = Any  # backend.table.Table, or boto3's Table resource: plain Python values in and out

_CONDITION_FAILED = "ConditionalCheckFailedException"
# DynamoDB refuses the values it was given (item too large, empty key, too many digits...): the caller's input.
_INPUT_REFUSED = "ValidationException"
REFUSED_BY_STORE = "DynamoDB refused the item's values (too large, or a value it cannot store); check the fields"
_WRITTEN_BY = "requestToken"  # stored with every write, never shown by the API
_NAMES = {
    "#name": "name",
    "#description": "description",
    "#tags": "tags",
    "#version": "version",
    "#updatedAt": "updatedAt",
    "#updatedBy": "updatedBy",
    "#token": _WRITTEN_BY,
}


def create_item(
    table: Table, caller: Caller, fields: ItemFields, *, token: str, item_id: str | None = None
) -> dict[str, Any]:
    """Store a new item owned by the caller's account and return it; `token` identifies the request, `item_id` is
    the id reserved for it (a keyed create), else a new one."""
    now = _now()
    record = {
        "pk": caller.account_id,
        "sk": item_id or new_item_id(),
        "name": fields.name,
        "description": fields.description,
        "tags": fields.tags,
        "version": 1,
        "createdAt": now,
        "createdBy": caller.principal_arn,
        "createdByAccount": caller.account_id,
        "updatedAt": now,
        "updatedBy": caller.principal_arn,
        _WRITTEN_BY: token,
    }
    try:
        table.put_item(
            Item=record, ConditionExpression="attribute_not_exists(sk)", ReturnValuesOnConditionCheckFailure="ALL_OLD"
        )
    except ClientError as error:
        if _code(error) != _CONDITION_FAILED:
            raise _store_error(error) from error
        stored = _old_item(error)
        if stored.get(_WRITTEN_BY) == token:
            return to_api(stored)  # an earlier attempt of this request stored it; the reply was lost
        raise ConflictError("Generated item id already exists; retry the request") from None
    except BotoCoreError as error:
        raise _store_error(error) from error
    return to_api(record)


def get_item(table: Table, owner: str, item_id: str) -> dict[str, Any]:
    """One item of the owner's account."""
    try:
        found = table.get_item(Key={"pk": owner, "sk": item_id}).get("Item")
    except (ClientError, BotoCoreError) as error:
        raise _store_error(error) from error
    if not found:
        raise NotFoundError(f"Item {item_id} not found")
    return to_api(found)


def list_items(
    table: Table, owner: str, limit: int, start_key: dict[str, str] | None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """One page of the owner's items, oldest first, and the key to continue from (None at the end)."""
    query: dict[str, Any] = {
        "KeyConditionExpression": "#pk = :owner",
        "ExpressionAttributeNames": {"#pk": "pk"},
        "ExpressionAttributeValues": {":owner": owner},
        "Limit": limit,
    }
    if start_key:
        query["ExclusiveStartKey"] = start_key
    try:
        page = table.query(**query)
    except (ClientError, BotoCoreError) as error:
        raise _store_error(error) from error
    return [to_api(record) for record in page.get("Items", [])], page.get("LastEvaluatedKey")


def replace_item(
    table: Table, caller: Caller, item_id: str, fields: ItemFields, version: int, *, token: str
) -> dict[str, Any]:
    """Replace an item's fields if it still has the version the caller read; the version then increases by one."""
    try:
        updated = table.update_item(
            Key={"pk": caller.account_id, "sk": item_id},
            UpdateExpression=(
                "SET #name = :name, #description = :description, #tags = :tags, #version = :next, "
                "#updatedAt = :now, #updatedBy = :by, #token = :token"
            ),
            ConditionExpression="attribute_exists(sk) AND #version = :expected",
            ExpressionAttributeNames=_NAMES,
            ExpressionAttributeValues={
                ":name": fields.name,
                ":description": fields.description,
                ":tags": fields.tags,
                ":next": version + 1,
                ":expected": version,
                ":now": _now(),
                ":by": caller.principal_arn,
                ":token": token,
            },
            ReturnValues="ALL_NEW",
            # On a failed condition DynamoDB returns the current item, which tells "gone" from "changed".
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    except ClientError as error:
        if _code(error) != _CONDITION_FAILED:
            raise _store_error(error) from error
        current = _old_item(error)
        if not current:
            raise NotFoundError(f"Item {item_id} not found") from None
        current_version = _deserialize_number(current.get("version"))
        if current.get(_WRITTEN_BY) == token and current_version == version + 1 and _holds(current, fields):
            return to_api(current)  # this request's own write, applied by an attempt whose reply was lost
        raise ConflictError(
            f"Item {item_id} has version {current_version}, not {version}; read it again and retry",
            currentVersion=current_version,
        ) from None
    except BotoCoreError as error:
        raise _store_error(error) from error
    return to_api(updated["Attributes"])


def delete_item(table: Table, owner: str, item_id: str) -> None:
    """Delete one item of the owner's account."""
    with attempts.call() as maybe_applied:
        try:
            table.delete_item(Key={"pk": owner, "sk": item_id}, ConditionExpression="attribute_exists(sk)")
        except ClientError as error:
            if _code(error) != _CONDITION_FAILED:
                raise _store_error(error) from error
            # A deleted item leaves nothing to recognise. When an earlier attempt of this call went unanswered
            # (botocore then sent it again), that attempt may have deleted it: the item is gone, as the caller asked.
            # Residual case: an item someone else deleted between the two attempts also answers 204, not 404.
            if not maybe_applied():
                raise NotFoundError(f"Item {item_id} not found") from None
        except BotoCoreError as error:
            raise _store_error(error) from error


def to_api(record: dict[str, Any]) -> dict[str, Any]:
    """The item as the API shows it: id instead of the table keys, plain ints instead of Decimals."""
    return {
        "id": record["sk"],
        "name": record["name"],
        "description": record.get("description", ""),
        "tags": list(record.get("tags", [])),
        "version": int(record["version"]),
        "createdAt": record["createdAt"],
        "createdBy": record["createdBy"],
        "createdByAccount": record["createdByAccount"],
        "updatedAt": record["updatedAt"],
        "updatedBy": record["updatedBy"],
    }


def _store_error(error: Exception) -> ApiError:
    if isinstance(error, ClientError) and _code(error) == _INPUT_REFUSED:
        # Retrying cannot help: the same values are refused again. DynamoDB's own text can name the table's key
        # schema, so it goes to the log (the app logs the cause), not to the caller.
        refused = BadRequestError(REFUSED_BY_STORE)
        refused.__cause__ = error
        return refused
    # Throttling, timeouts, an unreachable or missing table: the caller sees a generic 503 (with the request id
    # added by the app); the cause stays in the log.
    return store_unavailable(error)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _holds(record: dict[str, Any], fields: ItemFields) -> bool:
    # The same token with other fields is another request reusing a key, not a repeat of this one.
    stored = ItemFields(str(record.get("name")), str(record.get("description", "")), list(record.get("tags", [])))
    return stored == fields


def _old_item(error: ClientError) -> dict[str, Any]:
    # Items in an error response are not deserialized by the resource layer: they arrive as {"N": "3"}.
    # botocore's ClientError type omits that item, so the response is read as the plain mapping it is.
    response: Mapping[str, Any] = error.response
    return plain(response.get("Item") or {})


def _deserialize_number(attribute: Any) -> int | None:
    if isinstance(attribute, int | Decimal) and not isinstance(attribute, bool):
        return int(attribute)
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
