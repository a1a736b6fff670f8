"""Access-log lines from any API Gateway access-log format string with `$context.*` variables."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping
from pathlib import Path

# AWS's documented CLF example, used when an API has no format of its own.
DEFAULT_FORMAT = (
    "$context.identity.sourceIp $context.identity.caller $context.identity.user [$context.requestTime] "
    '"$context.httpMethod $context.resourcePath $context.protocol" $context.status $context.responseLength '
    "$context.requestId"
)
_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")


def _escape(value: str) -> str:
    # Escaped as inside a JSON string so JSON formats stay parseable; plain text reads the same.
    return json.dumps(value)[1:-1]


def render(log_format: str, variables: Mapping[str, object]) -> str:
    """Substitute every `$context.name` in the format; unknown or empty ones become "-" as on AWS.

    A variable followed by a dot and more text (e.g. `$context.status.`) is matched on its longest known prefix.
    """

    def substitute(found: re.Match[str]) -> str:
        name = found.group(1)
        parts = name.split(".")
        for end in range(len(parts), 0, -1):
            candidate = ".".join(parts[:end])
            if candidate in variables:
                value = variables[candidate]
                rest = name[len(candidate) :]
                text = "-" if value is None or value == "" else _escape(str(value))
                return text + rest
        return "-"

    return _VARIABLE.sub(substitute, log_format)


class AccessLog:
    """One API's access log: lines kept in memory (for tests and the demo) and appended to a file if given."""

    def __init__(self, log_format: str = DEFAULT_FORMAT, path: Path | None = None) -> None:
        self.log_format = log_format
        self.path = path
        self._lines: list[str] = []
        self._lock = threading.Lock()

    def write(self, variables: Mapping[str, object]) -> str:
        """Render and record one line."""
        line = render(self.log_format, variables)
        with self._lock:
            self._lines.append(line)
            if self.path is not None:
                with self.path.open("a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
        return line

    @property
    def lines(self) -> list[str]:
        """A copy of the lines written so far."""
        with self._lock:
            return list(self._lines)
