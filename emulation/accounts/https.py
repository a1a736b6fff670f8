"""Raw HTTPS requests to the emulated endpoints, verified against the emulation's CA and signed by botocore itself."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import urllib3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from urllib3.exceptions import ReadTimeoutError
from urllib3.util import parse_url

from emulation.gateway.sigv4 import SigningCredentials

__all__ = ["IDLE_SHARE", "READ_TIMEOUT", "HttpReply", "HttpsClient", "sign"]

# A kept connection idle for this share of the endpoint's idle timeout is closed before use and a new one opened: the
# endpoint silently forgets a flow idle past its timeout, and a request sent on it would never be answered. The ratio
# of the deployed client's 270 s to PrivateLink's 350 s, so a time-scaled endpoint scales the limit with it.
IDLE_SHARE = 270.0 / 350.0
# API Gateway answers within its 29 s integration limit; no answer after longer means none is coming.
READ_TIMEOUT = 35.0
_CONNECT_TIMEOUT = 10.0
_LAST_USED = "_emulation_last_used"  # attribute stamped on a pooled connection: time.monotonic() when it went idle


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


class _IdleLimitedPool(urllib3.HTTPSConnectionPool):
    """A pool to one listener that never sends on a connection kept idle for ``idle_limit`` seconds or more."""

    def __init__(self, host: str, port: int | None, *, idle_limit: float, **kwargs: Any) -> None:
        super().__init__(host, port, **kwargs)
        self.idle_limit = idle_limit

    def _get_conn(self, timeout: float | None = None) -> Any:
        conn = super()._get_conn(timeout)
        last_used = getattr(conn, _LAST_USED, None)
        if last_used is not None and time.monotonic() - last_used >= self.idle_limit:
            conn.close()  # urllib3 opens a closed connection afresh before sending on it
        return conn

    def _put_conn(self, conn: Any) -> None:
        if conn is not None:
            setattr(conn, _LAST_USED, time.monotonic())
        super()._put_conn(conn)


class HttpsClient:
    """Keep-alive pools (one per listener) trusting only the emulation's CA; no retries (each answer is the server's).

    Like any client of PrivateLink it opens a new connection rather than reuse one idle near the endpoint's idle
    timeout, and gives up on a request with no answer after ``read_timeout`` seconds instead of waiting forever.
    """

    def __init__(self, ca_bundle: Path, *, endpoint_idle_timeout: float, read_timeout: float = READ_TIMEOUT) -> None:
        self._ca_bundle = str(ca_bundle)
        self.idle_limit = endpoint_idle_timeout * IDLE_SHARE
        self.read_timeout = read_timeout
        self._pools: dict[str, _IdleLimitedPool] = {}

    def _pool(self, listener: str) -> _IdleLimitedPool:
        pool = self._pools.get(listener)
        if pool is None:
            url = parse_url(listener)
            if url.scheme != "https" or not url.host:
                raise ValueError(f"{listener!r} is not an https:// listener URL")
            pool = _IdleLimitedPool(
                url.host,
                url.port or 443,
                idle_limit=self.idle_limit,
                cert_reqs="CERT_REQUIRED",
                ca_certs=self._ca_bundle,
                retries=False,
                timeout=urllib3.Timeout(connect=_CONNECT_TIMEOUT, read=self.read_timeout),
            )
            self._pools[listener] = pool
        return pool

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
        """`method target` to the listener with `Host: host`, signed for https://host/target when given credentials.

        Raises TimeoutError when no answer comes within ``read_timeout`` seconds.
        """
        sent = {"Host": host, **headers}
        if credentials is not None:
            url = f"https://{host}{target}"
            sent = {**sign(method, url, body=body, headers=sent, credentials=credentials, region=region), "Host": host}
        try:
            # The target as a PoolManager sends it (invalid characters escaped, dot segments resolved).
            request_uri = parse_url(listener + target).request_uri
            response = self._pool(listener).urlopen(
                method, request_uri, body=body or None, headers=sent, retries=False, redirect=False
            )
        except ReadTimeoutError as error:
            raise TimeoutError(f"no answer to {method} {target} from {listener} in {self.read_timeout:g} s") from error
        return HttpReply(response.status, dict(response.headers), response.data)

    def close(self) -> None:
        """Close every kept connection."""
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
