"""The deployment package holds only our code and stays small (the runtime and layer bring the rest)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[3] / "api-client" / "src"


def _package_files() -> list[Path]:
    return sorted(p for p in SOURCE.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def test_package_contents_are_only_the_client_package() -> None:
    # GIVEN the CodeUri folder that `sam build` zips
    # WHEN its files are listed
    names = [p.relative_to(SOURCE).as_posix() for p in _package_files()]
    # THEN it is the client package plus an empty requirements file, nothing vendored
    assert all(name.startswith("client/") and name.endswith(".py") for name in names if name != "requirements.txt")
    assert "client/direct_auth.py" in names
    assert "client/assume_role.py" in names
    requirements = (SOURCE / "requirements.txt").read_text().splitlines()
    assert [line for line in requirements if line.strip() and not line.startswith("#")] == []


def test_package_zip_is_well_under_100_kb() -> None:
    # GIVEN the package files
    buffer = io.BytesIO()
    # WHEN zipped like a Lambda deployment package
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _package_files():
            archive.write(path, path.relative_to(SOURCE).as_posix())
    # THEN it is far below 100 KB
    assert len(buffer.getvalue()) < 50_000


def test_package_with_the_certificate_client_zips_to_at_most_32_kib() -> None:
    # GIVEN the package files, the certificate client's modules among them
    names = [p.relative_to(SOURCE).as_posix() for p in _package_files()]
    assert {"client/certificate.py", "client/client_cert.py"} <= set(names)
    buffer = io.BytesIO()
    # WHEN zipped like a Lambda deployment package
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _package_files():
            archive.write(path, path.relative_to(SOURCE).as_posix())
    # THEN it stays within 32 KiB (issue 16's budget for the third client)
    assert len(buffer.getvalue()) <= 32 * 1024
