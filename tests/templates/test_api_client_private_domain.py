"""api-client.yaml's private custom domain client: off changes nothing; on, every combination renders whole."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cfnrender.render import ParameterError, Rendered
from client.config import load_config
from tests.templates.test_api_client_mtls import MTLS_ATTRIBUTES, MTLS_ON
from tests.templates.test_api_client_template import (
    API_HOST,
    ATTRIBUTES,
    COMBINATIONS,
    ENDPOINT_DNS,
    PROVIDER,
    REGION,
    REPO,
    ROLE_ARN,
    Combination,
    render,
    render_with,
)

DOMAIN = "orders.example.com"
DOMAIN_ARN = f"arn:aws:apigateway:{REGION}:{PROVIDER}:/domainnames/{DOMAIN}+a1b2c3d4"
# execute-api's ARN of the same domain: what the endpoint policy must allow for a call through the domain.
DOMAIN_EXECUTE_API_ARN = f"arn:aws:execute-api:{REGION}:{PROVIDER}:/domainnames/{DOMAIN}+a1b2c3d4"
ASSOCIATION_ARN = (
    f"arn:aws:apigateway:{REGION}:222222222222:/domainnameaccessassociations/domainname/{DOMAIN}+a1b2c3d4"
    "/vpcesource/vpce-0123456789abcdef0"
)
DOMAIN_ATTRIBUTES: dict[str, Any] = {
    **ATTRIBUTES,
    "PrivateDomainAccessAssociation.DomainNameAccessAssociationArn": ASSOCIATION_ARN,
}
DOMAIN_ON = {"pPrivateDomainName": DOMAIN, "pPrivateDomainNameArn": DOMAIN_ARN}
NEW_RESOURCES = {
    "PrivateDomainAccessAssociation",
    "PrivateDomainHostedZone",
    "PrivateDomainRecord",
    "rDirectClientDomainPolicy",
}
NEW_OUTPUTS = {"PrivateDomainAccessAssociationArn", "PrivateDomainHostedZoneId"}
ON_CASES = list(itertools.product(["Yes", "No"], ["v1", "None"], COMBINATIONS[:1] + COMBINATIONS[-1:]))


def _render_on(zone: str, base_path: str, combination: Combination) -> Rendered:
    overrides = {**DOMAIN_ON, "pCreatePrivateDomainHostedZone": zone, "pPrivateDomainBasePath": base_path}
    return render_with(combination, DOMAIN_ATTRIBUTES, overrides)


@pytest.fixture(scope="module", params=ON_CASES, ids=lambda c: f"zone{c[0]}-base{c[1]}-{c[2]}")
def on(request: pytest.FixtureRequest) -> tuple[tuple[str, str, Combination], Rendered]:
    """Each on-combination rendered once (a dangling reference would raise here)."""
    return request.param, _render_on(*request.param)


@pytest.mark.parametrize("combination", COMBINATIONS, ids=str)
def test_api_client_private_domain_off_renders_exactly_what_the_defaults_render(combination: Combination) -> None:
    # GIVEN no domain, with the domain's other parameters away from their defaults (they must not matter when off)
    off = render(combination, pPrivateDomainBasePath="None", pCreatePrivateDomainHostedZone="No")

    # WHEN compared with the render that leaves every new parameter at its default
    default = render(combination)

    # THEN resources and outputs are identical, and none of the domain's exists
    assert off.resources == default.resources
    assert off.outputs == default.outputs
    assert NEW_RESOURCES.isdisjoint(default.resources)
    assert NEW_OUTPUTS.isdisjoint(default.outputs)


@pytest.mark.parametrize(
    ("given", "missing"), [(DOMAIN_ON, "pPrivateDomainNameArn"), (DOMAIN_ON, "pPrivateDomainName")]
)
def test_api_client_private_domain_name_and_arn_only_together(given: dict[str, str], missing: str) -> None:
    # GIVEN one of the two domain values left at None
    # WHEN rendered / THEN the template's Rule refuses it, naming the missing one
    with pytest.raises(ParameterError, match=f"needs {missing} "):
        render(COMBINATIONS[0], **{**given, missing: "None"})


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("pPrivateDomainName", "*.example.com"),
        ("pPrivateDomainName", "Orders.Example.com"),
        ("pPrivateDomainName", "https://orders.example.com"),
        ("pPrivateDomainNameArn", f"arn:aws:apigateway:{REGION}::/domainnames/{DOMAIN}"),
        ("pPrivateDomainNameArn", f"arn:aws:apigateway:{REGION}:{PROVIDER}:/domainnames/{DOMAIN}"),
        ("pPrivateDomainBasePath", "/v1"),
        ("pPrivateDomainBasePath", "v1/items"),
        ("pCreatePrivateDomainHostedZone", "true"),
    ],
)
def test_api_client_private_domain_bad_parameter_value_is_rejected(parameter: str, value: str) -> None:
    # GIVEN a domain parameter outside its constraint (wildcard or upper-case name, the creation-form ARN without
    # account or id, a base path with '/')
    # WHEN rendered / THEN CloudFormation's parameter validation refuses it
    with pytest.raises(ParameterError, match=parameter):
        render(COMBINATIONS[0], **{**DOMAIN_ON, parameter: value})


def test_api_client_private_domain_on_creates_its_resources_and_outputs(
    on: tuple[tuple[str, str, Combination], Rendered],
) -> None:
    (zone, _, _), rendered = on
    zone_parts = {"PrivateDomainHostedZone", "PrivateDomainRecord"}
    assert NEW_RESOURCES & set(rendered.resources) == NEW_RESOURCES - (set() if zone == "Yes" else zone_parts)
    assert NEW_OUTPUTS & set(rendered.outputs) == NEW_OUTPUTS - (
        set() if zone == "Yes" else {"PrivateDomainHostedZoneId"}
    )
    assert rendered.outputs["PrivateDomainAccessAssociationArn"] == ASSOCIATION_ARN


def test_api_client_private_domain_association_joins_this_endpoint_to_the_domain(
    on: tuple[tuple[str, str, Combination], Rendered],
) -> None:
    _, rendered = on
    association = rendered.resources["PrivateDomainAccessAssociation"]["Properties"]
    assert association == {
        "DomainNameArn": DOMAIN_ARN,
        "AccessAssociationSource": "vpce-0123456789abcdef0",
        "AccessAssociationSourceType": "VPCE",
    }


def test_api_client_private_domain_endpoint_policy_allows_the_api_stage_and_the_domain_only(
    on: tuple[tuple[str, str, Combination], Rendered],
) -> None:
    # GIVEN the execute-api endpoint with a domain configured
    (_, _, combination), rendered = on
    statements = rendered.resources["rAPIGatewayEndpoint"]["Properties"]["PolicyDocument"]["Statement"]
    # THEN it allows Invoke on the API's stage (unchanged) and on execute-api's ARN of the domain, nothing else
    assert [(s["Sid"], s["Effect"], s["Principal"], s["Action"], s["Resource"]) for s in statements] == [
        ("InvokeProviderAPIOnly", "Allow", "*", "execute-api:Invoke", combination.api_arn),
        ("InvokeProviderDomainOnly", "Allow", "*", "execute-api:Invoke", DOMAIN_EXECUTE_API_ARN),
    ]


def test_api_client_private_domain_hosted_zone_aliases_the_name_to_the_endpoint(
    on: tuple[tuple[str, str, Combination], Rendered],
) -> None:
    (zone, _, _), rendered = on
    if zone == "No":
        assert "PrivateDomainHostedZone" not in rendered.resources
        return
    hosted = rendered.resources["PrivateDomainHostedZone"]["Properties"]
    assert (hosted["Name"], hosted["VPCs"]) == (DOMAIN, [{"VPCId": "vpc-0abc", "VPCRegion": REGION}])
    record = rendered.resources["PrivateDomainRecord"]["Properties"]
    assert (record["HostedZoneId"], record["Name"], record["Type"]) == ("PrivateDomainHostedZone", DOMAIN, "A")
    assert record["AliasTarget"] == {
        "DNSName": ENDPOINT_DNS,
        "HostedZoneId": "Z7HUB22UULQXV",
        "EvaluateTargetHealth": False,
    }


def test_api_client_private_domain_function_env_is_a_valid_domain_configuration(
    on: tuple[tuple[str, str, Combination], Rendered],
) -> None:
    # GIVEN one on-combination
    (zone, base_path, combination), rendered = on
    # The name resolves to the endpoint through this stack's zone, or (no zone) as the parameter says it already
    # does; only with neither the zone nor private DNS do the clients connect to the endpoint's own name.
    connects_to_endpoint = zone == "No" and combination.private_dns == "False"
    for logical_id, function in rendered.of_type("AWS::Lambda::Function").items():
        env = {**function["Properties"]["Environment"]["Variables"], "AWS_REGION": REGION}
        # WHEN the client loads the variables the template sets
        config = load_config(env, needs_role=logical_id == "rPythonAssumeRoleClient")
        # THEN it signs and sends the domain as Host, prefixes the base path (nothing for a root mapping)
        assert (config.api_host, config.api_prefix) == (DOMAIN, "" if base_path == "None" else f"/{base_path}")
        assert config.endpoint == (f"https://{ENDPOINT_DNS}" if connects_to_endpoint else f"https://{DOMAIN}")


@pytest.mark.parametrize("combination", COMBINATIONS[:1] + COMBINATIONS[-1:], ids=str)
def test_api_client_private_domain_leaves_roles_and_the_rest_unchanged(combination: Combination) -> None:
    # GIVEN the same combination without and with the domain
    off = render(combination)
    on = _render_on("Yes", "v1", combination)
    # THEN every resource but the endpoint and the functions (policy statement, env) is identical, the roles included
    changed = {name for name in off.resources if off.resources[name] != on.resources[name]}
    assert changed == {"rAPIGatewayEndpoint"} | set(off.of_type("AWS::Lambda::Function"))
    assert set(on.resources) - set(off.resources) == NEW_RESOURCES
    # AND the direct client's role gains Invoke on the domain in a policy of its own (no AWS page says whether a
    # cross-account caller's identity policy is checked against the domain's ARN as well as the API's); the
    # assume-role client signs as the provider's role, in the domain's own account
    policy = on.resources["rDirectClientDomainPolicy"]["Properties"]
    assert policy["Roles"] == ["rPythonDirectAuthClientRole"]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "InvokeProviderDomain",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"arn:aws:execute-api:{REGION}:{DOMAIN_ARN.split(':')[4]}:{DOMAIN_ARN.split(':')[5]}",
        }
    ]


def test_api_client_private_domain_with_the_certificate_client_keeps_its_host() -> None:
    # GIVEN the certificate (mTLS) client and the domain both on
    rendered = render_with(COMBINATIONS[0], {**MTLS_ATTRIBUTES, **DOMAIN_ATTRIBUTES}, {**MTLS_ON, **DOMAIN_ON})
    function = rendered.resources["PythonCertificateClient"]["Properties"]
    config = load_config({**function["Environment"]["Variables"], "AWS_REGION": REGION})
    # THEN the certificate client still sends the API's own host (its load balancer routes on it), not the domain
    assert (config.api_host, config.api_prefix) == (API_HOST, "/Prod/mtls")
    direct = rendered.resources["rPythonDirectAuthClient"]["Properties"]["Environment"]["Variables"]
    assert direct["API_HOST"] == DOMAIN


@pytest.mark.slow  # cfn-lint takes seconds per run
@pytest.mark.parametrize("template", ["api-client/api-client.yaml", "api-client/vpc-api-client.yaml"])
@pytest.mark.parametrize("base_path", ["v1", "None"])
def test_api_client_private_domain_on_cfn_lint_has_zero_findings(template: str, base_path: str) -> None:
    # GIVEN the consumer templates with the domain on (and the certificate client, so both paths meet)
    parameters = [f"{name}={value}" for name, value in {**DOMAIN_ON, **MTLS_ON}.items()]
    parameters += [f"pPrivateDomainBasePath={base_path}", f"pAPIHost={API_HOST}", f"pAPIRoleARN={ROLE_ARN}"]
    if template.endswith("/api-client.yaml"):
        parameters += ["pVPCID=vpc-0abc", "pDNSServerCIDR=10.1.0.2/32", "pEnablePrivateDNS=False"]
        parameters += ["pLambdaSubnetIDs=subnet-0a1,subnet-0a2", "pEndpointSubnetIDs=subnet-0b1,subnet-0b2"]
    # WHEN cfn-lint checks it with those values
    completed = subprocess.run(  # noqa: S603 - fixed tool from this virtualenv
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--regions",
            REGION,
            "--parameters",
            *parameters,
            "--",
            template,
        ],
        cwd=REPO,
        env={**os.environ, "AWS_DEFAULT_REGION": REGION},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # THEN there is no finding of any level
    assert completed.stdout.strip() == ""
    assert completed.returncode == 0, completed.stderr
