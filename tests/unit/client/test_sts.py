"""sts:AssumeRole on the wire: the signed form POST, STS's XML answers, throttling and failures, on real HTTPS."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import pytest

from client.credentials import Keys
from client.diagnosis import credentials_failure
from client.sts import AssumeRoleCall, StsError, StsUnreachable
from client.transport import INVOCATION_DEADLINE, RetryPolicy
from tests.unit.client.support import ACCESS_KEY, REGION, SECRET_KEY, Reply, ScriptedHTTPSServer, sigv4_is_valid

ROLE_ARN = "arn:aws:iam::111111111111:role/private-api-access"
SOURCE = Keys(ACCESS_KEY, SECRET_KEY, "source-session-token")
XML = {"Content-Type": "text/xml"}

ASSUMED = """<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROAEXAMPLE:fn</AssumedRoleId>
      <Arn>arn:aws:sts::111111111111:assumed-role/private-api-access/fn</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAASSUMEDEXAMPLE00</AccessKeyId>
      <SecretAccessKey>assumed/secret+key</SecretAccessKey>
      <SessionToken>assumed-session-token</SessionToken>
      <Expiration>2030-01-01T00:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>11111111-1111-1111-1111-111111111111</RequestId></ResponseMetadata>
</AssumeRoleResponse>"""


def _error(code: str, message: str) -> str:
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"
    )


def _call(server: ScriptedHTTPSServer, ca_bundle: str | None, sleeps: list[float] | None = None) -> AssumeRoleCall:
    return AssumeRoleCall(
        endpoint=server.url,
        role_arn=ROLE_ARN,
        session_name="fn",
        region=REGION,
        timeout=0.5,
        source=SOURCE,
        ca_bundle=ca_bundle,
        duration_seconds=900,
        retry=RetryPolicy(max_attempts=2, backoff_base=0.001, backoff_cap=0.001),
        sleep=(sleeps if sleeps is not None else []).append,
    )


def test_assume_role_call_sends_a_signed_form_post_and_returns_credentials_for_botocore(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN an STS endpoint that grants the role
    sts_server.script = [Reply(200, ASSUMED, XML)]
    # WHEN the role is assumed
    credentials = _call(sts_server, ca_bundle)()
    # THEN the answer's credentials come back under the names botocore's refreshable credentials read
    assert credentials == {
        "access_key": "ASIAASSUMEDEXAMPLE00",
        "secret_key": "assumed/secret+key",
        "token": "assumed-session-token",
        "expiry_time": "2030-01-01T00:00:00+00:00",
    }
    # AND the request was STS's form POST, signed for sts in the Region with the source credentials
    (request,) = sts_server.received
    assert (request.method, request.target) == ("POST", "/")
    assert parse_qs(request.body.decode()) == {
        "Action": ["AssumeRole"],
        "Version": ["2011-06-15"],
        "RoleArn": [ROLE_ARN],
        "RoleSessionName": ["fn"],
        "DurationSeconds": ["900"],
    }
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    assert request.headers["Connection"] == "close"
    assert "connection" not in request.headers["Authorization"].split("SignedHeaders=")[1].split(",")[0]
    assert request.headers["Host"] == f"127.0.0.1:{sts_server.server_address[1]}"
    assert request.headers["X-Amz-Security-Token"] == "source-session-token"
    assert f"Credential={ACCESS_KEY}/" in request.headers["Authorization"]
    assert f"/{REGION}/sts/aws4_request" in request.headers["Authorization"]
    assert sigv4_is_valid(
        method="POST", target="/", headers=request.headers, body=request.body, secret_key=SECRET_KEY, service="sts"
    )


def test_assume_role_call_opens_a_new_connection_for_each_refresh(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN one AssumeRoleCall (as kept by the client for the life of the process)
    sts_server.script = [Reply(200, ASSUMED, XML)]
    call = _call(sts_server, ca_bundle)
    # WHEN it refreshes three times (on Lambda about 45 minutes apart, past every idle timeout)
    for _ in range(3):
        call()
    # THEN each refresh used a connection of its own, closed after the answer, so none can go stale in between
    assert len(sts_server.received) == 3
    assert sts_server.connections == 3


def test_assume_role_call_default_port_is_left_out_of_the_signed_host(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN endpoints written with and without the scheme's default port, and an IPv6 one
    def host(endpoint: str) -> str:
        return AssumeRoleCall(
            endpoint=endpoint, role_arn=ROLE_ARN, session_name="fn", region=REGION, timeout=1, source=SOURCE
        ).host

    # THEN the signed host is what botocore would sign: no default port, IPv6 literals in brackets
    assert host("https://sts.us-east-1.amazonaws.com:443") == "sts.us-east-1.amazonaws.com"
    assert host("https://sts.us-east-1.amazonaws.com:8443") == "sts.us-east-1.amazonaws.com:8443"
    assert host("http://localhost:80") == "localhost"
    assert host("http://[::1]:4566") == "[::1]:4566"


def test_assume_role_call_access_denied_raises_sts_error_without_retrying(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN STS refuses the role
    sts_server.script = [Reply(403, _error("AccessDenied", "not authorized to perform: sts:AssumeRole"), XML)]
    # WHEN the role is assumed
    with pytest.raises(StsError) as raised:
        _call(sts_server, ca_bundle)()
    # THEN STS's code, message and request id are kept, and the refusal was not repeated
    assert (raised.value.status, raised.value.code, raised.value.request_id) == (403, "AccessDenied", "req-1")
    assert raised.value.message == "not authorized to perform: sts:AssumeRole"
    assert len(sts_server.received) == 1


def test_assume_role_call_throttled_once_retries_after_a_backoff(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN STS sheds load once (a 400 with code Throttling), then grants the role
    sts_server.script = [Reply(400, _error("Throttling", "Rate exceeded"), XML), Reply(200, ASSUMED, XML)]
    sleeps: list[float] = []
    # WHEN the role is assumed
    credentials = _call(sts_server, ca_bundle, sleeps)()
    # THEN the second attempt succeeded after one backoff
    assert credentials["token"] == "assumed-session-token"
    assert len(sts_server.received) == 2
    assert len(sleeps) == 1


def test_assume_role_call_throttled_every_time_gives_up_after_max_attempts(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    sts_server.script = [Reply(400, _error("Throttling", "Rate exceeded"), XML)]
    with pytest.raises(StsError) as raised:
        _call(sts_server, ca_bundle)()
    assert raised.value.code == "Throttling"
    assert len(sts_server.received) == 2


def test_assume_role_call_server_error_without_xml_is_retried_then_reported_by_status(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN something in front of STS answers 503 with an HTML page
    sts_server.script = [Reply(503, "<html>Service Unavailable", {"Content-Type": "text/html"})]
    # WHEN the role is assumed
    with pytest.raises(StsError) as raised:
        _call(sts_server, ca_bundle)()
    # THEN it was tried twice and the error names the status and shows the start of the body
    assert len(sts_server.received) == 2
    assert raised.value.code == "HTTP 503"
    assert "Service Unavailable" in raised.value.message


def test_assume_role_call_answer_without_session_token_is_malformed(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    sts_server.script = [Reply(200, ASSUMED.replace("<SessionToken>assumed-session-token</SessionToken>", ""), XML)]
    with pytest.raises(StsError) as raised:
        _call(sts_server, ca_bundle)()
    assert raised.value.code == "MalformedResponse"
    assert "SessionToken" in raised.value.message


def test_assume_role_call_untrusted_certificate_is_unreachable_of_kind_tls(sts_server: ScriptedHTTPSServer) -> None:
    # GIVEN no CA bundle: the system store does not trust the test CA
    # WHEN the role is assumed
    with pytest.raises(StsUnreachable) as raised:
        _call(sts_server, None)()
    # THEN TLS verification failed before anything was sent
    assert raised.value.kind == "tls"
    assert sts_server.received == []


def test_keys_repr_hides_the_secret_and_the_token() -> None:
    shown = repr(SOURCE)
    assert ACCESS_KEY in shown
    assert SECRET_KEY not in shown
    assert "source-session-token" not in shown


def test_assume_role_call_timed_out_attempt_is_retried_once(sts_server: ScriptedHTTPSServer, ca_bundle: str) -> None:
    # GIVEN the first answer takes longer than the timeout, the second is on time
    sts_server.script = [Reply(200, ASSUMED, XML, delay=1.0), Reply(200, ASSUMED, XML)]
    sleeps: list[float] = []
    # WHEN the role is assumed
    credentials = _call(sts_server, ca_bundle, sleeps)()
    # THEN the timed-out attempt was retried after one backoff and the second answer was used
    assert credentials["token"] == "assumed-session-token"
    assert len(sts_server.received) == 2
    assert len(sleeps) == 1


def test_assume_role_call_timeout_on_every_attempt_is_unreachable(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    sts_server.script = [Reply(200, ASSUMED, XML, delay=1.0)]
    with pytest.raises(StsUnreachable) as raised:
        _call(sts_server, ca_bundle)()
    assert raised.value.kind == "timeout"
    assert len(sts_server.received) == 2


def test_assume_role_call_no_retry_when_the_invocation_deadline_is_near(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN STS throttles, and the running invocation has under a second left
    sts_server.script = [Reply(400, _error("Throttling", "Rate exceeded"), XML)]
    sleeps: list[float] = []
    token = INVOCATION_DEADLINE.set(time.monotonic() + 0.9)
    try:
        # WHEN the role is assumed
        with pytest.raises(StsError) as raised:
            _call(sts_server, ca_bundle, sleeps)()
    finally:
        INVOCATION_DEADLINE.reset(token)
    # THEN it gives up after one attempt instead of running into Lambda's own timeout
    assert raised.value.code == "Throttling"
    assert len(sts_server.received) == 1
    assert sleeps == []


@pytest.mark.parametrize("expiration", ["not-a-date", "2030-01-01T00:00:00", ""])
def test_assume_role_call_expiration_without_a_time_zone_is_malformed(
    sts_server: ScriptedHTTPSServer, ca_bundle: str, expiration: str
) -> None:
    # GIVEN an answer whose Expiration botocore could not compare with its UTC clock
    sts_server.script = [Reply(200, ASSUMED.replace("2030-01-01T00:00:00Z", expiration), XML)]
    # WHEN the role is assumed
    with pytest.raises(StsError) as raised:
        _call(sts_server, ca_bundle)()
    # THEN it is refused as malformed, before botocore stores it
    assert raised.value.code == "MalformedResponse"
    assert "Expiration" in raised.value.message


def test_assume_role_call_other_2xx_is_read_as_an_answer_and_never_echoed(
    sts_server: ScriptedHTTPSServer, ca_bundle: str
) -> None:
    # GIVEN a 203 carrying credentials (something in between rewrote the status)
    sts_server.script = [Reply(203, ASSUMED, XML)]
    # WHEN the role is assumed
    credentials = _call(sts_server, ca_bundle)()
    # THEN the credentials are used, not quoted in an error
    assert credentials["secret_key"] == "assumed/secret+key"


@pytest.mark.parametrize(
    ("error", "status", "in_hint"),
    [
        (StsError(403, "AccessDenied", "not authorized"), 502, "trust policy"),
        (StsError(400, "RegionDisabledException", "STS is not activated"), 502, "see the error code"),
        (StsError(200, "MalformedResponse", "STS's answer has no XML"), 502, "AWS_ENDPOINT_URL_STS"),
    ],
)
def test_sts_errors_are_explained_by_code(error: StsError, status: int, in_hint: str) -> None:
    failure = credentials_failure(error, ROLE_ARN)
    assert failure.status == status
    assert error.code in failure.error or "denied" in failure.error
    assert in_hint in failure.hint


def test_refresh_that_gives_up_is_explained_with_the_error_type() -> None:
    # GIVEN botocore's refresh giving up because the keys it got back are already expired
    error = RuntimeError("Credentials were refreshed, but the refreshed credentials are still expired.")
    # WHEN explained
    failure = credentials_failure(error, ROLE_ARN)
    # THEN it is a 502 naming the role, the error type and its message
    assert failure.status == 502
    assert failure.error == f"sts:AssumeRole into {ROLE_ARN} failed: RuntimeError: {error}"
    assert failure.hint == "See the function log"
