"""Where deploy-all.sh gets Powertools from: the public layer's SSM parameter checked before deploying, or bundled
into the zips."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.workflow.cloud_faults import Faults, Request, RequestLog, select
from tests.workflow.deployments import (
    BACKEND_STACK,
    CLIENT_STACK,
    POWERTOOLS_LATEST,
    UNPUBLISHED,
    Run,
    capture,
    overrides,
    prepare_deploy_kit,
    stack_of,
)
from tests.workflow.harness import CONSUMER, PROVIDER, REPO_ROOT, Kit, make_cloud, make_kit


@pytest.fixture
def made(request_log: RequestLog) -> Callable[[], list[Request]]:
    """The requests moto has served since the test started."""
    mark = request_log.mark()
    return lambda: request_log.since(mark)


def pinned_powertools() -> str:
    """The one pin of aws-lambda-powertools in the repository."""
    text = (REPO_ROOT / "requirements-powertools.txt").read_text()
    match = re.search(r"^aws-lambda-powertools==(\S+)$", text, flags=re.MULTILINE)
    assert match
    return match[1]


def stack_calls(kit: Kit, requests: list[Request]) -> list[Any]:
    """Deploys, CloudFormation requests and bucket creations: what must not happen before preflight passes."""
    return [*kit.sam_calls("deploy"), *select(requests, "cloudformation"), *select(requests, "s3", "CreateBucket")]


def test_deploy_all_region_without_the_powertools_parameter_is_refused_with_the_fix(
    deploy_kit: Kit, made: Callable[[], list[Request]]
) -> None:
    # GIVEN a region where Powertools publishes no SSM parameter
    # WHEN deploy-all targets it with the default layer
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER, "--region", UNPUBLISHED)
    # THEN preflight refuses, naming the parameter and both ways out, before any bucket or stack operation
    assert result.returncode == 1
    assert f"SSM parameter {POWERTOOLS_LATEST} does not exist in {UNPUBLISHED}" in result.stderr
    assert "--bundle-powertools" in result.stderr
    assert "--powertools-layer" in result.stderr
    assert "failed during step [1/8] Preflight" in result.stderr
    [check] = select(made(), "ssm", "GetParameter")
    assert (check.account, check.region) == (deploy_kit.cloud.accounts[PROVIDER], UNPUBLISHED)
    assert stack_calls(deploy_kit, made()) == []


def test_deploy_all_denied_powertools_parameter_names_the_real_cause(
    deploy_kit: Kit, faults: Faults, made: Callable[[], list[Request]]
) -> None:
    # GIVEN an SSM call that is denied
    faults.ssm_denied = True
    # WHEN deploy-all runs
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER)
    # THEN it says that, not that Powertools is unpublished, and changes nothing
    assert result.returncode == 1
    assert "access denied" in result.stderr
    assert "does not exist in" not in result.stderr
    assert stack_calls(deploy_kit, made()) == []


def test_deploy_all_unreachable_ssm_names_the_real_cause(deploy_kit: Kit, made: Callable[[], list[Request]]) -> None:
    # GIVEN an SSM endpoint nothing listens on
    # WHEN deploy-all runs
    result = deploy_kit.run(
        "deploy-all.sh", CONSUMER, PROVIDER, env={"AWS_ENDPOINT_URL_SSM": "http://127.0.0.1:9", "AWS_MAX_ATTEMPTS": "1"}
    )
    # THEN it says it could not connect, not that Powertools is unpublished, and changes nothing
    assert result.returncode == 1
    assert "could not connect to SSM" in result.stderr
    assert "does not exist in" not in result.stderr
    assert stack_calls(deploy_kit, made()) == []


def test_deploy_all_layer_arn_of_another_region_is_refused(deploy_kit: Kit, made: Callable[[], list[Request]]) -> None:
    # GIVEN a pinned layer version ARN from eu-west-1 for a us-east-1 deployment
    arn = "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:30"
    # WHEN deploy-all runs with it
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER, "--powertools-layer", arn)
    # THEN Lambda could not attach it, so preflight refuses before any stack operation
    assert result.returncode == 1
    assert "is in eu-west-1, not us-east-1" in result.stderr
    assert stack_calls(deploy_kit, made()) == []


@pytest.mark.parametrize("value", ["None", "not-a-layer", "arn:aws:s3:::bucket"])
def test_deploy_all_powertools_layer_value_must_be_an_ssm_name_or_a_layer_arn(
    deploy_kit: Kit, made: Callable[[], list[Request]], value: str
) -> None:
    # GIVEN a value that is neither an SSM parameter name nor a layer version ARN
    # WHEN deploy-all gets it
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER, "--powertools-layer", value)
    # THEN it is a usage error
    assert result.returncode == 2
    assert "--powertools-layer" in result.stderr
    assert made() == []
    assert deploy_kit.sam_calls() == []


def test_deploy_all_bundle_and_layer_together_is_a_usage_error(deploy_kit: Kit) -> None:
    # GIVEN both ways of providing Powertools
    # WHEN deploy-all gets them together
    result = deploy_kit.run("deploy-all.sh", CONSUMER, PROVIDER, "--bundle-powertools", "--powertools-layer", "/x")
    # THEN it refuses to guess
    assert result.returncode == 2
    assert "either --bundle-powertools or --powertools-layer" in result.stderr


@pytest.fixture(scope="module")
def bundled_deploy(
    moto_url: str, moto_extras: tuple[Faults, RequestLog], sam_service: str, tmp_path_factory: pytest.TempPathFactory
) -> Run:
    """deploy-all.sh --bundle-powertools into a region without the public parameter."""
    base = tmp_path_factory.mktemp("bundled")
    kit = prepare_deploy_kit(make_kit(base / "kit", make_cloud(moto_url, base / "cloud")), sam_service)
    return capture(
        kit, moto_extras, "deploy-all.sh", CONSUMER, PROVIDER, "--region", UNPUBLISHED, "--bundle-powertools"
    )


def test_deploy_all_bundle_powertools_succeeds_where_the_layer_is_not_published(bundled_deploy: Run) -> None:
    # GIVEN a region without the Powertools parameter
    # WHEN deploy-all runs with --bundle-powertools (fixture)
    result = bundled_deploy.result
    # THEN it succeeds without looking for the parameter
    assert result.returncode == 0, result.stdout + result.stderr
    assert bundled_deploy.aws("ssm") == []


def test_deploy_all_bundle_powertools_installs_the_pinned_version_into_both_zips(bundled_deploy: Run) -> None:
    # GIVEN the run's pip calls
    installs = [call for call in bundled_deploy.pip if call["argv"][:1] == ["install"]]
    # WHEN the requirements each installed are read
    # THEN both sides got Powertools at the repository's pin, cross-installed for Lambda
    assert len(installs) == 2
    for call in installs:
        assert f"aws-lambda-powertools=={pinned_powertools()}" in call["requirements"]
        assert call["argv"][call["argv"].index("--platform") + 1] == "manylinux2014_aarch64"


def test_deploy_all_bundle_powertools_deploys_both_stacks_without_the_layer(bundled_deploy: Run) -> None:
    # GIVEN the run's deploys
    first: dict[str, dict[str, str]] = {}
    # WHEN the layer parameter of each stack's first deploy is read
    for call in bundled_deploy.deploys():
        first.setdefault(stack_of(call), overrides(call))
    # THEN each was told to omit the layer
    assert {stack: values.get("pPowertoolsLayerArn") for stack, values in first.items()} == {
        BACKEND_STACK: "None",
        CLIENT_STACK: "None",
    }
