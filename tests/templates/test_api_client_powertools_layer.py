"""api-client.yaml's Powertools layer: an SSM parameter name, a layer version ARN, or None (Powertools bundled)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

from cfnrender.render import ParameterError, RenderError, render_template

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "api-client" / "api-client.yaml"
PARENT = ROOT / "api-client" / "vpc-api-client.yaml"
REGION = "eu-west-1"
PUBLIC_PARAMETER = "/aws/service/powertools/python/arm64/python3.14/latest"
PUBLISHED_LAYER = re.compile(
    rf"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:\d+"
)
PINNED = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:7"
FUNCTIONS = ("rPythonDirectAuthClient", "rPythonAssumeRoleClient")
BASE = {
    "pAPIHost": f"abc123defg.execute-api.{REGION}.amazonaws.com",
    "pAPIAccountID": "111111111111",
    "pAPIRoleARN": "arn:aws:iam::111111111111:role/private-api-backend-APIAccessRole",
    "pVPCID": "vpc-0abc",
    "pLambdaSubnetIDs": "subnet-0a1,subnet-0a2",
    "pEndpointSubnetIDs": "subnet-0b1,subnet-0b2",
    "pDNSServerCIDR": "10.1.0.2/32",
}


def layers(**overrides: Any) -> list[list[Any]]:
    """Each client function's Layers as CloudFormation would create it (absent = no layer)."""
    ssm = overrides.pop("ssm_parameters", None)
    extra = {"ssm_parameters": ssm} if ssm is not None else {}
    rendered = render_template(CLIENT, {**BASE, **overrides}, region=REGION, **extra)
    return [rendered.resources[name]["Properties"].get("Layers", []) for name in FUNCTIONS]


def test_render_client_powertools_default_ssm_name_resolves_to_the_published_layer_version():
    # GIVEN the default: the SSM parameter AWS publishes the latest Powertools layer under
    # WHEN the functions are rendered as CloudFormation deploys them
    found = layers()
    # THEN each layer is the parameter's value (a layer version ARN), resolved by a dynamic reference at deploy time
    assert all(len(each) == 1 and PUBLISHED_LAYER.fullmatch(each[0]) for each in found), found


def test_render_client_powertools_layer_version_arn_is_used_as_is():
    # GIVEN a pinned layer version ARN: nothing reads SSM, so it works in any region that has the layer
    assert layers(pPowertoolsLayerArn=PINNED) == [[PINNED], [PINNED]]


def test_render_client_powertools_none_deploys_without_a_layer():
    # GIVEN None (Powertools bundled into the code zip by build-client.sh --bundle-powertools)
    # THEN no function has a layer, so no region needs the published layer or its SSM parameter
    assert layers(pPowertoolsLayerArn="None") == [[], []]


def test_render_client_powertools_ssm_name_missing_in_the_region_fails_the_deploy():
    # GIVEN an SSM parameter name that does not exist in the target region
    # THEN it cannot deploy, as CloudFormation fails to resolve the dynamic reference
    with pytest.raises(RenderError, match="/my-team/powertools-layer"):
        layers(pPowertoolsLayerArn="/my-team/powertools-layer")


def test_render_client_powertools_own_ssm_parameter_resolves_from_the_accounts_parameter_store():
    found = layers(
        pPowertoolsLayerArn="/my-team/powertools-layer", ssm_parameters={"/my-team/powertools-layer": PINNED}
    )
    assert found == [[PINNED], [PINNED]]


@pytest.mark.parametrize("value", ["none", "arn:aws:lambda:eu-west-1:017000801446:layer:x", "latest"])
def test_render_client_powertools_value_neither_name_arn_nor_none_rejected(value: str) -> None:
    with pytest.raises(ParameterError, match="pPowertoolsLayerArn"):
        layers(pPowertoolsLayerArn=value)


@pytest.mark.parametrize("value", [PUBLIC_PARAMETER, PINNED, "None"])
def test_vpc_client_template_passes_each_powertools_form_to_the_nested_stack_unresolved(value: str) -> None:
    # GIVEN the VPC variant with one of the three forms
    parent = render_template(
        PARENT,
        {
            "pAPIHost": BASE["pAPIHost"],
            "pAPIAccountID": BASE["pAPIAccountID"],
            "pAPIRoleARN": BASE["pAPIRoleARN"],
            "pPowertoolsLayerArn": value,
        },
        region=REGION,
        attributes={"rVPC.CidrBlock": "10.1.0.0/16"},
    )
    passed = parent.one("AWS::CloudFormation::Stack")["Properties"]["Parameters"]["pPowertoolsLayerArn"]
    # THEN the child receives the value as given (it resolves a name itself)
    assert passed == value


@pytest.mark.parametrize(("value", "expected"), [(PINNED, [PINNED]), ("None", [])])
def test_sam_local_invoke_client_takes_a_layer_arn_or_none_from_parameter_overrides(
    value: str, expected: list[str]
) -> None:
    # GIVEN sam local invoke, which cannot resolve SSM (aws-sam-cli#2743), given the layer ARN or None by override
    stacks, _ = SamLocalStackProvider.get_stacks(
        str(CLIENT), parameter_overrides={**BASE, "pPowertoolsLayerArn": value}
    )
    for name in FUNCTIONS:
        function = SamFunctionProvider(stacks).get(name)
        assert function is not None
        # THEN SAM CLI uses the ARN as is, and no layer at all for None
        assert [layer.arn for layer in function.layers] == expected
