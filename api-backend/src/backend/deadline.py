"""The invocation's deadline for DynamoDB calls: no attempt starts that could not finish before Lambda stops us.

botocore retries on its own (attempts counted by `total_max_attempts`), unaware of the function's timeout. A
`before-send` handler runs before every attempt, retries included; when less time is left than one attempt can take,
it raises DeadlineExceeded. botocore treats an exception raised there like a failed send, but it is neither a
connection error nor an HTTP client error, so its retry rules never retry it: the call ends, and the backend answers
its own 503 with a request id instead of Lambda's timeout becoming API Gateway's bare 502.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError

__all__ = ["DeadlineExceeded", "Timed", "guard", "invocation"]

# Left after the last attempt for building and returning the 503 (and its log line).
ANSWER_MARGIN_S = 0.5

# time.monotonic() value after which no DynamoDB attempt may still be running; None outside an invocation.
_DEADLINE: ContextVar[float | None] = ContextVar("dynamodb_deadline", default=None)


class Timed(Protocol):
    """The part of the Lambda context that tells the time left."""

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds before Lambda stops the invocation."""
        ...


class DeadlineExceeded(BotoCoreError):
    """Not enough of the invocation is left for another DynamoDB attempt (a BotoCoreError: the store is unavailable)."""

    fmt = "{remaining:.2f} s left before the function timeout, one DynamoDB attempt may take {attempt:.2f} s"


@contextmanager
def invocation(context: Timed | None) -> Iterator[None]:
    """Within the block, DynamoDB attempts must end ANSWER_MARGIN_S before the context's remaining time runs out."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    token = _DEADLINE.set(None if remaining is None else time.monotonic() + remaining() / 1000 - ANSWER_MARGIN_S)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def guard(client: Any, attempt_seconds: float) -> None:
    """Refuse, on `client`, any attempt (first or retry) that could run past the deadline (connect + read timeouts)."""

    def before_send(**_: Any) -> None:
        deadline = _DEADLINE.get()
        if deadline is None:
            return
        remaining = deadline - time.monotonic()
        if remaining < attempt_seconds:
            raise DeadlineExceeded(remaining=remaining, attempt=attempt_seconds)

    client.meta.events.register("before-send.dynamodb", before_send)
