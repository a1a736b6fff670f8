"""Assume-role credentials: one STS call per credential lifetime (moto STS), and explained STS failures."""

from __future__ import annotations

import datetime
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from moto.sts.models import AssumedRole, sts_backends

from client.config import ConfigError
from client.credentials import own_credentials
from client.invoke import Invoker, build_direct_invoker
from client.role import assume_role_credentials, build_assume_role_invoker
from tests.moto_server import running_moto
from tests.unit.client.support import API_HOST, FakeLambdaContext, Reply, ScriptedHTTPSServer

ROLE_ARN = "arn:aws:iam::111111111111:role/private-api-access"

STS_ACCESS_DENIED = """<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>AccessDenied</Code>
  <Message>User: arn:aws:sts::222222222222:assumed-role/client/fn is not authorized to perform: sts:AssumeRole on
  resource: arn:aws:iam::111111111111:role/private-api-access</Message></Error>
  <RequestId>00000000-0000-0000-0000-000000000000</RequestId>
</ErrorResponse>"""


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    """moto's server on an ephemeral 127.0.0.1 port: the client's STS calls are real HTTP requests to it."""
    with running_moto() as url:
        yield url


@pytest.fixture
def role_env(client_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Client environment of the assume-role function."""
    monkeypatch.setenv("ROLE_TO_ASSUME", ROLE_ARN)
    return {**client_env, "ROLE_TO_ASSUME": ROLE_ARN}


@pytest.fixture
def moto_sts(
    role_env: dict[str, str], moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> Callable[[], list[AssumedRole]]:
    """moto STS behind AWS_ENDPOINT_URL_STS; yields a function listing the AssumeRole calls it has served."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", moto_server)
    role_env["AWS_ENDPOINT_URL_STS"] = moto_server
    # Not sts_backends.reset(): it is moto's class-wide BackendDict.reset and would wipe every backend in this process,
    # a running emulation's included. Only the calls made from now on are this test's.
    backend = sts_backends["111111111111"]["aws"]
    before = {id(role) for role in backend.assumed_roles}
    return lambda: [r for r in backend.assumed_roles if r.role_arn == ROLE_ARN and id(r) not in before]


def test_assume_role_handler_warm_invocations_call_sts_once(
    moto_sts: Callable[[], list[AssumedRole]],
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
    load_handler: Callable[[str], ModuleType],
) -> None:
    # GIVEN a cold-started assume-role handler (module state built from the environment)
    handler_module = load_handler("assume_role")
    # WHEN five warm invocations follow
    results = [handler_module.handler({"path": f"/n/{i}"}, lambda_context) for i in range(5)]
    # THEN all succeed, and STS served exactly one AssumeRole for the provider role
    assert [r["statusCode"] for r in results] == [200] * 5
    (assumed,) = moto_sts()
    assert assumed.session_name == "unit-test-client"
    # AND every request was signed with those assumed credentials (key id and session token)
    for seen in api_server.received:
        assert f"Credential={assumed.access_key_id}/" in seen.headers["Authorization"]
        assert seen.headers["X-Amz-Security-Token"] == assumed.session_token
        assert seen.headers["Host"] == API_HOST


def test_assume_role_credentials_near_expiry_refresh_calls_sts_again(
    moto_sts: Callable[[], list[AssumedRole]],
    role_env: dict[str, str],
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
) -> None:
    # GIVEN credentials that are inside botocore's 15-minute refresh window as soon as they arrive
    built = build_assume_role_invoker(role_env)
    short_lived = assume_role_credentials(
        ROLE_ARN,
        region="us-east-1",
        session_name="refresh-test",
        timeout=1,
        endpoint=role_env["AWS_ENDPOINT_URL_STS"],
        duration_seconds=900,
    )
    invoker = Invoker(built.config, short_lived)
    # WHEN the client is invoked twice
    first = invoker.invoke({}, lambda_context)
    second = invoker.invoke({}, lambda_context)
    # THEN both succeed and the second invocation refreshed them with a second AssumeRole
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    calls = moto_sts()
    assert len(calls) == 2
    assert f"Credential={calls[1].access_key_id}/" in api_server.received[1].headers["Authorization"]


def test_assume_role_credentials_are_deferred_until_first_use(
    moto_sts: Callable[[], list[AssumedRole]], role_env: dict[str, str]
) -> None:
    # GIVEN nothing
    # WHEN the credentials object is created (as at cold start)
    credentials = assume_role_credentials(
        ROLE_ARN, region="us-east-1", session_name="cold-start", timeout=1, endpoint=role_env["AWS_ENDPOINT_URL_STS"]
    )
    # THEN no STS call has happened yet; the first read performs exactly one
    assert moto_sts() == []
    frozen = credentials.get_frozen_credentials()
    assert len(moto_sts()) == 1
    assert frozen.token == moto_sts()[0].session_token


def test_assume_role_sts_access_denied_returns_502_with_hint(
    role_env: dict[str, str],
    sts_server: ScriptedHTTPSServer,
    api_server: ScriptedHTTPSServer,
    ca_bundle: str,
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    # GIVEN an STS endpoint that refuses the AssumeRole
    sts_server.script = [Reply(403, STS_ACCESS_DENIED, {"Content-Type": "text/xml"})]
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_server.url)
    monkeypatch.setenv("AWS_CA_BUNDLE", ca_bundle)
    invoker = build_assume_role_invoker()  # reads os.environ, as on Lambda
    # WHEN the client is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN it answers 502 explaining the denial; the API was never called
    assert result["statusCode"] == 502
    assert result["error"].startswith(f"sts:AssumeRole into {ROLE_ARN} was denied: User: ")
    assert "trust policy" in result["hint"]
    assert api_server.received == []
    (request,) = sts_server.received
    assert b"Action=AssumeRole" in request.body
    assert b"RoleSessionName=unit-test-client" in request.body


def test_assume_role_sts_unreachable_returns_504_with_hint(
    role_env: dict[str, str],
    api_server: ScriptedHTTPSServer,
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    # GIVEN an STS endpoint address where nothing listens (no STS VPC endpoint, no egress)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", f"https://127.0.0.1:{closed_port}")
    invoker = build_assume_role_invoker()  # reads os.environ, as on Lambda
    # WHEN the client is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN it answers 504 saying STS is unreachable and how to give the VPC a path to it
    assert result["statusCode"] == 504
    assert "STS unreachable" in result["error"]
    assert "pCreateSTSEndpoint" in result["hint"]
    assert api_server.received == []


def test_assume_role_sts_certificate_not_trusted_returns_502_with_ca_hint(
    role_env: dict[str, str],
    sts_server: ScriptedHTTPSServer,
    api_server: ScriptedHTTPSServer,
    monkeypatch: pytest.MonkeyPatch,
    lambda_context: FakeLambdaContext,
) -> None:
    # GIVEN an STS endpoint whose certificate the function does not trust (no AWS_CA_BUNDLE for the private CA)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_server.url)
    monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
    invoker = build_assume_role_invoker()
    # WHEN the client is invoked
    result = invoker.invoke({}, lambda_context)
    # THEN it answers 502 naming TLS and the variable that fixes it; nothing reached STS or the API
    assert result["statusCode"] == 502
    assert "TLS with 127.0.0.1 failed" in result["error"]
    assert "AWS_CA_BUNDLE" in result["hint"]
    assert (sts_server.received, api_server.received) == ([], [])


def _granted(expires_in: datetime.timedelta, key: str) -> Reply:
    expiry = (datetime.datetime.now(datetime.UTC) + expires_in).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = (
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>'
        f"<AccessKeyId>{key}</AccessKeyId><SecretAccessKey>secret-{key}</SecretAccessKey>"
        f"<SessionToken>token-{key}</SessionToken><Expiration>{expiry}</Expiration>"
        "</Credentials></AssumeRoleResult></AssumeRoleResponse>"
    )
    return Reply(200, body, {"Content-Type": "text/xml"})


@pytest.fixture
def scripted_sts_invoker(
    role_env: dict[str, str], sts_server: ScriptedHTTPSServer, ca_bundle: str, monkeypatch: pytest.MonkeyPatch
) -> Invoker:
    """An assume-role invoker whose STS is the scripted server (trusted through AWS_CA_BUNDLE)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_server.url)
    monkeypatch.setenv("AWS_CA_BUNDLE", ca_bundle)
    return build_assume_role_invoker()


def test_refresh_denied_in_the_advisory_window_keeps_signing_with_the_current_keys(
    scripted_sts_invoker: Invoker,
    sts_server: ScriptedHTTPSServer,
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
) -> None:
    # GIVEN keys with 12 minutes left (botocore wants to refresh below 15, insists below 10), then STS refuses
    sts_server.script = [_granted(datetime.timedelta(minutes=12), "ASIAFIRST"), Reply(403, STS_ACCESS_DENIED)]
    # WHEN the client is invoked twice
    results = [scripted_sts_invoker.invoke({}, lambda_context) for _ in range(2)]
    # THEN the refresh was tried and failed, yet both calls succeeded with the keys still valid
    assert [r["statusCode"] for r in results] == [200, 200]
    assert len(sts_server.received) == 2
    assert all("Credential=ASIAFIRST/" in seen.headers["Authorization"] for seen in api_server.received)


def test_refresh_denied_in_the_mandatory_window_is_an_explained_502(
    scripted_sts_invoker: Invoker,
    sts_server: ScriptedHTTPSServer,
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
) -> None:
    # GIVEN keys with 5 minutes left, then STS refuses the refresh
    sts_server.script = [_granted(datetime.timedelta(minutes=5), "ASIAFIRST"), Reply(403, STS_ACCESS_DENIED)]
    # WHEN the client is invoked twice
    first = scripted_sts_invoker.invoke({}, lambda_context)
    second = scripted_sts_invoker.invoke({}, lambda_context)
    # THEN the first call signs with the fresh keys; the second refuses to sign with keys about to expire, explained
    assert first["statusCode"] == 200
    assert second["statusCode"] == 502
    assert second["error"].startswith(f"sts:AssumeRole into {ROLE_ARN} was denied")
    assert len(api_server.received) == 1


def test_direct_client_signs_with_the_environments_session_token(
    client_env: dict[str, str],
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the environment Lambda gives a function: role keys and a session token
    monkeypatch.setenv("AWS_SESSION_TOKEN", "lambda-role-session-token")
    # WHEN the direct client is invoked
    result = build_direct_invoker().invoke({}, lambda_context)
    # THEN the request carries that token and is signed with that key
    assert result["statusCode"] == 200
    (seen,) = api_server.received
    assert seen.headers["X-Amz-Security-Token"] == "lambda-role-session-token"
    assert f"Credential={client_env['AWS_ACCESS_KEY_ID']}/" in seen.headers["Authorization"]


@pytest.mark.parametrize(
    ("present", "missing"),
    [("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID")],
)
def test_own_credentials_half_a_key_pair_names_the_missing_variable(present: str, missing: str) -> None:
    with pytest.raises(ConfigError) as raised:
        own_credentials({present: "value"})
    assert str(raised.value).startswith(missing)


def test_own_credentials_without_keys_in_the_environment_use_the_profile_chain(
    client_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN no keys in the environment, but a shared credentials file (a local run with a profile)
    credentials_file = tmp_path / "credentials"
    credentials_file.write_text("[default]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profile-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    # WHEN the function's own credentials are read
    keys = own_credentials().get_frozen_credentials()
    # THEN botocore's chain found the profile's keys
    assert (keys.access_key, keys.secret_key) == ("AKIAPROFILE", "profile-secret")


def test_assume_role_sts_server_error_hint_names_the_status_and_the_retries(
    scripted_sts_invoker: Invoker,
    sts_server: ScriptedHTTPSServer,
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
) -> None:
    # GIVEN an STS that answers 503 to every attempt
    sts_server.script = [Reply(503, "<html>Service Unavailable</html>", {"Content-Type": "text/html"})]
    # WHEN the client is invoked
    result = scripted_sts_invoker.invoke({}, lambda_context)
    # THEN the hint says STS answered 503, a server-side error, after 2 attempts; not that STS refused the request
    assert result["statusCode"] == 502
    assert "STS answered 503 (a server-side error; tried 2 times)" in result["hint"]
    assert "refused" not in result["hint"]
    assert len(sts_server.received) == 2
    assert api_server.received == []


def test_assume_role_slow_sts_hint_says_it_did_not_answer_in_time(
    scripted_sts_invoker: Invoker,
    sts_server: ScriptedHTTPSServer,
    api_server: ScriptedHTTPSServer,
    lambda_context: FakeLambdaContext,
) -> None:
    # GIVEN an STS that accepts the connection and answers only after 1 s (the client waits API_TIMEOUT = 0.5 s)
    sts_server.script = [Reply(200, "<late/>", {"Content-Type": "text/xml"}, delay=1.0)]
    # WHEN the client is invoked
    result = scripted_sts_invoker.invoke({}, lambda_context)
    # THEN 504 says STS did not answer within 0.5 s (it was reached), not that there is no path to STS
    assert result["statusCode"] == 504
    assert "STS did not answer within 0.5s" in result["hint"]
    assert "No path to STS" not in result["hint"]
    assert len(sts_server.received) == 2
    assert api_server.received == []
