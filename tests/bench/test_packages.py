"""Deployment zips measured with the build scripts' own stage and zip steps."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bench.packages import build_zip

REPO = Path(__file__).resolve().parents[2]


def test_build_zip_client_side_holds_only_the_client_sources(tmp_path: Path) -> None:
    # GIVEN the repository's consumer side
    # WHEN its zip is built the way build-client.sh builds it
    size = build_zip(REPO, "api-client", tmp_path)
    # THEN it holds the client package's sources only (no bytecode, no requirements file) and its size is reported
    with zipfile.ZipFile(size.zip_path) as archive:
        names = archive.namelist()
    assert "client/direct_auth.py" in names
    assert all(name.startswith("client/") and name.endswith(".py") for name in names)
    assert (size.zip_bytes, size.files) == (size.zip_path.stat().st_size, len(names))


def test_build_zip_side_with_requirements_refuses(tmp_path: Path) -> None:
    # GIVEN a side whose requirements.txt lists a package (build-*.sh would pip-install it into the zip)
    src = tmp_path / "repo" / "side" / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "__init__.py").write_text("")
    (src / "requirements.txt").write_text("# runtime deps\nrequests==2.34.2\n")
    # WHEN its zip is built
    # THEN it refuses rather than report a size without the dependency
    with pytest.raises(RuntimeError, match="lists packages"):
        build_zip(tmp_path / "repo", "side", tmp_path / "out")
