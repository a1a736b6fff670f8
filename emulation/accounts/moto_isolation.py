"""Keep a running emulation's moto state out of reach of an in-process mock_aws, and the mock's out of the emulation's.

moto's `mock_aws` (moto/core/models.py) calls `BackendDict.reset()` when the outermost mock starts and again when it
stops: every backend of every service in this process is re-initialised in place and dropped from its BackendDict.
The emulation's moto server serves those same backends (it must run in this process: moto_identity reads them), so a
unit test's mock between two e2e tests wiped the running deployment. While an emulation holds moto, the outermost
mock's start first puts the current backends aside (the mock then sees moto's fresh world, as it expects) and its stop
puts them back after moto has dropped the mock's own. With no emulation running, mock_aws behaves exactly as before.
Requests to the emulation while a mock is active see the mock's world: one process runs one of them at a time.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from moto.core.base_backend import BackendDict, backend_lock
from moto.core.models import MockAWS

_INSTALLED = "_emulation_isolation"

Aside = list[tuple[BackendDict[Any], dict[str, Any]]]


def _instances() -> list[BackendDict[Any]]:
    """Every BackendDict moto created: one process-wide list, which moto declares without ClassVar."""
    return BackendDict._instances  # type: ignore[misc]  # same ignore as moto's own base_backend.py


class _State:
    """Who holds moto, and what an active mock_aws has put aside (None while no mock hides anything)."""

    def __init__(self) -> None:
        self.guard = threading.Lock()
        self.holders: set[int] = set()
        self.aside: Aside | None = None


_state = _State()


def _put_aside() -> Aside:
    # Detach (not reset): moto's reset re-initialises backend objects in place, which would empty what we keep.
    with backend_lock:
        aside = [(backends, dict(backends.items())) for backends in _instances()]
        for backends, _ in aside:
            dict.clear(backends)
        _instances().clear()
    return aside


def _put_back(aside: Aside) -> None:
    with backend_lock:
        for backends, accounts in aside:
            dict.update(backends, accounts)  # replaces whatever a mock left for the same accounts
            if backends not in _instances():
                _instances().append(backends)


def _outermost(mock: MockAWS) -> bool:
    return type(mock)._nested_count == 0


def _wrap_start(start: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(start)
    def wrapped(self: MockAWS, *args: Any, **kwargs: Any) -> None:
        with _state.guard:
            if _state.holders and _state.aside is None and _outermost(self):
                _state.aside = _put_aside()
        start(self, *args, **kwargs)

    setattr(wrapped, _INSTALLED, True)
    return wrapped


def _wrap_stop(stop: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(stop)
    def wrapped(self: MockAWS, *args: Any, **kwargs: Any) -> None:
        stop(self, *args, **kwargs)
        with _state.guard:
            if _state.aside is not None and _outermost(self):
                aside, _state.aside = _state.aside, None
                _put_back(aside)

    setattr(wrapped, _INSTALLED, True)
    return wrapped


def hold(owner: object) -> None:
    """Protect moto's in-process state from mock_aws while `owner` (a running emulation) holds it."""
    with _state.guard:
        if not getattr(MockAWS.start, _INSTALLED, False):
            MockAWS.start = _wrap_start(MockAWS.start)  # type: ignore[method-assign]
            MockAWS.stop = _wrap_stop(MockAWS.stop)  # type: ignore[method-assign]
        _state.holders.add(id(owner))


def release(owner: object) -> None:
    """`owner` no longer needs protection; with no holder left, mock_aws resets everything again, as moto does."""
    with _state.guard:
        _state.holders.discard(id(owner))
