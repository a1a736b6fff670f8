"""Fixtures for the backend unit tests: moto DynamoDB built from the template's own table definition."""

from __future__ import annotations

import copy
import functools
import importlib
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws

from cfnrender.render import render_template

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = ROOT / "api-backend" / "api-backend.yaml"
EVENTS = ROOT / "api-backend" / "events"
TABLE_NAME = "items-under-test"
IDEMPOTENCY_TABLE_NAME = "idempotency-under-test"
REGION = "us-east-1"


@dataclass
class FakeLambdaContext:
    """The attributes Powertools reads from the Lambda context."""

    function_name: str = "private-api-backend"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:222222222222:function:private-api-backend"
    aws_request_id: str = "0b5c1f8e-lambda-request"
    remaining_ms: int = 10_000  # the template's 10 s timeout, just started

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left in the invocation."""
        return self.remaining_ms


@dataclass
class ApiResponse:
    """A proxy response with its body decoded."""

    status: int
    body: Any
    raw: dict[str, Any]


def _load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.fixture
def shipped_event() -> Callable[[str], dict[str, Any]]:
    """Load one of the sam local invoke events shipped in api-backend/events."""
    return _load_event


@pytest.fixture
def caller() -> dict[str, str]:
    """Account and principal ARN of the caller in the shipped events."""
    identity = _load_event("whoami.json")["requestContext"]["identity"]
    return {"account": identity["accountId"], "arn": identity["userArn"]}


@functools.cache
def _rendered_resources() -> dict[str, Any]:
    return render_template(TEMPLATE).resources  # both tables' definitions from one SAM transform per worker


def _definition(logical_id: str) -> dict[str, Any]:
    table = copy.deepcopy(_rendered_resources()[logical_id]["Properties"])
    return {key: table[key] for key in ("KeySchema", "AttributeDefinitions", "BillingMode")}


@pytest.fixture(scope="session")
def table_definition() -> dict[str, Any]:
    """KeySchema, AttributeDefinitions and BillingMode of the items table, as the rendered template defines them."""
    return _definition("ItemsTable")


@pytest.fixture(scope="session")
def idempotency_table_definition() -> dict[str, Any]:
    """The same for the Idempotency-Key records' table."""
    return _definition("IdempotencyTable")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Offline credentials and the function's environment as the template sets it."""
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "TABLE_NAME": TABLE_NAME,
        "IDEMPOTENCY_TABLE_NAME": IDEMPOTENCY_TABLE_NAME,
        "POWERTOOLS_SERVICE_NAME": "private-api-backend",
        "POWERTOOLS_METRICS_NAMESPACE": "PrivateApiBackend",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)


# The function's cold start builds its clients anew (fresh_import) from a new botocore session, which would load and
# parse the service models again for every test (most of a backend test's time). The session under them, with its
# read-only models and event handlers (moto's stubber among them), is built once per worker and handed to the
# function's import (and to boto3, which mock_aws resets): every test sets the same offline credentials and region.
_SESSION: botocore.session.Session | None = None


def _one_session_sharing_models(monkeypatch: pytest.MonkeyPatch) -> None:
    global _SESSION  # noqa: PLW0603 - one per worker process, built on first use
    if _SESSION is None:
        _SESSION = botocore.session.get_session()
        _SESSION.register_component("data_loader", botocore.loaders.create_loader())
    shared = _SESSION
    monkeypatch.setattr(botocore.session, "get_session", lambda *_args, **_kwargs: shared)
    boto3.DEFAULT_SESSION = boto3.Session(botocore_session=shared)


def fresh_import(name: str) -> ModuleType:
    """Import a backend module as a cold start would: module-level configuration and clients built anew."""
    for loaded in [m for m in sys.modules if m == "backend" or m.startswith("backend.")]:
        del sys.modules[loaded]
    return importlib.import_module(name)


@pytest.fixture
def backend(
    aws_env: None,
    table_definition: dict[str, Any],
    idempotency_table_definition: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[ModuleType]:
    """backend.app freshly imported inside the moto mock, with empty tables built from the template."""
    with mock_aws():
        _one_session_sharing_models(monkeypatch)
        module = fresh_import("backend.app")
        # Created through the module's own client: one client per test keeps the suite fast.
        module.table.meta.client.create_table(TableName=module.table.name, **table_definition)
        module.table.meta.client.create_table(TableName=IDEMPOTENCY_TABLE_NAME, **idempotency_table_definition)
        yield module


@pytest.fixture
def items_table(backend: ModuleType) -> Any:
    """The moto table the backend module uses, as boto3's Table resource (the tests also delete it)."""
    return boto3.resource("dynamodb", region_name=REGION).Table(backend.table.name)


@pytest.fixture
def invoke(backend: ModuleType) -> Callable[[dict[str, Any]], ApiResponse]:
    """Call the Lambda handler with a proxy event and decode the JSON body."""

    def call(event: dict[str, Any]) -> ApiResponse:
        raw = backend.handler(copy.deepcopy(event), FakeLambdaContext())
        text = raw.get("body") or ""
        return ApiResponse(status=raw["statusCode"], body=json.loads(text) if text else None, raw=raw)

    return call


@pytest.fixture
def make_event(caller: dict[str, str]) -> Callable[..., dict[str, Any]]:
    """Build a REST proxy event from the shipped whoami event, changing method, path, body and caller."""

    def build(
        method: str,
        path: str,
        *,
        body: Any = None,
        query: dict[str, str] | None = None,
        account: str | None = None,
        user_arn: str | None = None,
        raw_body: str | None = None,
    ) -> dict[str, Any]:
        event = _load_event("whoami.json")
        segments = path.strip("/").split("/")
        is_item_path = len(segments) == 2 and segments[0] == "items"
        resource = "/items/{id}" if is_item_path else path
        event.update(
            httpMethod=method,
            path=path,
            resource=resource,
            pathParameters={"id": segments[1]} if is_item_path else None,
            queryStringParameters=query,
            multiValueQueryStringParameters={k: [v] for k, v in query.items()} if query else None,
            body=raw_body if raw_body is not None else (json.dumps(body) if body is not None else None),
        )
        context = event["requestContext"]
        context.update(httpMethod=method, resourcePath=resource, path=f"/{context['stage']}{path}")
        context["identity"].update(accountId=account or caller["account"], userArn=user_arn or caller["arn"])
        return event

    return build
