"""cfn-lint finds nothing in any deployable variant of the four templates, resolved as CloudFormation deploys them.

Linting a source template checks expressions; here each parameter set is rendered (SAM transform, parameters,
conditions and intrinsics resolved, realistic ids) and the resources it adds are linted as plain CloudFormation, so
every value a combination produces meets the resource schemas (see tests/security/resolved.py for the sets).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cfnlint.config import ConfigMixIn
from cfnlint.decode.decode import decode_str
from cfnlint.runner import Runner

from cfnrender.render import load_template
from tests.security.resolved import REPO, SPECS, combinations, parameter_groups, resolved_variants

# W3010 asks the source to use Fn::GetAZs instead of literal zone names; a resolved template has literal names
# by construction (the source's own lint, in tests/templates, keeps W3010 on).
RESOLVED_ONLY_IGNORED = ["W3010"]


@pytest.fixture(scope="module")
def runner() -> Runner:
    """One cfn-lint runner (its rules load once) with informational rules included."""
    return Runner(ConfigMixIn(regions=["us-east-1"], include_checks=["I"], ignore_checks=RESOLVED_ONLY_IGNORED))


def _lint(runner: Runner, document: dict[str, Any]) -> list[str]:
    template, errors = decode_str(json.dumps(document))
    assert not errors, errors
    return [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path or []))})" for m in runner.validate_template(template)]


@pytest.mark.parametrize("path", sorted(SPECS))
def test_cfn_lint_every_parameter_set_resolved_has_zero_findings(runner: Runner, path: str) -> None:
    # GIVEN every parameter set that gives each resource each reachable assignment of its conditions
    variants = resolved_variants(SPECS[path])
    # WHEN the resources and outputs each set adds are linted as deployed (errors, warnings, informational)
    findings = {index: _lint(runner, document) for index, document in enumerate(variants.documents)}
    # THEN nothing is reported for any of them
    print(  # the counts are the evidence this test gives (pytest -s shows them)
        f"{path}: {variants.parameter_sets} parameter sets rendered (all sample values combined would be "
        f"{variants.full_product}), {variants.resource_count} distinct resolved resources linted"
    )
    assert {i: f for i, f in findings.items() if f} == {}
    assert variants.parameter_sets == len(combinations(SPECS[path]).parameter_sets)


def test_combinations_backend_policy_parameters_vary_together() -> None:
    # GIVEN the provider template, whose resource policy reads five parameters through its conditions
    # (with the certificate path off, as in the grouped sets; its overlays come on top)
    spec = SPECS["api-backend/api-backend.yaml"]
    groups = parameter_groups(load_template(REPO / spec.path), spec.constant_conditions)
    # WHEN the parameters are grouped by the resources whose conditions they reach
    policy = next(g for g in groups if "pAPIAccessList" in g)
    # THEN those five form one group (their full product is rendered) and the stage name varies on its own
    assert policy == {
        "pAPIAccessList",
        "pAllowedPrincipalPatterns",
        "pAllowedOrgID",
        "pAllowedVPCEndpoints",
        "pAssociateVPCEndpoints",
    }
    assert frozenset({"pAPIStageName"}) in groups


def test_combinations_every_group_assignment_appears_in_some_parameter_set() -> None:
    # GIVEN the consumer template's combinations
    plan = combinations(SPECS["api-client/api-client.yaml"])
    # WHEN each group's accepted assignments are looked up among the parameter sets
    missing = [
        assignment
        for assignments in plan.group_assignments
        for assignment in assignments
        if not any(all(s[k] == v for k, v in assignment.items()) for s in plan.parameter_sets)
    ]
    # THEN none is missing: the role, STS, private DNS, account and Powertools-layer (name, ARN, None) choices appear
    # in all 16 x 3 combinations, and each of those once more with an overlay on top (the certificate client's or
    # the private custom domain's)
    assert missing == []
    assert len(plan.parameter_sets) == 48 * 2


def test_combinations_rejected_parameter_values_are_not_rendered() -> None:
    # GIVEN the provider's VPC parameters, which Rules tie together (VPC needs subnets and a prefix list)
    plan = combinations(SPECS["api-backend/api-backend.yaml"])
    vpc_sets = next(a for g, a in zip(plan.groups, plan.group_assignments, strict=True) if "pVPCID" in g)
    # WHEN the accepted assignments are inspected
    attached = [a for a in vpc_sets if a["pVPCID"]]
    # THEN no VPC assignment lacks subnets or the prefix list, and no subnets appear without a VPC
    assert attached
    assert all(a["pLambdaSubnetIDs"] and a["pDynamoDBPrefixListID"] for a in attached)
    assert all(not a["pLambdaSubnetIDs"] for a in vpc_sets if not a["pVPCID"])
