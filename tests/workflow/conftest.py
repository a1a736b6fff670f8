"""Fixtures of the workflow tests: one moto server per pytest (xdist) worker, two empty accounts per test, a kit."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.moto_server import running_moto
from tests.workflow.cloud_faults import Faults, RequestLog, installed
from tests.workflow.deployments import prepare_deploy_kit
from tests.workflow.harness import Cloud, Kit, clean_environment, make_cloud, make_kit
from tests.workflow.sam_service import running_sam_service
from workflow import aws


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """This worker's moto server (each xdist worker is its own process, so its own server and accounts)."""
    with running_moto() as url:
        yield url


@pytest.fixture
def cloud(moto_url: str, tmp_path: Path) -> Cloud:
    """Two empty accounts and profiles `consumer` and `provider` for them."""
    return make_cloud(moto_url, tmp_path / "cloud")


@pytest.fixture
def kit(cloud: Cloud, tmp_path: Path) -> Kit:
    """A kit copy with the fixture sides, recorded sam and pip, talking to the two accounts."""
    return make_kit(tmp_path / "kit", cloud)


@pytest.fixture
def in_cloud(cloud: Cloud, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    """This process's environment pointed at the two accounts, for calling main(argv) in-process."""
    # Whatever would point boto3 at a real account goes, as for the scripts run as subprocesses.
    for key in os.environ.keys() - clean_environment().keys():
        monkeypatch.delenv(key, raising=False)
    for key, value in cloud.env().items():
        monkeypatch.setenv(key, value)
    aws.session.cache_clear()
    yield cloud
    aws.session.cache_clear()


@pytest.fixture(scope="session")
def moto_extras() -> tuple[Faults, RequestLog]:
    """What tests/workflow/cloud_faults.py adds to this worker's moto: failures to inject and a request log. The patches
    are in place only while a test (or a capture) that asks for them runs: other tests sharing moto get plain moto."""
    return Faults(), RequestLog()


@pytest.fixture
def faults(moto_extras: tuple[Faults, RequestLog]) -> Iterator[Faults]:
    """moto patched for this test; failures for it to inject, none surviving it."""
    moto_extras[0].clear()
    with installed(*moto_extras):
        yield moto_extras[0]
    moto_extras[0].clear()


@pytest.fixture
def request_log(moto_extras: tuple[Faults, RequestLog], faults: Faults) -> RequestLog:
    """Every request moto serves while this test runs (read from a mark)."""
    return moto_extras[1]


@pytest.fixture(scope="session")
def sam_service() -> Iterator[str]:
    """This worker's recorded-sam service (tests/workflow/sam_service.py)."""
    with running_sam_service() as url:
        yield url


@pytest.fixture
def deploy_kit(kit: Kit, faults: Faults, sam_service: str) -> Kit:
    """A kit whose recorded sam gives stacks the templates' outputs, in accounts where Powertools' layer is public."""
    return prepare_deploy_kit(kit, sam_service)


@pytest.fixture
def in_kit(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> Iterator[Kit]:
    """This process's environment set as the kit's scripts get it (recorded sam and pip on PATH, the two accounts),
    for calling a command's main(argv) in-process."""
    for key in os.environ.keys() - kit.env.keys():
        monkeypatch.delenv(key)
    for key, value in kit.env.items():
        monkeypatch.setenv(key, value)
    aws.session.cache_clear()
    yield kit
    aws.session.cache_clear()
