"""Fixtures for the emulation tests: TLS material, an HTTPS client, moto on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import urllib3

from emulation.gateway.tls import TlsMaterial, api_hostnames, make_tls
from tests.emulation.helpers import REGION
from tests.moto_server import running_moto


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    """One throwaway CA for the whole session."""
    return make_tls(api_hostnames(REGION), tmp_path_factory.mktemp("tls"))


@pytest.fixture
def http(tls: TlsMaterial) -> Iterator[urllib3.PoolManager]:
    """An HTTPS client that trusts the emulation's CA and checks the certificate against 127.0.0.1."""
    manager = urllib3.PoolManager(ca_certs=str(tls.ca_bundle), cert_reqs="CERT_REQUIRED", retries=False)
    yield manager
    manager.clear()


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """moto's server in this process on an ephemeral 127.0.0.1 port (the emulation reads its backends)."""
    with running_moto() as url:
        yield url
