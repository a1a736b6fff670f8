"""Idempotency-Key on creates and deletes: the same key and request within an hour get the first answer (Powertools).

A replace needs no record here: it stores the key with the item and recognises its own write (backend.repository).

The key is scoped to the caller's account (it is hashed together with the account id), so two tenants sending the
same key never share a record. The record is claimed before the write and completed with the answer after it; a
write that fails releases it, so a later retry runs again. Records live in their own table (IDEMPOTENCY_TABLE_NAME),
expire through DynamoDB TTL on `expiration`, and an in-progress record expires at the function timeout (the Lambda
context is registered on every invocation).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from backend.errors import BadRequestError, ConflictError, UnprocessableError, store_unavailable
from backend.ids import new_item_id

__all__ = ["HEADER", "KeyedWrites", "parse_key"]

HEADER = "Idempotency-Key"
EXPIRES_AFTER_S = 3600  # how long a key's first answer is replayed
_CONDITION_FAILED = "ConditionalCheckFailedException"
# Printable ASCII without spaces, like a UUID or a ULID; long enough for any client's scheme.
_KEY_PATTERN = re.compile(r"^[!-~]{1,128}$")


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
        self.config = IdempotencyConfig(
            event_key_jmespath="[account, key]",
            # Same key, other method, item or body: refused (422) rather than answered with another request's result.
            payload_validation_jmespath="[operation, itemId, body]",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=EXPIRES_AFTER_S,
        )
        self._table_name = table_name
        self._client = client
        persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)
        once = idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=self.config)
        self._run = once(_perform)

    def register(self, context: LambdaContext) -> None:
        """Per invocation: an in-progress record expires when this invocation would time out."""
        self.config.register_lambda_context(context)

    def run(self, request: dict[str, Any], write: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The first answer for this request's (account, key), running `write` only if there is none yet."""
        key = request["key"]
        try:
            return dict(self._run(request=request, write=write))
        except IdempotencyValidationError:
            raise UnprocessableError(
                f"{HEADER} {key} was already used for a different request (method, item or body); "
                "send this request with a new key"
            ) from None
        except IdempotencyAlreadyInProgressError:
            raise ConflictError(
                f"A request with {HEADER} {key} is still in progress; retry after it completes"
            ) from None
        except IdempotencyPersistenceLayerError as error:
            raise store_unavailable(error) from error

    def item_id(self, account: str, key: str) -> str:
        """The id a keyed create writes: chosen once per (account, key) and kept, so every run writes the same item.

        Powertools releases a key when the write raises, and a write whose outcome DynamoDB never confirmed (lost
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


def _perform(request: dict[str, Any], write: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    # `request` is what Powertools hashes (key) and validates (payload); `write` does the work.
    return write()
