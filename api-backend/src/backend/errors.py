"""Errors the API answers with, each mapped once to an HTTP status and a JSON {"message": ...} body."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A request the API refuses; the message is safe to show the caller."""

    status = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        """The JSON body of the response."""
        return {"message": self.message, **self.extra}


class BadRequestError(ApiError):
    """Malformed or invalid input."""

    status = 400


class ForbiddenError(ApiError):
    """The request context carries no caller account (never the case behind IAM auth)."""

    status = 403


class NotFoundError(ApiError):
    """No such item in the caller's account."""

    status = 404


class ConflictError(ApiError):
    """The item changed since the caller read it (optimistic concurrency)."""

    status = 409


class PayloadTooLargeError(ApiError):
    """The body exceeds the backend's limit."""

    status = 413


class StoreUnavailableError(ApiError):
    """DynamoDB failed; details go to the log only."""

    status = 503


class UnprocessableError(ApiError):
    """The request reuses an Idempotency-Key that was used for a different request."""

    status = 422


def store_unavailable(cause: BaseException) -> StoreUnavailableError:
    """The generic 503 for a DynamoDB failure; the cause stays attached for the log, never shown to the caller."""
    unavailable = StoreUnavailableError("The item store is unavailable; retry later")
    unavailable.__cause__ = cause
    return unavailable
