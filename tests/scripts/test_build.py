"""build-backend.sh / build-client.sh with a recorded sam and pip: staging, reproducible zips, template copies."""

from __future__ import annotations

import zipfile

import pytest

from scripts.buildtool import local_artifact_references, rewrite_code_uri
from tests.scripts.helpers import PROVIDER, PROVIDER_ACCOUNT, PROVIDER_BUCKET, Kit

ZIP = "build/api-backend/api-backend-code.zip"


@pytest.fixture
def build_kit(kit: Kit) -> Kit:
    """A kit whose provider bucket exists (sam package needs it)."""
    kit.change_state(
        lambda state: state["buckets"].update(
            {PROVIDER_BUCKET: {"owner": PROVIDER_ACCOUNT, "region": "us-east-1", "objects": [], "markers": []}}
        )
    )
    return kit


def build_backend(kit: Kit, env: dict[str, str] | None = None):
    return kit.run("build-backend.sh", "--profile", PROVIDER, PROVIDER_BUCKET, env=env)


def test_build_zip_is_byte_identical_across_builds(build_kit: Kit) -> None:
    # GIVEN one build's zip
    first = build_backend(build_kit)
    assert first.returncode == 0, first.stderr
    first_bytes = (build_kit.root / ZIP).read_bytes()
    # WHEN the sources' timestamps change and it builds again
    for path in (build_kit.root / "api-backend" / "src").rglob("*.py"):
        path.touch()
    second = build_backend(build_kit)
    # THEN the zip has the same bytes (so S3 keys and the deployed stack stay unchanged)
    assert second.returncode == 0, second.stderr
    assert (build_kit.root / ZIP).read_bytes() == first_bytes


def test_build_zip_has_sorted_entries_fixed_times_and_no_caches(build_kit: Kit) -> None:
    # GIVEN source with a stray bytecode cache
    cache = build_kit.root / "api-backend" / "src" / "backend" / "__pycache__"
    cache.mkdir()
    (cache / "app.cpython-311.pyc").write_bytes(b"\0")
    # WHEN the backend is built
    result = build_backend(build_kit)
    # THEN the zip holds only the package, sorted, dated 1980-01-01, with regular-file modes, and its size is printed
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(build_kit.root / ZIP) as archive:
        infos = archive.infolist()
    assert [info.filename for info in infos] == ["backend/__init__.py", "backend/app.py"]
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o100644}
    assert "api-backend-code.zip: " in result.stdout
    assert " zipped, " in result.stdout


def test_build_empty_requirements_skip_pip(build_kit: Kit) -> None:
    # GIVEN a requirements file with comments only
    # WHEN the backend is built
    result = build_backend(build_kit)
    # THEN pip is never run
    assert result.returncode == 0, result.stderr
    assert "nothing to install" in result.stdout
    assert build_kit.calls("pip") == []


def test_build_requirements_cross_install_for_lambda_arm64_python_3_14(build_kit: Kit) -> None:
    # GIVEN a pinned third-party requirement
    requirements = build_kit.root / "api-backend" / "src" / "requirements.txt"
    requirements.write_text("# pinned\nfakedep==1.0\n")
    # WHEN the backend is built with PIP pointing at the recorded pip
    result = build_backend(build_kit, env={"PIP": "pip"})
    # THEN pip installs wheels for the Lambda platform, not the build host, into the staging directory
    assert result.returncode == 0, result.stderr
    [call] = build_kit.calls("pip")
    argv = call["argv"]
    assert argv[:3] == ["install", "--requirement", str(requirements)]
    assert argv[argv.index("--platform") + 1] == "manylinux2014_aarch64"
    assert argv[argv.index("--implementation") + 1] == "cp"
    assert argv[argv.index("--python-version") + 1] == "3.14"
    assert "--only-binary=:all:" in argv
    assert argv[argv.index("--target") + 1] == str(build_kit.root / "build" / "api-backend" / "stage")


def test_build_dependencies_are_zipped_without_console_scripts_or_bytecode(build_kit: Kit) -> None:
    # GIVEN a requirement whose install leaves a console script and a bytecode cache
    (build_kit.root / "api-backend" / "src" / "requirements.txt").write_text("fakedep==1.0\n")
    # WHEN the backend is built
    result = build_backend(build_kit, env={"PIP": "pip"})
    # THEN the dependency and its metadata are in the zip, bin/ and __pycache__ are not
    assert result.returncode == 0, result.stderr
    with zipfile.ZipFile(build_kit.root / ZIP) as archive:
        names = archive.namelist()
    assert "fakedep/__init__.py" in names
    assert "fakedep-1.0.dist-info/METADATA" in names
    assert not [name for name in names if name.startswith("bin/") or "__pycache__" in name]


def test_build_unpinned_requirement_warns(build_kit: Kit) -> None:
    # GIVEN a requirement without ==
    (build_kit.root / "api-backend" / "src" / "requirements.txt").write_text("fakedep>=1\n")
    # WHEN the backend is built
    result = build_backend(build_kit, env={"PIP": "pip"})
    # THEN the build goes on but says the build is not repeatable
    assert result.returncode == 0, result.stderr
    assert "WARNING: unpinned requirement(s)" in result.stderr
    assert "fakedep>=1" in result.stderr


def test_build_packages_both_templates_from_build_copies(build_kit: Kit) -> None:
    # GIVEN the backend side
    # WHEN it is built
    result = build_backend(build_kit)
    # THEN sam package ran on the build copies (CodeUri at the zip) and wrote *-deploy.yaml next to the sources
    assert result.returncode == 0, result.stderr
    packaged = [call["argv"][call["argv"].index("--template-file") + 1] for call in build_kit.calls("sam", "package")]
    build_dir = build_kit.root / "build" / "api-backend"
    assert packaged == [str(build_dir / "api-backend.yaml"), str(build_dir / "vpc-api-backend.yaml")]
    assert "CodeUri: api-backend-code.zip" in (build_dir / "api-backend.yaml").read_text()
    assert (build_kit.root / "api-backend" / "vpc-api-backend-deploy.yaml").is_file()
    assert "CodeUri: src/" in (build_kit.root / "api-backend" / "api-backend.yaml").read_text()


def test_build_template_without_src_code_uri_fails(build_kit: Kit) -> None:
    # GIVEN a template whose function code is elsewhere
    template = build_kit.root / "api-backend" / "api-backend.yaml"
    template.write_text(template.read_text().replace("CodeUri: src/", "CodeUri: lambda/"))
    # WHEN the backend is built
    result = build_backend(build_kit)
    # THEN the build stops rather than package code that skipped the staging
    assert result.returncode == 1
    assert "no 'CodeUri: src/' line in the templates of api-backend" in result.stderr
    assert build_kit.calls("sam") == []


def test_build_missing_template_fails_naming_it(build_kit: Kit) -> None:
    # GIVEN a side without its vpc- template
    (build_kit.root / "api-backend" / "vpc-api-backend.yaml").unlink()
    # WHEN the backend is built
    result = build_backend(build_kit)
    # THEN the missing file is named
    assert result.returncode == 1
    assert "template api-backend/vpc-api-backend.yaml not found" in result.stderr


def test_build_missing_bucket_fails_in_sam_package(kit: Kit) -> None:
    # GIVEN no artifact bucket
    # WHEN the backend is built
    result = build_backend(kit)
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
    kit.change_state(
        lambda state: state["buckets"].update(
            {"client-bucket": {"owner": "111111111111", "region": "us-east-1", "objects": [], "markers": []}}
        )
    )
    # WHEN build-client.sh runs (Kit.run uses the repo's parent directory as cwd)
    result = kit.run("build-client.sh", "--profile", "consumer", "client-bucket")
    # THEN it finds its files and packages both client templates, pointing both functions at one zip
    assert result.returncode == 0, result.stderr
    assert "2 CodeUri line(s) now point at api-client-code.zip" in result.stdout
    assert len(kit.calls("sam", "package")) == 2
