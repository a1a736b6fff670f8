"""The diagnosis as a checklist for people (✓ ✗ ?) or as one JSON document for machines (--json)."""

from __future__ import annotations

import json
from typing import Any

from client.names import ClientKind
from diagnose.results import CheckResult, ClientResult, Diagnosis, Status

__all__ = ["LABELS", "to_json", "to_text"]

LABELS = {
    ClientKind.DIRECT: "Direct client",
    ClientKind.ASSUME_ROLE: "Assume-role client",
    ClientKind.CERTIFICATE: "Certificate client",
}
_SYMBOLS = {Status.OK: "✓", Status.FAIL: "✗", Status.UNKNOWN: "?", Status.INFO: "-"}
_ASCII = {Status.OK: "OK", Status.FAIL: "XX", Status.UNKNOWN: "??", Status.INFO: "--"}
_VERDICTS = {
    "allowed": "would be allowed",
    "denied": "would be denied",
    "unknown": "no failure found, but some checks could not run",
}


def _side_line(name: str, side: dict[str, str | None] | None) -> str:
    if side is None:
        return f"  {name:<9} not given"
    return f"  {name:<9} profile {side['profile']}, account {side['account'] or '?'}, stack {side['stack']}"


def _check_line(check: CheckResult, symbols: dict[Status, str]) -> list[str]:
    lines = [f"  {symbols[check.status]} {check.id:<18} {check.detail}"]
    if check.status is Status.UNKNOWN and check.needs:
        lines.append(f"    {'':<18} needs {check.needs}")
    return lines


def _client_block(result: ClientResult, symbols: dict[Status, str]) -> list[str]:
    title = f"{LABELS[result.kind]}: {result.function or 'function unknown'}"
    if result.kind is ClientKind.CERTIFICATE:
        lines = [title, "  presents a client certificate (mutual TLS through the provider's endpoint service)"]
    else:
        lines = [title, f"  signs as {result.principal or 'unknown'}"]
    for check in result.checks:
        lines.extend(_check_line(check, symbols))
    failure = result.first_failure
    if failure is not None:
        lines.append(f"  => would be denied: the first failing check is {failure.id}")
        lines.append(f"     fix: {failure.fix}")
    else:
        lines.append(f"  => {_VERDICTS[result.verdict]}")
    return lines


def _log_block(diagnosis: Diagnosis) -> list[str]:
    if diagnosis.log_group is None:
        return []
    header = f"Access-log errors in {diagnosis.log_group}, last {diagnosis.since_minutes} minutes:"
    if not diagnosis.log_errors:
        return [header, "  none"]
    rows = [
        f"  {group.count:>5} x {group.status or '-'} {group.error} (last {group.last.strftime('%H:%M:%SZ')})"
        for group in diagnosis.log_errors
    ]
    return [header, *rows]


def to_text(diagnosis: Diagnosis, *, unicode: bool = True) -> str:
    """The human checklist."""
    symbols = _SYMBOLS if unicode else _ASCII
    lines = [
        f"Private API access diagnosis, region {diagnosis.region}",
        _side_line("consumer", diagnosis.consumer),
        _side_line("provider", diagnosis.provider),
        "",
    ]
    for result in diagnosis.clients:
        lines.extend([*_client_block(result, symbols), ""])
    log_lines = _log_block(diagnosis)
    if log_lines:
        lines.extend([*log_lines, ""])
    lines.extend(f"Note: {text}" for text in diagnosis.notes)
    counts = {v: sum(1 for c in diagnosis.clients if c.verdict == v) for v in ("allowed", "denied", "unknown")}
    lines.append(
        f"Result: {counts['allowed']} allowed, {counts['denied']} denied, {counts['unknown']} not fully checked "
        f"(exit {diagnosis.exit_code})"
    )
    return "\n".join(lines) + "\n"


def _check_json(check: CheckResult) -> dict[str, Any]:
    return {
        "id": check.id,
        "title": check.title,
        "status": check.status.value,
        "detail": check.detail,
        "fix": check.fix,
        "needs": check.needs,
    }


def to_json(diagnosis: Diagnosis) -> str:
    """One JSON document: sides, per-client checks with the first failure, notes, log summary, exit code."""
    document = {
        "region": diagnosis.region,
        "consumer": diagnosis.consumer,
        "provider": diagnosis.provider,
        "clients": [
            {
                "client": str(result.kind),
                "function": result.function,
                "principal": result.principal,
                "verdict": result.verdict,
                "first_failure": _check_json(result.first_failure) if result.first_failure else None,
                "checks": [_check_json(c) for c in result.checks],
            }
            for result in diagnosis.clients
        ],
        "access_log": {
            "log_group": diagnosis.log_group,
            "since_minutes": diagnosis.since_minutes,
            "errors": [
                {"count": g.count, "status": g.status, "error": g.error, "last": g.last.isoformat()}
                for g in diagnosis.log_errors
            ],
        },
        "notes": list(diagnosis.notes),
        "read_errors": diagnosis.read_errors,
        "exit_code": diagnosis.exit_code,
    }
    return json.dumps(document, indent=2) + "\n"
