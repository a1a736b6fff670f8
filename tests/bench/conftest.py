"""Fixtures for the benchmark's smoke tests: a counting HTTPS server on 127.0.0.1 and client environments."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from tests.https_server import running_https
from tests.unit.client.support import API_HOST, ScriptedHTTPSServer

REPO = Path(__file__).resolve().parents[2]
# moto picks its request recorder's file when first imported; keep it inside build/ as `python -m bench` does.
(REPO / "build" / "bench").mkdir(parents=True, exist_ok=True)
os.environ.setdefault("MOTO_RECORDER_FILEPATH", str(REPO / "build" / "bench" / "moto-recording.jsonl"))


@pytest.fixture(scope="module")
def tls_ca() -> trustme.CA:
    """A throwaway CA the clients trust through API_CA_BUNDLE."""
    return trustme.CA()


@pytest.fixture
def api_server(tls_ca: trustme.CA) -> Iterator[ScriptedHTTPSServer]:
    """A real HTTPS server on 127.0.0.1 that counts the TCP connections it accepts."""
    with running_https(tls_ca) as server:
        yield server


@pytest.fixture
def client_env(
    monkeypatch: pytest.MonkeyPatch, api_server: ScriptedHTTPSServer, tls_ca: trustme.CA, tmp_path: Path
) -> dict[str, str]:
    """The variables a client function gets, pointed at ``api_server``; applied to os.environ."""
    ca_bundle = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_bundle))
    env = {
        "API_HOST": API_HOST,
        "API_PREFIX": "/Prod",
        "API_TIMEOUT": "5",
        "API_ENDPOINT": api_server.url,
        "API_CA_BUNDLE": str(ca_bundle),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDBENCHSMOKE000000",
        "AWS_SECRET_ACCESS_KEY": "bench-smoke-secret",
        "ROLE_TO_ASSUME": "arn:aws:iam::111111111111:role/private-api-access",
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
