"""samconfig.toml: local conveniences only, never a default that could aim a deploy at an account."""

from __future__ import annotations

import tomllib

import pytest

from tests.workflow.harness import REPO_ROOT

CONFIG = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
ENVIRONMENTS = {name: value for name, value in CONFIG.items() if isinstance(value, dict)}
RISKY_KEYS = {"profile", "region", "stack_name", "s3_bucket", "resolve_s3", "confirm_changeset"}


def test_samconfig_configures_no_deploy_package_or_global_defaults() -> None:
    # GIVEN every config environment
    # WHEN the commands they configure are listed
    commands = {command for environment in ENVIRONMENTS.values() for command in environment}
    # THEN only validate and local invoke are configured, without profiles, regions, stacks or buckets
    assert commands == {"validate", "local_invoke"}
    for environment in ENVIRONMENTS.values():
        for section in environment.values():
            assert RISKY_KEYS.isdisjoint(section["parameters"])


@pytest.mark.parametrize("environment", ["backend", "backend-vpc", "client", "client-vpc"])
def test_samconfig_validate_environment_lints_an_existing_template(environment: str) -> None:
    # GIVEN one validate environment per template
    parameters = ENVIRONMENTS[environment]["validate"]["parameters"]
    # WHEN its settings are read
    # THEN it runs cfn-lint on a template that exists
    assert parameters["lint"] is True
    assert (REPO_ROOT / parameters["template_file"]).is_file()


@pytest.mark.parametrize("environment", ["backend", "client"])
def test_samconfig_local_invoke_environment_names_existing_files(environment: str) -> None:
    # GIVEN the local invoke environment of a side
    parameters = ENVIRONMENTS[environment]["local_invoke"]["parameters"]
    # WHEN its files are looked up
    # THEN the template and the env-var file both exist
    assert (REPO_ROOT / parameters["template_file"]).is_file()
    assert (REPO_ROOT / parameters["env_vars"]).is_file()
