"""The emulation's DynamoDB applies a conditional write atomically, as DynamoDB does: one winner per race.

moto reads the current item, evaluates the condition and then writes, with no lock between; concurrent requests to
its threaded server can all pass the same condition. These tests race threads on one key through the emulation's
moto server, as the backend's repository writes (update with `#version = :expected`, put with
`attribute_not_exists(sk)`, delete with `attribute_exists(sk)`). Reads wait for a write in progress, so none sees
an update half-applied.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import moto.dynamodb.models as dynamodb_models
import moto.dynamodb.models.table as dynamodb_table
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulation.accounts import moto_atomic
from emulation.accounts.two_accounts import PROVIDER, TwoAccounts

THREADS = 8
ROUNDS = 12
# Widens moto's read-check-write window so a race shows in every run; it delays, never changes, the outcome.
CONDITION_DELAY_S = 0.005


class _SlowCondition:
    """A moto condition that answers what it would have answered, CONDITION_DELAY_S later."""

    def __init__(self, condition: Any) -> None:
        self._condition = condition

    def expr(self, item: Any) -> bool:
        """The condition's own result on `item`, after a pause (between moto's check and its write)."""
        result = bool(self._condition.expr(item))
        time.sleep(CONDITION_DELAY_S)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._condition, name)


class _SlowParser:
    def __init__(self, parser: Any) -> None:
        self._parser = parser

    def parse(self) -> _SlowCondition:
        return _SlowCondition(self._parser.parse())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._parser, name)


@pytest.fixture
def slow_conditions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every condition moto's DynamoDB evaluates for a write pauses after evaluating, before the write happens."""
    filter_expression = dynamodb_table.get_filter_expression  # Table.put_item and backend.delete_item use it
    parser = dynamodb_models.create_condition_expression_parser  # backend.update_item uses it

    def slow_filter(*args: Any, **kwargs: Any) -> _SlowCondition:
        return _SlowCondition(filter_expression(*args, **kwargs))

    monkeypatch.setattr(dynamodb_table, "get_filter_expression", slow_filter)
    monkeypatch.setattr(dynamodb_models, "get_filter_expression", slow_filter)
    monkeypatch.setattr(
        dynamodb_models, "create_condition_expression_parser", lambda *a, **k: _SlowParser(parser(*a, **k))
    )


@pytest.fixture
def dynamodb(env: TwoAccounts) -> Iterator[Any]:
    """A DynamoDB client of the provider account on the emulation's moto server, with a connection per thread."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=env.moto_url,
        region_name=env.region,
        aws_access_key_id="race-test",
        aws_secret_access_key="race-test",
        config=Config(max_pool_connections=THREADS, retries={"total_max_attempts": 1}),
    )
    client.meta.events.register(
        "before-send.dynamodb.*", lambda request, **_: request.headers.__setitem__("x-moto-account-id", PROVIDER)
    )
    yield client
    client.close()


def _race(attempt: Callable[[int], bool]) -> list[int]:
    """Run `attempt` on THREADS threads released together, ROUNDS times; the number of winners in each round."""
    winners = []
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for round_number in range(ROUNDS):
            start = threading.Barrier(THREADS, timeout=10)

            def one(_: int, _start: threading.Barrier = start, _round: int = round_number) -> bool:
                _start.wait()
                return attempt(_round)

            winners.append(sum(pool.map(one, range(THREADS))))
    return winners


def _won(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True


def _key(run: str, round_number: int) -> dict[str, Any]:
    return {"pk": {"S": f"race-{run}"}, "sk": {"S": f"item-{round_number}"}}


@pytest.mark.usefixtures("slow_conditions")
def test_moto_atomic_writes_same_version_updates_have_exactly_one_winner(env: TwoAccounts, dynamodb: Any) -> None:
    # GIVEN one item per round at version 1
    run, table = uuid.uuid4().hex, env.names.table_name
    for round_number in range(ROUNDS):
        dynamodb.put_item(TableName=table, Item={**_key(run, round_number), "version": {"N": "1"}})

    # WHEN THREADS writers each replace it expecting version 1 (the repository's update)
    def replace(round_number: int) -> bool:
        return _won(
            lambda: dynamodb.update_item(
                TableName=table,
                Key=_key(run, round_number),
                UpdateExpression="SET #version = :next",
                ConditionExpression="attribute_exists(sk) AND #version = :expected",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={":expected": {"N": "1"}, ":next": {"N": "2"}},
            )
        )

    winners = _race(replace)
    # THEN exactly one writer wins each round
    assert winners == [1] * ROUNDS


@pytest.mark.usefixtures("slow_conditions")
def test_moto_atomic_writes_put_if_not_exists_has_exactly_one_winner(env: TwoAccounts, dynamodb: Any) -> None:
    # GIVEN a fresh key per round
    run, table = uuid.uuid4().hex, env.names.table_name

    # WHEN THREADS writers each create it unless it exists (the repository's create)
    def create(round_number: int) -> bool:
        return _won(
            lambda: dynamodb.put_item(
                TableName=table,
                Item={**_key(run, round_number), "writer": {"S": uuid.uuid4().hex}},
                ConditionExpression="attribute_not_exists(sk)",
            )
        )

    winners = _race(create)
    # THEN exactly one writer creates it each round
    assert winners == [1] * ROUNDS


@pytest.mark.usefixtures("slow_conditions")
def test_moto_atomic_writes_delete_if_exists_has_exactly_one_winner(env: TwoAccounts, dynamodb: Any) -> None:
    # GIVEN one item per round
    run, table = uuid.uuid4().hex, env.names.table_name
    for round_number in range(ROUNDS):
        dynamodb.put_item(TableName=table, Item=_key(run, round_number))

    # WHEN THREADS writers each delete it if it exists (the repository's delete)
    def delete(round_number: int) -> bool:
        return _won(
            lambda: dynamodb.delete_item(
                TableName=table, Key=_key(run, round_number), ConditionExpression="attribute_exists(sk)"
            )
        )

    winners = _race(delete)
    # THEN exactly one delete succeeds each round; the others find nothing to delete
    assert winners == [1] * ROUNDS


# A read of the racing key, by each read operation moto's DynamoDB offers.
_READS: dict[str, Callable[[Any, str, dict[str, Any]], Any]] = {
    "get_item": lambda db, table, key: db.get_item(TableName=table, Key=key),
    "query": lambda db, table, key: db.query(
        TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": key["pk"]}
    ),
    "scan": lambda db, table, key: db.scan(TableName=table, Limit=1),
    "batch_get_item": lambda db, table, key: db.batch_get_item(RequestItems={table: {"Keys": [key]}}),
    "transact_get_items": lambda db, table, key: db.transact_get_items(
        TransactItems=[{"Get": {"TableName": table, "Key": key}}]
    ),
}
HELD_S = 0.3  # how long a write holds the table while a read is sent; the read takes a few ms when nothing stops it


@pytest.mark.parametrize("operation", sorted(_READS))
def test_moto_atomic_reads_wait_for_a_write_in_progress(env: TwoAccounts, dynamodb: Any, operation: str) -> None:
    # GIVEN an item, and its backend's lock held as by a write in the middle of applying an update (moto's
    # update_item changes the stored item in place, attribute by attribute)
    run, table = uuid.uuid4().hex, env.names.table_name
    dynamodb.put_item(TableName=table, Item={**_key(run, 0), "version": {"N": "1"}})
    lock = moto_atomic.lock_for(dynamodb_models.dynamodb_backends[PROVIDER][env.region])
    with ThreadPoolExecutor(max_workers=1) as pool:
        with lock:
            # WHEN a read is sent meanwhile
            read = pool.submit(_READS[operation], dynamodb, table, _key(run, 0))
            time.sleep(HELD_S)
            # THEN it has not been answered: it cannot see a half-applied write
            assert not read.done()
        # AND it is answered once the write is over
        assert read.result(timeout=10)["ResponseMetadata"]["HTTPStatusCode"] == 200
