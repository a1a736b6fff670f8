"""The demo's matrix as tests: both real clients succeed and every refusal is the one AWS documents."""

from __future__ import annotations

import pytest

from emulation.accounts.two_accounts import TwoAccounts
from emulation.demo.scenario import MISSING_TOKEN, Case, Observed, Settings, build_cases

CASE_KEYS = ("direct-client", "assume-role-client", "unsigned", "unlisted-role", "other-endpoint", "untrusted-account")


def _case(env: TwoAccounts, key: str) -> Case:
    return {case.key: case for case in build_cases(Settings(), env.names)}[key]


def test_matrix_cases_are_the_listed_ones(env: TwoAccounts) -> None:
    # GIVEN the demo's default settings
    # WHEN the matrix is built
    keys = tuple(case.key for case in build_cases(Settings(), env.names))
    # THEN it has exactly the cases this module runs (a new case must get a test)
    assert keys == CASE_KEYS


@pytest.mark.parametrize("key", CASE_KEYS)
def test_matrix_default_settings_outcome_is_the_documented_one(env: TwoAccounts, key: str) -> None:
    # GIVEN the defaults: main direct role listed, consumer account trusted, only the main endpoint allowed
    case = _case(env, key)
    # WHEN the case runs against the emulated accounts
    observed = case.run(env)
    # THEN status and message are what AWS documents for it
    assert observed.status == case.expected.status, observed.summary
    assert case.expected.phrase in observed.text, observed.summary


def test_matrix_case_other_status_does_not_match() -> None:
    # GIVEN a case expecting Missing Authentication Token
    case = Case("unsigned", "unsigned", MISSING_TOKEN, lambda _: Observed(200, "", "", None))
    # WHEN a 200 with the same phrase is observed
    observed = Observed(200, "Missing Authentication Token", "200", None)
    # THEN it does not count as the expected outcome
    assert not case.matches(observed)
    assert case.matches(Observed(403, '{"message":"Missing Authentication Token"}', "403", None))
