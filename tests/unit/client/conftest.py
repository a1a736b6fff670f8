"""Fixtures for the client tests: a real HTTPS server on 127.0.0.1, a trusted private CA, a configured env."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
import trustme

from tests.https_server import running_https
from tests.unit.client.support import (
    ACCESS_KEY,
    API_HOST,
    REGION,
    SECRET_KEY,
    FakeLambdaContext,
    ScriptedHTTPSServer,
    sigv4_is_valid,
)


@pytest.fixture(scope="session")
def tls_ca() -> trustme.CA:
    """A private CA whose certificate the client trusts through API_CA_BUNDLE."""
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_bundle(tls_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    """PEM file of the private CA."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


@pytest.fixture
def api_server(tls_ca: trustme.CA) -> Iterator[ScriptedHTTPSServer]:
    """A real HTTPS server on 127.0.0.1 with a certificate for 127.0.0.1 from the private CA."""
    with running_https(tls_ca) as server:
        yield server


@pytest.fixture
def sts_server(tls_ca: trustme.CA) -> Iterator[ScriptedHTTPSServer]:
    """A second scripted HTTPS server, standing in for an STS endpoint (point AWS_ENDPOINT_URL_STS at it)."""
    with running_https(tls_ca) as server:
        yield server


@pytest.fixture
def client_env(
    monkeypatch: pytest.MonkeyPatch, api_server: ScriptedHTTPSServer, ca_bundle: str, tmp_path: Path
) -> dict[str, str]:
    """Environment of a configured client pointed at ``api_server``; also applied to os.environ."""
    env = {
        "API_HOST": API_HOST,
        "API_PREFIX": "/Prod",
        "API_TIMEOUT": "0.5",
        "API_ENDPOINT": api_server.url,
        "API_CA_BUNDLE": ca_bundle,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_LAMBDA_FUNCTION_NAME": "unit-test-client",
        # Keep any developer profile or config out of credential resolution.
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
    }
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "ROLE_TO_ASSUME", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    """A Lambda context with a minute left."""
    return FakeLambdaContext()


@pytest.fixture
def load_handler() -> Callable[[str], ModuleType]:
    """Import (or re-import) a handler module so its module-level state is rebuilt from the current env."""

    def load(name: str) -> ModuleType:
        module = importlib.import_module(f"client.{name}")
        return importlib.reload(module)

    return load


@pytest.fixture
def verify_sigv4() -> Callable[..., bool]:
    """The independent SigV4 checker as a fixture."""
    return sigv4_is_valid
