"""Every shipped event, the function it is for, in the order they run, and what each must answer."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["CASES", "Case", "Outcome", "check"]

REPO = Path(__file__).resolve().parents[1]
BACKEND_EVENTS = REPO / "api-backend" / "events"
CLIENT_EVENTS = REPO / "api-client" / "events"

Shape = Callable[[Any], bool]


def _is_item(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("id"), str) and isinstance(body.get("name"), str)


def _is_item_list(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("items"), list)


def _is_identity(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("accountId"), str)


def _is_error(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("message"), str)


def _is_empty(body: Any) -> bool:
    return body in (None, "", {})


@dataclass(frozen=True)
class Case:
    """One function x event run: `site` names the function (backend, direct, assume-role)."""

    site: str
    event: Path
    status: int
    shape: Shape

    @property
    def name(self) -> str:
        """`site event-name`, as the report lists it."""
        return f"{self.site} {self.event.stem}"


def _backend(event: str, status: int, shape: Shape) -> Case:
    return Case("backend", BACKEND_EVENTS / f"{event}.json", status, shape)


def _clients(event: str, status: int, shape: Shape) -> list[Case]:
    return [Case(site, CLIENT_EVENTS / f"{event}.json", status, shape) for site in ("direct", "assume-role")]


# Backend events straight to the function (the table holds the item the fixed-id events name: replace-item replaces
# it, get-item reads it, delete-item removes it); then client events through the emulated private API (GET / answers
# the caller's identity; the client's get-item asks for that removed item).
CASES: tuple[Case, ...] = (
    _backend("whoami", 200, _is_identity),
    _backend("list-items", 200, _is_item_list),
    _backend("create-item", 201, _is_item),
    _backend("create-item-malformed", 400, _is_error),
    _backend("replace-item", 200, _is_item),
    _backend("get-item", 200, _is_item),
    _backend("delete-item", 204, _is_empty),
    # The certificate path's events: the emulated provider deploys with pEnableMtls at its default (No), so the
    # function refuses them itself, as a default deployment does.
    _backend("mtls-whoami", 403, _is_error),
    _backend("mtls-list-items", 403, _is_error),
    *_clients("get-root", 200, _is_identity),
    *_clients("create-item", 201, _is_item),
    *_clients("list-items", 200, _is_item_list),
    *_clients("get-item", 404, _is_error),
)


@dataclass(frozen=True)
class Outcome:
    """What one case answered and whether that is what it must answer."""

    case: Case
    status: int | None
    body: Any
    function_error: str | None
    seconds: float
    passed: bool

    def line(self) -> str:
        """One report line: verdict, case, status, time (and the answer when it failed)."""
        verdict = "ok    " if self.passed else "FAILED"
        text = f"{verdict} {self.case.name:<34} {self.status!s:>4} (want {self.case.status}) {self.seconds:5.1f} s"
        if not self.passed:
            text += f"\n       answer: {json.dumps(self.body)[:400]} {self.function_error or ''}"
        return text


def _status_and_body(answer: Any) -> tuple[int | None, Any]:
    """The HTTP status and parsed body of a proxy-integration answer (backend) or a client's result."""
    if not isinstance(answer, dict):
        return None, answer
    status = answer.get("statusCode", answer.get("status"))
    body = answer.get("body")
    if isinstance(body, str):
        with contextlib.suppress(ValueError):
            body = json.loads(body) if body else body
    return (status if isinstance(status, int) else None), body


def check(case: Case, answer: Any, function_error: str | None, seconds: float) -> Outcome:
    """The outcome of `case` given the function's answer."""
    status, body = _status_and_body(answer)
    passed = function_error is None and status == case.status and case.shape(body)
    return Outcome(case, status, body if status is not None else answer, function_error, seconds, passed)
