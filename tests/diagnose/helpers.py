"""Helpers for the diagnose tests: run diagnose against a world, write CLI profiles, keep the environment clean."""

from __future__ import annotations

from pathlib import Path

import pytest

from diagnose.checks import diagnose
from diagnose.cli import gather
from diagnose.facts import Collected
from diagnose.results import CheckResult, ClientResult, Diagnosis
from emulation.demo.diagnose_world import REGION, World

_AWS_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "MOTO_ACCOUNT_ID",  # would pin every call to one account
)


def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real credentials or profiles; moto skips its AMI catalogue (seconds per test otherwise)."""
    for name in _AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


def collect(world: World, *, with_provider: bool = True) -> Collected:
    """What diagnose reads from a world with the consumer (and provider) credentials."""
    return gather(
        world.consumer,
        world.provider if with_provider else None,
        consumer_profile="consumer",
        provider_profile="provider" if with_provider else None,
        region=REGION,
    )


def run(world: World, *, with_provider: bool = True) -> Diagnosis:
    """Collect and check."""
    return diagnose(collect(world, with_provider=with_provider))


def write_profiles(directory: Path, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two CLI profiles holding the world's keys, as a user's ~/.aws would."""
    credentials = directory / "credentials"
    config = directory / "config"
    credentials.write_text(
        "[consumer]\n"
        f"aws_access_key_id = {world.consumer_keys[0]}\naws_secret_access_key = {world.consumer_keys[1]}\n"
        "[provider]\n"
        f"aws_access_key_id = {world.provider_keys[0]}\naws_secret_access_key = {world.provider_keys[1]}\n",
        encoding="utf-8",
    )
    config.write_text(
        f"[profile consumer]\nregion = {REGION}\n[profile provider]\nregion = {REGION}\n", encoding="utf-8"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))


def client(diagnosis: Diagnosis, kind: str) -> ClientResult:
    """One client's results."""
    return next(c for c in diagnosis.clients if c.kind == kind)


def check(diagnosis: Diagnosis, kind: str, check_id: str) -> CheckResult:
    """One check of one client."""
    return next(c for c in client(diagnosis, kind).checks if c.id == check_id)


def first_failure(diagnosis: Diagnosis, kind: str, check_id: str) -> CheckResult:
    """One client's first failing check, which must be check_id."""
    failure = client(diagnosis, kind).first_failure
    assert failure is not None, f"{kind}: no check failed"
    assert failure.id == check_id, f"{kind}: first failure is {failure.id} ({failure.detail}), not {check_id}"
    return failure


def fix_of(failure: CheckResult) -> str:
    """The fix a failed check offers (every failure must offer one)."""
    assert failure.fix is not None, f"{failure.id}: no fix offered ({failure.detail})"
    return failure.fix
