"""REFERENCE-STYLE BACKEND (benchmark only, never deployed): the provider's function written the public sample's way.

What the sample's backend module does when Lambda imports it: boto3, botocore's ClientError, and a DynamoDB table
resource built at import (`boto3.resource("dynamodb").Table(...)`); no Powertools. Per invocation it prints the
event, stores the request context and echoes the caller's identity. It exists so `python -m bench` can compare the
cold import of our backend (bench: `backend_cold_import_vs_baseline`) with that approach in the same run; do not
copy it.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from botocore.exceptions import ClientError

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Store the request context under its request id and answer with the caller's identity (the sample's route)."""
    print(json.dumps(event, default=str))  # the sample logs with print
    request_context = dict(event["requestContext"])
    request_context["id"] = request_context["requestId"]
    try:
        table.put_item(Item=request_context)
    except ClientError as error:
        print(f"ERROR: dynamodb put_item failed: {error}")  # the sample only logs a failed write
    return {"statusCode": 200, "body": json.dumps(request_context["identity"])}
