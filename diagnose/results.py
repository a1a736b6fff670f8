"""What the checks conclude: one result per check, per client, and the exit code they add up to."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from client.names import ClientKind
from diagnose.access_log import ErrorGroup

__all__ = [
    "EXIT_ALLOWED",
    "EXIT_FAILED",
    "EXIT_UNKNOWN",
    "EXIT_USAGE",
    "CheckResult",
    "ClientResult",
    "Diagnosis",
    "Outcome",
    "Status",
    "bad",
    "note",
    "ok",
    "unknown",
]

EXIT_ALLOWED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNKNOWN = 3  # nothing failed, but some checks could not run with the credentials given


class Status(Enum):
    """A check's outcome."""

    OK = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"  # could not be checked (another profile or permission needed, or an earlier check failed)
    INFO = "info"  # nothing to judge (e.g. no recent requests); never affects the verdict


@dataclass(frozen=True)
class Outcome:
    """What a check function returns; the runner adds the check's id and title."""

    status: Status
    detail: str
    fix: str | None = None
    needs: str | None = None


def ok(detail: str) -> Outcome:
    """A passed check."""
    return Outcome(Status.OK, detail)


def bad(detail: str, fix: str) -> Outcome:
    """A failed check with its one-sentence fix."""
    return Outcome(Status.FAIL, detail, fix=fix)


def unknown(detail: str, needs: str) -> Outcome:
    """A check that could not run, and what would let it run."""
    return Outcome(Status.UNKNOWN, detail, needs=needs)


def note(detail: str) -> Outcome:
    """Nothing to judge."""
    return Outcome(Status.INFO, detail)


@dataclass(frozen=True)
class CheckResult:
    """One check: what was found, and for a failure the one-sentence fix; for UNKNOWN what would let it run."""

    id: str
    title: str
    status: Status
    detail: str
    fix: str | None = None
    needs: str | None = None


@dataclass(frozen=True)
class ClientResult:
    """All checks of one client function, in request-path order."""

    kind: ClientKind
    function: str | None
    principal: str | None
    checks: tuple[CheckResult, ...]

    @property
    def first_failure(self) -> CheckResult | None:
        """The earliest failing check on the request path (where the request would stop)."""
        return next((c for c in self.checks if c.status is Status.FAIL), None)

    @property
    def verdict(self) -> str:
        """allowed, denied, or unknown (nothing failed but something could not be checked)."""
        if self.first_failure is not None:
            return "denied"
        if any(c.status is Status.UNKNOWN for c in self.checks):
            return "unknown"
        return "allowed"


@dataclass(frozen=True)
class Diagnosis:
    """The checks of every deployed client plus what applies to all of them."""

    region: str
    consumer: dict[str, str | None]
    provider: dict[str, str | None] | None
    clients: tuple[ClientResult, ...]
    notes: tuple[str, ...] = ()
    log_errors: tuple[ErrorGroup, ...] = ()
    log_group: str | None = None
    since_minutes: int = 60
    read_errors: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 when every client would be allowed, 1 when a check fails, 3 when nothing failed but some were '?'."""
        verdicts = {c.verdict for c in self.clients}
        if not self.clients or "denied" in verdicts:
            return EXIT_FAILED
        return EXIT_UNKNOWN if "unknown" in verdicts else EXIT_ALLOWED
