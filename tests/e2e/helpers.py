"""Helpers for the end-to-end tests: call the real clients the way their events describe a request."""

from __future__ import annotations

from typing import Any

from emulation.accounts.two_accounts import TwoAccounts
from emulation.lambdas.sandbox import InvokeResult


def call(accounts: TwoAccounts, kind: str, method: str, path: str, body: Any = None, /, **where: Any) -> InvokeResult:
    """Invoke a real client handler with a {method, path, body} event; fail loudly if the function itself failed.

    `where` goes to TwoAccounts.invoke_client: site, via, env (extra environment variables).
    """
    event: dict[str, Any] = {"method": method, "path": path}
    if body is not None:
        event["body"] = body
    result = accounts.invoke_client(kind, event, **where)
    assert result.error is None, result.error
    return result


def session_arn_prefix(role_arn: str) -> str:
    """arn:aws:sts::<account>:assumed-role/<role name>/ for a role ARN: what a session of that role is called."""
    account = role_arn.split(":")[4]
    return f"arn:aws:sts::{account}:assumed-role/{role_arn.rsplit('/', 1)[-1]}/"
