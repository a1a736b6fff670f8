"""Lambda entry point: routes of the private REST API (API Gateway proxy events, IAM-authorized, and the same routes
under /mtls for certificate callers admitted by the provider's ALB: backend.certificate)."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

import botocore.session
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from botocore.config import Config

from backend import attempts, certificate, config, deadline, idempotency, identity, repository, validation
from backend.errors import ApiError, StoreUnavailableError
from backend.table import Table

if TYPE_CHECKING:  # an annotation only: the module is not imported at a cold start
    from aws_lambda_powertools.utilities.typing import LambdaContext

# Every answer's body is a JSON document (or empty), which Response's type parameter cannot narrow further.
JsonResponse = Response[Any]

logger = Logger()
# No Powertools Tracer: it imports the X-Ray SDK (end of support 25 February 2027) and costs a third of the cold
# import; Lambda active tracing still records this function's segments without it (docs/tracing.md).
metrics = Metrics()
# Read-only routes publish no business metric (API Gateway already counts requests): that is not worth a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
# The /mtls routes are the same routes for certificate callers: served once, the prefix stripped (GET /mtls -> /);
# who the caller is depends on the matched route (_caller), never on the path the client wrote. A call through the
# private custom domain arrives with its base path (GET /v1/items, resource /items): stripped too, so both hosts route.
_DOMAIN_BASE_PATH = config.domain_base_path()
app = APIGatewayRestResolver(strip_prefixes=[certificate.PREFIX, *([_DOMAIN_BASE_PATH] if _DOMAIN_BASE_PATH else [])])

# Built once per container and reused by warm invocations. Short timeouts, few attempts in total, and no attempt
# started that could not end before the invocation's deadline (backend.deadline): an unreachable or stuck DynamoDB
# becomes this function's own 503 with a request id, never Lambda's timeout (API Gateway's bare 502).
# DynamoDB answers in milliseconds: a 2 s read timeout still leaves room for a retry within a 10 s function.
_ITEMS = Config(connect_timeout=1, read_timeout=2, retries={"mode": "standard", "total_max_attempts": 3})
# The idempotency records are small single-key writes; after an item write, one of them (complete or release the
# key) must still fit, so an item attempt also leaves room for one record attempt.
_RECORDS = Config(connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2})
_RECORD_ATTEMPT_S = 1 + 1
_ITEM_ATTEMPT_S = 1 + 2
# Low-level clients from one botocore session, as boto3.client builds them, without importing boto3 (its package
# imports s3transfer); the items table is a thin layer over its client (backend.table), not boto3's resource layer.
_session = botocore.session.get_session()
table = Table(config.required_env("TABLE_NAME"), _session.create_client("dynamodb", config=_ITEMS))
# The records get a client of their own, with the records' timeouts.
_records = _session.create_client("dynamodb", config=_RECORDS)
deadline.guard(table.meta.client, _ITEM_ATTEMPT_S + _RECORD_ATTEMPT_S)
attempts.watch(table.meta.client)
deadline.guard(_records, _RECORD_ATTEMPT_S)
keyed_writes = idempotency.KeyedWrites(config.required_env("IDEMPOTENCY_TABLE_NAME"), _records)
# Read once; a malformed allow-list is logged here and answers 500 on /mtls only, so the IAM routes keep working.
certificates = certificate.settings_from_env()
if certificates.problem:
    logger.error("Certificate path misconfigured", extra={"reason": certificates.problem})


@app.get("/")
def who_am_i() -> dict[str, Any]:
    """Echo the caller's identity as API Gateway saw it (on /mtls: the certificate caller, checked first)."""
    event = app.current_event.raw_event
    if certificate.is_certificate_route(event):
        return certificate.describe(event, _caller())
    return identity.describe(event)


@app.post("/items")
def create_item() -> JsonResponse:
    """Create an item owned by the caller's account."""
    caller = _caller()
    body = _json_body()
    fields = validation.parse_create(body)

    def write() -> dict[str, Any]:
        key = _idempotency_key()
        item_id = keyed_writes.item_id(caller.account_id, key) if key else None
        item = repository.create_item(table, caller, fields, token=_token(), item_id=item_id)
        metrics.add_metric(name="ItemsCreated", unit=MetricUnit.Count, value=1)
        return {"status": int(HTTPStatus.CREATED), "body": item}

    return _answer(_once(caller, "create", None, body, write))


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
def replace_item(item_id: str) -> JsonResponse:
    """Replace an item's fields, guarded by the version the caller read."""
    caller = _caller()
    checked_id = validation.parse_item_id(item_id)
    fields, version = validation.parse_replace(_json_body())

    # No idempotency record needed: the item stores the key, so a repeat recognises its own write (repository).
    return _json(HTTPStatus.OK, repository.replace_item(table, caller, checked_id, fields, version, token=_token()))


@app.delete("/items/<item_id>")
def delete_item(item_id: str) -> JsonResponse:
    """Delete an item of the caller's account."""
    caller = _caller()
    checked_id = validation.parse_item_id(item_id)

    def write() -> dict[str, Any]:
        repository.delete_item(table, caller.account_id, checked_id)
        metrics.add_metric(name="ItemsDeleted", unit=MetricUnit.Count, value=1)
        return {"status": int(HTTPStatus.NO_CONTENT), "body": None}

    return _answer(_once(caller, "delete", checked_id, None, write))


@app.not_found
def not_found(_: Exception) -> JsonResponse:
    """Unknown path or method, in the same JSON shape as every other error."""
    return _json(HTTPStatus.NOT_FOUND, {"message": "Not found"})


@app.exception_handler(StoreUnavailableError)  # type: ignore[untyped-decorator]  # Powertools leaves it unannotated
def store_unavailable(error: StoreUnavailableError) -> JsonResponse:
    """DynamoDB failed: log the cause, tell the caller only the request id to quote."""
    logger.error("DynamoDB request failed", exc_info=error.__cause__ or error)
    metrics.add_metric(name="StoreErrors", unit=MetricUnit.Count, value=1)
    return _json(error.status, {**error.body(), "requestId": _request_id()})


@app.exception_handler(ApiError)  # type: ignore[untyped-decorator]  # Powertools leaves it unannotated
def api_error(error: ApiError) -> JsonResponse:
    """A refused request: its status and message."""
    # The cause (e.g. DynamoDB's own words) is logged, never shown to the caller.
    cause = {"cause": repr(error.__cause__)} if error.__cause__ else {}
    logger.info("Request refused", extra={"status": error.status, "reason": error.message, **cause})
    return _json(error.status, error.body())


@app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools leaves it unannotated
def unexpected_error(error: Exception) -> JsonResponse:
    """A bug: log it and answer 500 with the request id, never a stack trace."""
    logger.exception("Unhandled error", exc_info=error)
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "Internal error", "requestId": _request_id()})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Route one API Gateway REST proxy event."""
    keyed_writes.register(context)
    with deadline.invocation(context):
        return app.resolve(event, context)


def _caller() -> identity.Caller:
    event = app.current_event.raw_event
    if certificate.is_certificate_route(event):
        caller = certificate.caller_of(event, certificates)
    else:
        caller = identity.caller_of(event)
    logger.append_keys(callerAccount=caller.account_id, callerArn=caller.principal_arn)
    return caller


def _json_body() -> dict[str, Any]:
    return validation.parse_json_object(validation.body_bytes(app.current_event.raw_event))


def _request_id() -> str | None:
    return app.current_event.request_context.request_id


def _idempotency_key() -> str | None:
    return idempotency.parse_key(app.current_event.headers.get(idempotency.HEADER))  # case-insensitive in v3


def _token() -> str:
    # What a write stores to recognise its own earlier attempt: the caller's key spans the caller's retries,
    # API Gateway's request id spans botocore's retries within this invocation.
    return _idempotency_key() or str(_request_id())


def _once(
    caller: identity.Caller, operation: str, item_id: str | None, body: Any, write: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    key = _idempotency_key()
    if key is None:
        return write()
    request = {"account": caller.account_id, "key": key, "operation": operation, "itemId": item_id, "body": body}
    return keyed_writes.run(request, write)


def _answer(answer: dict[str, Any]) -> JsonResponse:
    if answer["body"] is None:
        return Response(status_code=answer["status"], body="")
    return _json(answer["status"], answer["body"])


def _json(status: int, body: dict[str, Any]) -> JsonResponse:
    return Response(status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body)
