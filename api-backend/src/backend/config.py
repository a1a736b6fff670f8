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


def domain_base_path() -> str:
    """DOMAIN_BASE_PATH: '/<segment>' while a private custom domain maps a base path to the stage, else ''.

    API Gateway passes a domain call's `path` with the base path (/v1/items) while `resource` stays the API's
    (/items); the router strips it, as it strips /mtls. Unset counts as '' (no domain, or a root mapping).
    """
    value = os.environ.get("DOMAIN_BASE_PATH", "").strip()
    segment = value[1:]
    if value and (not value.startswith("/") or not segment or "/" in segment):
        raise RuntimeError(f"environment variable DOMAIN_BASE_PATH must be '' or /<one path segment>, got {value!r}")
    return value
