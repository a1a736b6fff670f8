"""What a cold start of the backend's handler module imports: no X-Ray SDK, no boto3 (so no resource layer, no
s3transfer)."""

from __future__ import annotations

import os
from pathlib import Path

from tests.unit.cold_imports import loaded_after_import

SRC = Path(__file__).resolve().parents[3] / "api-backend" / "src"
# The function's environment as the template sets it, with Lambda's own variables (no server is contacted).
ENV = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_SESSION_TOKEN": "token",
    "AWS_LAMBDA_FUNCTION_NAME": "private-api-backend",
    "TABLE_NAME": "items",
    "IDEMPOTENCY_TABLE_NAME": "idempotency",
    "POWERTOOLS_SERVICE_NAME": "private-api-backend",
    "POWERTOOLS_METRICS_NAMESPACE": "PrivateApiBackend",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _loaded_after_import(module: str) -> set[str]:
    return loaded_after_import(SRC, module, ENV)


def test_backend_handler_cold_import_does_not_load_the_xray_sdk():
    # GIVEN a fresh process with the backend function's environment (tracing left on, as on Lambda)
    # WHEN the handler module is imported (Lambda's init phase)
    loaded = _loaded_after_import("backend.app")
    # THEN Powertools Logger, Metrics, the event handler and the Idempotency-Key records are there, the X-Ray SDK is
    # not (the records are Powertools' idempotency records, written by backend.idempotency: see the next tests)
    assert {
        "aws_lambda_powertools.logging",
        "aws_lambda_powertools.metrics",
        "aws_lambda_powertools.event_handler",
        "backend.idempotency",
    } <= loaded
    assert not {name for name in loaded if name == "aws_xray_sdk" or name.startswith("aws_xray_sdk.")}


def test_backend_handler_cold_import_builds_no_boto3_resource_layer():
    # GIVEN a fresh process with the backend function's environment
    # WHEN the handler module is imported
    loaded = _loaded_after_import("backend.app")
    # THEN the items table sits on a low-level client with its own value conversions (as boto3's DynamoDB types):
    # none of boto3's DynamoDB resource layer is loaded
    assert {"botocore.client", "backend.attribute_values"} <= loaded
    assert {"boto3.dynamodb.table", "boto3.dynamodb.transform"}.isdisjoint(loaded)


def test_backend_handler_cold_import_loads_neither_boto3_nor_s3transfer():
    # GIVEN a fresh process with the backend function's environment
    # WHEN the handler module is imported
    loaded = _loaded_after_import("backend.app")
    # THEN its DynamoDB clients come from botocore alone: boto3's package (which imports s3transfer) is not loaded,
    # nor Powertools' idempotency package (which imports boto3)
    assert not {name for name in loaded if name.split(".")[0] in {"boto3", "s3transfer"}}
    assert "aws_lambda_powertools.utilities.idempotency" not in loaded
