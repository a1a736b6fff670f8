"""An in-process mock_aws (as the unit tests use) and a running TwoAccounts share moto's backends without harm.

moto's mock_aws resets every in-process backend when it starts and again when it stops; the emulation's moto server
serves the same backends, so without a guard a unit test run between two e2e tests wipes the deployment.
"""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws
from moto.core.base_backend import BackendDict, backend_lock
from moto.core.models import MockAWS

from emulation.accounts.two_accounts import PROVIDER, TwoAccounts
from tests.e2e.helpers import call

_MOCK_TABLE = "mock-aws-only"
# emulation/accounts/moto_isolation.py reads moto's private state (written against moto 5.2.5, pinned in
# requirements-dev.txt).
_REVISIT = "moto changed a private attribute emulation/accounts/moto_isolation.py relies on: revisit that module"


def _create_mock_table() -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    dynamodb.create_table(
        TableName=_MOCK_TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """An environment in which an in-process boto3 client talks to mock_aws, as the unit tests set it."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_IAM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def test_moto_isolation_mock_aws_started_and_stopped_leaves_running_emulation_answering(
    env: TwoAccounts, aws_env: None
) -> None:
    # GIVEN an item created through the running emulation
    created = call(env, "direct", "POST", "/items", {"name": "outlives mock_aws"})
    assert created.status == 201, created.payload
    # WHEN a unit test's mock_aws starts, creates its own table, and stops
    with mock_aws():
        _create_mock_table()
    # THEN the emulation still signs (IAM and STS state kept), answers, and reads the item from its table
    fetched = call(env, "direct", "GET", f"/items/{created.json()['id']}")
    assert fetched.status == 200, fetched.payload
    assert fetched.json()["name"] == "outlives mock_aws"
    assert call(env, "assume_role", "GET", "/").status == 200
    # AND a redeployment (which rewrites the access role's trust policy in IAM) still finds its role
    assert env.redeploy_provider({}) is True


def test_moto_isolation_running_emulation_is_invisible_inside_mock_aws(env: TwoAccounts, aws_env: None) -> None:
    # GIVEN a running emulation with its table and roles in moto
    assert env.client("dynamodb", PROVIDER).describe_table(TableName=env.names.table_name)
    # WHEN a unit test's mock_aws runs
    with mock_aws():
        _create_mock_table()
        tables = boto3.client("dynamodb", region_name="us-east-1").list_tables()["TableNames"]
        provider_roles = boto3.client("iam", region_name="us-east-1").list_roles()["Roles"]
    # THEN that test sees only what it made itself (moto's fresh world), as mock_aws promises
    assert tables == [_MOCK_TABLE]
    assert all(env.names.access_role_arn != role["Arn"] for role in provider_roles)
    # AND after it the emulation's table is back and the mock's table is gone
    tables_after = env.client("dynamodb", PROVIDER).list_tables()["TableNames"]
    assert env.names.table_name in tables_after
    assert _MOCK_TABLE not in tables_after


def test_moto_isolation_private_moto_state_it_relies_on_is_still_there() -> None:
    # GIVEN the moto installed WHEN its private state is inspected THEN it has the shape moto_isolation uses:
    # the registry of every BackendDict (detached and re-attached with dict's own clear/update) ...
    assert isinstance(BackendDict.__dict__.get("_instances"), list), _REVISIT
    assert issubclass(BackendDict, dict), _REVISIT
    assert all(isinstance(backends, BackendDict) for backends in BackendDict.__dict__["_instances"]), _REVISIT
    # ... the lock moto takes around that registry ...
    assert callable(getattr(backend_lock, "acquire", None)), _REVISIT
    assert callable(getattr(backend_lock, "release", None)), _REVISIT
    # ... and the class-level nesting count that tells the outermost mock_aws
    assert isinstance(MockAWS.__dict__.get("_nested_count"), int), _REVISIT
