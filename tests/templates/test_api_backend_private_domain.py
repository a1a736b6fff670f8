"""api-backend.yaml's private custom domain name (issue 17, docs/private-domain.md): off by default, right when on."""

from __future__ import annotations

import copy
import functools
import itertools
import random
import re
from pathlib import Path
from typing import Any

import pytest

from cfnrender.render import ParameterError, Rendered, load_template, render_template
from cfnrender.stacks import StackIds, generate_ids
from tests.templates.test_api_backend_mtls import walk

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "api-backend" / "api-backend.yaml"
PARENT = ROOT / "api-backend" / "vpc-api-backend.yaml"
ACCOUNT = "111111111111"
CONSUMER = "222222222222"
REGION = "us-east-1"
STACK = "private-api-backend"
NAME = "api.partner.example.com"
CERTIFICATE = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/1a2b3c4d-5e6f-7081-9203-b4c5d6e7f809"
ORGANIZATION = f"arn:aws:organizations::{ACCOUNT}:organization/o-a1b2c3d4e5"
ENDPOINTS = "vpce-0a1b2c3d4e5f60718,vpce-0f1e2d3c4b5a69788"
DOMAIN = {"pEnablePrivateDomain": "Yes", "pPrivateDomainName": NAME, "pPrivateDomainCertificateArn": CERTIFICATE}
SHARES = {"no-share": "None", "account": CONSUMER, "account-and-org": f"{CONSUMER},{ORGANIZATION}"}
BASES = {"v1": "v1", "root": "None"}
# on x share/no share x base path/root, each with and without an endpoint list
ON_SETS = {
    f"{share}-{base}-endpoints-{listed}": {
        **DOMAIN,
        "pPrivateDomainSharePrincipals": SHARES[share],
        "pPrivateDomainBasePath": BASES[base],
        "pAllowedVPCEndpoints": ENDPOINTS if listed == "yes" else "None",
    }
    for share, base, listed in itertools.product(SHARES, BASES, ["yes", "no"])
}
DOMAIN_RESOURCES = {"PrivateDomainName", "PrivateDomainBasePathMapping"}
DOMAIN_OUTPUTS = {"PrivateDomainNameArn", "PrivateDomainNameId", "PrivateDomainURL"}
PERMISSION = "arn:aws:ram::aws:permission/APIGatewayPrivateDomainNameManagementPolicyDefaultPermission"
VPC = {
    "pVPCID": "vpc-0a1b2c3d4e5f60718",
    "pLambdaSubnetIDs": "subnet-0a1b2c3d4e5f60718,subnet-0f1e2d3c4b5a69788",
    "pDynamoDBPrefixListID": "pl-02cd2c6b",
}
MTLS = {
    **VPC,
    "pEnableMtls": "Yes",
    "pMtlsTrustStoreBucket": "provider-artifacts",
    "pMtlsCABundleKey": "mtls/ca.pem",
    "pMtlsServerCertificateArn": CERTIFICATE,
    "pMtlsAllowedPrincipals": f"arn:aws:iam::{CONSUMER}:root",
    "pMtlsAllowedClients": "acme:CN=client.acme.example,O=Acme",
}


@functools.cache
def source() -> dict[str, Any]:
    return load_template(BACKEND)


@functools.cache
def ids() -> StackIds:
    return generate_ids(BACKEND, stack=STACK, account=ACCOUNT, region=REGION, rng=random.Random(17), parameters=DOMAIN)


def render(parameters: dict[str, str]) -> Rendered:
    return render_template(
        copy.deepcopy(source()),
        parameters,
        account_id=ACCOUNT,
        region=REGION,
        stack_name=STACK,
        physical_ids=ids().physical_ids,
        attributes=ids().attributes,
    )


@functools.cache
def rendered_on(name: str) -> Rendered:
    return render(ON_SETS[name])


def _statements(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def api_policy(result: Rendered) -> dict[str, Any]:
    return result.resources["BackendApi"]["Properties"]["Body"]["x-amazon-apigateway-policy"]  # type: ignore[no-any-return]


def domain_policy(result: Rendered) -> dict[str, Any]:
    return result.resources["PrivateDomainName"]["Properties"]["Policy"]  # type: ignore[no-any-return]


def variables(result: Rendered) -> dict[str, str]:
    return result.resources["BackendFunction"]["Properties"]["Environment"]["Variables"]  # type: ignore[no-any-return]


def deployments(result: Rendered) -> set[str]:
    return {rid for rid, r in result.resources.items() if r["Type"] == "AWS::ApiGateway::Deployment"}


def _domain_ids(result: Rendered) -> set[str]:
    return {rid for rid in result.resources if rid.startswith("PrivateDomain")}


# --- off ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "parameters",
    [{}, {"pAllowedVPCEndpoints": ENDPOINTS}, MTLS, {"pPrivateDomainName": NAME, "pPrivateDomainBasePath": "v2"}],
    ids=["defaults", "endpoints", "mtls", "values-without-switch"],
)
def test_private_domain_off_renders_exactly_the_resources_without_it(parameters: dict[str, str]) -> None:
    # GIVEN the template with the domain switch off (values set or not), and the same set with it on
    off = render(parameters)
    on = render({**parameters, **DOMAIN, "pPrivateDomainSharePrincipals": CONSUMER})
    # THEN off has no domain resource or output, the function's base path is empty, and every other resource is the
    # one the "on" render has (the domain adds resources and one variable, it changes nothing else)
    assert _domain_ids(off) == set()
    assert not {o for o in off.outputs if o.startswith("PrivateDomain")}
    assert variables(off)["DOMAIN_BASE_PATH"] == ""
    # (AlwaysDeploy names the deployment anew on each render: only their count is compared)
    assert len(deployments(off)) == len(deployments(on)) == 1
    assert set(off.resources) - deployments(off) == set(on.resources) - _domain_ids(on) - deployments(on)
    for logical_id in set(off.resources) - {"BackendFunction"} - deployments(off):
        if logical_id.startswith("BackendApiStage") or logical_id.endswith("Permission"):
            continue  # name the per-render deployment id / stage
        assert off.resources[logical_id] == on.resources[logical_id], logical_id
    on_variables = dict(variables(on))
    assert on_variables.pop("DOMAIN_BASE_PATH") == "/" + parameters.get("pPrivateDomainBasePath", "v1")
    assert {k: v for k, v in variables(off).items() if k != "DOMAIN_BASE_PATH"} == on_variables


# --- on -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ON_SETS))
def test_private_domain_on_creates_the_design_resources_and_outputs(name: str) -> None:
    # GIVEN the domain on, shared or not, with a base path or the root mapped
    result = rendered_on(name)
    parameters = ON_SETS[name]
    shared = parameters["pPrivateDomainSharePrincipals"] != "None"
    # THEN the domain and its mapping exist, the share only with principals, and the outputs follow
    assert _domain_ids(result) == DOMAIN_RESOURCES | ({"PrivateDomainShare"} if shared else set())
    expected_outputs = DOMAIN_OUTPUTS | ({"PrivateDomainShareArn"} if shared else set())
    assert {o for o in result.outputs if o.startswith("PrivateDomain")} == expected_outputs
    domain = result.resources["PrivateDomainName"]
    assert domain["Type"] == "AWS::ApiGateway::DomainNameV2"
    properties = domain["Properties"]
    assert properties["DomainName"] == NAME
    assert properties["CertificateArn"] == CERTIFICATE
    assert properties["EndpointConfiguration"] == {"Types": ["PRIVATE"], "IpAddressType": "dualstack"}
    assert properties["SecurityPolicy"] == "TLS_1_2"
    assert "ManagementPolicy" not in properties  # RAM writes the managementPolicy


@pytest.mark.parametrize("name", sorted(ON_SETS))
def test_private_domain_on_leaves_no_unresolved_reference(name: str) -> None:
    result = rendered_on(name)
    leftovers = [
        node
        for node in walk({"Resources": result.resources, "Outputs": result.outputs})
        if isinstance(node, dict) and {"Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Join", "Fn::Split"} & set(node)
    ]
    assert leftovers == []


@pytest.mark.parametrize("base", sorted(BASES))
def test_private_domain_mapping_and_function_follow_the_base_path(base: str) -> None:
    # GIVEN the domain on with a base path or the root
    result = rendered_on(f"no-share-{base}-endpoints-no")
    mapping = result.resources["PrivateDomainBasePathMapping"]
    api_id = ids().physical_ids["BackendApi"]
    # THEN the mapping ties the domain (by its ARN) to this API's stage, with the base path only when one is set
    assert mapping["Type"] == "AWS::ApiGateway::BasePathMappingV2"
    expected = {"DomainNameArn": ids().physical_ids["PrivateDomainName"], "RestApiId": api_id, "Stage": "Prod"}
    assert mapping["Properties"] == ({**expected, "BasePath": "v1"} if base == "v1" else expected)
    # AND the backend learns the prefix to strip, and the URL output names it
    assert variables(result)["DOMAIN_BASE_PATH"] == ("/v1" if base == "v1" else "")
    assert result.outputs["PrivateDomainURL"] == (f"https://{NAME}/v1" if base == "v1" else f"https://{NAME}")


def test_private_domain_arn_has_the_account_and_domain_id_form() -> None:
    # GIVEN the ids chosen for the stack (the domain's name is a parameter value)
    result = rendered_on("account-v1-endpoints-yes")
    arn = result.outputs["PrivateDomainNameArn"]
    # THEN Ref is the ARN AWS uses once the domain exists (account + domain id), the id output is its suffix
    match = re.fullmatch(rf"arn:aws:apigateway:{REGION}:{ACCOUNT}:/domainnames/{re.escape(NAME)}\+([a-z0-9]{{8}})", arn)
    assert match is not None, arn
    assert result.outputs["PrivateDomainNameId"] == match.group(1)


@pytest.mark.parametrize("share", ["account", "account-and-org"])
def test_private_domain_share_names_the_domain_the_principals_and_the_permission(share: str) -> None:
    result = rendered_on(f"{share}-v1-endpoints-yes")
    resource = result.resources["PrivateDomainShare"]
    assert resource["Type"] == "AWS::RAM::ResourceShare"
    assert resource["Properties"] == {
        "Name": f"{STACK}-private-domain",
        "ResourceArns": [ids().physical_ids["PrivateDomainName"]],
        "Principals": SHARES[share].split(","),
        "PermissionArns": [PERMISSION],
        "AllowExternalPrincipals": True,
    }
    assert result.outputs["PrivateDomainShareArn"].startswith(f"arn:aws:ram:{REGION}:{ACCOUNT}:resource-share/")


@pytest.mark.parametrize(
    ("parameters", "listed"),
    [
        (ON_SETS["account-v1-endpoints-yes"], ENDPOINTS.split(",")),
        (ON_SETS["account-v1-endpoints-no"], None),
        ({**ON_SETS["account-v1-endpoints-yes"], **MTLS}, "with-mtls"),
    ],
    ids=["endpoints", "no-endpoints", "endpoints-and-mtls"],
)
def test_private_domain_policy_denies_exactly_the_endpoints_the_api_policy_denies(
    parameters: dict[str, str], listed: Any
) -> None:
    # GIVEN the domain on, with an endpoint list, without one, and with mTLS (its own endpoint joins the list)
    result = render(parameters)
    domain, api = _statements(domain_policy(result)), _statements(api_policy(result))
    # THEN the domain allows invoking through it, and its Deny is the API policy's Deny (same list, or both absent)
    assert domain["AllowInvokeThroughDomain"] == {
        "Sid": "AllowInvokeThroughDomain",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Resource": "execute-api:/*",
    }
    assert set(domain) <= {"AllowInvokeThroughDomain", "DenyOutsideAllowedVPCEndpoints"}
    assert domain.get("DenyOutsideAllowedVPCEndpoints") == api.get("DenyOutsideAllowedVPCEndpoints")
    if listed is None:
        assert "DenyOutsideAllowedVPCEndpoints" not in domain
    else:
        deny = domain["DenyOutsideAllowedVPCEndpoints"]["Condition"]["StringNotEquals"]["aws:SourceVpce"]
        expected = [*ENDPOINTS.split(","), ids().physical_ids["MtlsApiEndpoint"]] if listed == "with-mtls" else listed
        assert deny == expected


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ({"pEnablePrivateDomain": "Yes"}, "pEnablePrivateDomain needs pPrivateDomainName"),
        ({**DOMAIN, "pPrivateDomainCertificateArn": "None"}, "pEnablePrivateDomain needs pPrivateDomainCertificateArn"),
        ({"pPrivateDomainSharePrincipals": f"None,{CONSUMER}"}, "pPrivateDomainSharePrincipals is either None"),
        ({**DOMAIN, "pPrivateDomainName": "*.example.com"}, "does not match"),
        ({**DOMAIN, "pPrivateDomainName": "API.Example.com"}, "does not match"),
        ({**DOMAIN, "pPrivateDomainBasePath": "v1/items"}, "does not match"),
        ({**DOMAIN, "pPrivateDomainSharePrincipals": "o-a1b2c3d4e5"}, "does not match"),
    ],
)
def test_private_domain_invalid_parameters_rejected_before_deploy(parameters: dict[str, str], reason: str) -> None:
    with pytest.raises(ParameterError) as raised:
        render(parameters)
    assert reason in str(raised.value)


# --- vpc-api-backend.yaml ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("enabled", ["No", "Yes"])
def test_vpc_template_passes_the_domain_through_and_exports_its_outputs_only_when_on(enabled: str) -> None:
    # GIVEN the parent with the domain off or on (shared with one account, root mapped)
    values = {**DOMAIN, "pEnablePrivateDomain": enabled, "pPrivateDomainBasePath": "None"}
    values["pPrivateDomainSharePrincipals"] = CONSUMER
    parameters = {"pDynamoDBPrefixListID": "pl-02cd2c6b", "pSubnetCount": "2", **values}
    result = render_template(PARENT, parameters, attributes={"VPC.CidrBlock": "10.0.0.0/16"})
    nested = result.of_type("AWS::CloudFormation::Stack")["BackendStack"]["Properties"]["Parameters"]
    # THEN every domain value reaches the child and the domain outputs exist only when on
    assert {k: nested[k] for k in values} == values
    exported = {o for o in result.outputs if o.startswith("PrivateDomain")}
    assert exported == ((DOMAIN_OUTPUTS | {"PrivateDomainShareArn"}) if enabled == "Yes" else set())


def test_vpc_template_groups_the_domain_parameters_as_the_child_does() -> None:
    # GIVEN both templates' console parameter groups
    def group(path: Path) -> list[str]:
        groups = load_template(path)["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        [found] = [g["Parameters"] for g in groups if g["Label"]["default"] == "Private custom domain"]
        return found  # type: ignore[no-any-return]

    # THEN the parent lists the same parameters in the same order, each declared as the child declares it
    assert group(PARENT) == group(BACKEND)
    parent, child = load_template(PARENT)["Parameters"], source()["Parameters"]
    for name in group(BACKEND):
        assert {k: v for k, v in parent[name].items() if k != "Description"} == {
            k: v for k, v in child[name].items() if k != "Description"
        }


# --- cfnrender ids for the consumer's side (the association T2's template adds) ------------------------------


def test_generate_ids_association_arn_names_the_domain_and_the_endpoint(tmp_path: Path) -> None:
    # GIVEN a consumer-like template: an endpoint and an association of a shared domain (its ARN a parameter)
    domain_arn = f"arn:aws:apigateway:{REGION}:{ACCOUNT}:/domainnames/{NAME}+a1b2c3d4"
    template = tmp_path / "consumer.yaml"
    template.write_text(
        "Parameters:\n"
        "  pPrivateDomainNameArn: {Type: String, Default: None}\n"
        "Resources:\n"
        "  Association:\n"
        "    Type: AWS::ApiGateway::DomainNameAccessAssociation\n"
        "    Properties:\n"
        "      DomainNameArn: !Ref pPrivateDomainNameArn\n"
        "      AccessAssociationSource: !Ref Endpoint\n"
        "      AccessAssociationSourceType: VPCE\n"
        "  Endpoint:\n"
        "    Type: AWS::EC2::VPCEndpoint\n"
        "    Properties: {ServiceName: !Sub 'com.amazonaws.${AWS::Region}.execute-api', VpcId: vpc-0a1b2c3d}\n",
        encoding="utf-8",
    )
    # WHEN ids are chosen with the domain's ARN given (the association is named after the endpoint it names)
    chosen = generate_ids(
        template,
        stack="private-api-client",
        account=CONSUMER,
        region=REGION,
        rng=random.Random(1),
        parameters={"pPrivateDomainNameArn": domain_arn},
    )
    endpoint = chosen.physical_ids["Endpoint"]
    # THEN the association's ARN is in the consumer's account and names the domain (name+id) and the endpoint (the
    # form of the consumer page and CLI examples; CloudFormation's page shows /accessassociations/domainname/...)
    expected = (
        f"arn:aws:apigateway:{REGION}:{CONSUMER}:/domainnameaccessassociations/domainname/{NAME}+a1b2c3d4"
        f"/vpcesource/{endpoint}"
    )
    assert chosen.physical_ids["Association"] == expected
    assert chosen.attributes["Association.DomainNameAccessAssociationArn"] == expected
