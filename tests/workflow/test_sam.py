"""sam as the workflow runs it: telemetry off, the pinned config file, capabilities, sam's advice filtered out."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.workflow.harness import PROVIDER, REGION, Kit
from workflow import sam, stacks


@pytest.fixture
def sam_on_path(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> Kit:
    """This process pointed at the kit's accounts, with the recorded sam first on PATH."""
    for key, value in kit.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SAM_CLI_TELEMETRY", "1")
    return kit


@pytest.mark.parametrize(
    ("line", "noise"),
    [
        ("Execute the following command to deploy the packaged template\n", True),
        ("sam deploy --template-file /x/t.yaml --stack-name <YOUR STACK NAME>\n", True),
        ("Successfully packaged artifacts and wrote output template to file t.yaml.\n", False),
    ],
)
def test_sam_is_noise_only_the_advice_for_running_sam_by_hand(line: str, noise: bool) -> None:
    assert sam.is_noise(line) is noise


def test_sam_deploy_args_carry_capabilities_config_file_and_overrides() -> None:
    # GIVEN a deploy with two parameter overrides
    args = sam.deploy_args(
        Path("t.yaml"), "s", bucket="b", s3_prefix="p", profile="pr", region=REGION, parameters=["A=1", "B=2"]
    )
    # THEN every flag a deploy needs is there, the overrides last
    assert args[:2] == ["deploy", "--template-file"]
    assert args[args.index("--capabilities") + 1 : args.index("--capabilities") + 4] == list(sam.CAPABILITIES)
    assert args[args.index("--config-file") + 1] == str(sam.SAM_CONFIG_FILE)
    assert {"--no-fail-on-empty-changeset", "--no-confirm-changeset"} <= set(args)
    assert args[-3:] == ["--parameter-overrides", "A=1", "B=2"]


def test_sam_package_filters_advice_and_turns_telemetry_off(sam_on_path: Kit, tmp_path: Path) -> None:
    # GIVEN a template naming a local zip and a bucket in the provider account
    sam_on_path.cloud.client("s3", PROVIDER).create_bucket(Bucket=sam_on_path.cloud.bucket(PROVIDER))
    (tmp_path / "code.zip").write_bytes(b"zip")
    (tmp_path / "t.yaml").write_text("Resources:\n  F:\n    Properties:\n      CodeUri: code.zip\n")
    stdout = io.StringIO()
    # WHEN sam packages it
    status = sam.package(
        tmp_path / "t.yaml",
        tmp_path / "out.yaml",
        bucket=sam_on_path.cloud.bucket(PROVIDER),
        s3_prefix="side",
        profile=PROVIDER,
        region=REGION,
        stdout=stdout,
    )
    # THEN it succeeded, its advice is gone, and sam ran with telemetry off despite the caller's setting
    assert status == 0
    assert "Successfully packaged artifacts" in stdout.getvalue()
    assert "YOUR STACK NAME" not in stdout.getvalue()
    assert "Execute the following command" not in stdout.getvalue()
    [call] = sam_on_path.sam_calls("package")
    assert call["telemetry"] == "0"
    assert os.environ["SAM_CLI_TELEMETRY"] == "1"


def test_sam_deploy_creates_the_stack_then_reports_no_change(sam_on_path: Kit, tmp_path: Path) -> None:
    # GIVEN a packaged template and the outputs the stand-in stack gets
    (tmp_path / "t.yaml").write_text("Resources: {}\n")
    sam_on_path.set_outputs({"demo-backend": {"APIGatewayID": "abc123"}})
    deploy = {"bucket": "b", "s3_prefix": "api-backend", "profile": PROVIDER, "region": REGION, "parameters": ["A=1"]}
    # WHEN it is deployed twice with the same parameters
    first = sam.deploy(tmp_path / "t.yaml", "demo-backend", stdout=io.StringIO(), **deploy)  # type: ignore[arg-type]
    again = io.StringIO()
    second = sam.deploy(tmp_path / "t.yaml", "demo-backend", stdout=again, **deploy)  # type: ignore[arg-type]
    # THEN the stack exists in the provider account with its outputs, and the second deploy changed nothing
    cfn = sam_on_path.cloud.client("cloudformation", PROVIDER)
    assert (first, second) == (0, 0)
    assert stacks.stack_status(cfn, "demo-backend") == "CREATE_COMPLETE"
    assert stacks.stack_outputs(cfn, "demo-backend") == {"APIGatewayID": "abc123"}
    assert "No changes to deploy" in again.getvalue()
