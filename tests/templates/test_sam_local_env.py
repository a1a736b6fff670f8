"""`sam local` passes a function only the variables its template declares: env.json must name no other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cfnrender.render import load_template, render_template
from tests.templates.test_api_client_powertools_layer import BASE as CLIENT_PARAMETERS

REPO = Path(__file__).resolve().parents[2]
SIDES = ("api-backend", "api-client")
LOCAL_ONLY = {
    "api-backend": {"AWS_ENDPOINT_URL_DYNAMODB"},
    "api-client": {"API_CA_BUNDLE", "AWS_CA_BUNDLE", "AWS_ENDPOINT_URL_STS"},
}


def _declared(template: dict[str, Any], logical_id: str) -> set[str]:
    globals_ = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    own = template["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {})
    return set(globals_) | set(own)


@pytest.mark.parametrize("side", SIDES)
def test_env_json_sets_only_variables_the_template_declares(side: str) -> None:
    # GIVEN the side's env.json and its inner template
    env = json.loads((REPO / side / "events" / "env.json").read_text())
    template = load_template(REPO / side / f"{side}.yaml")
    # THEN every function it names exists, and every variable it sets is declared for that function
    for logical_id, variables in env.items():
        assert logical_id in template["Resources"], f"{side}: env.json names unknown function {logical_id}"
        undeclared = set(variables) - _declared(template, logical_id)
        assert not undeclared, f"{side}: {logical_id} does not declare {sorted(undeclared)}; SAM would drop them"


@pytest.mark.parametrize("side", SIDES)
def test_local_only_variables_are_declared_but_never_deployed(side: str) -> None:
    # GIVEN the template as CloudFormation deploys it (provider and consumer parameters as the docs show)
    parameters = {"pPowertoolsLayerArn": "None"}
    if side == "api-client":
        parameters |= CLIENT_PARAMETERS
    rendered = render_template(REPO / side / f"{side}.yaml", parameters)
    functions = rendered.of_type("AWS::Lambda::Function")
    assert functions
    # THEN no deployed function carries a local-only variable (AWS::NoValue removes them)
    for logical_id, function in functions.items():
        deployed = set(function["Properties"].get("Environment", {}).get("Variables", {}))
        assert not deployed & LOCAL_ONLY[side], f"{side}: {logical_id} deploys {sorted(deployed & LOCAL_ONLY[side])}"
    # AND the source template declares each of them, so env.json can set them under sam local
    source = load_template(REPO / side / f"{side}.yaml")
    declared = set().union(
        *(_declared(source, logical_id) for logical_id in functions if logical_id in source["Resources"])
    )
    assert LOCAL_ONLY[side] <= declared
