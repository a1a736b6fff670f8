"""Fixtures for the diagnose tests: a clean AWS environment, worlds in moto, and a diagnose runner."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from moto import mock_aws

from emulation.demo.diagnose_world import Setup, World, build_world
from tests.diagnose.helpers import clean_environment


@pytest.fixture(autouse=True)
def _aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_environment(monkeypatch)


@pytest.fixture
def build() -> Iterator[Callable[..., World]]:
    """Build a world (both accounts in moto) for one test; moto's state ends with the test."""
    with mock_aws():
        yield lambda setup=None: build_world(setup or Setup())
