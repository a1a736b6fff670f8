"""build-backend.sh / build-client.sh with a recorded sam and pip against moto: staging, reproducible zips, template
copies, sam package, and the command line (usage, profiles, --bundle-powertools)."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.workflow.harness import CONSUMER, PROVIDER, REPO_ROOT, Kit, Result
from workflow import build
from workflow.artifacts import local_artifact_references, rewrite_code_uri

ZIP = "build/api-backend/api-backend-code.zip"


@pytest.fixture
def build_kit(kit: Kit) -> Kit:
    """A kit whose provider bucket exists (sam package needs it)."""
    kit.cloud.client("s3", PROVIDER).create_bucket(Bucket=kit.cloud.bucket(PROVIDER))
    return kit


@pytest.fixture
def build_backend(build_kit: Kit, in_kit: Kit, capfd: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """build-backend.sh's command in-process on the kit (sam and pip still run as the recorded executables)."""

    def run(*args: str) -> Result:
        status = build.main(
            ["api-backend", "--profile", PROVIDER, *args, build_kit.cloud.bucket(PROVIDER)], root=build_kit.root
        )
        captured = capfd.readouterr()
        return Result(status, captured.out, captured.err)

    return run


def pinned_powertools() -> str:
    """The one pin of aws-lambda-powertools in the repository."""
    text = (REPO_ROOT / "requirements-powertools.txt").read_text()
    match = re.search(r"^aws-lambda-powertools==(\S+)$", text, flags=re.MULTILINE)
    assert match
    return match[1]


def test_build_zip_is_byte_identical_across_builds(build_kit: Kit, build_backend: Callable[..., Result]) -> None:
    # GIVEN one build's zip
    first = build_backend()
    assert first.returncode == 0, first.stderr
    first_bytes = (build_kit.root / ZIP).read_bytes()
    # WHEN the sources' timestamps change and it builds again
    for path in (build_kit.root / "api-backend" / "src").rglob("*.py"):
        path.touch()
    second = build_backend()
    # THEN the zip has the same bytes (so S3 keys and the deployed stack stay unchanged)
    assert second.returncode == 0, second.stderr
    assert (build_kit.root / ZIP).read_bytes() == first_bytes


def test_build_zip_has_sorted_entries_fixed_times_and_no_caches(
    build_kit: Kit, build_backend: Callable[..., Result]
) -> None:
    # GIVEN source with a stray bytecode cache
    cache = build_kit.root / "api-backend" / "src" / "backend" / "__pycache__"
    cache.mkdir()
    (cache / "app.cpython-311.pyc").write_bytes(b"\0")
    # WHEN the backend is built
    result = build_backend()
    # THEN the zip holds only the package, sorted, dated 1980-01-01, with regular-file modes, and its size is printed
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(build_kit.root / ZIP) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == ["backend/__init__.py", "backend/app.py"]
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    assert "api-backend-code.zip: " in result.stdout
    assert " zipped, " in result.stdout


def test_build_empty_requirements_skip_pip(build_kit: Kit, build_backend: Callable[..., Result]) -> None:
    # GIVEN a requirements file with comments only
    # WHEN the backend is built
    result = build_backend()
    # THEN pip is never run
    assert result.returncode == 0, result.stderr
    assert "nothing to install" in result.stdout
    assert build_kit.pip_calls() == []


def test_build_requirements_cross_install_for_lambda_arm64_python_3_14(
    build_kit: Kit, build_backend: Callable[..., Result]
) -> None:
    # GIVEN a pinned third-party requirement
    requirements = build_kit.root / "api-backend" / "src" / "requirements.txt"
    requirements.write_text("# pinned\nfakedep==1.0\n")
    # WHEN the backend is built with PIP pointing at the recorded pip
    result = build_backend()
    # THEN pip installs wheels for the Lambda platform, not the build host, into the staging directory
    assert result.returncode == 0, result.stderr
    [call] = build_kit.pip_calls()
    argv = call["argv"]
    assert argv[:3] == ["install", "--requirement", str(requirements)]
    assert argv[argv.index("--platform") + 1] == "manylinux2014_aarch64"
    assert argv[argv.index("--implementation") + 1] == "cp"
    assert argv[argv.index("--python-version") + 1] == "3.14"
    assert "--only-binary=:all:" in argv
    assert argv[argv.index("--target") + 1] == str(build_kit.root / "build" / "api-backend" / "stage")


def test_build_dependencies_are_zipped_without_console_scripts_or_bytecode(
    build_kit: Kit, build_backend: Callable[..., Result]
) -> None:
    # GIVEN a requirement whose install leaves a console script and a bytecode cache
    (build_kit.root / "api-backend" / "src" / "requirements.txt").write_text("fakedep==1.0\n")
    # WHEN the backend is built
    result = build_backend()
    # THEN the dependency and its metadata are in the zip, bin/ and __pycache__ are not
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(build_kit.root / ZIP) as archive:
        names = archive.namelist()
    assert "fakedep/__init__.py" in names
    assert "fakedep-1.0.dist-info/METADATA" in names
    assert not [name for name in names if name.startswith("bin/") or "__pycache__" in name]


def test_build_unpinned_requirement_warns(build_kit: Kit, build_backend: Callable[..., Result]) -> None:
    # GIVEN a requirement without ==
    (build_kit.root / "api-backend" / "src" / "requirements.txt").write_text("fakedep>=1\n")
    # WHEN the backend is built
    result = build_backend()
    # THEN the build goes on but says the build is not repeatable
    assert result.returncode == 0, result.stderr
    assert "WARNING: unpinned requirement(s)" in result.stderr
    assert "fakedep>=1" in result.stderr


def test_build_packages_both_templates_from_build_copies(build_kit: Kit, build_backend: Callable[..., Result]) -> None:
    # GIVEN the backend side
    # WHEN it is built
    result = build_backend()
    # THEN sam package ran on the build copies (CodeUri at the zip) and wrote *-deploy.yaml next to the sources
    assert result.returncode == 0, result.stderr
    packaged = [call["argv"][call["argv"].index("--template-file") + 1] for call in build_kit.sam_calls("package")]
    build_dir = build_kit.root / "build" / "api-backend"
    assert packaged == [str(build_dir / "api-backend.yaml"), str(build_dir / "vpc-api-backend.yaml")]
    assert "CodeUri: api-backend-code.zip" in (build_dir / "api-backend.yaml").read_text()
    assert (build_kit.root / "api-backend" / "vpc-api-backend-deploy.yaml").is_file()
    assert "CodeUri: src/" in (build_kit.root / "api-backend" / "api-backend.yaml").read_text()


def test_build_template_without_src_code_uri_fails(build_kit: Kit, build_backend: Callable[..., Result]) -> None:
    # GIVEN a template whose function code is elsewhere
    template = build_kit.root / "api-backend" / "api-backend.yaml"
    template.write_text(template.read_text().replace("CodeUri: src/", "CodeUri: lambda/"))
    # WHEN the backend is built
    result = build_backend()
    # THEN the build stops rather than package code that skipped the staging
    assert result.returncode == 1
    assert "no 'CodeUri: src/' line in the templates of api-backend" in result.stderr
    assert build_kit.sam_calls() == []


def test_build_missing_template_fails_naming_it(build_kit: Kit, build_backend: Callable[..., Result]) -> None:
    # GIVEN a side without its vpc- template
    (build_kit.root / "api-backend" / "vpc-api-backend.yaml").unlink()
    # WHEN the backend is built
    result = build_backend()
    # THEN the missing file is named
    assert result.returncode == 1
    assert "template api-backend/vpc-api-backend.yaml not found" in result.stderr


def test_build_missing_bucket_fails_in_sam_package(build_kit: Kit, build_backend: Callable[..., Result]) -> None:
    # GIVEN no artifact bucket
    build_kit.cloud.client("s3", PROVIDER).delete_bucket(Bucket=build_kit.cloud.bucket(PROVIDER))
    # WHEN the backend is built
    result = build_backend()
    # THEN sam package's error surfaces and the script fails
    assert result.returncode == 1
    assert "S3 Bucket not specified or does not exist" in result.stderr


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("      CodeUri: src/", "      CodeUri: code.zip"),
        ("      CodeUri: src", "      CodeUri: code.zip"),
        ("    CodeUri: ./src", "    CodeUri: code.zip"),
        ('      CodeUri: "src/"', "      CodeUri: code.zip"),
        ("      CodeUri: 'src/'  # the package", "      CodeUri: code.zip"),
        ("      CodeUri: srcs/", "      CodeUri: srcs/"),
        ("      CodeUri: other/src/", "      CodeUri: other/src/"),
        ("      Description: CodeUri: src/", "      Description: CodeUri: src/"),
    ],
)
def test_rewrite_code_uri_changes_only_src_code_uris(line: str, expected: str) -> None:
    # GIVEN one template line
    # WHEN CodeUri is pointed at the zip
    text, changed = rewrite_code_uri(line + "\n", "code.zip")
    # THEN only a CodeUri naming src/ changes
    assert text == expected + "\n"
    assert changed == (line != expected)


def test_local_artifact_references_flags_local_paths_outside_globals() -> None:
    # GIVEN a packaged template with an uploaded function, a leftover Globals path and a missed nested template
    packaged = "\n".join(
        [
            "Globals:",
            "  Function:",
            "    CodeUri: api-client-code.zip",
            "Resources:",
            "  Fn:",
            "    Properties:",
            "      CodeUri: s3://bucket/api-client/abc",
            "  Nested:",
            "    Properties:",
            "      Location: api-client.yaml",
            "  Other:",
            "    Properties:",
            "      TemplateURL: https://s3.us-east-1.amazonaws.com/bucket/key.template",
        ]
    )
    # WHEN it is checked
    # THEN only the nested template left as a local file is reported
    assert local_artifact_references(packaged) == ["line 10: Location: api-client.yaml"]


def test_build_client_runs_from_any_directory(kit: Kit) -> None:
    # GIVEN the consumer's bucket and a working directory far from the repo
    kit.cloud.client("s3", CONSUMER).create_bucket(Bucket=kit.cloud.bucket(CONSUMER))
    # WHEN build-client.sh runs (Kit.run uses the kit's parent directory as cwd)
    result = kit.run("build-client.sh", "--profile", CONSUMER, kit.cloud.bucket(CONSUMER))
    # THEN it finds its files and packages both client templates, pointing both functions at one zip
    assert result.returncode == 0, result.stderr
    assert "2 CodeUri line(s) now point at api-client-code.zip" in result.stdout
    assert len(kit.sam_calls("package")) == 2


def test_build_packaged_artifacts_are_in_the_profiles_bucket(
    build_kit: Kit, build_backend: Callable[..., Result]
) -> None:
    # GIVEN the provider's bucket
    # WHEN the backend is built
    result = build_backend()
    # THEN the zip sam package uploaded is in the provider account's bucket, byte for byte
    assert result.returncode == 0, result.stderr
    s3 = build_kit.cloud.client("s3", PROVIDER)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=build_kit.cloud.bucket(PROVIDER))["Contents"]]
    zip_bytes = (build_kit.root / ZIP).read_bytes()
    assert any(
        s3.get_object(Bucket=build_kit.cloud.bucket(PROVIDER), Key=key)["Body"].read() == zip_bytes for key in keys
    )
    assert all(key.startswith("api-backend/") for key in keys)


def test_build_filters_sam_advice_and_sam_runs_without_telemetry(build_kit: Kit) -> None:
    # GIVEN a caller who left SAM telemetry on
    # WHEN the backend is built
    result = build_kit.run(
        "build-backend.sh", "--profile", PROVIDER, build_kit.cloud.bucket(PROVIDER), env={"SAM_CLI_TELEMETRY": "1"}
    )
    # THEN sam's advice for running it by hand is gone and every sam call ran with telemetry off
    assert result.returncode == 0, result.stderr
    assert "Successfully packaged artifacts" in result.stdout
    assert "YOUR STACK NAME" not in result.stdout
    assert "Execute the following command" not in result.stdout
    assert {call["telemetry"] for call in build_kit.sam_calls()} == {"0"}
    assert {call["argv"][call["argv"].index("--config-file") + 1] for call in build_kit.sam_calls()} == {
        str(build_kit.root / "samconfig.toml")
    }


def test_build_bundle_powertools_puts_powertools_in_the_zip(
    build_kit: Kit, build_backend: Callable[..., Result]
) -> None:
    # GIVEN the provider's bucket
    # WHEN build-backend.sh runs with --bundle-powertools
    result = build_backend("--bundle-powertools")
    # THEN pip installed the pinned Powertools into the staging directory and what it installed is in the zip
    assert result.returncode == 0, result.stderr
    [call] = build_kit.pip_calls()
    assert call["requirements"][0] == f"aws-lambda-powertools=={pinned_powertools()}"
    # only the pinned files: botocore, which aws-xray-sdk requires, must stay the runtime's
    assert "--no-deps" in call["argv"]
    assert call["argv"][call["argv"].index("--target") + 1] == str(build_kit.root / "build" / "api-backend" / "stage")
    with zipfile.ZipFile(build_kit.root / "build" / "api-backend" / "api-backend-code.zip") as archive:
        assert "fakedep/__init__.py" in archive.namelist()


def test_build_pip_failure_stops_with_pips_status(build_kit: Kit, tmp_path: Path) -> None:
    # GIVEN a requirement and a pip that fails
    (build_kit.root / "api-backend" / "src" / "requirements.txt").write_text("fakedep==1.0\n")
    failing = tmp_path / "failing-pip"
    failing.write_text("#!/bin/sh\necho 'no matching distribution' >&2\nexit 3\n")
    failing.chmod(0o755)
    # WHEN the backend is built
    result = build_kit.run(
        "build-backend.sh", "--profile", PROVIDER, build_kit.cloud.bucket(PROVIDER), env={"PIP": str(failing)}
    )
    # THEN the build stops with pip's status and its message, before sam
    assert result.returncode == 3
    assert "no matching distribution" in result.stderr
    assert build_kit.sam_calls() == []
