"""api-backend.yaml traffic limits: the stage's throttling and a WAF rate rule sized for a fleet behind shared ENIs."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pytest

from cfnrender.render import ParameterError, Rendered, render_template

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "api-backend" / "api-backend.yaml"
PARENT = ROOT / "api-backend" / "vpc-api-backend.yaml"
PREFIX_LIST = "pl-02cd2c6b"
PARENT_ATTRIBUTES = {"VPC.CidrBlock": "10.0.0.0/16"}
PARENT_IDS = {
    "VPC": "vpc-0a1b2c3d4e5f60718",
    "PrivateSubnet1": "subnet-0000000000000aaa1",
    "PrivateSubnet2": "subnet-0000000000000aaa2",
    "PrivateRouteTable": "rtb-0a1b2c3d4e5f60718",
}
# AWS WAF rate-based rules count over EvaluationWindowSec (60, 120, 300 or 600 s; 300 by default).
DEFAULT_WINDOW_SECONDS = 300


@functools.cache
def render(**parameters: str) -> Rendered:
    """api-backend.yaml rendered for one parameter set."""
    return render_template(BACKEND, parameters)


def stage_throttling(result: Rendered) -> tuple[float, float]:
    """(rate, burst) of the stage's catch-all method setting."""
    settings = result.one("AWS::ApiGateway::Stage")["Properties"]["MethodSettings"]
    (catch_all,) = [s for s in settings if (s["ResourcePath"], s["HttpMethod"]) == ("/*", "*")]
    return float(catch_all["ThrottlingRateLimit"]), float(catch_all["ThrottlingBurstLimit"])


def rate_rule(result: Rendered) -> dict[str, Any]:
    """The WAF rate-based statement of the web ACL."""
    rules = result.resources["WebACL"]["Properties"]["Rules"]
    (statement,) = [r["Statement"]["RateBasedStatement"] for r in rules if "RateBasedStatement" in r["Statement"]]
    return statement


def test_render_defaults_waf_rate_limit_lets_a_whole_fleet_from_one_address_use_the_full_stage_rate():
    # GIVEN the defaults, and a consumer fleet whose every request WAF sees from ONE address (shared Hyperplane ENIs
    # and the endpoint rewriting the source: the worst case)
    result = render()
    rate, burst = stage_throttling(result)
    rule = rate_rule(result)

    # WHEN the fleet sends the most the stage lets through in one evaluation window
    window = int(rule.get("EvaluationWindowSec", DEFAULT_WINDOW_SECONDS))
    stage_allows = rate * window + burst

    # THEN the WAF rule still lets all of it through: it is a ceiling for a runaway client, not a per-caller quota
    assert rule["AggregateKeyType"] == "IP"
    assert int(rule["Limit"]) > stage_allows


def test_render_throttling_parameters_reach_the_stage_method_settings():
    # GIVEN a provider that raises the stage's throttling
    result = render(pThrottlingRateLimit="200", pThrottlingBurstLimit="400", pWAFRateLimit="100000")

    # WHEN the stage is read
    rate, burst = stage_throttling(result)

    # THEN every method is throttled at the given rate and burst, and WAF counts at the given limit
    assert (rate, burst) == (200, 400)
    assert int(rate_rule(result)["Limit"]) == 100000


def test_render_waf_rate_limit_accepts_the_aws_minimum_of_ten():
    # GIVEN AWS WAF's lowest rate limit (10 per window)
    # WHEN the template is rendered with it
    result = render(pWAFRateLimit="10")

    # THEN the rule carries it
    assert int(rate_rule(result)["Limit"]) == 10


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ({"pThrottlingRateLimit": "0"}, "pThrottlingRateLimit: 0 is below"),
        ({"pThrottlingRateLimit": "10001"}, "pThrottlingRateLimit: 10001 is above"),
        ({"pThrottlingRateLimit": "fast"}, "pThrottlingRateLimit: 'fast' is not a number"),
        ({"pThrottlingBurstLimit": "0"}, "pThrottlingBurstLimit: 0 is below"),
        ({"pThrottlingBurstLimit": "5001"}, "pThrottlingBurstLimit: 5001 is above"),
        ({"pWAFRateLimit": "9"}, "pWAFRateLimit: 9 is below"),
        ({"pWAFRateLimit": "2000000001"}, "pWAFRateLimit: 2000000001 is above"),
    ],
)
def test_render_traffic_limits_out_of_range_rejected_before_deploy(parameters, reason):
    # GIVEN a limit outside what API Gateway's account quota or AWS WAF accept
    # WHEN the template is rendered with it
    with pytest.raises(ParameterError) as raised:
        render_template(BACKEND, parameters)

    # THEN the parameter's own constraint refuses it
    assert reason in str(raised.value)


def test_vpc_template_passes_traffic_limits_to_the_nested_stack():
    # GIVEN the VPC variant with non-default limits
    parent = render_template(
        PARENT,
        {
            "pDynamoDBPrefixListID": PREFIX_LIST,
            "pThrottlingRateLimit": "120",
            "pThrottlingBurstLimit": "240",
            "pWAFRateLimit": "50000",
        },
        physical_ids=PARENT_IDS,
        attributes=PARENT_ATTRIBUTES,
    )

    # WHEN the nested stack's parameters are read and the child rendered with them
    passed = parent.one("AWS::CloudFormation::Stack")["Properties"]["Parameters"]
    child = render_template(BACKEND, passed)

    # THEN the child's stage and WAF rule use them
    assert stage_throttling(child) == (120, 240)
    assert int(rate_rule(child)["Limit"]) == 50000


def test_vpc_template_traffic_limit_defaults_match_the_nested_template():
    # GIVEN both templates' parameter sections
    parent = render_template(PARENT, {"pDynamoDBPrefixListID": PREFIX_LIST}, attributes=PARENT_ATTRIBUTES).parameters
    child = render().parameters

    # WHEN the traffic limits are compared
    names = ("pThrottlingRateLimit", "pThrottlingBurstLimit", "pWAFRateLimit")

    # THEN a VPC deployment gets the same limits as a plain one
    assert {n: parent[n] for n in names} == {n: child[n] for n in names}
