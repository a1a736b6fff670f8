"""The build scripts' real `sam package` step against an emulated S3 (moto on 127.0.0.1).

Proves the design the scripts rely on: the build copies point CodeUri at the reproducible zip, the vpc- template's
relative reference to its nested template still resolves from the build directory, and every packaged reference
(nested template included) names an object that really was uploaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
from samcli.yamlhelper import yaml_parse

from tests.moto_server import running_moto
from tests.workflow.harness import REPO_ROOT, clean_environment, copy_kit

pytestmark = pytest.mark.slow

REGION = "us-east-1"
NESTING_PROPERTIES = {"AWS::Serverless::Application": "Location", "AWS::CloudFormation::Stack": "TemplateURL"}
SIDES = ("api-backend", "api-client")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """Moto's S3 on a free loopback port."""
    with running_moto() as url:
        yield url


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def run_build(root: Path, side: str, bucket: str, endpoint: str, home: Path) -> subprocess.CompletedProcess[str]:
    """The real build script with the venv's sam and python3, every AWS call sent to moto."""
    env = {
        **clean_environment(),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "SAM_CLI_TELEMETRY": "0",
    }
    script = root / ("build-backend.sh" if side == "api-backend" else "build-client.sh")
    return subprocess.run(  # noqa: S603 - runs this repo's own script
        [str(script), "--region", REGION, bucket],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def bucket_and_key(url: str) -> tuple[str, str]:
    """(bucket, key) of an s3:// URL or a path-style https/http URL."""
    parsed = urlparse(url)
    if parsed.scheme == "s3":
        return parsed.netloc, parsed.path.lstrip("/")
    bucket, _, key = parsed.path.lstrip("/").partition("/")
    return bucket, key


def function_code_uris(template: dict[str, Any]) -> list[str]:
    return [
        resource["Properties"]["CodeUri"]
        for resource in template.get("Resources", {}).values()
        if resource.get("Type") == "AWS::Serverless::Function" and "CodeUri" in resource.get("Properties", {})
    ]


def nested_template_urls(template: dict[str, Any]) -> list[str]:
    return [
        resource["Properties"][NESTING_PROPERTIES[resource["Type"]]]
        for resource in template.get("Resources", {}).values()
        if resource.get("Type") in NESTING_PROPERTIES
    ]


def read_object(client: Any, url: str) -> bytes:
    bucket, key = bucket_and_key(url)
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def template_source(root: Path = REPO_ROOT) -> Path:
    """The repository holding all four real templates; packaging stand-ins instead would prove nothing about them."""
    missing = [
        f"{side}/{prefix}{side}.yaml"
        for side in SIDES
        for prefix in ("", "vpc-")
        if not (root / side / f"{prefix}{side}.yaml").is_file()
    ]
    if missing:
        pytest.fail(f"sam package needs the real templates; missing from {root}: {', '.join(missing)}", pytrace=False)
    return root


@pytest.fixture(scope="module")
def packaged(s3_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Both sides built and packaged into a fresh moto bucket."""
    base = tmp_path_factory.mktemp("package")
    root = copy_kit(base / "repo", template_source())
    (base / "home").mkdir()
    bucket = f"artifacts-{uuid.uuid4().hex[:12]}"
    client = s3_client(s3_endpoint)
    client.create_bucket(Bucket=bucket)
    # The two sides are independent (as in deploy-all.sh's two accounts), so they build side by side to save time.
    with ThreadPoolExecutor(max_workers=len(SIDES)) as pool:
        futures = {side: pool.submit(run_build, root, side, bucket, s3_endpoint, base / "home") for side in SIDES}
    results = {side: future.result() for side, future in futures.items()}
    return {"root": root, "bucket": bucket, "client": client, "results": results}


@pytest.mark.parametrize("side", SIDES)
def test_sam_package_build_script_succeeds_and_writes_both_deploy_templates(
    packaged: dict[str, Any], side: str
) -> None:
    # GIVEN a side built with the real SAM CLI against moto
    result = packaged["results"][side]
    # WHEN the script finished
    # THEN it succeeded and both packaged templates exist next to their sources
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{side}-code.zip: " in result.stdout
    assert (packaged["root"] / side / f"{side}-deploy.yaml").is_file()
    assert (packaged["root"] / side / f"vpc-{side}-deploy.yaml").is_file()


@pytest.mark.parametrize("side", SIDES)
def test_sam_package_function_code_is_the_reproducible_zip(packaged: dict[str, Any], side: str) -> None:
    # GIVEN the packaged plain template of a side
    assert packaged["results"][side].returncode == 0
    template = yaml_parse((packaged["root"] / side / f"{side}-deploy.yaml").read_text())
    code_uris = function_code_uris(template)
    # WHEN each function's CodeUri is fetched from the bucket
    zip_bytes = (packaged["root"] / "build" / side / f"{side}-code.zip").read_bytes()
    # THEN every function points at an s3:// object in the bucket holding exactly the staged zip
    assert code_uris
    for uri in code_uris:
        assert uri.startswith(f"s3://{packaged['bucket']}/{side}/")
        assert read_object(packaged["client"], uri) == zip_bytes


@pytest.mark.parametrize("side", SIDES)
def test_sam_package_nested_template_is_uploaded_and_packaged_too(packaged: dict[str, Any], side: str) -> None:
    # GIVEN the packaged vpc- template of a side
    assert packaged["results"][side].returncode == 0
    template = yaml_parse((packaged["root"] / side / f"vpc-{side}-deploy.yaml").read_text())
    # WHEN its nested template reference is followed into the bucket
    [url] = nested_template_urls(template)
    nested = yaml_parse(read_object(packaged["client"], url).decode())
    # THEN the nested template exists in the bucket and its functions' code does too
    assert bucket_and_key(url)[0] == packaged["bucket"]
    code_uris = function_code_uris(nested)
    assert code_uris
    zip_bytes = (packaged["root"] / "build" / side / f"{side}-code.zip").read_bytes()
    assert all(read_object(packaged["client"], uri) == zip_bytes for uri in code_uris)


def test_sam_package_missing_real_template_fails_naming_it(tmp_path: Path) -> None:
    # GIVEN a checkout where one of the four real templates is missing
    for side in SIDES:
        (tmp_path / side).mkdir()
        (tmp_path / side / f"{side}.yaml").write_text("Resources: {}\n")
    (tmp_path / "api-backend" / "vpc-api-backend.yaml").write_text("Resources: {}\n")
    # WHEN the packaging tests look for the templates to package
    # THEN they fail, naming the missing template, instead of packaging the stand-ins
    with pytest.raises(pytest.fail.Exception, match=r"missing from .*: api-client/vpc-api-client\.yaml$"):
        template_source(tmp_path)
