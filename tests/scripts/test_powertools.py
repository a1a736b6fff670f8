"""--bundle-powertools in the build: the pinned Powertools goes into the zip (deploy-all's Powertools checks are in
tests/workflow/test_deploy_powertools.py)."""

from __future__ import annotations

import re
import zipfile

from tests.scripts.helpers import (
    PROVIDER,
    PROVIDER_ACCOUNT,
    PROVIDER_BUCKET,
    REPO_ROOT,
    Kit,
)


def pinned_powertools() -> str:
    """The one pin of aws-lambda-powertools in the repository."""
    text = (REPO_ROOT / "requirements-powertools.txt").read_text()
    match = re.search(r"^aws-lambda-powertools==(\S+)$", text, flags=re.MULTILINE)
    assert match
    return match[1]


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
