"""`python -m emulation.demo` (what `make demo` runs): exit status, output, and nothing left listening."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from emulation.demo.run import main, use_color

REPO = Path(__file__).resolve().parents[2]
_LISTEN = "0A"  # TCP state LISTEN in /proc/net/tcp


def _listening_ports() -> set[int]:
    """Ports in LISTEN state on this machine, read from /proc/net/tcp{,6} (no psutil)."""
    ports: set[int] = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        path = Path(name)
        if not path.exists():
            continue
        for row in path.read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == _LISTEN:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def demo_run() -> subprocess.CompletedProcess[str]:
    """One run of the demo with its defaults, without colours."""
    environ = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "emulation.demo", "--seed", "11", "--show-access-log"],
        cwd=REPO,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_defaults_exit_0_with_every_outcome_expected(demo_run: subprocess.CompletedProcess[str]) -> None:
    # GIVEN the demo's default settings
    # WHEN it runs as `make demo` runs it
    # THEN it exits 0, the three clients succeed (the IAM ones also through the private custom domain) and all
    # twenty-one outcomes (six IAM, nine certificate, six private domain) are the expected ones
    assert demo_run.returncode == 0, demo_run.stdout + demo_run.stderr
    assert "SUCCESS PythonDirectAuthClient" in demo_run.stdout
    assert "SUCCESS PythonAssumeRoleClient" in demo_run.stdout
    assert "SUCCESS PythonCertificateClient" in demo_run.stdout
    assert "SUCCESS PythonDirectAuthClient via orders.provider.example" in demo_run.stdout
    assert "SUCCESS PythonAssumeRoleClient via orders.provider.example" in demo_run.stdout
    assert "21/21 outcomes as expected" in demo_run.stdout
    assert "NOT as expected" not in demo_run.stdout


def test_demo_defaults_leave_no_listening_port(demo_run: subprocess.CompletedProcess[str]) -> None:
    # GIVEN the ports the demo printed while it ran (moto, STS front, one listener per endpoint: three consumers' and
    # the provider's own, and the mTLS load balancer; and the private domain's own deployment: moto, STS front, the
    # three consumers' endpoint listeners)
    ports = {int(p) for p in re.findall(r"127\.0\.0\.1:(\d+)", demo_run.stdout)}
    assert len(ports) == 7 + 5, demo_run.stdout
    # WHEN the demo has exited
    # THEN none of them is in LISTEN state or accepts a connection
    assert ports.isdisjoint(_listening_ports())
    assert not any(_accepts(port) for port in ports)
    assert "all servers stopped, nothing listens" in demo_run.stdout


def test_demo_no_color_prints_no_escape_codes(demo_run: subprocess.CompletedProcess[str]) -> None:
    # GIVEN NO_COLOR set (and FORCE_COLOR too: NO_COLOR wins)
    # WHEN the demo printed its report
    # THEN it holds no ANSI escape codes
    assert "\033[" not in demo_run.stdout


def test_demo_show_access_log_prints_template_format_lines(demo_run: subprocess.CompletedProcess[str]) -> None:
    # GIVEN --show-access-log
    # WHEN the demo printed its report
    lines = [line.strip() for line in demo_run.stdout.splitlines() if line.strip().startswith('{"requestId"')]
    # THEN it shows one JSON line per API request: 2 clients + 3 refusals that reached the gateway, and on the
    # certificate path the client, the tenant-isolation write and read, the unlisted subject and the two forgeries
    # (the four TLS refusals never reach the API)
    assert len(lines) == 11
    assert all('"vpceId":"vpce-' in line for line in lines)


def test_demo_unknown_site_in_allowed_endpoints_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN an endpoint list naming no known site
    # WHEN the demo parses its options
    with pytest.raises(SystemExit) as exited:
        main(["--allowed-endpoints", "nowhere"])
    # THEN it stops with a usage error before starting anything
    assert exited.value.code == 2
    assert "expected 'none' or a comma-separated list of main, other, outsider" in capsys.readouterr().err


class _Tty:
    def __init__(self, tty: bool) -> None:
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("tty", "environ", "expected"),
    [
        (True, {}, True),
        (False, {}, False),
        (False, {"FORCE_COLOR": "1"}, True),
        (True, {"NO_COLOR": "1"}, False),
        (True, {"NO_COLOR": "1", "FORCE_COLOR": "1"}, False),
        (True, {"TERM": "dumb"}, False),
    ],
)
def test_use_color_terminal_and_variables_decide(tty: bool, environ: dict[str, str], expected: bool) -> None:
    # GIVEN a stream that is or is not a terminal and the colour variables
    # WHEN the demo decides on colours
    # THEN only a terminal or FORCE_COLOR turn them on, and NO_COLOR always turns them off
    assert use_color(_Tty(tty), environ) is expected  # type: ignore[arg-type]


def test_demo_summarizes_each_response_on_one_line(demo_run: subprocess.CompletedProcess[str]) -> None:
    # GIVEN the demo's default run (no --show-responses)
    lines = demo_run.stdout.split("\n6. Private custom domain", 1)[0].splitlines()
    # WHEN it reports the three clients' responses
    # THEN each response is one summary line, no JSON document, so the refusals stay on the first screen
    assert not any(line.strip() in ("{", "}") or '"accountId":' in line for line in lines), demo_run.stdout
    summaries = [line for line in lines if line.startswith("   response: ")]
    assert len(summaries) == 3, demo_run.stdout
    assert all("statusCode 200" in line and "--show-responses" in line for line in summaries)
    assert lines.index("4. Requests AWS must refuse") < 40, demo_run.stdout


def test_demo_ends_saying_what_it_does_not_prove(demo_run: subprocess.CompletedProcess[str]) -> None:
    # GIVEN the demo's default run
    # WHEN it has printed its verdict
    tail = demo_run.stdout.split("outcomes as expected", 1)[1]
    # THEN it closes by naming what only a real deployment shows, and the page that lists it
    text = " ".join(tail.split())
    assert "does not prove" in text
    for topic in ("CloudFormation", "DNS", "WAF", "SCPs", "NLB, endpoint service"):
        assert topic in text
    assert 'docs/proven.md, "What is proven offline, and what is not"' in text
    assert "for the certificate path docs/mtls.md" in text
    for topic in ("association minutes", "RAM invitation's acceptance", "ACM validation", "Route 53 alias"):
        assert topic in text
    assert "docs/private-domain.md" in text
    assert (REPO / "docs" / "proven.md").read_text().startswith("# What is proven offline, and what is not")


@pytest.fixture(scope="module")
def allowing_run() -> subprocess.CompletedProcess[str]:
    """The demo with options that make the other stack's direct role allowed, full responses shown, mTLS and the
    private custom domain left out."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "emulation.demo",
            "--seed",
            "12",
            "--access-list",
            "direct,other",
            "--show-responses",
            "--no-mtls",
            "--no-domain",
        ],
        cwd=REPO,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_demo_names_the_checks_by_what_the_options_expect(allowing_run: subprocess.CompletedProcess[str]) -> None:
    # GIVEN options under which one of the checked requests must be allowed
    assert allowing_run.returncode == 0, allowing_run.stdout + allowing_run.stderr
    # WHEN the demo prints the heading of those requests
    # THEN it does not call them all refusals: it says how many AWS must refuse and how many it must allow
    assert "Requests AWS must refuse" not in allowing_run.stdout
    assert (
        "4. Requests checked against AWS's rules: 3 must be refused, 1 allowed with these options"
        in allowing_run.stdout
    )


def test_demo_show_responses_prints_the_full_responses(allowing_run: subprocess.CompletedProcess[str]) -> None:
    # GIVEN --show-responses
    # THEN each client's response is printed in full, body fields included
    assert allowing_run.stdout.count('"accountId":') == 2, allowing_run.stdout
    assert allowing_run.stdout.count('"statusCode": 200') == 2


def test_demo_no_mtls_leaves_the_certificate_path_out(allowing_run: subprocess.CompletedProcess[str]) -> None:
    # GIVEN --no-mtls
    # THEN no certificate row, no load balancer, and only the IAM outcomes are counted
    assert "PythonCertificateClient" not in allowing_run.stdout
    assert "mtls-alb" not in allowing_run.stdout
    assert "6/6 outcomes as expected" in allowing_run.stdout


# Each certificate-path row: its title's start, what the client got, and the client's own hint.
TLS = "TLS refused by the provider's load balancer: "
CERTIFICATE_ROWS = [
    ("certificate client: tenant-a's", "200 caller cert:tenant-a/serial/", None),
    ("tenant-b's certificate asks for the item", "tenant-b: 404 Item", None),
    ("no client certificate", "tlsv13 alert certificate required", TLS + "no client certificate was sent"),
    (
        "certificate from a CA the trust store",
        "tlsv1 alert unknown ca",
        TLS + "its trust store lacks the certificate's CA",
    ),
    ("expired certificate", "sslv3 alert certificate expired", TLS + "the certificate expired"),
    ("certificate revoked", "sslv3 alert certificate revoked", TLS + "the certificate is revoked"),
    ("valid certificate whose subject", "403 Certificate subject not allowed: CN=tenant-z", "pMtlsAllowedClients"),
    ("tenant-b's certificate sending a forged", "200 caller cert:tenant-b/serial/", None),
    ("direct client sending forged", "with an explicit deny in a resource-based policy", "Explicit deny on /mtls"),
]


def _certificate_rows(stdout: str) -> dict[str, list[str]]:
    """Step 5's rows by title: the lines under each numbered title."""
    section = stdout.split("\n5. Certificate path (mTLS)", 1)[1].split("\n6. Private custom domain", 1)[0]
    rows: dict[str, list[str]] = {}
    for block in re.split(r"\n(?=5\.\d+ )", section)[1:]:
        title, *rest = block.splitlines()
        rows[title.split(" ", 1)[1]] = rest
    return rows


def test_demo_certificate_path_rows_are_real_refusals_with_the_clients_hints(
    demo_run: subprocess.CompletedProcess[str],
) -> None:
    # GIVEN the demo's default run (mTLS on)
    rows = _certificate_rows(demo_run.stdout)
    # THEN step 5 has exactly the rows, in order, each as expected: the TLS refusals carry the listener's alert
    # and the client's "TLS refused" hint, the 403s the API's message and the client's hint
    assert len(rows) == len(CERTIFICATE_ROWS), demo_run.stdout
    for (title, lines), (start, got, hint) in zip(rows.items(), CERTIFICATE_ROWS, strict=True):
        assert title.startswith(start), title
        text = "\n".join(lines)
        assert got in next(line for line in lines if line.startswith("   got:")), text
        assert "   -> as expected" in lines, text
        if hint is None:
            assert not any(line.startswith("   hint:") for line in lines), text
        else:
            assert hint in next(line for line in lines if line.startswith("   hint:")), text
    assert "   SUCCESS PythonCertificateClient" in rows[next(iter(rows))]


def test_demo_no_domain_leaves_the_private_domain_out(allowing_run: subprocess.CompletedProcess[str]) -> None:
    # GIVEN --no-domain
    # THEN no private domain step, no second deployment's ports
    assert "Private custom domain name" not in allowing_run.stdout
    assert "domain:moto" not in allowing_run.stdout


# Each private domain row: its title's start and what the client got.
DOMAIN_ROWS = [
    (
        "direct client (consumer role) through https://orders.provider.example/v1",
        "200 caller arn:aws:sts::222222222222",
    ),
    ("assume-role client (provider access role)", "200 caller arn:aws:sts::111111111111:assumed-role/"),
    ("outsider's client: the RAM share", "403 Forbidden (association refused: arn:aws:apigateway:"),
    ("other site's client: associated", "/domainnames/orders.provider.example+"),
    ("main's client after the provider rejected", "403 Forbidden"),
    ("main's client calling https://orders.provider.example/v2", "403 Forbidden"),
]


def test_demo_private_domain_rows_succeed_and_refuse_as_api_gateway_does(
    demo_run: subprocess.CompletedProcess[str],
) -> None:
    # GIVEN the demo's default run (the private custom domain on)
    section = demo_run.stdout.split("\n6. Private custom domain", 1)[1].split("\n7. Access log", 1)[0]
    blocks = re.split(r"\n(?=6\.\d+ )", section)[1:]
    # THEN step 6 has the rows in order, each as expected, with what the real client got
    assert len(blocks) == len(DOMAIN_ROWS), demo_run.stdout
    for block, (start, got) in zip(blocks, DOMAIN_ROWS, strict=True):
        title, *lines = block.splitlines()
        assert title.split(" ", 1)[1].startswith(start), title
        assert got in next(line for line in lines if line.startswith("   got:")), block
        assert "   -> as expected" in lines, block
