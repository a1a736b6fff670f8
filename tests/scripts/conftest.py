"""Fixtures for the script tests: a throw-away copy of the kit with recorded aws/sam/pip on PATH."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scripts.helpers import CONSUMER, PROVIDER, Kit, Run, make_kit


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    """A fresh kit copy and an empty two-account cloud."""
    return make_kit(tmp_path)


@pytest.fixture(scope="module")
def deployed_kit(tmp_path_factory: pytest.TempPathFactory) -> Kit:
    """A kit shared by a module's read-only checks of deploy-all.sh runs."""
    return make_kit(tmp_path_factory.mktemp("deployed"))


@pytest.fixture(scope="module")
def first_deploy(deployed_kit: Kit) -> Run:
    """deploy-all.sh on empty accounts."""
    run = deployed_kit.capture("deploy-all.sh", CONSUMER, PROVIDER)
    assert run.result.returncode == 0, run.result.stdout + run.result.stderr
    return run


@pytest.fixture(scope="module")
def second_deploy(deployed_kit: Kit, first_deploy: Run) -> Run:
    """deploy-all.sh again right after first_deploy, with nothing changed."""
    assert first_deploy.result.returncode == 0
    return deployed_kit.capture("deploy-all.sh", CONSUMER, PROVIDER)
