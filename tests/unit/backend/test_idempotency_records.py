"""Idempotency-Key records are Powertools' own: a deployment (or a rollback) changes nothing for a key in flight.

The previous backend kept the records with Powertools' idempotency utility (DynamoDBPersistenceLayer);
backend.idempotency now writes the same records on a botocore client. `_previous` below is that utility configured
exactly as the previous backend.idempotency configured it, so each test has one side write a record and the other side
read it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from botocore.exceptions import ClientError
from moto import mock_aws

from backend.errors import ConflictError, StoreUnavailableError, UnprocessableError
from backend.idempotency import KeyedWrites
from tests.unit.backend.conftest import IDEMPOTENCY_TABLE_NAME, REGION, FakeLambdaContext

ACCOUNT = "111122223333"
ANSWER = {"status": 201, "body": {"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "name": "first", "tags": ["a"], "version": 1}}

Run = Callable[..., Any]


@pytest.fixture
def client(
    aws_env: None, idempotency_table_definition: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """A DynamoDB client on an empty records table (moto), with Lambda's function name set."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "private-api-backend")
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName=IDEMPOTENCY_TABLE_NAME, **idempotency_table_definition)
        yield dynamodb


def _previous(client: Any) -> Run:
    """The previous backend.idempotency.KeyedWrites run: Powertools' utility, configured as it was."""
    config = IdempotencyConfig(
        event_key_jmespath="[account, key]",
        payload_validation_jmespath="[operation, itemId, body]",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=3600,
    )
    config.register_lambda_context(FakeLambdaContext())  # type: ignore[arg-type]  # the attributes Powertools reads
    persistence = DynamoDBPersistenceLayer(table_name=IDEMPOTENCY_TABLE_NAME, boto3_client=client)

    def _perform(request: dict[str, Any], write: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        return write()

    # The record key names the decorated function: the previous module's own.
    _perform.__module__, _perform.__qualname__ = "backend.idempotency", "_perform"
    once = idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config)
    return once(_perform)


def _current(client: Any) -> KeyedWrites:
    writes = KeyedWrites(IDEMPOTENCY_TABLE_NAME, client)
    writes.register(FakeLambdaContext())
    return writes


def _request(key: str, name: str = "first") -> dict[str, Any]:
    return {"account": ACCOUNT, "key": key, "operation": "create", "itemId": None, "body": {"name": name}}


def _records(client: Any) -> list[dict[str, Any]]:
    return list(client.scan(TableName=IDEMPOTENCY_TABLE_NAME)["Items"])


def _must_not_run() -> dict[str, Any]:
    raise AssertionError("the write ran again")


def test_record_completed_by_the_previous_backend_is_answered_without_running_the_write(client: Any) -> None:
    # GIVEN a keyed create completed by the previous backend (Powertools) just before a deployment
    assert _previous(client)(request=_request("k1"), write=lambda: ANSWER) == ANSWER
    # WHEN the same request arrives at this backend
    answer = _current(client).run(_request("k1"), _must_not_run)
    # THEN the first answer comes back and the write does not run again
    assert answer == ANSWER


def test_record_completed_by_the_previous_backend_other_body_is_422(client: Any) -> None:
    # GIVEN a keyed create completed by the previous backend
    _previous(client)(request=_request("k2"), write=lambda: ANSWER)
    # WHEN this backend gets the same key with another body THEN 422, as before
    with pytest.raises(UnprocessableError):
        _current(client).run(_request("k2", name="other"), _must_not_run)


def test_record_in_progress_under_the_previous_backend_is_409_here(client: Any) -> None:
    # GIVEN a keyed create still running on a sandbox of the previous backend
    seen: list[Exception] = []

    def write_while_repeated_here() -> dict[str, Any]:
        with pytest.raises(ConflictError) as refused:
            _current(client).run(_request("k3"), _must_not_run)  # the repeat reaches a new sandbox mid-write
        seen.append(refused.value)
        return ANSWER

    # WHEN it completes THEN the repeat was refused with 409 (retry later)
    assert _previous(client)(request=_request("k3"), write=write_while_repeated_here) == ANSWER
    assert len(seen) == 1


def test_record_completed_here_is_answered_by_the_previous_backend_after_a_rollback(client: Any) -> None:
    # GIVEN a keyed create completed by this backend
    assert _current(client).run(_request("k4"), lambda: ANSWER) == ANSWER
    # WHEN the same request reaches the previous backend (a rollback) THEN it answers the first answer, and refuses
    # another body
    assert _previous(client)(request=_request("k4"), write=_must_not_run) == ANSWER
    with pytest.raises(IdempotencyValidationError):
        _previous(client)(request=_request("k4", name="other"), write=_must_not_run)


def test_record_in_progress_here_is_refused_by_the_previous_backend(client: Any) -> None:
    # GIVEN a keyed create running on this backend WHEN the previous backend gets it THEN it is in progress there too
    def write_while_repeated_there() -> dict[str, Any]:
        with pytest.raises(IdempotencyAlreadyInProgressError):
            _previous(client)(request=_request("k5"), write=_must_not_run)
        return ANSWER

    assert _current(client).run(_request("k5"), write_while_repeated_there) == ANSWER


def test_record_attributes_are_the_previous_backends(client: Any) -> None:
    # GIVEN the same keyed request completed once by each backend (the first record removed in between)
    _previous(client)(request=_request("k6"), write=lambda: ANSWER)
    (before,) = _records(client)
    client.delete_item(TableName=IDEMPOTENCY_TABLE_NAME, Key={"id": before["id"]})
    _current(client).run(_request("k6"), lambda: ANSWER)
    (after,) = _records(client)
    # THEN both records have the same key, attributes, status, hashes and answer; the times differ by moments
    assert set(after) == set(before) == {"id", "expiration", "in_progress_expiration", "status", "validation", "data"}
    assert {name: after[name] for name in ("id", "status", "validation", "data")} == {
        name: before[name] for name in ("id", "status", "validation", "data")
    }
    assert abs(int(after["expiration"]["N"]) - int(before["expiration"]["N"])) <= 2
    assert abs(int(after["in_progress_expiration"]["N"]) - int(before["in_progress_expiration"]["N"])) <= 2_000


def test_failed_write_releases_the_record_as_before(client: Any) -> None:
    # GIVEN a keyed write that fails on this backend
    def failing() -> dict[str, Any]:
        raise ConflictError("boom")

    with pytest.raises(ConflictError):
        _current(client).run(_request("k7"), failing)
    # THEN no record is left, so a retry runs again on either backend
    assert _records(client) == []
    assert _previous(client)(request=_request("k7"), write=lambda: ANSWER) == ANSWER


class _Failing:
    """The moto client, except that one operation fails as a throttled DynamoDB would answer it."""

    def __init__(self, client: Any, operation: str) -> None:
        self._client, self._operation = client, operation

    def __getattr__(self, name: str) -> Any:
        if name == self._operation:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, name)  # type: ignore[arg-type]  # the parts of a response ClientError reads
        return getattr(self._client, name)


def _stored_record(client: Any, key: str, **attributes: dict[str, str]) -> None:
    # A completed record for the key, then some of its attributes overwritten directly (an earlier invocation's).
    assert _current(client).run(_request(key), lambda: ANSWER) == ANSWER
    (written,) = _records(client)
    client.put_item(TableName=IDEMPOTENCY_TABLE_NAME, Item={**written, **attributes})


def test_record_whose_invocation_timed_out_is_taken_over_and_the_write_runs(client: Any) -> None:
    # GIVEN a key still in progress, but past its in-progress expiry (its invocation was stopped by the timeout)
    past_ms = str(int((time.time() - 60) * 1000))
    _stored_record(client, "k8", status={"S": "INPROGRESS"}, in_progress_expiration={"N": past_ms})
    ran: list[bool] = []

    def write() -> dict[str, Any]:
        ran.append(True)
        return ANSWER

    # WHEN the request is resent THEN the key is claimed again and the write runs
    assert _current(client).run(_request("k8"), write) == ANSWER
    assert ran == [True]


def test_record_past_its_hour_is_claimed_again_and_the_write_runs(client: Any) -> None:
    # GIVEN a completed record whose hour has passed (TTL deletes it eventually, not at once)
    _stored_record(client, "k9", expiration={"N": str(int(time.time()) - 10)})
    # WHEN the same key is sent again THEN it is a new request: the write runs and its answer is returned
    other = {"status": 201, "body": {"id": "later"}}
    assert _current(client).run(_request("k9"), lambda: other) == other


@pytest.mark.parametrize("operation", ["delete_item", "update_item"], ids=["release", "completion"])
def test_record_release_or_completion_failing_is_503(client: Any, operation: str) -> None:
    # GIVEN the records table failing the release (after a failed write) or the completion (after a write)
    writes = KeyedWrites(IDEMPOTENCY_TABLE_NAME, _Failing(client, operation))
    writes.register(FakeLambdaContext())

    def write() -> dict[str, Any]:
        if operation == "delete_item":
            raise ConflictError("the write failed")
        return ANSWER

    # WHEN the keyed write runs THEN the store is unavailable (503), as with Powertools' utility
    with pytest.raises(StoreUnavailableError):
        writes.run(_request("k10"), write)
