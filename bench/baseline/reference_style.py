"""REFERENCE-STYLE BASELINE (benchmark only, never deployed): an assume-role client written the reference's way.

Per invocation it builds a new boto3 session, calls sts:AssumeRole, signs with botocore's SigV4 and sends the request
with `requests.get`-style calls that keep no connection (one new TCP + TLS connection each time). It exists so
`python -m bench` can compare our clients with that approach in the same run; do not copy it.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import requests
from aws_lambda_powertools import Logger
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

logger = Logger()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Assume the provider role, then call the API once with a fresh connection (the reference's pattern)."""
    host = os.environ["API_HOST"]
    region = os.environ["AWS_REGION"]
    path = os.environ.get("API_PREFIX", "") + str((event or {}).get("path", "/"))
    session = boto3.session.Session()
    assumed = session.client("sts", region_name=region).assume_role(
        RoleArn=os.environ["ROLE_TO_ASSUME"], RoleSessionName="reference-style-baseline"
    )["Credentials"]
    credentials = boto3.session.Session(
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
    ).get_credentials()
    if credentials is None:
        raise RuntimeError("no credentials from the assumed role")
    request = AWSRequest(method="GET", url=f"https://{host}{path}", headers={"Host": host})
    SigV4Auth(credentials, "execute-api", region).add_auth(request)
    # requests.get opens a Session per call and closes it: no connection survives the invocation.
    response = requests.get(
        (os.environ.get("API_ENDPOINT") or f"https://{host}") + path,
        headers=dict(request.headers.items()),
        timeout=float(os.environ.get("API_TIMEOUT", "10")),
        verify=os.environ.get("API_CA_BUNDLE") or True,
    )
    logger.info("API answered", extra={"status": response.status_code})
    return {"statusCode": response.status_code, "headers": dict(response.headers), "body": response.text}
