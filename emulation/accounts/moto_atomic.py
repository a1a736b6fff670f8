"""Make moto's DynamoDB writes atomic, as DynamoDB's are: one lock per backend (account and region) around each write
and each read.

moto reads the current item, evaluates the condition and writes with no lock between, so concurrent requests to its
threaded server can all pass the same condition (same-version replaces with several winners). DynamoDB applies a
conditional write atomically; a concurrency test must be able to fail only because of the product.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.responses import DynamoHandler

# The writes, by name on both the backend and the request handler (which reads the old item for ReturnValues before
# calling the backend, so it holds the same lock); batch writes and transactions go through the single-item ones.
_WRITES = (
    "put_item",
    "update_item",
    "delete_item",
    "transact_write_items",
    "batch_write_item",
    "execute_statement",
    "execute_transaction",
    "batch_execute_statement",
)
# The reads, on both too: moto's update_item changes the stored item in place and its reads return that same object,
# which the request handler serialises after the backend call, so a read unlocked there could answer a half-applied
# update; DynamoDB's reads never see one.
_READS = ("get_item", "query", "scan", "batch_get_item", "transact_get_items")
_INSTALLED = "_emulation_atomic"

_locks: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_locks_guard = threading.Lock()


def lock_for(backend: Any) -> threading.RLock:
    """The one lock of a DynamoDB backend (re-entrant: a transaction's writes call the single-item writes)."""
    with _locks_guard:
        lock = _locks.get(backend)
        if lock is None:
            lock = _locks[backend] = threading.RLock()
        return lock


def _locked(method: Callable[..., Any], backend_of: Callable[[Any], Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock_for(backend_of(self)):
            return method(self, *args, **kwargs)

    setattr(locked, _INSTALLED, True)
    return locked


def _wrap(cls: type, names: tuple[str, ...], backend_of: Callable[[Any], Any]) -> None:
    for name in names:
        method = getattr(cls, name, None)
        if method is not None and not getattr(method, _INSTALLED, False):
            setattr(cls, name, _locked(method, backend_of))


def install() -> None:
    """Wrap moto's DynamoDB writes and reads in their backend's lock (idempotent; applies to the whole process)."""
    with _locks_guard:
        _wrap(DynamoDBBackend, _WRITES + _READS, lambda backend: backend)
        _wrap(DynamoHandler, _WRITES + _READS, lambda handler: handler.dynamodb_backend)
