"""The single SigV4 path: what gets signed is what gets sent, checked by an independent verifier."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from client.signing import canonical_target, sign_request

API_HOST = "abc123.execute-api.us-east-1.amazonaws.com"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
STATIC = ReadOnlyCredentials("AKIDEXAMPLE0000000000", SECRET, None)
TEMPORARY = ReadOnlyCredentials("ASIAEXAMPLE000000000", SECRET, "session-token-value/with+chars=")


def _signed_fields(authorization: str) -> dict[str, str]:
    _, _, rest = authorization.partition(" ")
    return dict(part.strip().split("=", 1) for part in rest.split(","))


def test_sign_request_api_host_is_signed_and_sent(verify_sigv4: Callable[..., bool]) -> None:
    # GIVEN a GET for the API host (the connection may go elsewhere; the signature must not care)
    target = canonical_target("/Prod/items")
    # WHEN it is signed
    headers = sign_request(
        method="GET", host=API_HOST, target=target, headers={}, body=b"", credentials=STATIC, region="us-east-1"
    )
    # THEN Host is the API host, it is part of the signature, and the signature verifies for that host
    assert headers["Host"] == API_HOST
    assert "host" in _signed_fields(headers["Authorization"])["SignedHeaders"].split(";")
    assert verify_sigv4(method="GET", target=target, headers=headers, body=b"", secret_key=SECRET)


def test_sign_request_caller_host_header_is_replaced_by_api_host() -> None:
    # GIVEN an event that tries to set its own Host header
    # WHEN the request is signed
    headers = sign_request(
        method="GET",
        host=API_HOST,
        target="/Prod/",
        headers={"host": "evil.example.com", "X-Trace": "1"},
        body=b"",
        credentials=STATIC,
        region="us-east-1",
    )
    # THEN only the API host is sent, and the caller's other headers survive
    assert [value for name, value in headers.items() if name.lower() == "host"] == [API_HOST]
    assert headers["X-Trace"] == "1"


def test_sign_request_session_token_is_sent_and_signed(verify_sigv4: Callable[..., bool]) -> None:
    # GIVEN temporary credentials (as from sts:AssumeRole)
    target = canonical_target("/Prod/")
    # WHEN a request is signed with them
    headers = sign_request(
        method="GET", host=API_HOST, target=target, headers={}, body=b"", credentials=TEMPORARY, region="us-east-1"
    )
    # THEN the token travels in X-Amz-Security-Token, is covered by the signature, and the key id is the temp one
    assert headers["X-Amz-Security-Token"] == TEMPORARY.token
    fields = _signed_fields(headers["Authorization"])
    assert "x-amz-security-token" in fields["SignedHeaders"].split(";")
    assert fields["Credential"].startswith("ASIAEXAMPLE000000000/")
    assert verify_sigv4(method="GET", target=target, headers=headers, body=b"", secret_key=SECRET)


def test_sign_request_query_string_with_reserved_characters_verifies(verify_sigv4: Callable[..., bool]) -> None:
    # GIVEN query values with spaces, slashes, unicode, '~' and a repeated key
    query: dict[str, str | list[str]] = {"q": "a b/c", "name": "Zoë", "tilde": "x~y", "tag": ["b", "a"], "empty": ""}
    target = canonical_target("/Prod/search", query)
    # WHEN signed
    headers = sign_request(
        method="GET", host=API_HOST, target=target, headers={}, body=b"", credentials=STATIC, region="us-east-1"
    )
    # THEN the target is RFC 3986 encoded and sorted, and the signature verifies over it
    assert target == "/Prod/search?empty=&name=Zo%C3%AB&q=a%20b%2Fc&tag=a&tag=b&tilde=x~y"
    assert verify_sigv4(method="GET", target=target, headers=headers, body=b"", secret_key=SECRET)


def test_sign_request_path_with_spaces_verifies(verify_sigv4: Callable[..., bool]) -> None:
    # GIVEN a raw path with a space and a non-ASCII character
    target = canonical_target("/Prod/items/my item/é")
    # WHEN signed
    headers = sign_request(
        method="GET", host=API_HOST, target=target, headers={}, body=b"", credentials=STATIC, region="us-east-1"
    )
    # THEN the sent path is encoded once and the signature (over the twice-encoded path) verifies
    assert target == "/Prod/items/my%20item/%C3%A9"
    assert verify_sigv4(method="GET", target=target, headers=headers, body=b"", secret_key=SECRET)


def test_sign_request_body_hash_covers_body(verify_sigv4: Callable[..., bool]) -> None:
    # GIVEN a POST with a JSON body
    body = json.dumps({"id": "42", "note": "x" * 100}).encode()
    target = canonical_target("/Prod/items")
    # WHEN signed
    headers = sign_request(
        method="POST",
        host=API_HOST,
        target=target,
        headers={"Content-Type": "application/json"},
        body=body,
        credentials=STATIC,
        region="us-east-1",
    )
    # THEN the signature verifies for this body and fails for a changed one
    assert verify_sigv4(method="POST", target=target, headers=headers, body=body, secret_key=SECRET)
    assert not verify_sigv4(method="POST", target=target, headers=headers, body=body + b" ", secret_key=SECRET)


def test_sign_request_signature_equals_botocore_recomputation() -> None:
    # GIVEN a signed PUT with a session token, query and body
    body = b'{"a": 1}'
    target = canonical_target("/Prod/items/1", {"v": "2"})
    headers = sign_request(
        method="PUT",
        host=API_HOST,
        target=target,
        headers={"Content-Type": "application/json"},
        body=body,
        credentials=TEMPORARY,
        region="us-east-1",
    )
    # WHEN botocore recomputes it on a fresh request from the sent headers, with the same timestamp
    fresh = AWSRequest(
        method="PUT",
        url=f"https://{API_HOST}{target}",
        data=body,
        headers={k: v for k, v in headers.items() if k != "Authorization"},
    )
    fresh.context["timestamp"] = headers["X-Amz-Date"]
    auth = SigV4Auth(TEMPORARY, "execute-api", "us-east-1")
    expected = auth.signature(auth.string_to_sign(fresh, auth.canonical_request(fresh)), fresh)
    # THEN both signatures agree, and the scope names execute-api in the right region
    fields = _signed_fields(headers["Authorization"])
    assert fields["Signature"] == expected
    assert fields["Credential"].endswith(f"/{headers['X-Amz-Date'][:8]}/us-east-1/execute-api/aws4_request")
    assert hashlib.sha256(body).hexdigest() == auth.payload(fresh)
