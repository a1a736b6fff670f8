"""TwoAccounts' lifecycle: what a stopped deployment answers, and a start that fails half-way."""

from __future__ import annotations

from typing import Any

import pytest

from cfnrender.render import ParameterError
from client.names import ClientKind
from emulation.accounts.two_accounts import TwoAccounts

SEED = 31_337  # its own resource names: moto keeps every deployment of this process


@pytest.fixture(scope="module")
def stopped() -> TwoAccounts:
    """A deployment planned (ids chosen, templates rendered) and never started."""
    return TwoAccounts(seed=SEED)


@pytest.mark.parametrize("attribute", ["provider", "gateway", "sts", "tls", "access_log", "moto_url"])
def test_two_accounts_not_started_running_state_raises_not_running(stopped: TwoAccounts, attribute: str) -> None:
    # GIVEN a deployment that was never started
    # WHEN a part that exists only while running is read
    # THEN it says so instead of answering None
    with pytest.raises(RuntimeError, match="the emulation is not running"):
        getattr(stopped, attribute)


@pytest.mark.parametrize(
    "call",
    [
        lambda env: env.request("GET", "/"),
        lambda env: env.endpoint_url(),
        lambda env: env.redeploy_provider({}),
        lambda env: env.redeploy_consumers({}),
        lambda env: env.invoke_client("direct", {"path": "/"}),
        lambda env: env.client("iam", env.names.provider),
    ],
    ids=["request", "endpoint_url", "redeploy_provider", "redeploy_consumers", "invoke_client", "client"],
)
def test_two_accounts_not_started_operation_raises_not_running(stopped: TwoAccounts, call: Any) -> None:
    # GIVEN a deployment that was never started
    # WHEN an operation that needs the servers is called
    # THEN it raises the one "not running" error
    with pytest.raises(RuntimeError, match="the emulation is not running"):
        call(stopped)


def test_two_accounts_not_started_views_are_empty(stopped: TwoAccounts) -> None:
    # GIVEN a deployment that was never started
    # WHEN its views are read
    # THEN nothing listens, nothing resolves, nothing logged; the names are known already
    assert stopped.listening_ports == {}
    assert stopped.dns_view(None) == {}
    assert stopped.function_logs() == []
    assert stopped.names.api_host.endswith(".amazonaws.com")


@pytest.mark.parametrize("spelling", ["assume_role", "assume-role", ClientKind.ASSUME_ROLE])
def test_two_accounts_client_names_take_either_spelling_of_a_kind(stopped: TwoAccounts, spelling: str) -> None:
    # GIVEN a deployment's names, known before start
    # WHEN the assume-role client's role and function are looked up by the handler's spelling, diagnose's or the Enum
    # THEN each finds the same ones
    assert stopped.names.client_role("main", spelling) == stopped.names.client_roles[("main", ClientKind.ASSUME_ROLE)]
    assert stopped.names.client_function("main", spelling).startswith("private-api-client-")


def test_two_accounts_unknown_client_kind_raises_naming_the_spellings(stopped: TwoAccounts) -> None:
    # GIVEN a deployment WHEN a client is invoked by a kind that does not exist
    # THEN the error names it and the accepted spellings, before anything needs the servers
    with pytest.raises(ValueError, match="'assumerole' is not a client kind: expected one of 'direct', 'direct_auth'"):
        stopped.invoke_client("assumerole", {"path": "/"})


def test_two_accounts_start_failing_half_way_leaves_it_stopped(stopped: TwoAccounts) -> None:
    # GIVEN a provider parameter the template does not declare (moto is already up when the stack is rendered)
    # WHEN the deployment starts
    with pytest.raises(ParameterError, match="pNoSuchParameter"):
        stopped.start({"pNoSuchParameter": "x"}, warm=False)
    # THEN what had started is stopped again
    assert stopped.listening_ports == {}
    with pytest.raises(RuntimeError, match="the emulation is not running"):
        _ = stopped.gateway


def test_two_accounts_started_twice_raises_already_started(env: TwoAccounts) -> None:
    # GIVEN a running deployment
    # WHEN it is started again
    # THEN it refuses, and keeps running
    with pytest.raises(RuntimeError, match="already started"):
        env.start()
    assert env.listening_ports
