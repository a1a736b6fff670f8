"""Lambda entry point: routes of the private REST API (API Gateway proxy events, IAM-authorized)."""

from __future__ import annotations

import warnings
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from backend import config, identity, repository, validation
from backend.errors import ApiError, StoreUnavailableError

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# Read-only routes publish no business metric (API Gateway already counts requests): that is not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
app = APIGatewayRestResolver()

# Built once per container and reused by warm invocations. Short timeouts and few retries so an unreachable
# DynamoDB (e.g. a VPC without the endpoint route) becomes a 503 before the function's 10 s timeout.
_BOTO_CONFIG = Config(connect_timeout=2, read_timeout=3, retries={"mode": "standard", "max_attempts": 2})
table = boto3.resource("dynamodb", config=_BOTO_CONFIG).Table(config.required_env("TABLE_NAME"))


@app.get("/")
def who_am_i() -> dict[str, Any]:
    """Echo the caller's identity as API Gateway saw it."""
    return identity.describe(app.current_event.raw_event)


@app.post("/items")
def create_item() -> Response:
    """Create an item owned by the caller's account."""
    caller = _caller()
    fields = validation.parse_create(_json_body())
    item = repository.create_item(table, caller, fields)
    metrics.add_metric(name="ItemsCreated", unit=MetricUnit.Count, value=1)
    return _json(HTTPStatus.CREATED, item)


@app.get("/items")
def list_items() -> dict[str, Any]:
    """One page of the caller's items."""
    caller = _caller()
    limit = validation.parse_limit(app.current_event.get_query_string_value("limit"))
    start = validation.decode_next_token(app.current_event.get_query_string_value("next"), caller.account_id)
    items, last_key = repository.list_items(table, caller.account_id, limit, start)
    return {"items": items, "next": validation.encode_next_token(last_key)}


@app.get("/items/<item_id>")
def get_item(item_id: str) -> dict[str, Any]:
    """One item of the caller's account."""
    caller = _caller()
    return repository.get_item(table, caller.account_id, validation.parse_item_id(item_id))


@app.put("/items/<item_id>")
def replace_item(item_id: str) -> dict[str, Any]:
    """Replace an item's fields, guarded by the version the caller read."""
    caller = _caller()
    checked_id = validation.parse_item_id(item_id)
    fields, version = validation.parse_replace(_json_body())
    return repository.replace_item(table, caller, checked_id, fields, version)


@app.delete("/items/<item_id>")
def delete_item(item_id: str) -> Response:
    """Delete an item of the caller's account."""
    caller = _caller()
    repository.delete_item(table, caller.account_id, validation.parse_item_id(item_id))
    metrics.add_metric(name="ItemsDeleted", unit=MetricUnit.Count, value=1)
    return Response(status_code=int(HTTPStatus.NO_CONTENT), body="")


@app.not_found
def not_found(_: Exception) -> Response:
    """Unknown path or method, in the same JSON shape as every other error."""
    return _json(HTTPStatus.NOT_FOUND, {"message": "Not found"})


@app.exception_handler(StoreUnavailableError)
def store_unavailable(error: StoreUnavailableError) -> Response:
    """DynamoDB failed: log the cause, tell the caller only the request id to quote."""
    logger.error("DynamoDB request failed", exc_info=error.__cause__ or error)
    metrics.add_metric(name="StoreErrors", unit=MetricUnit.Count, value=1)
    return _json(error.status, {**error.body(), "requestId": _request_id()})


@app.exception_handler(ApiError)
def api_error(error: ApiError) -> Response:
    """A refused request: its status and message."""
    logger.info("Request refused", extra={"status": error.status, "reason": error.message})
    return _json(error.status, error.body())


@app.exception_handler(Exception)
def unexpected_error(error: Exception) -> Response:
    """A bug: log it and answer 500 with the request id, never a stack trace."""
    logger.exception("Unhandled error", exc_info=error)
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "Internal error", "requestId": _request_id()})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one API Gateway REST proxy event."""
    return app.resolve(event, context)


def _caller() -> identity.Caller:
    caller = identity.caller_of(app.current_event.raw_event)
    logger.append_keys(callerAccount=caller.account_id, callerArn=caller.principal_arn)
    return caller


def _json_body() -> dict[str, Any]:
    return validation.parse_json_object(validation.body_bytes(app.current_event.raw_event))


def _request_id() -> str | None:
    return app.current_event.request_context.request_id


def _json(status: int, body: dict[str, Any]) -> Response:
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body)
