"""workflow/quotas.py mirrors the templates' policies: equal to what the real templates render, for many parameter sets.

quotas.py cannot read YAML, so it rebuilds the policies; these tests are what keeps that copy honest. A policy
statement changed in api-backend.yaml or api-client.yaml without the same change in quotas.py fails here.
"""

from __future__ import annotations

import copy
import functools
import random
from pathlib import Path
from typing import Any

import pytest

from cfnrender.render import load_template, render_template
from cfnrender.stacks import generate_ids
from workflow import quotas

ROOT = Path(__file__).resolve().parents[2]
BACKEND = ROOT / "api-backend" / "api-backend.yaml"
CLIENT = ROOT / "api-client" / "api-client.yaml"
ACCOUNT = "222222222222"
REGIONS = ["us-east-1", "cn-north-1", "us-gov-west-1"]
CLIENT_VPC = {
    "pVPCID": "vpc-0a1b2c3d4e5f60718",
    "pLambdaSubnetIDs": "subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718",
    "pEndpointSubnetIDs": "subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718",
    "pDNSServerCIDR": "10.1.0.2/32",
}


def role(account: str, name: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account}:role/{name}"


# Lists of 0 / 1 / many entries for every policy parameter, org id set and unset, patterns with wildcards.
BACKEND_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "one-each": {
        "pTrustedPrincipals": "111111111111",
        "pAPIAccessList": role("111111111111", "client"),
        "pAllowedPrincipalPatterns": "arn:aws:iam::111111111111:role/team-*",
        "pAllowedOrgID": "o-a1b2c3d4e5",
        "pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718",
    },
    "many-each": {
        "pTrustedPrincipals": ",".join(
            ["111111111111", role("333333333333", "caller"), "arn:aws:iam::444444444444:root"]
        ),
        "pAPIAccessList": ",".join([role(f"{n}" * 12, f"client-{n}") for n in range(1, 8)] + ["555555555555"]),
        "pAllowedPrincipalPatterns": (
            "arn:aws:iam::111111111111:role/team-*,arn:aws:sts::555555555555:assumed-role/ops-?/*"
        ),
        "pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718,vpce-11112222,vpce-fffffffffffffffff",
    },
    "org-only": {"pAllowedOrgID": "o-" + "a" * 32},
    "patterns-only": {"pAllowedPrincipalPatterns": "arn:aws:iam::111111111111:role/*"},
    "endpoints-only": {"pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718", "pAssociateVPCEndpoints": "Yes"},
    "deploy-all": {
        "pTrustedPrincipals": "111111111111",
        "pAPIAccessList": role("111111111111", "private-api-client-rPythonDirectAuthClientRole-ABCDEFGHIJKL"),
        "pAllowedVPCEndpoints": "vpce-0123456789abcdef0",
    },
}
# The certificate path adds statements naming the provider's own endpoint (MtlsApiEndpoint).
MTLS = {
    "pVPCID": "vpc-0a1b2c3d4e5f60718",
    "pLambdaSubnetIDs": "subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718",
    "pDynamoDBPrefixListID": "pl-02cd2c6b",
    "pEnableMtls": "Yes",
    "pMtlsTrustStoreBucket": "artifacts-bucket",
    "pMtlsCABundleKey": "mtls/ca.pem",
    "pMtlsServerCertificateArn": "arn:aws:acm:us-east-1:222222222222:certificate/0a1b2c3d-ffff",
    "pMtlsAllowedPrincipals": "arn:aws:iam::111111111111:root",
    "pMtlsAllowedClients": "acme:CN=client,O=Acme",
}
MTLS_SETS: dict[str, dict[str, str]] = {
    "mtls-any-endpoint": MTLS,
    "mtls-endpoints": {**MTLS, "pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718,vpce-11112222"},
    "mtls-off-in-vpc": {**MTLS, "pEnableMtls": "No", "pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718"},
}
# The private custom domain's policy (issue 17) repeats the API policy's endpoint Deny: every set above, domain on.
DOMAIN = {
    "pEnablePrivateDomain": "Yes",
    "pPrivateDomainName": "api.partner.example.com",
    "pPrivateDomainCertificateArn": "arn:aws:acm:us-east-1:222222222222:certificate/1a2b3c4d-ffff",
}
DOMAIN_SETS: dict[str, dict[str, str]] = {
    **{f"domain-{name}": {**values, **DOMAIN} for name, values in {**BACKEND_SETS, **MTLS_SETS}.items()},
    "domain-switch-only": {"pEnablePrivateDomain": "Yes"} | {k: "None" for k in DOMAIN if k != "pEnablePrivateDomain"},
    "domain-off-with-values": {**DOMAIN, "pEnablePrivateDomain": "No"},
}
CLIENT_SETS: dict[str, dict[str, str]] = {
    "defaults": {},
    "cross-account-assume-role": {
        "pAPIAccountID": "111111111111",
        "pAPIRoleARN": role("111111111111", "private-api-backend-ApiAccessRole-ABC"),
    },
    "assume-role-without-sts-endpoint": {
        "pAPIRoleARN": role("111111111111", "r"),
        "pCreateSTSEndpoint": "No",
        "pAPIPrefix": "/v1",
    },
    "long-stage": {"pAPIPrefix": "/" + "s" * 128, "pAPIAccountID": "111111111111"},
}


@functools.cache
def source(path: Path) -> dict[str, Any]:
    return load_template(path)


def with_partition(parameters: dict[str, str], partition: str) -> dict[str, str]:
    """The same set in another partition: every ARN's partition follows the region."""
    return {k: v.replace("arn:aws:", f"arn:{partition}:") for k, v in parameters.items()}


def api_host(region: str) -> str:
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"a1b2c3d4e5.execute-api.{region}.{suffix}"


def render_backend(
    parameters: dict[str, str], region: str, stack: str, ids_seed: int
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """Rendered (API resource policy, access role trust policy, access role ARN) with CloudFormation-like ids."""
    rng = random.Random(ids_seed)
    ids = generate_ids(BACKEND, stack=stack, account=ACCOUNT, region=region, rng=rng)
    rendered = render_template(
        copy.deepcopy(source(BACKEND)),
        parameters,
        account_id=ACCOUNT,
        region=region,
        stack_name=stack,
        physical_ids=ids.physical_ids,
        attributes=ids.attributes,
    )
    policy = rendered.resources["BackendApi"]["Properties"]["Body"]["x-amazon-apigateway-policy"]
    trust = rendered.resources["ApiAccessRole"]["Properties"]["AssumeRolePolicyDocument"]
    return policy, trust, ids.attributes["ApiAccessRole.Arn"]


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("name", sorted(BACKEND_SETS))
def test_quotas_backend_policies_equal_the_rendered_template(name: str, region: str) -> None:
    # GIVEN a parameter set in a region of each partition
    partition = quotas.partition_of(region)
    parameters = with_partition(BACKEND_SETS[name], partition)
    # WHEN the real template is rendered with realistic physical ids
    policy, trust, role_arn = render_backend(parameters, region, "private-api-backend", ids_seed=len(name))
    # THEN quotas.py builds the same documents, so it measures what CloudFormation would create
    assert quotas.resource_policy(parameters, role_arn) == policy
    assert quotas.trust_policy(parameters, partition=partition, account=ACCOUNT) == trust


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("name", sorted(MTLS_SETS))
def test_quotas_backend_policy_with_certificate_path_equals_the_rendered_template(name: str, region: str) -> None:
    # GIVEN a parameter set with the certificate path on (or off in a VPC) in a region of each partition
    partition = quotas.partition_of(region)
    parameters = with_partition(MTLS_SETS[name], partition)
    rng = random.Random(len(name))
    ids = generate_ids(BACKEND, stack="private-api-backend", account=ACCOUNT, region=region, rng=rng)
    # WHEN the real template is rendered with realistic physical ids
    rendered = render_template(
        copy.deepcopy(source(BACKEND)),
        parameters,
        account_id=ACCOUNT,
        region=region,
        stack_name="private-api-backend",
        physical_ids=ids.physical_ids,
        attributes=ids.attributes,
    )
    policy = rendered.resources["BackendApi"]["Properties"]["Body"]["x-amazon-apigateway-policy"]
    # THEN quotas.py builds the same document once it knows the provider endpoint's id
    role_arn = ids.attributes["ApiAccessRole.Arn"]
    assert quotas.resource_policy(parameters, role_arn, ids.physical_ids["MtlsApiEndpoint"]) == policy


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("name", sorted(DOMAIN_SETS))
def test_quotas_domain_policy_equals_the_rendered_template(name: str, region: str) -> None:
    # GIVEN a parameter set with the private custom domain on (or off, or refused) in a region of each partition
    partition = quotas.partition_of(region)
    parameters = with_partition(DOMAIN_SETS[name], partition)
    rng = random.Random(len(name))
    ids = generate_ids(BACKEND, stack="private-api-backend", account=ACCOUNT, region=region, rng=rng)
    mirrored = quotas.domain_policy(parameters, ids.physical_ids["MtlsApiEndpoint"])
    if name == "domain-switch-only":
        # the template's rule refuses the switch without a name and certificate: nothing to measure
        assert mirrored is None
        return
    # WHEN the real template is rendered with realistic physical ids
    rendered = render_template(
        copy.deepcopy(source(BACKEND)),
        parameters,
        account_id=ACCOUNT,
        region=region,
        stack_name="private-api-backend",
        physical_ids=ids.physical_ids,
        attributes=ids.attributes,
    )
    domain = rendered.resources.get("PrivateDomainName")
    # THEN quotas.py builds the same document (None when the template creates no domain)
    assert mirrored == (domain["Properties"]["Policy"] if domain else None)


def test_quotas_backend_reports_the_domain_policy_only_when_the_domain_is_on() -> None:
    # GIVEN the provider checked with the domain off and on (two endpoints listed)
    base = {"pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718,vpce-11112222"}
    check = functools.partial(quotas.check_backend, stack="private-api-backend", account=ACCOUNT, region="us-east-1")
    off, on = check(base), check({**base, **DOMAIN})
    # THEN only "on" measures the domain policy, against the API policy's quota, at its counted size
    # (the first item names the longest parameter value, which the domain values change)
    assert [f.item for f in on][1:] == [*[f.item for f in off][1:], "Private domain policy"]
    [domain] = [f for f in on if f.item == "Private domain policy"]
    policy = quotas.domain_policy({**base, **DOMAIN})
    assert policy is not None
    expected = quotas.domain_policy_length(
        policy,
        partition="aws",
        region="us-east-1",
        account=ACCOUNT,
        domain_name=DOMAIN["pPrivateDomainName"],
        domain_id="x" * quotas.DOMAIN_ID_LENGTH,
    )
    assert (domain.size, domain.quota) == (expected, quotas.API_POLICY_QUOTA)


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("name", sorted(CLIENT_SETS))
def test_quotas_client_endpoint_policies_equal_the_rendered_template(name: str, region: str) -> None:
    # GIVEN a consumer parameter set in a region of each partition
    partition = quotas.partition_of(region)
    parameters = {"pAPIHost": api_host(region), **with_partition(CLIENT_SETS[name], partition)}
    # WHEN the real template is rendered
    rendered = render_template(
        copy.deepcopy(source(CLIENT)), {**CLIENT_VPC, **parameters}, account_id=ACCOUNT, region=region
    )
    endpoints = rendered.of_type("AWS::EC2::VPCEndpoint")
    # THEN quotas.py builds the same endpoint policies (and knows when there is no STS endpoint)
    assert (
        quotas.endpoint_policy(parameters, partition=partition, region=region, account=ACCOUNT)
        == endpoints["rAPIGatewayEndpoint"]["Properties"]["PolicyDocument"]
    )
    sts = endpoints.get("rSTSEndpoint")
    assert quotas.sts_endpoint_policy(parameters) == (sts["Properties"]["PolicyDocument"] if sts else None)


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("stack", ["b", "private-api-backend", "private-api-backend-BackendStack-1A2B3C4D5E6F7"])
def test_quotas_generated_role_arn_is_never_shorter_than_cloudformations(stack: str, region: str) -> None:
    # GIVEN role ARNs generated the way CloudFormation names unnamed roles (a nested stack's long name too)
    generated = [
        generate_ids(BACKEND, stack=stack, account=ACCOUNT, region=region, rng=random.Random(seed)).attributes[
            "ApiAccessRole.Arn"
        ]
        for seed in range(2)
    ]
    # WHEN quotas.py builds its placeholder for the same stack
    placeholder = quotas.generated_role_arn(
        partition=quotas.partition_of(region), account=ACCOUNT, stack=stack, logical_id="ApiAccessRole"
    )
    # THEN the placeholder is at least as long as any real one, so its count is an upper bound
    assert max(len(arn) for arn in generated) <= len(placeholder)


def test_quotas_defaults_equal_the_templates_defaults() -> None:
    # GIVEN the parameter defaults quotas.py assumes when a value is not given
    backend = source(BACKEND)["Parameters"]
    client = source(CLIENT)["Parameters"]
    # THEN they are the templates' own defaults
    assert {k: str(backend[k]["Default"]) for k in quotas.BACKEND_DEFAULTS} == quotas.BACKEND_DEFAULTS
    assert {k: str(client[k]["Default"]) for k in quotas.CLIENT_DEFAULTS} == quotas.CLIENT_DEFAULTS


def test_quotas_counted_resource_policy_size_is_the_rendered_policys() -> None:
    # GIVEN the policy the template renders for many principals
    parameters = BACKEND_SETS["many-each"]
    policy, _, role_arn = render_backend(parameters, "us-east-1", "private-api-backend", ids_seed=1)
    measure = functools.partial(
        quotas.api_policy_length, partition="aws", region="us-east-1", account=ACCOUNT, api_id="a1b2c3d4e5"
    )
    # THEN the size quotas.py reports is the rendered policy's size under the same counting rule
    assert measure(quotas.resource_policy(parameters, role_arn)) == measure(policy)
