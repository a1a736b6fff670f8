"""When diagnose cannot read: no connection, no permission to read, expired credentials. Never a denial, never advice
that belongs to another cause, and never a fact about what was not read."""

from __future__ import annotations

import hashlib
import io
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.credentials
import pytest

from diagnose.cli import main
from diagnose.results import EXIT_UNKNOWN, Status
from emulation.demo.diagnose_world import REGION, World
from tests.diagnose.helpers import check, client, run

Build = Any
STS_NOTE = "no STS endpoint with private DNS"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 port bound but not listening: every connection to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _static_profiles(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (directory / "credentials").write_text(
        "[consumer]\naws_access_key_id = AKIACONSUMER\naws_secret_access_key = x\n"
        "[provider]\naws_access_key_id = AKIAPROVIDER\naws_secret_access_key = y\n",
        encoding="utf-8",
    )
    (directory / "config").write_text(
        f"[profile consumer]\nregion = {REGION}\n[profile provider]\nregion = {REGION}\n", encoding="utf-8"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(directory / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(directory / "config"))


def test_diagnose_unreachable_endpoint_reports_not_checked_and_exits_3(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN working-looking profiles whose AWS endpoint refuses every connection (one attempt: no retry backoff)
    _static_profiles(tmp_path, monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    out = io.StringIO()
    # WHEN diagnose runs with both profiles
    status = main(["consumer", "provider"], stdout=out)
    # THEN it names the connection, gives no credential advice, claims nothing about the VPC, denies nothing, exit 3
    text = out.getvalue()
    assert "sso login" not in text
    assert STS_NOTE not in text
    assert "✗" not in text
    assert "could not connect to AWS" in text
    assert text.endswith("Result: 0 allowed, 0 denied, 2 not fully checked (exit 3)\n")
    assert status == EXIT_UNKNOWN


def test_diagnose_unreachable_endpoint_json_marks_consumer_stack_unknown_with_network_advice(
    closed_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the same unreachable endpoint
    _static_profiles(tmp_path, monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    out = io.StringIO()
    # WHEN diagnose runs with --json
    main(["--json", "consumer"], stdout=out)
    # THEN the first check is not checked, with the connection as the reason and the network as what it needs
    first = json.loads(out.getvalue())["clients"][0]["checks"][0]
    assert first["id"] == "consumer-stack"
    assert first["status"] == "unknown"
    assert first["detail"].startswith("not checked: could not connect to AWS for profile 'consumer'")
    assert "EndpointConnectionError" in first["detail"]
    assert first["needs"].startswith("a connection to AWS")


def _deny_describe_vpc_endpoints(world: World) -> None:
    """The consumer profile may not call ec2:DescribeVpcEndpoints: EC2 answers UnauthorizedOperation.

    moto's IAM enforcement breaks the signatures of Lambda and API Gateway calls, so this one operation is answered
    at botocore's boundary (the before-call event botocore's own Stubber uses); every other call goes to moto.
    """

    def denied(**_: Any) -> tuple[Any, dict[str, Any]]:
        response = type("Response", (), {"status_code": 403, "headers": {}, "content": b""})()
        error = {"Code": "UnauthorizedOperation", "Message": "You are not authorized to perform this operation."}
        return response, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 403}}

    world.consumer.events.register("before-call.ec2.DescribeVpcEndpoints", denied)


def test_diagnose_describe_vpc_endpoints_denied_reports_endpoint_checks_not_checked(build: Build) -> None:
    # GIVEN a healthy deployment read by a consumer profile that may not describe VPC endpoints
    world = build()
    _deny_describe_vpc_endpoints(world)
    # WHEN diagnose runs
    result = run(world)
    # THEN the endpoint and STS endpoint checks are not checked, naming the permission; no VPC fact is claimed
    endpoint = check(result, "direct", "endpoint")
    assert endpoint.status is Status.UNKNOWN
    assert "UnauthorizedOperation" in endpoint.detail
    assert endpoint.needs == "ec2:DescribeVpcEndpoints for profile 'consumer'"
    sts = check(result, "assume-role", "sts-endpoint")
    assert sts.status is Status.UNKNOWN
    assert sts.needs == "ec2:DescribeVpcEndpoints for profile 'consumer'"
    assert not any(STS_NOTE in n for n in result.notes)
    assert [c.verdict for c in result.clients] == ["unknown", "unknown"]
    assert result.exit_code == EXIT_UNKNOWN


def _expired_sso_profile(directory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A legacy SSO profile whose cached token expired an hour ago (what `aws sso login` leaves behind)."""
    start_url = "https://example.awsapps.com/start"
    config = directory / "config"
    config.write_text(
        f"[profile consumer]\nregion = {REGION}\nsso_start_url = {start_url}\nsso_region = {REGION}\n"
        "sso_account_id = 222222222222\nsso_role_name = Admin\n",
        encoding="utf-8",
    )
    cache = directory / ".aws" / "sso" / "cache"
    cache.mkdir(parents=True)
    expired = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = hashlib.sha1(start_url.encode("utf-8"), usedforsecurity=False).hexdigest()
    token = {"startUrl": start_url, "region": REGION, "accessToken": "expired", "expiresAt": expired}
    (cache / f"{name}.json").write_text(json.dumps(token), encoding="utf-8")
    # botocore fixes its SSO token cache directory (~/.aws/sso/cache) at import: point it at this test's cache.
    monkeypatch.setattr(botocore.credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", str(cache))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(directory / "none"))


def test_diagnose_expired_sso_token_reports_not_checked_with_sso_login(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a consumer profile whose SSO session expired
    _expired_sso_profile(tmp_path, monkeypatch)
    out = io.StringIO()
    # WHEN diagnose runs
    status = main(["consumer"], stdout=out)
    # THEN nothing is denied; the consumer stack is not checked and the advice is to log in again
    text = out.getvalue()
    assert "✗" not in text
    assert "not checked: the credentials of profile 'consumer' do not work" in text
    assert "needs fresh credentials for profile 'consumer' (for SSO: aws sso login --profile consumer)" in text
    assert "could not connect" not in text
    assert status == EXIT_UNKNOWN


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('EndpointConnectionError: Could not connect to the endpoint URL: "https://sts.x/"', "connection"),
        ("ConnectTimeoutError: Connect timeout on endpoint URL", "connection"),
        ("ReadTimeoutError: Read timeout on endpoint URL", "connection"),
        ("SSLError: SSL validation failed", "connection"),
        ("UnauthorizedOperation: You are not authorized to perform this operation.", "permission"),
        ("AccessDenied: User: arn:aws:iam::1:user/a is not authorized", "permission"),
        ("AccessDeniedException: User is not authorized", "permission"),
        ("ExpiredToken: The security token included in the request is expired", "credentials"),
        ("ExpiredTokenException: The security token included in the request is expired", "credentials"),
        ("InvalidClientTokenId: The security token included in the request is invalid.", "credentials"),
        ("UnrecognizedClientException: The security token included in the request is invalid.", "credentials"),
        ("NoCredentialsError: Unable to locate credentials", "credentials"),
        ("UnauthorizedSSOTokenError: The SSO session associated with this profile has expired", "credentials"),
        ("TokenRetrievalError: Error when retrieving token from sso", "credentials"),
        ("ValidationError: Stack with id x does not exist", "not-found"),
        ("ThrottlingException: Rate exceeded", "other"),
        (None, "other"),
    ],
)
def test_error_kind_of_read_error_text_tells_causes_apart(text: str | None, kind: str) -> None:
    from diagnose.errors import error_kind  # noqa: PLC0415 - the module this test brought in

    # GIVEN a read error as diagnose records it ("Code: message")
    # WHEN it is classified
    # THEN connection, permission, credential and not-found errors are told apart
    assert error_kind(text).value == kind


def test_diagnose_healthy_deployment_reports_no_read_errors(build: Build) -> None:
    # GIVEN a healthy deployment
    world = build()
    # WHEN diagnose runs
    result = run(world)
    # THEN every read succeeded and the STS endpoint, read from the VPC, passes
    assert result.read_errors == {"consumer": {}, "provider": {}}
    assert check(result, "assume-role", "sts-endpoint").status is Status.OK
    assert client(result, "direct").verdict == "allowed"
