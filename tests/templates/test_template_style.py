"""The four templates share one layout: section order, parameter key order and a why-comment on every resource."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cfnrender.render import load_template

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = [
    "api-backend/api-backend.yaml",
    "api-backend/vpc-api-backend.yaml",
    "api-client/api-client.yaml",
    "api-client/vpc-api-client.yaml",
]
SECTION_ORDER = [
    "Transform",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Globals",
    "Resources",
    "Outputs",
]
PARAMETER_KEY_ORDER = [
    "Type",
    "Default",
    "MinValue",
    "MaxValue",
    "MinLength",
    "MaxLength",
    "AllowedPattern",
    "AllowedValues",
    "ConstraintDescription",
    "Description",
    "NoEcho",
]


@pytest.mark.parametrize("path", TEMPLATES)
def test_template_sections_follow_the_style_guide_order(path: str) -> None:
    # GIVEN a template
    template = load_template(REPO / path)
    # WHEN its top-level sections are read in file order
    sections = list(template)
    # THEN each is a known section and they appear in the style guide's order
    assert set(sections) <= set(SECTION_ORDER)
    assert sections == sorted(sections, key=SECTION_ORDER.index)


@pytest.mark.parametrize("path", TEMPLATES)
def test_template_parameters_list_their_keys_in_one_order(path: str) -> None:
    # GIVEN a template's parameters
    parameters = load_template(REPO / path)["Parameters"]
    for name, parameter in parameters.items():
        # WHEN a parameter's keys are read in file order
        keys = list(parameter)
        # THEN they follow the shared order (type, default, constraint, its description, then the description)
        assert keys == sorted(keys, key=PARAMETER_KEY_ORDER.index), name


@pytest.mark.parametrize("path", TEMPLATES)
def test_template_every_resource_has_a_comment_above_it(path: str) -> None:
    # GIVEN a template's text and its resources
    lines = (REPO / path).read_text(encoding="utf-8").splitlines()
    resources = load_template(REPO / path)["Resources"]
    for logical_id in resources:
        # WHEN the line above the resource's key is read
        index = lines.index(f"  {logical_id}:")
        # THEN it is a comment saying why the resource exists
        assert re.match(r"^  # \S", lines[index - 1]), logical_id


def test_vpc_templates_name_the_three_az_condition_alike() -> None:
    # GIVEN both VPC templates (their AZ-count parameters differ by name: pSubnetCount and pNumberOfAZs)
    conditions = [load_template(REPO / path)["Conditions"] for path in TEMPLATES if "/vpc-" in path]
    # WHEN their conditions are read
    # THEN both call the three-AZ case the same
    assert all("HasThreeAZs" in c for c in conditions)
