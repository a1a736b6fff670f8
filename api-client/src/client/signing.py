"""SigV4: the one signing path both clients share, for execute-api (and for the assume-role client's STS call)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

from client.credentials import SigningKeys

__all__ = ["SERVICE", "canonical_target", "sign_request"]

SERVICE = "execute-api"


def canonical_target(path: str, query: Mapping[str, str | list[str]] | None = None) -> str:
    """Percent-encode a raw path and query once, exactly as they are both signed and sent."""
    encoded_path = quote(path, safe="/~")
    pairs: list[str] = []
    for key, value in sorted((query or {}).items()):
        for item in value if isinstance(value, list) else [value]:
            # SigV4 wants RFC 3986 encoding: space is %20 and '/' is encoded inside values.
            pairs.append(f"{quote(str(key), safe='~')}={quote(str(item), safe='~')}")
    return encoded_path + ("?" + "&".join(sorted(pairs)) if pairs else "")


def sign_request(
    *,
    method: str,
    host: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: SigningKeys,
    region: str,
    service: str = SERVICE,
) -> dict[str, str]:
    """Return the headers to send: the given ones plus Host, X-Amz-Date, Authorization and any session token.

    The signature always covers ``host`` (the API's own name), whatever host the connection goes to.
    """
    # Host is signed and sent, so API Gateway routes and verifies on the API host (never a caller-given one).
    fields = {name: value for name, value in headers.items() if name.lower() != "host"} | {"Host": host}
    request = AWSRequest(method=method, url=f"https://{host}{target}", data=body, headers=fields)
    # botocore only reads access_key/secret_key/token; its stub names two concrete classes instead of that shape.
    SigV4Auth(credentials, service, region).add_auth(request)  # type: ignore[arg-type]
    return dict(request.headers.items())
