"""Limits and the environment lookup used once, when the function starts."""

from __future__ import annotations

import os

# Same limit as the WAF common rule set's body-size rule, so the backend agrees with WAF when WAF is off.
MAX_BODY_BYTES = 8 * 1024
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100


def required_env(name: str) -> str:
    """Return a required environment variable or fail the cold start with a clear message."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise RuntimeError(f"environment variable {name} is required (set by the template)")
    return value
