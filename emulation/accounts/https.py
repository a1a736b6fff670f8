"""Raw HTTPS requests to the emulated endpoints, verified against the emulation's CA and signed by botocore itself."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulation.gateway.sigv4 import SigningCredentials

__all__ = ["HttpReply", "HttpsClient", "sign"]


@dataclass(frozen=True)
class HttpReply:
    """An HTTP answer as tests and the demo read it."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", "replace")


def sign(
    method: str, url: str, *, body: bytes, headers: Mapping[str, str], credentials: SigningCredentials, region: str
) -> dict[str, str]:
    """`headers` plus the SigV4 headers botocore's SigV4Auth adds for an execute-api request to `url`."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
    signer = Credentials(credentials.access_key, credentials.secret_key, credentials.token)
    SigV4Auth(signer, "execute-api", region).add_auth(request)
    return dict(request.headers.items())


class HttpsClient:
    """One connection pool trusting only the emulation's CA; no retries (every answer is the one the server gave)."""

    def __init__(self, ca_bundle: Path) -> None:
        self._pool = urllib3.PoolManager(ca_certs=str(ca_bundle), cert_reqs="CERT_REQUIRED", retries=False)

    def send(
        self,
        method: str,
        listener: str,
        target: str,
        *,
        host: str,
        body: bytes,
        headers: Mapping[str, str],
        credentials: SigningCredentials | None,
        region: str,
    ) -> HttpReply:
        """`method target` to the listener with `Host: host`, signed for https://host/target when given credentials."""
        sent = {"Host": host, **headers}
        if credentials is not None:
            url = f"https://{host}{target}"
            sent = {**sign(method, url, body=body, headers=sent, credentials=credentials, region=region), "Host": host}
        response = self._pool.request(method, listener + target, body=body or None, headers=sent)
        return HttpReply(response.status, dict(response.headers), response.data)

    def close(self) -> None:
        """Close every kept connection."""
        self._pool.clear()
