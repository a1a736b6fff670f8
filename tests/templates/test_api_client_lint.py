"""cfn-lint reports nothing at all (errors, warnings or informational) on the consumer templates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CFN_LINT = Path(sys.executable).with_name("cfn-lint")


@pytest.mark.slow  # 8 s per template; make lint runs the same cfn-lint
@pytest.mark.parametrize("template", ["api-client/api-client.yaml", "api-client/vpc-api-client.yaml"])
def test_api_client_template_cfn_lint_has_zero_findings(template: str) -> None:
    # GIVEN a consumer template
    # WHEN cfn-lint checks it for us-east-1
    completed = subprocess.run(  # noqa: S603 - fixed tool from this virtualenv
        [str(CFN_LINT), "--regions", "us-east-1", "--", template],
        cwd=REPO,
        env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN there is no finding of any level
    assert completed.stdout.strip() == ""
    assert completed.returncode == 0, completed.stderr
