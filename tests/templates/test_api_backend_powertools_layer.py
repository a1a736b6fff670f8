"""api-backend.yaml's Powertools layer: an SSM parameter name, a layer version ARN, or None (Powertools bundled)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from samcli.lib.providers.sam_function_provider import SamFunctionProvider
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider

from cfnrender.render import ParameterError, RenderError, render_template

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "api-backend" / "api-backend.yaml"
PARENT = ROOT / "api-backend" / "vpc-api-backend.yaml"
REGION = "eu-west-1"
PUBLIC_PARAMETER = "/aws/service/powertools/python/arm64/python3.14/latest"
PUBLISHED_LAYER = re.compile(
    rf"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:\d+"
)
PINNED = f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:7"


def layers(**parameters: str) -> list[Any]:
    """The backend function's Layers as CloudFormation would create the function (absent = no layer)."""
    rendered = render_template(BACKEND, parameters, region=REGION)
    return rendered.resources["BackendFunction"]["Properties"].get("Layers", [])


def test_render_powertools_default_ssm_name_resolves_to_the_published_layer_version():
    # GIVEN the default: the SSM parameter AWS publishes the latest Powertools layer under
    # WHEN the function is rendered as CloudFormation deploys it
    found = layers()

    # THEN the layer is the parameter's value (a layer version ARN), never the parameter name
    assert len(found) == 1
    assert PUBLISHED_LAYER.fullmatch(found[0]), found


def test_render_powertools_layer_version_arn_is_used_as_is():
    # GIVEN a pinned layer version ARN (e.g. the value the SSM parameter had when tested)
    # WHEN the function is rendered
    # THEN that exact version is the layer: nothing tries to read it from SSM
    assert layers(pPowertoolsLayerArn=PINNED) == [PINNED]


def test_render_powertools_none_deploys_without_a_layer():
    # GIVEN None: Powertools is bundled in the code zip (build-backend.sh --bundle-powertools)
    # WHEN the function is rendered
    # THEN it has no layer, so no region needs the published layer or its SSM parameter
    assert layers(pPowertoolsLayerArn="None") == []


def test_render_powertools_ssm_name_missing_in_the_region_fails_the_deploy():
    # GIVEN an SSM parameter name that does not exist in the target region
    # WHEN the stack is rendered
    # THEN it cannot deploy, as CloudFormation fails to resolve the dynamic reference
    with pytest.raises(RenderError, match="/my-team/powertools-layer"):
        layers(pPowertoolsLayerArn="/my-team/powertools-layer")


def test_render_powertools_own_ssm_parameter_resolves_from_the_accounts_parameter_store():
    # GIVEN a team's own SSM parameter holding a layer version ARN
    rendered = render_template(
        BACKEND,
        {"pPowertoolsLayerArn": "/my-team/powertools-layer"},
        region=REGION,
        ssm_parameters={"/my-team/powertools-layer": PINNED},
    )

    # WHEN the function is read
    # THEN its layer is that parameter's value
    assert rendered.resources["BackendFunction"]["Properties"]["Layers"] == [PINNED]


@pytest.mark.parametrize("value", ["none", "arn:aws:lambda:eu-west-1:017000801446:layer:x", "latest", "{{resolve}}"])
def test_render_powertools_value_neither_name_arn_nor_none_rejected(value):
    # GIVEN a value of none of the three forms
    # WHEN the template is rendered with it
    # THEN the parameter's pattern refuses it before anything is created
    with pytest.raises(ParameterError, match="pPowertoolsLayerArn"):
        layers(pPowertoolsLayerArn=value)


@pytest.mark.parametrize("value", [PUBLIC_PARAMETER, PINNED, "None"])
def test_vpc_template_passes_each_powertools_form_to_the_nested_stack_unresolved(value):
    # GIVEN the VPC variant with one of the three forms
    parent = render_template(
        PARENT,
        {"pDynamoDBPrefixListID": "pl-02cd2c6b", "pPowertoolsLayerArn": value},
        region=REGION,
        attributes={"VPC.CidrBlock": "10.0.0.0/16"},
    )

    # WHEN the nested stack's parameter is read
    passed = parent.one("AWS::CloudFormation::Stack")["Properties"]["Parameters"]["pPowertoolsLayerArn"]

    # THEN the child receives the value as given (it resolves a name itself)
    assert passed == value


def sam_local_layers(template: Path, overrides: dict[str, str]) -> list[str]:
    """The layers `sam local invoke` would download for the backend function (SAM CLI's own template reader)."""
    stacks, _ = SamLocalStackProvider.get_stacks(str(template), parameter_overrides=overrides)
    function = SamFunctionProvider(stacks).get("BackendFunction")
    assert function is not None
    return [layer.arn for layer in function.layers]


@pytest.mark.parametrize(("value", "expected"), [(PINNED, [PINNED]), ("None", [])])
def test_sam_local_invoke_takes_a_layer_arn_or_none_from_parameter_overrides(value, expected):
    # GIVEN sam local invoke, which cannot resolve SSM (aws-sam-cli#2743), given the layer ARN or None by override
    # WHEN SAM CLI reads the backend function's layers
    # THEN it uses the ARN as is, and no layer at all for None
    assert sam_local_layers(BACKEND, {"pPowertoolsLayerArn": value}) == expected
