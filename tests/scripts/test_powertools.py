"""Where Powertools comes from: the public layer's SSM parameter checked before deploying, or bundled into the zips."""

from __future__ import annotations

import re
import zipfile
from typing import Any

import pytest

from tests.scripts.helpers import (
    CONSUMER,
    PROVIDER,
    PROVIDER_ACCOUNT,
    PROVIDER_BUCKET,
    REPO_ROOT,
    Kit,
    Run,
    make_kit,
)
from tests.scripts.test_deploy_all import deploys, overrides, stack_of

LATEST = "/aws/service/powertools/python/arm64/python3.14/latest"
# A region outside Powertools' SSM release matrix.
UNPUBLISHED = "me-south-1"


def pinned_powertools() -> str:
    """The one pin of aws-lambda-powertools in the repository."""
    text = (REPO_ROOT / "requirements-powertools.txt").read_text()
    match = re.search(r"^aws-lambda-powertools==(\S+)$", text, flags=re.MULTILINE)
    assert match
    return match[1]


def stack_calls(kit: Kit) -> list[dict[str, Any]]:
    return kit.calls("sam", "deploy") + kit.calls("aws", "cloudformation") + kit.calls("aws", "s3api", "create-bucket")


def test_deploy_all_region_without_the_powertools_parameter_is_refused_with_the_fix(kit: Kit) -> None:
    # GIVEN a region where Powertools publishes no SSM parameter
    # WHEN deploy-all targets it with the default layer
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER, "--region", UNPUBLISHED)
    # THEN preflight refuses, naming the parameter and both ways out, before any bucket or stack operation
    assert result.returncode == 1
    assert f"SSM parameter {LATEST} does not exist in {UNPUBLISHED}" in result.stderr
    assert "--bundle-powertools" in result.stderr
    assert "--powertools-layer" in result.stderr
    assert "failed during step [1/8] Preflight" in result.stderr
    [check] = kit.calls("aws", "ssm", "get-parameter")
    assert (check["profile"], check["region"]) == (PROVIDER, UNPUBLISHED)
    assert stack_calls(kit) == []


@pytest.mark.parametrize(
    ("failure", "expected"),
    [("denied", "access denied"), ("connection", "could not connect to SSM")],
)
def test_deploy_all_unreadable_powertools_parameter_names_the_real_cause(kit: Kit, failure: str, expected: str) -> None:
    # GIVEN an SSM call that is denied, or that cannot connect
    kit.change_state(lambda state: state.update(ssm_failure=failure))
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it says that, not that Powertools is unpublished, and changes nothing
    assert result.returncode == 1
    assert expected in result.stderr
    assert "does not exist in" not in result.stderr
    assert stack_calls(kit) == []


def test_deploy_all_layer_arn_of_another_region_is_refused(kit: Kit) -> None:
    # GIVEN a pinned layer version ARN from eu-west-1 for a us-east-1 deployment
    arn = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:30"
    # WHEN deploy-all runs with it
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER, "--powertools-layer", arn)
    # THEN Lambda could not attach it, so preflight refuses before any stack operation
    assert result.returncode == 1
    assert "is in eu-west-1, not us-east-1" in result.stderr
    assert stack_calls(kit) == []


@pytest.mark.parametrize("value", ["None", "not-a-layer", "arn:aws:s3:::bucket"])
def test_deploy_all_powertools_layer_value_must_be_an_ssm_name_or_a_layer_arn(kit: Kit, value: str) -> None:
    # GIVEN a value that is neither an SSM parameter name nor a layer version ARN
    # WHEN deploy-all gets it
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER, "--powertools-layer", value)
    # THEN it is a usage error
    assert result.returncode == 2
    assert "--powertools-layer" in result.stderr
    assert kit.calls() == []


def test_deploy_all_bundle_and_layer_together_is_a_usage_error(kit: Kit) -> None:
    # GIVEN both ways of providing Powertools
    # WHEN deploy-all gets them together
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER, "--bundle-powertools", "--powertools-layer", LATEST)
    # THEN it refuses to guess
    assert result.returncode == 2
    assert "either --bundle-powertools or --powertools-layer" in result.stderr


@pytest.fixture(scope="module")
def bundled_deploy(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """deploy-all.sh --bundle-powertools into a region without the public parameter."""
    kit = make_kit(tmp_path_factory.mktemp("bundled"))
    return kit.capture(
        "deploy-all.sh", CONSUMER, PROVIDER, "--region", UNPUBLISHED, "--bundle-powertools", env={"PIP": "pip"}
    )


def test_deploy_all_bundle_powertools_succeeds_where_the_layer_is_not_published(bundled_deploy: Run) -> None:
    # GIVEN a region without the Powertools parameter
    # WHEN deploy-all runs with --bundle-powertools (fixture)
    result = bundled_deploy.result
    # THEN it succeeds without looking for the parameter
    assert result.returncode == 0, result.stdout + result.stderr
    assert bundled_deploy.calls("aws", "ssm") == []


def test_deploy_all_bundle_powertools_installs_the_pinned_version_into_both_zips(bundled_deploy: Run) -> None:
    # GIVEN the run's pip calls
    installs = bundled_deploy.calls("pip", "install")
    # WHEN the requirements each installed are read
    # THEN both sides got Powertools at the repository's pin, cross-installed for Lambda
    assert len(installs) == 2
    for call in installs:
        assert f"aws-lambda-powertools=={pinned_powertools()}" in call["requirements"]
        assert call["argv"][call["argv"].index("--platform") + 1] == "manylinux2014_aarch64"


def test_deploy_all_bundle_powertools_deploys_both_stacks_without_the_layer(bundled_deploy: Run) -> None:
    # GIVEN the run's deploys
    calls = deploys(bundled_deploy)
    # WHEN the layer parameter of each stack's first deploy is read
    first: dict[str, Any] = {}
    for call in calls:
        first.setdefault(stack_of(call), overrides(call))
    # THEN each was told to omit the layer
    assert {stack: values.get("pPowertoolsLayerArn") for stack, values in first.items()} == {
        "private-api-backend": "None",
        "private-api-client": "None",
    }


def test_deploy_all_default_layer_is_checked_and_passed_explicitly(kit: Kit) -> None:
    # GIVEN a published region and no Powertools option
    # WHEN deploy-all runs
    result = kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN the parameter was checked with the provider's profile and sent to both stacks (so a previous
    # --bundle-powertools run's None is not kept by sam deploy's UsePreviousValue)
    assert result.returncode == 0, result.stderr
    assert [call["argv"][call["argv"].index("--name") + 1] for call in kit.calls("aws", "ssm")] == [LATEST]
    sent = {overrides(call).get("pPowertoolsLayerArn") for call in deploys(kit)[:2]}
    assert sent == {LATEST}
    assert "Powertools layer arn:aws:lambda:us-east-1:017000801446:" in result.stdout


def test_build_bundle_powertools_puts_powertools_in_the_zip(kit: Kit) -> None:
    # GIVEN the provider's bucket
    kit.change_state(
        lambda state: state["buckets"].update(
            {PROVIDER_BUCKET: {"owner": PROVIDER_ACCOUNT, "region": "us-east-1", "objects": [], "markers": []}}
        )
    )
    # WHEN build-backend.sh runs with --bundle-powertools
    result = kit.run(
        "build-backend.sh", "--profile", PROVIDER, "--bundle-powertools", PROVIDER_BUCKET, env={"PIP": "pip"}
    )
    # THEN pip installed the pinned Powertools into the staging directory and what it installed is in the zip
    assert result.returncode == 0, result.stderr
    [call] = kit.calls("pip")
    assert call["requirements"][0] == f"aws-lambda-powertools=={pinned_powertools()}"
    # only the pinned files: botocore, which aws-xray-sdk requires, must stay the runtime's
    assert "--no-deps" in call["argv"]
    assert call["argv"][call["argv"].index("--target") + 1] == str(kit.root / "build" / "api-backend" / "stage")
    with zipfile.ZipFile(kit.root / "build" / "api-backend" / "api-backend-code.zip") as archive:
        assert "fakedep/__init__.py" in archive.namelist()
