"""Read API Gateway access-log lines written in the provider template's JSON format, and summarize the failures."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from diagnose.facts import LogEvent

__all__ = ["AccessLine", "ErrorGroup", "error_groups", "parse_lines"]

_ABSENT = ("", "-", None)


@dataclass(frozen=True)
class AccessLine:
    """The fields of one request that matter for a denial."""

    at: datetime
    status: int | None
    user_arn: str | None
    error: str | None

    @property
    def failed(self) -> bool:
        """True for a 4xx/5xx answer or any authenticate/authorize/WAF error."""
        return (self.status is not None and self.status >= 400) or self.error is not None


@dataclass(frozen=True)
class ErrorGroup:
    """Failed requests with the same status and error text."""

    count: int
    status: int | None
    error: str
    last: datetime


def _field(record: Mapping[str, Any], *path: str) -> str | None:
    value: Any = record
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return None if value in _ABSENT else str(value)


def _status(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _error(record: Mapping[str, Any]) -> str | None:
    """The most specific reason a line records: WAF block, then API Gateway's message, then the phase errors."""
    if _field(record, "waf", "responseCode") == "WAF_BLOCK":
        return f"blocked by WAF ({_field(record, 'waf', 'webaclArn') or 'web ACL unknown'})"
    for path in (("error", "message"), ("authorize", "error"), ("authenticate", "error"), ("waf", "error")):
        found = _field(record, *path)
        if found:
            return found
    return None


def parse_lines(events: Iterable[LogEvent]) -> tuple[list[AccessLine], int]:
    """Parsed lines, oldest first, and how many lines were not in the JSON format (left out)."""
    lines: list[AccessLine] = []
    unparsed = 0
    for event in events:
        try:
            record = json.loads(event.message)
        except ValueError:
            unparsed += 1
            continue
        if not isinstance(record, Mapping):
            unparsed += 1
            continue
        status = _status(_field(record, "status"))
        error = _error(record)
        # A 2xx line may carry "-" or an empty message; only failed lines keep their error text.
        lines.append(
            AccessLine(
                at=event.at,
                status=status,
                user_arn=_field(record, "identity", "userArn"),
                error=error if (status is None or status >= 400) else None,
            )
        )
    return sorted(lines, key=lambda line: line.at), unparsed


def error_groups(lines: Iterable[AccessLine], *, limit: int = 5) -> list[ErrorGroup]:
    """The most frequent failures, most frequent first."""
    counts: Counter[tuple[int | None, str]] = Counter()
    last: dict[tuple[int | None, str], datetime] = {}
    for line in lines:
        if not line.failed:
            continue
        key = (line.status, line.error or "no error message")
        counts[key] += 1
        last[key] = max(last.get(key, line.at), line.at)
    return [
        ErrorGroup(count=count, status=key[0], error=key[1], last=last[key]) for key, count in counts.most_common(limit)
    ]
