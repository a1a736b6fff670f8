"""Fixtures for the end-to-end tests: one two-account deployment on 127.0.0.1 for the whole e2e session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulation.accounts.two_accounts import TwoAccounts
from emulation.demo.scenario import Settings

SEED = 20_240_601  # repeatable resource ids, so a failure names the same resources on a rerun


@pytest.fixture(scope="session")
def env() -> Iterator[TwoAccounts]:
    """Provider, consumer and outsider accounts deployed from the real templates with the demo's defaults."""
    accounts = TwoAccounts(seed=SEED)
    settings = Settings()
    accounts.start(settings.provider_params(accounts.names), settings.consumer_params())
    yield accounts
    accounts.stop()


@pytest.fixture
def restore_provider(env: TwoAccounts) -> Iterator[None]:
    """Put the provider stack's parameters back after a test that redeploys it."""
    before = dict(env.provider.parameters) if env.provider else {}
    yield
    env.redeploy_provider(before, replace_all=True)
