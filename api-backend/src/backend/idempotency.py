"""Idempotency-Key on creates and deletes: the same key and request within an hour get the first answer.

A replace needs no record here: it stores the key with the item and recognises its own write (backend.repository).

The key is scoped to the caller's account (it is hashed together with the account id), so two tenants sending the
same key never share a record. The record is claimed before the write and completed with the answer after it; a
write that fails releases it, so a later retry runs again. Records live in their own table (IDEMPOTENCY_TABLE_NAME),
expire through DynamoDB TTL on `expiration`, and an in-progress record expires at the function timeout (the Lambda
context is registered on every invocation).

The records are those of Powertools' idempotency utility (DynamoDBPersistenceLayer with its default attributes, the
configuration this module used to give it): same key, attributes, hashes, conditions and states, written here on a
botocore client because Powertools' idempotency package imports boto3, and boto3 imports s3transfer, on every cold
start. Keeping the format means a deployment changes nothing for a key in flight: a record written by the previous
code is read, answered, completed or released by this one, and the other way round after a rollback.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from backend.attribute_values import plain_map
from backend.deadline import Timed
from backend.errors import BadRequestError, ConflictError, UnprocessableError, store_unavailable
from backend.ids import new_item_id

__all__ = ["HEADER", "KeyedWrites", "parse_key"]

HEADER = "Idempotency-Key"
EXPIRES_AFTER_S = 3600  # how long a key's first answer is replayed
_CONDITION_FAILED = "ConditionalCheckFailedException"
# Printable ASCII without spaces, like a UUID or a ULID; long enough for any client's scheme.
_KEY_PATTERN = re.compile(r"^[!-~]{1,128}$")
# Powertools' record key: "<function name>.<module>.<function>#<hash>", the function being the one it decorated here.
_RECORD_PREFIX = "backend.idempotency._perform"
_INPROGRESS, _COMPLETED = "INPROGRESS", "COMPLETED"
# A record that expired between the failed claim and its reading is claimed again: three tries in all (Powertools').
_CLAIM_TRIES = 3
# Claimed when the key is free, its record expired, or its write outlived the invocation that claimed it.
_CLAIMABLE = (
    "attribute_not_exists(#id) OR #expiry < :now OR "
    "(#status = :inprogress AND attribute_exists(#in_progress_expiry) AND #in_progress_expiry < :now_in_millis)"
)
_CLAIM_NAMES = {
    "#id": "id",
    "#expiry": "expiration",
    "#in_progress_expiry": "in_progress_expiration",
    "#status": "status",
}


class InconsistentRecordError(Exception):
    """The key's record changed between claiming and reading it three times in a row (a 500, as with Powertools)."""


def parse_key(value: str | None) -> str | None:
    """The Idempotency-Key header's value, None when absent; a malformed key is refused."""
    if value is None:
        return None
    if not _KEY_PATTERN.fullmatch(value):
        raise BadRequestError(f"{HEADER} must be 1-128 printable ASCII characters without spaces")
    return value


class KeyedWrites:
    """Runs a write at most once per (caller account, key); answers are {"status": int, "body": JSON or None}."""

    def __init__(self, table_name: str, client: Any) -> None:
        self._table_name = table_name
        self._client = client
        self._function = f"{os.environ.get('AWS_LAMBDA_FUNCTION_NAME', 'test-func')}.{_RECORD_PREFIX}"
        self._context: Timed | None = None

    def register(self, context: Timed) -> None:
        """Per invocation: an in-progress record expires when this invocation would time out."""
        self._context = context

    def run(self, request: dict[str, Any], write: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The first answer for this request's (account, key), running `write` only if there is none yet.

        `request` holds account, key, operation, itemId and body: the record is (account, key), and the same key
        with another operation, item or body is refused (422) rather than answered with another request's result.
        """
        record_id = f"{self._function}#{_hash([request['account'], request['key']])}"
        payload = _hash([request["operation"], request["itemId"], request["body"]])
        for attempt in range(_CLAIM_TRIES):
            try:
                return self._claimed_or_stored(record_id, payload, request["key"], write)
            except InconsistentRecordError:
                if attempt == _CLAIM_TRIES - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _claimed_or_stored(
        self, record_id: str, payload: str, key: str, write: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        stored = self._claim(record_id, payload)
        if stored is None:
            return self._write_and_complete(record_id, payload, write)
        if stored.get("validation") != payload:
            raise UnprocessableError(
                f"{HEADER} {key} was already used for a different request (method, item or body); "
                "send this request with a new key"
            )
        status, now = stored["status"], time.time()
        if stored["expiration"] and int(now) > stored["expiration"]:
            raise InconsistentRecordError(record_id)  # expired since the claim failed: claim it again
        if status == _INPROGRESS:
            in_progress_expiry = stored.get("in_progress_expiration")
            if in_progress_expiry is not None and in_progress_expiry < int(now * 1000):
                raise InconsistentRecordError(record_id)  # its invocation has timed out since: claim it again
            raise ConflictError(f"A request with {HEADER} {key} is still in progress; retry after it completes")
        if status != _COMPLETED:
            raise RuntimeError(f"idempotency record {record_id} has an unknown status {status!r}")  # a 500
        answer: dict[str, Any] = json.loads(stored["data"])
        return answer

    def _claim(self, record_id: str, payload: str) -> dict[str, Any] | None:
        """Store an in-progress record for the key; None when claimed, else the key's record (plain values)."""
        now = time.time()
        item = {
            "id": {"S": record_id},
            "expiration": {"N": str(int(now + EXPIRES_AFTER_S))},
            "status": {"S": _INPROGRESS},
            "validation": {"S": payload},
        }
        if self._context is not None:
            # When this invocation would time out: a later request may then take the key over.
            remaining_ms = self._context.get_remaining_time_in_millis()
            item["in_progress_expiration"] = {"N": str(int((now + remaining_ms / 1000) * 1000))}
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item=item,
                ConditionExpression=_CLAIMABLE,
                ExpressionAttributeNames=_CLAIM_NAMES,
                ExpressionAttributeValues={
                    ":now": {"N": str(int(now))},
                    ":now_in_millis": {"N": str(int(now * 1000))},
                    ":inprogress": {"S": _INPROGRESS},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            if _code(error) != _CONDITION_FAILED:
                raise store_unavailable(error) from error
            # botocore's ClientError type omits the item DynamoDB returns with ReturnValuesOnConditionCheckFailure.
            response: Mapping[str, Any] = error.response
            return plain_map(response.get("Item") or self._read(record_id))
        except BotoCoreError as error:
            raise store_unavailable(error) from error
        return None

    def _read(self, record_id: str) -> dict[str, Any]:
        """The key's record, read when a failed claim did not return it."""
        try:
            answer = self._client.get_item(
                TableName=self._table_name, Key={"id": {"S": record_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as error:
            raise store_unavailable(error) from error
        if "Item" not in answer:
            raise InconsistentRecordError(record_id)  # released since the claim failed: claim it again
        item: dict[str, Any] = answer["Item"]
        return item

    def _write_and_complete(self, record_id: str, payload: str, write: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Run the write; store its answer on the record, or release the record when the write raised."""
        try:
            answer = write()
        except Exception:
            # Released, so a retry runs the write again; a failed release is a 503 (the key stays claimed until the
            # in-progress record expires with this invocation).
            try:
                self._client.delete_item(TableName=self._table_name, Key={"id": {"S": record_id}})
            except (ClientError, BotoCoreError) as error:
                raise store_unavailable(error) from error
            raise
        try:
            self._client.update_item(
                TableName=self._table_name,
                Key={"id": {"S": record_id}},
                UpdateExpression=(
                    "SET #response_data = :response_data, #expiry = :expiry, #status = :status, "
                    "#validation_key = :validation_key"
                ),
                ExpressionAttributeNames={
                    "#expiry": "expiration",
                    "#response_data": "data",
                    "#status": "status",
                    "#validation_key": "validation",
                },
                ExpressionAttributeValues={
                    ":expiry": {"N": str(int(time.time() + EXPIRES_AFTER_S))},
                    ":response_data": {"S": json.dumps(answer, sort_keys=True)},
                    ":status": {"S": _COMPLETED},
                    ":validation_key": {"S": payload},
                },
            )
        except (ClientError, BotoCoreError) as error:
            raise store_unavailable(error) from error
        return answer

    def item_id(self, account: str, key: str) -> str:
        """The id a keyed create writes: chosen once per (account, key) and kept, so every run writes the same item.

        A key is released when the write raises, and a write whose outcome DynamoDB never confirmed (lost
        replies, the deadline) raises although it may have been stored. Pinning the id makes the resend write the
        same item: its condition then fails on the stored one, which carries this key (backend.repository), so the
        resend answers 201 with it instead of storing a second item.
        """
        scope = hashlib.sha256(f"{account}\n{key}".encode()).hexdigest()
        now = int(time.time())
        candidate = new_item_id()
        try:
            self._client.put_item(
                TableName=self._table_name,
                Item={
                    "id": {"S": f"item-id#{scope}"},
                    "itemId": {"S": candidate},
                    "expiration": {"N": str(now + EXPIRES_AFTER_S)},
                },
                # An expired reservation is free again (TTL deletes it eventually, not at once).
                ConditionExpression="attribute_not_exists(id) OR expiration < :now",
                ExpressionAttributeValues={":now": {"N": str(now)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as error:
            # botocore's ClientError type omits the item DynamoDB returns with ReturnValuesOnConditionCheckFailure.
            response: Mapping[str, Any] = error.response
            stored = response.get("Item") or {}
            if error.response.get("Error", {}).get("Code") == _CONDITION_FAILED and "itemId" in stored:
                return str(stored["itemId"]["S"])  # an earlier run (or botocore's retry of this put) reserved it
            raise store_unavailable(error) from error
        except BotoCoreError as error:
            raise store_unavailable(error) from error
        return candidate


def _hash(value: Any) -> str:
    # Powertools' record hash: MD5 of the sorted JSON, kept so that records stay readable across deployments.
    return hashlib.md5(json.dumps(value, sort_keys=True).encode(), usedforsecurity=False).hexdigest()


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))
