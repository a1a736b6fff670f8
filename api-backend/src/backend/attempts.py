"""Whether a DynamoDB call had an attempt that may have been applied although no answer to it arrived.

botocore sends a write again after a lost or late reply (a read timeout, a connection closed after sending) or a
5xx, and DynamoDB may have applied the first attempt. A throttled, refused or never-connected attempt applied
nothing. A delete whose resend finds the item gone must know which happened: its own earlier attempt (204) or an
item that never was (404).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

__all__ = ["call", "watch"]

# Sent, then no answer: the attempt may have been applied.
_UNANSWERED = (ReadTimeoutError, ConnectionClosedError)
_UNSURE: ContextVar[bool] = ContextVar("dynamodb_attempt_unsure", default=False)


def watch(client: Any) -> None:
    """Record, on every call made with `client`, whether an attempt ended without a definite answer."""

    def needs_retry(response: Any = None, caught_exception: Exception | None = None, **_: Any) -> None:
        # Runs after every attempt, beside botocore's own retry handler; returning None leaves its decision alone.
        unanswered = isinstance(caught_exception, _UNANSWERED)
        if unanswered or (response is not None and response[0].status_code >= 500):
            _UNSURE.set(True)

    client.meta.events.register("needs-retry.dynamodb", needs_retry)


@contextmanager
def call() -> Iterator[Callable[[], bool]]:
    """Around one call: yields a function telling whether an attempt so far may have been applied unanswered."""
    token = _UNSURE.set(False)
    try:
        yield _UNSURE.get
    finally:
        _UNSURE.reset(token)
