"""One healthy world shared by the tests that only read it: consumer-only mode, the command line, --json, and
configurations that moto cannot produce, injected at the collected-data layer."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from diagnose.checks import diagnose
from diagnose.cli import main
from diagnose.facts import Collected
from diagnose.results import EXIT_ALLOWED, EXIT_FAILED, EXIT_UNKNOWN, EXIT_USAGE, Status
from emulation.demo.diagnose_world import API_ID, BACKEND_STACK, CLIENT_STACK, CONSUMER, REGION, World, build_world
from tests.diagnose.helpers import check, clean_environment, client, collect, first_failure, fix_of, write_profiles

REPO = Path(__file__).resolve().parents[2]
CONSUMER_ONLY_CHECKS = {"consumer-stack", "function", "endpoint", "network", "dns", "endpoint-policy"}


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """Both accounts as deploy-all.sh leaves them, built once for this module (its tests only read)."""
    with pytest.MonkeyPatch.context() as patch:
        clean_environment(patch)
        with mock_aws():
            yield build_world()


@pytest.fixture(scope="module")
def collected(world: World) -> Collected:
    """What diagnose read from the healthy world with both profiles."""
    return collect(world)


def _with_consumer(collected: Collected, **changes: Any) -> Collected:
    return replace(collected, consumer=replace(collected.consumer, **changes))


def _with_env(collected: Collected, **env: str) -> Collected:
    functions = {
        kind: replace(found, environment={**found.environment, **env})
        for kind, found in collected.consumer.functions.items()
    }
    return _with_consumer(collected, functions=functions)


def test_diagnose_consumer_profile_only_marks_provider_checks_unknown(world: World) -> None:
    # GIVEN only the consumer's credentials
    # WHEN diagnose runs without the provider profile
    result = diagnose(collect(world, with_provider=False))
    # THEN what the consumer can see passes, the provider's checks are '?' naming the missing profile, exit 3
    assert result.exit_code == EXIT_UNKNOWN
    assert result.provider is None
    for kind in ("direct", "assume-role"):
        statuses = {c.id: c.status for c in client(result, kind).checks}
        assert {statuses[i] for i in CONSUMER_ONLY_CHECKS} == {Status.OK}
        for check_id in ("provider-stack", "api-host", "resource-policy", "stage"):
            assert statuses[check_id] is Status.UNKNOWN
    needs = check(result, "direct", "resource-policy").needs
    assert needs == "the provider profile: ./diagnose.sh CONSUMER PROVIDER"
    assert check(result, "direct", "invoke-permission").status is Status.OK
    assert check(result, "assume-role", "assume-permission").status is Status.OK
    assert check(result, "assume-role", "trust-policy").status is Status.UNKNOWN


def test_diagnose_endpoint_not_available_fails_at_endpoint(collected: Collected) -> None:
    # GIVEN an endpoint still waiting for acceptance (moto always reports "available": injected here)
    endpoint = collected.consumer.endpoint
    assert endpoint is not None
    pending = _with_consumer(collected, endpoint=replace(endpoint, state="pendingAcceptance"))
    # WHEN the checks run
    result = diagnose(pending)
    # THEN both clients stop at the endpoint with a wait-and-retry fix
    assert result.exit_code == EXIT_FAILED
    for kind in ("direct", "assume-role"):
        failure = first_failure(result, kind, "endpoint")
        assert failure.detail == f"endpoint {endpoint.id} is pendingAcceptance, not available"
        assert fix_of(failure).startswith("wait until it is available")


def test_diagnose_alias_of_listed_endpoint_passes_dns(collected: Collected) -> None:
    # GIVEN private DNS off, a client that uses the {api-id}-{vpce-id} alias, and an API that lists the endpoint
    endpoint, provider = collected.consumer.endpoint, collected.provider
    assert endpoint is not None
    assert provider is not None
    assert provider.api is not None
    alias = f"{API_ID}-{endpoint.id}.execute-api.{REGION}.amazonaws.com"
    changed = _with_env(collected, API_HOST=alias)
    changed = replace(changed, consumer=replace(changed.consumer, endpoint=replace(endpoint, private_dns=False)))
    api = replace(provider.api, vpc_endpoint_ids=(endpoint.id,))
    changed = replace(changed, provider=replace(provider, api=api))
    # WHEN the checks run
    result = diagnose(changed)
    # THEN API_HOST and name resolution both accept the alias
    assert check(result, "direct", "api-host").detail == f"API_HOST {alias} is the API's alias through {endpoint.id}"
    assert check(result, "direct", "dns").status is Status.OK
    assert result.exit_code == EXIT_ALLOWED


def test_diagnose_alias_of_unlisted_endpoint_fails_at_dns(collected: Collected) -> None:
    # GIVEN a client using the alias while the API's endpoint configuration lists no endpoints
    endpoint = collected.consumer.endpoint
    assert endpoint is not None
    alias = f"{API_ID}-{endpoint.id}.execute-api.{REGION}.amazonaws.com"
    # WHEN the checks run
    result = diagnose(_with_env(collected, API_HOST=alias))
    # THEN name resolution fails and the fix is to associate the endpoint on the provider stack
    failure = first_failure(result, "direct", "dns")
    assert failure.detail.startswith(f"the alias {alias} does not exist")
    assert failure.fix == (
        f"update stack {BACKEND_STACK} with pAssociateVPCEndpoints=Yes and {endpoint.id} in pAllowedVPCEndpoints"
    )


def test_diagnose_cli_with_both_profiles_prints_checklist_and_exits_0(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two CLI profiles holding the two accounts' keys
    write_profiles(tmp_path, world, monkeypatch)
    out = io.StringIO()
    # WHEN diagnose.sh's entry point runs with both
    status = main(["consumer", "provider"], stdout=out)
    # THEN it prints a ✓ line per check for both clients and exits 0
    text = out.getvalue()
    assert status == EXIT_ALLOWED
    assert "Direct client: " in text
    assert "Assume-role client: " in text
    assert "  ✓ resource-policy" in text
    assert "✗" not in text
    assert text.endswith("Result: 2 allowed, 0 denied, 0 not fully checked (exit 0)\n")


def test_diagnose_cli_json_has_sides_clients_and_exit_code(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN only the consumer's profile
    write_profiles(tmp_path, world, monkeypatch)
    out = io.StringIO()
    # WHEN diagnose.sh --json runs with it
    status = main(["--json", "consumer"], stdout=out)
    # THEN stdout is one JSON document describing both sides, each client's checks and the exit code
    document = json.loads(out.getvalue())
    assert status == EXIT_UNKNOWN
    assert set(document) == {
        "region",
        "consumer",
        "provider",
        "clients",
        "access_log",
        "notes",
        "read_errors",
        "exit_code",
    }
    assert document["exit_code"] == EXIT_UNKNOWN
    assert document["consumer"] == {"profile": "consumer", "account": CONSUMER, "stack": CLIENT_STACK}
    assert document["provider"] is None
    assert [c["client"] for c in document["clients"]] == ["direct", "assume-role"]
    first = document["clients"][0]
    assert set(first) == {"client", "function", "principal", "verdict", "first_failure", "checks"}
    assert first["verdict"] == "unknown"
    assert first["first_failure"] is None
    assert set(first["checks"][0]) == {"id", "title", "status", "detail", "fix", "needs"}
    assert {c["status"] for c in first["checks"]} == {"pass", "unknown"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--frobnicate", "consumer"], "ERROR: unrecognized arguments: --frobnicate"),
        (["--stack-prefix", "Bad_Prefix", "consumer"], "ERROR: invalid --stack-prefix 'Bad_Prefix'"),
        (["--region", "mars", "consumer"], "ERROR: invalid --region 'mars'"),
        (["a", "b", "c"], "ERROR: unrecognized arguments: c"),
        (["--region", REGION, "nobody"], "ERROR: profile 'nobody' not found in the AWS config"),
    ],
)
def test_diagnose_bad_arguments_print_usage_and_exit_2(argv: list[str], message: str) -> None:
    # GIVEN a bad command line
    err = io.StringIO()
    # WHEN the entry point parses it
    status = main(argv, stdout=io.StringIO(), stderr=err)
    # THEN it names the problem, shows the usage on stderr and exits 2
    assert status == EXIT_USAGE
    assert err.getvalue().startswith(message)
    assert "Usage: diagnose.sh [options] <consumer-profile> [provider-profile]" in err.getvalue()


def _script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - runs this repo's own script
        [str(REPO / "diagnose.sh"), *args], capture_output=True, text=True, check=False, timeout=60
    )


def test_diagnose_script_without_arguments_prints_usage_and_exits_2() -> None:
    # GIVEN the wrapper script
    # WHEN it runs with no arguments
    result = _script()
    # THEN the Python entry point reports the missing profile with the usage, exit 2
    assert result.returncode == EXIT_USAGE
    assert result.stdout == ""
    assert result.stderr.startswith("ERROR: the following arguments are required: consumer-profile\nUsage: diagnose.sh")


def test_diagnose_script_help_prints_usage_and_exits_0() -> None:
    # GIVEN the wrapper script
    # WHEN asked for help
    result = _script("--help")
    # THEN the usage and the exit codes go to stdout
    assert result.returncode == 0
    assert result.stdout.startswith("Usage: diagnose.sh [options] <consumer-profile> [provider-profile]")
    assert "3 nothing failed but some checks could not run" in result.stdout
    assert result.stderr == ""


def test_diagnose_script_shellcheck_reports_nothing() -> None:
    # GIVEN the wrapper script
    shellcheck = Path(sys.executable).parent / "shellcheck"
    # WHEN ShellCheck reads it
    result = subprocess.run(  # noqa: S603 - fixed tool, repo file
        [str(shellcheck), str(REPO / "diagnose.sh")], capture_output=True, text=True, check=False, timeout=60
    )
    # THEN it reports nothing at any severity
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""
