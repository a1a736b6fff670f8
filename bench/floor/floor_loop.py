"""FLOOR (benchmark only): botocore SigV4 signing plus one kept urllib3 connection, and nothing else.

No configuration checks, no logging, no retries, no error handling: the body of the tightest loop that can call the
API. Run in the same emulated Lambda sandbox as the real clients, its time per call is what the clients' overhead is
measured against.
"""

from __future__ import annotations

import os
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


class _Keys(NamedTuple):
    access_key: str
    secret_key: str
    token: str | None


_HOST = os.environ["API_HOST"]
_PREFIX = os.environ.get("API_PREFIX", "")
_REGION = os.environ["AWS_REGION"]
_KEYS = _Keys(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"], os.environ.get("AWS_SESSION_TOKEN"))
_TARGET = urlsplit(os.environ.get("API_ENDPOINT") or f"https://{_HOST}")
# One connection, kept for the life of the process (maxsize=1, block=True: never a second one).
_POOL = urllib3.HTTPSConnectionPool(
    _TARGET.hostname or _HOST,
    _TARGET.port or 443,
    maxsize=1,
    block=True,
    cert_reqs="CERT_REQUIRED",
    ca_certs=os.environ.get("API_CA_BUNDLE") or None,
    retries=False,
)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sign GET {prefix}{path} for the API host and send it over the kept connection."""
    target = _PREFIX + str((event or {}).get("path", "/"))
    request = AWSRequest(method="GET", url=f"https://{_HOST}{target}", headers={"Host": _HOST})
    # botocore only reads access_key/secret_key/token; its stub names two concrete classes instead of that shape.
    SigV4Auth(_KEYS, "execute-api", _REGION).add_auth(request)  # type: ignore[arg-type]
    response = _POOL.urlopen("GET", target, headers=dict(request.headers.items()), redirect=False)
    return {"statusCode": response.status, "body": response.data.decode()}
