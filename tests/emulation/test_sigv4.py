"""SigV4 verification against requests signed by botocore's own signer."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from emulation.gateway.sigv4 import (
    Failure,
    ReceivedRequest,
    SigningCredentials,
    SigV4Error,
    apigateway_error,
    verify,
)
from tests.emulation.helpers import API_HOST, sign

CREDS = SigningCredentials("ASIAEXAMPLEKEY000001", "secret-key", "session-token")


def _lookup(key: str) -> SigningCredentials | None:
    return CREDS if key == CREDS.access_key else None


def _signed(
    *,
    url: str = f"https://{API_HOST}/Prod/items",
    method: str = "GET",
    body: bytes = b"",
    creds: SigningCredentials = CREDS,
    service: str = "execute-api",
    region: str = "us-east-1",
    host: str = API_HOST,
) -> ReceivedRequest:
    headers = sign(method=method, url=url, creds=creds, body=body, service=service, region=region)
    split = urlsplit(url)
    target = split.path + (f"?{split.query}" if split.query else "")
    return ReceivedRequest(method=method, target=target, headers=(("Host", host), *headers.items()), body=body)


def _failure(request: ReceivedRequest, **kwargs: object) -> SigV4Error:
    with pytest.raises(SigV4Error) as caught:
        verify(request, region="us-east-1", service="execute-api", lookup=_lookup, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_verify_botocore_signed_request_is_accepted() -> None:
    # GIVEN a POST with a body, an encoded path and a repeated query key, signed by botocore
    request = _signed(url=f"https://{API_HOST}/Prod/items/a%20b?x=2&a=1&x=1", method="POST", body=b'{"n":1}')
    # WHEN it is verified THEN the key and the signed headers are reported
    verified = verify(request, region="us-east-1", service="execute-api", lookup=_lookup)
    assert verified.access_key == CREDS.access_key
    assert "host" in verified.signed_headers
    assert "x-amz-security-token" in verified.signed_headers


def test_verify_missing_authorization_is_missing_authentication_token() -> None:
    # GIVEN an unsigned request WHEN verified THEN API Gateway's Missing Authentication Token comes back
    error = _failure(ReceivedRequest(method="GET", target="/Prod/items", headers=(("Host", API_HOST),)))
    assert apigateway_error(error) == (
        403,
        "MissingAuthenticationTokenException",
        {"message": "Missing Authentication Token"},
    )


def test_verify_unknown_access_key_is_invalid_security_token() -> None:
    # GIVEN a request signed with a key the credential store does not know
    stranger = SigningCredentials("ASIAUNKNOWN000000000", "whatever", "token")
    # WHEN verified THEN it is refused as API Gateway refuses unknown keys
    error = _failure(_signed(creds=stranger))
    assert apigateway_error(error) == (
        403,
        "UnrecognizedClientException",
        {"message": "The security token included in the request is invalid."},
    )


def test_verify_wrong_secret_is_signature_mismatch_with_canonical_request() -> None:
    # GIVEN a request signed with the right key id but the wrong secret
    error = _failure(_signed(creds=SigningCredentials(CREDS.access_key, "wrong-secret", CREDS.token)))
    # WHEN verified THEN the mismatch message carries the canonical request and string to sign, as AWS's does
    status, error_type, body = apigateway_error(error)
    assert (status, error_type) == (403, "InvalidSignatureException")
    assert body["message"].startswith(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret "
        "Access Key and signing method. Consult the service documentation for details.\n\n"
        "The Canonical String for this request should have been\n'GET\n/Prod/items\n"
    )
    assert "The String-to-Sign should have been\n'AWS4-HMAC-SHA256\n" in body["message"]


def test_verify_tampered_body_is_signature_mismatch() -> None:
    # GIVEN a signed POST whose body changed after signing
    request = _signed(method="POST", body=b'{"n":1}')
    tampered = ReceivedRequest(request.method, request.target, request.headers, b'{"n":2}')
    # WHEN verified THEN the signature no longer matches
    assert _failure(tampered).failure is Failure.BAD_SIGNATURE


def test_verify_changed_host_is_signature_mismatch() -> None:
    # GIVEN a request signed for one API host but sent with another
    request = _signed(host="other123.execute-api.us-east-1.amazonaws.com")
    # WHEN verified THEN it fails: the host is part of the signature
    assert _failure(request).failure is Failure.BAD_SIGNATURE


def test_verify_alternate_host_accepts_signature_for_the_api_host() -> None:
    # GIVEN a request sent with the endpoint's DNS name as Host but signed for the API's host
    request = _signed(host="vpce-0abc.execute-api.us-east-1.vpce.amazonaws.com")
    # WHEN verified with the API's host as an alternate THEN it is accepted
    verified = verify(request, region="us-east-1", service="execute-api", lookup=_lookup, alternate_hosts=[API_HOST])
    assert verified.access_key == CREDS.access_key


def test_verify_date_older_than_five_minutes_is_signature_expired() -> None:
    # GIVEN a correctly signed request WHEN verified six minutes later
    error = _failure(_signed(), now=datetime.now(UTC) + timedelta(minutes=6))
    # THEN it is refused with AWS's "Signature expired" wording
    status, error_type, body = apigateway_error(error)
    assert (status, error_type) == (403, "InvalidSignatureException")
    assert re.fullmatch(
        r"Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)", body["message"]
    )


def test_verify_date_in_the_future_is_signature_not_yet_current() -> None:
    # GIVEN a request signed "now" WHEN verified as if six minutes earlier THEN it is not yet current
    error = _failure(_signed(), now=datetime.now(UTC) - timedelta(minutes=6))
    assert error.failure is Failure.NOT_YET_VALID
    assert error.message.startswith("Signature not yet current: ")


def test_verify_within_skew_is_accepted() -> None:
    # GIVEN a request verified four minutes after signing WHEN verified THEN it is still accepted
    verified = verify(
        _signed(),
        region="us-east-1",
        service="execute-api",
        lookup=_lookup,
        now=datetime.now(UTC) + timedelta(minutes=4),
    )
    assert verified.region == "us-east-1"


def test_verify_other_service_scope_is_rejected() -> None:
    # GIVEN a request signed for sts WHEN verified for execute-api THEN the scope is refused
    error = _failure(_signed(service="sts"))
    assert (error.failure, error.message) == (
        Failure.WRONG_SCOPE,
        "Credential should be scoped to correct service: 'execute-api'. ",
    )


def test_verify_other_region_scope_is_rejected() -> None:
    # GIVEN a request signed for eu-west-1 WHEN verified for us-east-1 THEN the region is refused
    error = _failure(_signed(region="eu-west-1"))
    assert (error.failure, error.message) == (
        Failure.WRONG_SCOPE,
        "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    )


def test_verify_session_token_not_matching_the_key_is_invalid_token() -> None:
    # GIVEN a request signed with the right secret but another session token
    error = _failure(_signed(creds=SigningCredentials(CREDS.access_key, CREDS.secret_key, "other-token")))
    # WHEN verified THEN the token is refused as invalid
    assert error.failure is Failure.UNKNOWN_KEY


def test_verify_expired_credentials_are_refused() -> None:
    # GIVEN credentials that expired a minute ago
    expired = SigningCredentials(
        CREDS.access_key, CREDS.secret_key, CREDS.token, datetime.now(UTC) - timedelta(minutes=1)
    )
    # WHEN a request signed with them is verified
    with pytest.raises(SigV4Error) as caught:
        verify(_signed(), region="us-east-1", service="execute-api", lookup=lambda _: expired)
    # THEN it is refused as an expired token
    assert apigateway_error(caught.value) == (
        403,
        "ExpiredTokenException",
        {"message": "The security token included in the request is expired"},
    )


def test_verify_non_sigv4_authorization_is_incomplete_signature() -> None:
    # GIVEN a bearer token in Authorization WHEN verified THEN API Gateway's IncompleteSignature answer comes back
    request = ReceivedRequest(
        method="GET", target="/Prod/items", headers=(("Host", API_HOST), ("Authorization", "Bearer abc"))
    )
    status, error_type, body = apigateway_error(_failure(request))
    assert (status, error_type) == (403, "IncompleteSignatureException")
    assert body["message"].startswith("Invalid key=value pair (missing equal-sign) in Authorization header")


def test_verify_authorization_without_signature_names_the_missing_parameter() -> None:
    # GIVEN an AWS4 header without its Signature part WHEN verified THEN the missing parameter is named
    scope = "ASIAEXAMPLEKEY000001/20240101/us-east-1/execute-api/aws4_request"
    header = f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host"
    request = ReceivedRequest(
        method="GET", target="/Prod/items", headers=(("Host", API_HOST), ("Authorization", header))
    )
    error = _failure(request)
    assert error.failure is Failure.INCOMPLETE
    assert error.message.startswith("Authorization header requires 'Signature' parameter.")
