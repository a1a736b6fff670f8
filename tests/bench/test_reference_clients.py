"""The comparison points behave as labelled: the floor keeps one connection, the baseline pays STS and TCP each call."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest
from moto import mock_aws
from moto.sts.models import sts_backends

from tests.unit.client.support import API_HOST, ScriptedHTTPSServer

ROLE_ARN = "arn:aws:iam::111111111111:role/private-api-access"


@pytest.fixture
def floor(client_env: dict[str, str]) -> ModuleType:
    """The floor module, loaded afresh so its kept connection points at this test's server."""
    return importlib.reload(importlib.import_module("bench.floor.floor_loop"))


@pytest.fixture
def moto_sts(client_env: dict[str, str]) -> Iterator[None]:
    """In-process moto for the baseline's STS calls (its HTTPS request to the API passes through)."""
    with mock_aws():
        yield


def test_floor_handler_three_calls_reuse_one_connection(floor: ModuleType, api_server: ScriptedHTTPSServer) -> None:
    # GIVEN the floor loaded with the function's environment
    # WHEN it is called three times
    results = [floor.handler({"path": "/"}, None) for _ in range(3)]
    # THEN every call got the API's answer over a single TCP connection, signed for the API host
    assert [r["statusCode"] for r in results] == [200, 200, 200]
    assert results[0]["body"] == '{"ok": true}'
    assert api_server.connections == 1
    assert [seen.target for seen in api_server.received] == ["/Prod/"] * 3
    assert all(seen.headers["Host"] == API_HOST for seen in api_server.received)
    assert all("/execute-api/aws4_request" in seen.headers["Authorization"] for seen in api_server.received)


def test_baseline_handler_each_call_assumes_role_and_connects_anew(
    moto_sts: None, api_server: ScriptedHTTPSServer
) -> None:
    # GIVEN the reference-style baseline
    baseline = importlib.import_module("bench.baseline.reference_style")
    # WHEN it is called twice
    results = [baseline.handler({"path": "/"}, None) for _ in range(2)]
    # THEN both calls succeed, each after its own AssumeRole and over its own new connection
    assert [r["statusCode"] for r in results] == [200, 200]
    assert results[1]["body"] == '{"ok": true}'
    assumed = [r for r in sts_backends["111111111111"]["aws"].assumed_roles if r.role_arn == ROLE_ARN]
    assert len(assumed) == 2
    assert api_server.connections == 2
    # AND each request was signed with that call's assumed credentials
    for seen, role in zip(api_server.received, assumed, strict=True):
        assert f"Credential={role.access_key_id}/" in seen.headers["Authorization"]
