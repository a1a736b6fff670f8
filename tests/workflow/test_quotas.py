"""workflow/quotas.py: the size quotas checked before deploying; boundaries, messages, exit codes, counting rules."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from workflow import quotas

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "222222222222"
REGION = "us-east-1"
COMMON = ["--stack-name", "private-api-backend", "--account", ACCOUNT, "--region", REGION]
API_HOST = f"a1b2c3d4e5.execute-api.{REGION}.amazonaws.com"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """quotas.main in-process: (exit status, stdout, stderr)."""
    try:
        status = quotas.main(list(argv))
    except SystemExit as stop:  # argparse's own usage errors
        status = int(stop.code or 0)
    out = capsys.readouterr()
    return status, out.out, out.err


def reported(stdout: str, item: str) -> int:
    """The size one report line gives for an item ('<item>: 1,234 of 8,192 ...')."""
    match = re.search(rf"^{re.escape(item)}: ([\d,]+) of ", stdout, flags=re.MULTILINE)
    assert match, stdout
    return int(match.group(1).replace(",", ""))


def patterns(count: int, length: int, last_extra: int = 0) -> str:
    """count principal patterns of `length` characters each (the last one last_extra longer)."""
    head = "arn:aws:iam::111111111111:role/"
    items = [head + chr(ord("a") + i % 26) * (length - len(head)) for i in range(count)]
    items[-1] += "z" * last_extra
    return ",".join(items)


# ---------------------------------------------------------------------------------------------------------------------
# Counting rules (the oracles are written out by hand)
# ---------------------------------------------------------------------------------------------------------------------


def test_api_policy_length_counts_stored_form_full_arns_compact_and_escaped() -> None:
    # GIVEN a resource policy as the template writes it (account id principal, execute-api:/* shorthand)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "111111111111"},
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
            }
        ],
    }
    # WHEN it is measured
    length = quotas.api_policy_length(policy, partition="aws", region=REGION, account=ACCOUNT, api_id="a1b2c3d4e5")
    # THEN it counts the form API Gateway returns: full ARNs, no white space, every quote escaped
    stored = (
        r"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
        r"\"Principal\":{\"AWS\":\"arn:aws:iam::111111111111:root\"},\"Action\":\"execute-api:Invoke\","
        r"\"Resource\":\"arn:aws:execute-api:us-east-1:222222222222:a1b2c3d4e5/*\"}]}"
    )
    assert length == len(stored)


def test_trust_policy_length_counts_without_white_space_account_ids_as_root_arns() -> None:
    # GIVEN a trust policy naming an account id
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": ["111111111111"]}, "Action": "sts:AssumeRole"}],
    }
    # THEN IAM's count: no white space, the account as its root ARN
    expected = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":'
        '["arn:aws-cn:iam::111111111111:root"]},"Action":"sts:AssumeRole"}]}'
    )
    assert quotas.trust_policy_length(policy, partition="aws-cn") == len(expected)


def test_endpoint_policy_length_counts_white_space_of_an_indented_layout() -> None:
    # GIVEN an endpoint policy
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow"}]}
    # THEN white space counts (AWS: "20,480 characters, including white space")
    expected = (
        '{\n    "Version": "2012-10-17",\n    "Statement": [\n        {\n            "Effect": "Allow"\n'
        "        }\n    ]\n}"
    )
    assert quotas.endpoint_policy_length(policy) == len(expected)


# ---------------------------------------------------------------------------------------------------------------------
# CLI: report lines and the boundaries of each quota
# ---------------------------------------------------------------------------------------------------------------------


def test_quotas_backend_defaults_one_line_per_item_and_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN the provider's defaults are checked
    status, stdout, stderr = run(capsys, "backend", *COMMON)
    # THEN every item fits and is reported on one line
    assert status == 0, stderr
    assert re.fullmatch(
        r"Longest parameter value \(none given\): 0 of 4,096 bytes\n"
        r"API resource policy: [\d,]+ of 8,192 characters\n"
        r"Access role trust policy: [\d,]+ of 2,048 characters\n",
        stdout,
    )
    assert stderr == ""


@pytest.mark.parametrize(("extra", "status"), [(-1, 0), (0, 0), (1, 1)])
def test_quotas_backend_api_policy_under_at_and_one_over(
    capsys: pytest.CaptureFixture[str], extra: int, status: int
) -> None:
    # GIVEN patterns and principals (each parameter under 4,096 bytes) sized to put the policy at 8,192 + extra
    access = ",".join(f"arn:aws:iam::111111111111:role/{'r' * 60}{i:02d}" for i in range(40))
    base_args = [f"pAPIAccessList={access}", f"pAllowedPrincipalPatterns={patterns(30, 100)}"]
    _, stdout, _ = run(capsys, "backend", *COMMON, *base_args)
    base = reported(stdout, "API resource policy")
    grow = quotas.API_POLICY_QUOTA - base + extra
    args = [f"pAPIAccessList={access}", f"pAllowedPrincipalPatterns={patterns(30, 100, grow)}"]
    # WHEN checked
    code, stdout, stderr = run(capsys, "backend", *COMMON, *args)
    # THEN at the quota it passes, one character over it refuses and says by how much and what to do
    assert reported(stdout, "API resource policy") == quotas.API_POLICY_QUOTA + extra
    assert reported(stdout, "Longest parameter value (pAPIAccessList)") <= quotas.PARAMETER_VALUE_QUOTA
    assert code == status
    if status:
        assert "API resource policy is 1 character over the quota of 8,192 characters" in stderr
        assert "pAllowedPrincipalPatterns" in stderr
        assert "pAllowedOrgID" in stderr
    else:
        assert stderr == ""


@pytest.mark.parametrize(("extra", "status"), [(-1, 0), (0, 0), (1, 1)])
def test_quotas_backend_trust_policy_under_at_and_one_over(
    capsys: pytest.CaptureFixture[str], extra: int, status: int
) -> None:
    # GIVEN trusted role ARNs sized to put the trust policy at 2,048 + extra characters
    roles = [f"arn:aws:iam::111111111111:role/{'t' * 40}{i:02d}" for i in range(20)]
    _, stdout, _ = run(capsys, "backend", *COMMON, f"pTrustedPrincipals={','.join(roles)}")
    roles[-1] += "x" * (quotas.TRUST_POLICY_QUOTA - reported(stdout, "Access role trust policy") + extra)
    # WHEN checked
    code, stdout, stderr = run(capsys, "backend", *COMMON, f"pTrustedPrincipals={','.join(roles)}")
    # THEN at the quota it passes; one over it says to trust the account or request the 4,096 increase
    assert reported(stdout, "Access role trust policy") == quotas.TRUST_POLICY_QUOTA + extra
    assert code == status
    if status:
        assert "Access role trust policy is 1 character over the quota of 2,048 characters" in stderr
        assert "4,096" in stderr
        assert "pTrustedPrincipals" in stderr


def test_quotas_backend_raised_trust_quota_accepts_what_the_default_refuses(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a trust policy of about 3,000 characters
    roles = ",".join(f"arn:aws:iam::111111111111:role/{'t' * 60}{i:02d}" for i in range(30))
    # WHEN checked with the default quota, then with the quota raised to IAM's maximum
    refused, _, _ = run(capsys, "backend", *COMMON, f"pTrustedPrincipals={roles}")
    accepted, stdout, _ = run(capsys, "backend", *COMMON, "--trust-policy-quota", "4096", f"pTrustedPrincipals={roles}")
    # THEN only the raised quota lets it through
    assert (refused, accepted) == (1, 0)
    assert "of 4,096 characters" in stdout


@pytest.mark.parametrize(("value", "status"), [("a" * 4095, 0), ("a" * 4096, 0), ("é" * 2048, 0), ("a" * 4097, 1)])
def test_quotas_parameter_value_bytes_under_at_and_one_over(
    capsys: pytest.CaptureFixture[str], value: str, status: int
) -> None:
    # WHEN a parameter value of 4,095 / 4,096 / 4,097 bytes (2,048 two-byte characters = 4,096 bytes) is checked
    code, stdout, stderr = run(capsys, "backend", *COMMON, f"pAPIStageName={value}")
    # THEN bytes are counted, and one byte over refuses
    assert reported(stdout, "Longest parameter value (pAPIStageName)") == len(value.encode())
    assert code == status
    if status:
        assert "Longest parameter value (pAPIStageName) is 1 byte over the quota of 4,096 bytes" in stderr


@pytest.mark.parametrize("extra", [-1, 0, 1])
def test_quotas_client_endpoint_policy_under_at_and_one_over(extra: int) -> None:
    # GIVEN a stage prefix sized to put the execute-api endpoint policy at 20,480 + extra characters
    def policy_size(prefix: str) -> int:
        findings = quotas.check_client(
            {"pAPIHost": API_HOST, "pAPIPrefix": prefix}, stack="c", account=ACCOUNT, region=REGION
        )
        return next(f for f in findings if f.item == "execute-api endpoint policy").size

    prefix = "/" + "p" * (quotas.ENDPOINT_POLICY_QUOTA - policy_size("/") + extra)
    # WHEN checked (a prefix this long is over the parameter quota too; the endpoint policy is measured anyway)
    findings = {
        f.item: f
        for f in quotas.check_client(
            {"pAPIHost": API_HOST, "pAPIPrefix": prefix}, stack="c", account=ACCOUNT, region=REGION
        )
    }
    # THEN the endpoint policy is exactly at its boundary
    endpoint = findings["execute-api endpoint policy"]
    assert (endpoint.size, endpoint.over) == (quotas.ENDPOINT_POLICY_QUOTA + extra, max(0, extra))


def test_quotas_client_over_endpoint_policy_exit_1_names_the_quota(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN a consumer check gets a stage prefix far beyond what the endpoint policy can hold
    code, stdout, stderr = run(capsys, "client", *COMMON, f"pAPIHost={API_HOST}", "pAPIPrefix=/" + "p" * 21000)
    # THEN both the parameter value and the endpoint policy are refused, each with its excess
    assert code == 1
    assert re.search(r"^execute-api endpoint policy: [\d,]+ of 20,480 characters$", stdout, flags=re.MULTILINE)
    assert re.search(r"execute-api endpoint policy is [\d,]+ characters over the quota of 20,480", stderr)
    assert "Longest parameter value (pAPIPrefix) is 16,905 bytes over the quota of 4,096 bytes" in stderr


def test_quotas_client_defaults_report_both_endpoint_policies(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN a consumer with an assume-role client (so an STS endpoint) is checked
    role = f"arn:aws:iam::{ACCOUNT}:role/private-api-backend-ApiAccessRole-ABC"
    code, stdout, _ = run(capsys, "client", *COMMON, f"pAPIHost={API_HOST}", f"pAPIRoleARN={role}")
    # THEN both endpoint policies are reported and fit
    assert code == 0
    assert re.search(r"^execute-api endpoint policy: [\d,]+ of 20,480 characters$", stdout, flags=re.MULTILINE)
    assert re.search(r"^STS endpoint policy: [\d,]+ of 20,480 characters$", stdout, flags=re.MULTILINE)


def test_quotas_partition_follows_the_region(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN the defaults are checked in the standard and the China partition
    _, standard, _ = run(capsys, "backend", *COMMON)
    _, china, _ = run(
        capsys, "backend", "--stack-name", "private-api-backend", "--account", ACCOUNT, "--region", "cn-north-1"
    )
    # THEN the trust policy's root ARN is arn:aws-cn:... (3 characters longer)
    assert reported(china, "Access role trust policy") - reported(standard, "Access role trust policy") == 3


def test_quotas_deploy_all_checks_both_stacks_with_placeholders(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN the values deploy-all.sh sends are checked
    code, stdout, _ = run(
        capsys,
        "deploy-all",
        "--backend-stack",
        "private-api-backend",
        "--client-stack",
        "private-api-client",
        "--provider-account",
        ACCOUNT,
        "--consumer-account",
        "111111111111",
        "--region",
        REGION,
    )
    # THEN each stack's items are reported under its name, and they fit
    assert code == 0
    assert re.search(r"^private-api-backend: API resource policy: [\d,]+ of 8,192 characters$", stdout, re.MULTILINE)
    assert re.search(r"^private-api-client: execute-api endpoint policy: [\d,]+ of 20,480", stdout, re.MULTILINE)
    # AND the longest ids are assumed: a 64-character role name, vpce- plus 17 hex digits
    backend, client = quotas.deploy_all_values(
        backend_stack="b", client_stack="c", provider_account=ACCOUNT, consumer_account="111111111111", region=REGION
    )
    assert len(backend["pAPIAccessList"].rsplit("/", 1)[1]) == 64
    assert re.fullmatch(r"vpce-[0-9a-f]{17}", backend["pAllowedVPCEndpoints"])
    assert client["pAPIHost"].endswith(".execute-api.us-east-1.amazonaws.com")


# ---------------------------------------------------------------------------------------------------------------------
# Usage errors: exit 2
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["backend", "--stack-name", "s", "--region", REGION], "--account"),
        (["backend", *COMMON, "not-a-parameter"], "not a Key=Value"),
        (["backend", *COMMON, "pAPIAccessList=1", "pAPIAccessList=2"], "given twice"),
        (["client", *COMMON], "pAPIHost"),
        (["backend", "--stack-name", "s", "--account", "12", "--region", REGION], "account id"),
        (["backend", *COMMON, "--trust-policy-quota", "5000"], "2048 to 4096"),
        (["frontend", *COMMON], "invalid choice"),
        ([], "required"),
    ],
)
def test_quotas_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], says: str) -> None:
    # WHEN the command line is wrong
    code, stdout, stderr = run(capsys, *argv)
    # THEN exit 2, with the reason on stderr and nothing checked
    assert code == 2
    assert says in stderr
    assert stdout == ""


def test_quotas_runs_with_a_bare_system_python(tmp_path: Path) -> None:
    # GIVEN the script run as deploy-all.sh runs it: python3 with no site packages, from another directory
    result = subprocess.run(  # noqa: S603 - this repo's own script
        [sys.executable, "-I", "-S", str(REPO / "workflow" / "quotas.py"), "backend", *COMMON],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    # THEN it works (stdlib only)
    assert result.returncode == 0, result.stderr
    assert "API resource policy:" in result.stdout
