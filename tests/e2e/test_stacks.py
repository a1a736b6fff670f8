"""Rendering the real templates with realistic physical ids, and reading the deployable pieces out of them."""

from __future__ import annotations

import random
import re

import pytest

from cfnrender.stacks import Stack, create_table_request, generate_ids
from emulation.accounts.two_accounts import BACKEND_TEMPLATE, CLIENT_TEMPLATE

PROVIDER = "111111111111"


@pytest.fixture(scope="module")
def provider() -> Stack:
    """The provider template rendered with default parameters and generated ids."""
    ids = generate_ids(BACKEND_TEMPLATE, stack="private-api-backend", account=PROVIDER, region="us-east-1")
    return Stack.deploy(
        BACKEND_TEMPLATE, name="private-api-backend", account=PROVIDER, region="us-east-1", ids=ids, parameters={}
    )


def test_generate_ids_client_template_has_realistic_formats() -> None:
    # GIVEN the consumer template
    # WHEN ids are generated for it
    ids = generate_ids(CLIENT_TEMPLATE, stack="private-api-client", account="222222222222", region="us-east-1")
    # THEN endpoints, groups and roles look like AWS's, and role names fit IAM's 64 characters
    assert re.fullmatch(r"vpce-0[0-9a-f]{16}", ids.physical_ids["rAPIGatewayEndpoint"])
    assert re.fullmatch(r"sg-0[0-9a-f]{16}", ids.physical_ids["rAPIClientSecurityGroup"])
    role = ids.physical_ids["rPythonDirectAuthClientRole"]
    assert len(role) <= 64
    assert ids.attributes["rPythonDirectAuthClientRole.Arn"] == f"arn:aws:iam::222222222222:role/{role}"
    name = ids.attributes["rAPIGatewayEndpoint.DnsEntries"][0].split(":")[1]
    assert name.endswith(".execute-api.us-east-1.vpce.amazonaws.com")


def test_generate_ids_same_seed_same_ids() -> None:
    # GIVEN two generators seeded alike
    # WHEN both name the provider template
    first = generate_ids(BACKEND_TEMPLATE, stack="s", account=PROVIDER, region="us-east-1", rng=random.Random(3))
    second = generate_ids(BACKEND_TEMPLATE, stack="s", account=PROVIDER, region="us-east-1", rng=random.Random(3))
    # THEN the ids are identical (repeatable demo runs)
    assert first == second
    assert re.fullmatch(r"[a-z0-9]{10}", first.physical_ids["BackendApi"])


def test_stack_access_role_carries_its_separate_policy_resource(provider: Stack) -> None:
    # GIVEN the provider stack (ApiAccessPolicy is an AWS::IAM::Policy attached to ApiAccessRole)
    # WHEN its roles are read
    role = next(r for r in provider.roles() if r.logical_id == "ApiAccessRole")
    # THEN the role has that policy, scoped to this API
    statement = role.inline_policies["invoke-private-api"]["Statement"][0]
    api_id = provider.physical_id("BackendApi")
    assert statement["Resource"] == f"arn:aws:execute-api:us-east-1:{PROVIDER}:{api_id}/*"
    assert role.trust_policy["Statement"][0]["Principal"]["AWS"] == f"arn:aws:iam::{PROVIDER}:root"


def test_stack_api_reads_policy_stage_and_integration_from_definition(provider: Stack) -> None:
    # GIVEN the provider stack
    # WHEN its API is read
    api = provider.api()
    # THEN the resource policy names the access role, the stage and the backend integration are found
    allow = api.resource_policy["Statement"][0]  # type: ignore[index]
    assert allow["Principal"]["AWS"] == provider.attribute("ApiAccessRole", "Arn")
    assert (api.stage, api.always_deploy) == ("Prod", True)
    assert api.integration_arns == (provider.attribute("BackendFunction", "Arn"),)
    assert api.access_log_format is not None
    assert '"vpceId":"$context.identity.vpceId"' in api.access_log_format


def test_create_table_request_maps_rendered_table(provider: Stack) -> None:
    # GIVEN the rendered items table
    name, properties = provider.table()
    # WHEN it becomes a CreateTable call
    request = create_table_request(name, properties)
    # THEN keys, billing and encryption carry over in CreateTable's names
    assert request["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert request["BillingMode"] == "PAY_PER_REQUEST"
    assert request["SSESpecification"]["Enabled"] is True
    assert request["SSESpecification"]["SSEType"] == "KMS"


def test_create_table_request_unknown_property_fails_loudly() -> None:
    # GIVEN a table property the emulation does not know
    # WHEN the call is built
    # THEN it refuses rather than silently dropping it
    with pytest.raises(ValueError, match="property ImportSourceSpecification is not emulated"):
        create_table_request("t", {"ImportSourceSpecification": {}})
