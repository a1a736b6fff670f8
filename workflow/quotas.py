"""AWS size quotas checked before any stack operation: the policies the templates would create, measured as AWS counts.

Usage (exit 0: everything fits; 1: a quota is exceeded, the message says by how much and what to do; 2: usage):

    python3 workflow/quotas.py backend --stack-name NAME --account ID --region REGION [Key=Value ...]
    python3 workflow/quotas.py client  --stack-name NAME --account ID --region REGION [Key=Value ...]
    python3 workflow/quotas.py deploy-all --backend-stack NAME --client-stack NAME \
        --provider-account ID --consumer-account ID --region REGION

Key=Value are the template parameters exactly as given to `sam deploy --parameter-overrides` (api-backend.yaml and
vpc-api-backend.yaml take the same policy parameters, as do the two client templates). `deploy-all` checks the
values deploy-all.sh will send, with the longest ids their formats allow where the real ones do not exist yet.
docs/quotas.md lists the quotas, how each is counted and the AWS pages that say so.

(`python -m workflow quotas ...` runs the same.) This module cannot read the templates (stdlib only, no YAML, so
it runs under any python3; it imports nothing from workflow/), so it MIRRORS the policy statements of
api-backend/api-backend.yaml (x-amazon-apigateway-policy of BackendApi, AssumeRolePolicyDocument of ApiAccessRole)
and api-client/api-client.yaml (PolicyDocument of rAPIGatewayEndpoint and rSTSEndpoint).
tests/templates/test_quotas_mirror.py renders the real templates for many parameter sets and asserts the policies
built here are equal to the rendered ones: a policy changed in a template without the same change here fails it.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Default quotas (docs/quotas.md cites the pages). The two adjustable ones can be raised per account.
API_POLICY_QUOTA = 8192  # API Gateway: "Length, in characters, of API Gateway resource policy", adjustable
TRUST_POLICY_QUOTA = 2048  # IAM: "Role trust policy length", default 2,048, adjustable up to 4,096
TRUST_POLICY_QUOTA_MAX = 4096
ENDPOINT_POLICY_QUOTA = 20480  # VPC: endpoint policy "cannot exceed 20,480 characters, including white space"
PARAMETER_VALUE_QUOTA = 4096  # CloudFormation: "Maximum size of a parameter value", bytes

# Longest values of ids that do not exist before the stacks do.
ROLE_NAME_MAX = 64  # IAM role-name quota; CloudFormation's generated names are cut to it
API_ID_LENGTH = 10  # REST API ids (what the emulation and every observed id use)
VPCE_ID_PLACEHOLDER = "vpce-" + "f" * 17  # vpce- followed by 17 hex digits
DOMAIN_ID_LENGTH = 8  # private custom domain ids (the id after '+' in the domain's ARN)
PLACEHOLDER_ACCOUNT = "000000000000"

BACKEND_DEFAULTS = {
    "pTrustedPrincipals": "Nobody",
    "pAPIAccessList": "None",
    "pAllowedPrincipalPatterns": "None",
    "pAllowedOrgID": "None",
    "pAllowedVPCEndpoints": "None",
    "pVPCID": "",
    "pEnableMtls": "No",
    "pEnablePrivateDomain": "No",
    "pPrivateDomainName": "None",
    "pPrivateDomainCertificateArn": "None",
}
CLIENT_DEFAULTS = {"pAPIPrefix": "/Prod", "pAPIAccountID": "Local", "pAPIRoleARN": "None", "pCreateSTSEndpoint": "Yes"}

_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_STACK = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_PARAMETER = re.compile(r"^([A-Za-z0-9]{1,255})=(.*)$", re.DOTALL)

_INVOKE = {"Action": "execute-api:Invoke", "Resource": "execute-api:/*"}
_MTLS_INVOKE = {"Action": "execute-api:Invoke", "Resource": ["execute-api:/*/*/mtls", "execute-api:/*/*/mtls/*"]}


class UsageError(ValueError):
    """A command line this tool cannot check (exit 2)."""


# --------------------------------------------------------------------------------------------- template mirrors
def partition_of(region: str) -> str:
    """The partition a region belongs to (what AWS::Partition resolves to there)."""
    return "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _items(value: str) -> list[str]:
    # A CommaDelimitedList parameter: CloudFormation splits on every comma.
    return value.split(",")


def resource_policy(
    values: Mapping[str, str], access_role_arn: str, mtls_endpoint_id: str = VPCE_ID_PLACEHOLDER
) -> dict[str, Any]:
    """BackendApi's x-amazon-apigateway-policy as api-backend.yaml renders it (a mirror of the template).

    mtls_endpoint_id stands for MtlsApiEndpoint, which does not exist before the stack does (longest id by default).
    """
    v = {**BACKEND_DEFAULTS, **values}
    # IsMtlsEnabled: the template also needs the subnets, which its rules require with pVPCID.
    mtls = v["pEnableMtls"] == "Yes" and v["pVPCID"] != ""
    statements: list[dict[str, Any]] = [
        {"Sid": "AllowAccessRole", "Effect": "Allow", "Principal": {"AWS": access_role_arn}, **_INVOKE}
    ]
    if v["pAPIAccessList"] != "None":
        principals = {"AWS": _items(v["pAPIAccessList"])}
        statements.append({"Sid": "AllowAccessList", "Effect": "Allow", "Principal": principals, **_INVOKE})
    if v["pAllowedPrincipalPatterns"] != "None":
        condition: dict[str, dict[str, str | list[str]]] = {
            "ArnLike": {"aws:PrincipalArn": _items(v["pAllowedPrincipalPatterns"])}
        }
        statements.append(
            {"Sid": "AllowPrincipalPatterns", "Effect": "Allow", "Principal": "*", **_INVOKE, "Condition": condition}
        )
    if v["pAllowedOrgID"] != "None":
        condition = {"StringEquals": {"aws:PrincipalOrgID": v["pAllowedOrgID"]}}
        statements.append(
            {"Sid": "AllowOrganization", "Effect": "Allow", "Principal": "*", **_INVOKE, "Condition": condition}
        )
    if v["pAllowedVPCEndpoints"] != "None":
        endpoints = _items(v["pAllowedVPCEndpoints"]) + ([mtls_endpoint_id] if mtls else [])
        condition = {"StringNotEquals": {"aws:SourceVpce": endpoints}}
        statements.append(
            {
                "Sid": "DenyOutsideAllowedVPCEndpoints",
                "Effect": "Deny",
                "Principal": "*",
                **_INVOKE,
                "Condition": condition,
            }
        )
    if mtls:
        condition = {"StringEquals": {"aws:SourceVpce": mtls_endpoint_id}}
        statements.append(
            {"Sid": "AllowCertificatePath", "Effect": "Allow", "Principal": "*", **_MTLS_INVOKE, "Condition": condition}
        )
    deny: dict[str, Any] = {"Sid": "DenyCertificatePathElsewhere", "Effect": "Deny", "Principal": "*", **_MTLS_INVOKE}
    if mtls:
        deny["Condition"] = {"StringNotEquals": {"aws:SourceVpce": mtls_endpoint_id}}
    statements.append(deny)
    return {"Version": "2012-10-17", "Statement": statements}


def domain_policy(values: Mapping[str, str], mtls_endpoint_id: str = VPCE_ID_PLACEHOLDER) -> dict[str, Any] | None:
    """PrivateDomainName's Policy as api-backend.yaml renders it (a mirror), or None when the domain is off.

    Its Deny is the API policy's DenyOutsideAllowedVPCEndpoints, the same statement.
    """
    v = {**BACKEND_DEFAULTS, **values}
    # IsPrivateDomainEnabled: the switch and both values (the template's rule requires them with the switch).
    if v["pEnablePrivateDomain"] != "Yes" or "None" in (v["pPrivateDomainName"], v["pPrivateDomainCertificateArn"]):
        return None
    allow = {"Sid": "AllowInvokeThroughDomain", "Effect": "Allow", "Principal": "*", **_INVOKE}
    api = resource_policy(v, "", mtls_endpoint_id)["Statement"]
    deny = [s for s in api if s["Sid"] == "DenyOutsideAllowedVPCEndpoints"]
    return {"Version": "2012-10-17", "Statement": [allow, *deny]}


def trust_policy(values: Mapping[str, str], *, partition: str, account: str) -> dict[str, Any]:
    """ApiAccessRole's AssumeRolePolicyDocument as api-backend.yaml renders it (a mirror of the template)."""
    trusted = {**BACKEND_DEFAULTS, **values}["pTrustedPrincipals"]
    principal: str | list[str] = _items(trusted) if trusted != "Nobody" else f"arn:{partition}:iam::{account}:root"
    statement = {"Sid": "TrustedPrincipals", "Effect": "Allow", "Principal": {"AWS": principal}}
    return {"Version": "2012-10-17", "Statement": [{**statement, "Action": "sts:AssumeRole"}]}


def endpoint_policy(values: Mapping[str, str], *, partition: str, region: str, account: str) -> dict[str, Any]:
    """rAPIGatewayEndpoint's PolicyDocument as api-client.yaml renders it (a mirror of the template)."""
    v = {**CLIENT_DEFAULTS, **values}
    api_account = account if v["pAPIAccountID"] == "Local" else v["pAPIAccountID"]
    api_id = v["pAPIHost"].split(".")[0]
    resource = f"arn:{partition}:execute-api:{region}:{api_account}:{api_id}{v['pAPIPrefix']}/*"
    statement = {"Sid": "InvokeProviderAPIOnly", "Effect": "Allow", "Principal": "*"}
    return {"Version": "2012-10-17", "Statement": [{**statement, **_INVOKE, "Resource": resource}]}


def sts_endpoint_policy(values: Mapping[str, str]) -> dict[str, Any] | None:
    """rSTSEndpoint's PolicyDocument as api-client.yaml renders it; None when the template creates no STS endpoint."""
    v = {**CLIENT_DEFAULTS, **values}
    if v["pAPIRoleARN"] == "None" or v["pCreateSTSEndpoint"] != "Yes":
        return None
    statement = {"Sid": "AssumeProviderRoleOnly", "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}
    return {"Version": "2012-10-17", "Statement": [{**statement, "Resource": v["pAPIRoleARN"]}]}


def generated_role_arn(*, partition: str, account: str, stack: str, logical_id: str) -> str:
    """The longest ARN CloudFormation can give a role it names: <stack>-<logical id>-<suffix>, cut to 64 characters."""
    # Counted at 64 always: in a nested stack (vpc-api-*.yaml) the generated stack name is long enough to fill it.
    name = (f"{stack}-{logical_id}-" + "X" * ROLE_NAME_MAX)[:ROLE_NAME_MAX]
    return f"arn:{partition}:iam::{account}:role/{name}"


# ------------------------------------------------------------------------------------------------- how AWS counts
def _account_arns(principal: Any, partition: str) -> Any:
    # IAM's principal reference: a service may store a 12-digit account id as arn:...:iam::ID:root, so count that.
    if isinstance(principal, list):
        return [_account_arns(p, partition) for p in principal]
    if isinstance(principal, str) and _ACCOUNT.match(principal):
        return f"arn:{partition}:iam::{principal}:root"
    return principal


def _expanded(policy: Mapping[str, Any], partition: str, api_arn: str | None = None) -> dict[str, Any]:
    statements = []
    for statement in policy["Statement"]:
        expanded = dict(statement)
        if isinstance(statement.get("Principal"), Mapping) and "AWS" in statement["Principal"]:
            expanded["Principal"] = {
                **statement["Principal"],
                "AWS": _account_arns(statement["Principal"]["AWS"], partition),
            }
        if api_arn and str(statement.get("Resource", "")).startswith("execute-api:"):
            expanded["Resource"] = api_arn + str(statement["Resource"])[len("execute-api:") :]
        statements.append(expanded)
    return {**policy, "Statement": statements}


def _compact(policy: Mapping[str, Any]) -> str:
    return json.dumps(policy, separators=(",", ":"), ensure_ascii=False)


def api_policy_length(policy: Mapping[str, Any], *, partition: str, region: str, account: str, api_id: str) -> int:
    """Characters of a resource policy as API Gateway stores it: full execute-api ARNs, compact, quotes escaped."""
    api_arn = f"arn:{partition}:execute-api:{region}:{account}:{api_id}"
    # get-rest-api returns the policy compact with every quote backslash-escaped; AWS does not say which form the
    # quota counts, so the larger one is counted.
    return len(json.dumps(_compact(_expanded(policy, partition, api_arn)), ensure_ascii=False)) - 2


def domain_policy_length(
    policy: Mapping[str, Any], *, partition: str, region: str, account: str, domain_name: str, domain_id: str
) -> int:
    """Characters of a private custom domain's policy, counted as the API policy (execute-api:/* on the domain)."""
    domain_arn = f"arn:{partition}:execute-api:{region}:{account}:/domainnames/{domain_name}+{domain_id}"
    return len(json.dumps(_compact(_expanded(policy, partition, domain_arn)), ensure_ascii=False)) - 2


def trust_policy_length(policy: Mapping[str, Any], *, partition: str) -> int:
    """Characters of a role trust policy as IAM counts policies: without white space, account ids as root ARNs."""
    return len(_compact(_expanded(policy, partition)))


def endpoint_policy_length(policy: Mapping[str, Any]) -> int:
    """Characters of an endpoint policy, white space included, laid out with 4-space indentation."""
    # AWS counts white space here and CloudFormation's layout is not documented: an indented layout is the larger.
    return len(json.dumps(policy, indent=4, ensure_ascii=False))


# ------------------------------------------------------------------------------------------------------ the checks
@dataclass(frozen=True)
class Finding:
    """One measured item against its quota."""

    item: str
    size: int
    quota: int
    unit: str
    advice: str

    @property
    def over(self) -> int:
        """How far over the quota (0 when it fits)."""
        return max(0, self.size - self.quota)

    def line(self) -> str:
        """The one-line report: '<item>: 1,234 of 8,192 characters'."""
        return f"{self.item}: {self.size:,} of {self.quota:,} {self.unit}"


API_POLICY_ADVICE = (
    "Each principal and pattern adds to the policy: replace role ARNs listed in pAPIAccessList with role-name "
    "patterns in pAllowedPrincipalPatterns (e.g. arn:aws:iam::111122223333:role/team-*), list an account id instead "
    "of its roles, or allow a whole organization with pAllowedOrgID. The quota can also be raised: Service Quotas, "
    "Amazon API Gateway, resource policy length."
)
DOMAIN_POLICY_ADVICE = "The domain's policy lists pAllowedVPCEndpoints (as the API policy's Deny does): list fewer."
TRUST_POLICY_ADVICE = (
    "Trust whole accounts (12-digit ids in pTrustedPrincipals; their own IAM policies then decide who may assume the "
    "role) instead of listing role ARNs, or request IAM's 'Role trust policy length' quota increase (up to 4,096) in "
    "Service Quotas and re-run this check with --trust-policy-quota 4096."
)
ENDPOINT_POLICY_ADVICE = "The endpoint policy names one API (pAPIHost, pAPIPrefix) and one role (pAPIRoleARN)."
PARAMETER_ADVICE = (
    "CloudFormation refuses a longer parameter value: use fewer entries (role-name patterns, account ids or "
    "pAllowedOrgID instead of many ARNs)."
)


def parameter_finding(values: Mapping[str, str]) -> Finding:
    """The longest given parameter value in UTF-8 bytes against CloudFormation's parameter value quota."""
    if not values:
        return Finding("Longest parameter value (none given)", 0, PARAMETER_VALUE_QUOTA, "bytes", PARAMETER_ADVICE)
    name = max(values, key=lambda k: len(values[k].encode("utf-8")))
    size = len(values[name].encode("utf-8"))
    return Finding(f"Longest parameter value ({name})", size, PARAMETER_VALUE_QUOTA, "bytes", PARAMETER_ADVICE)


def check_backend(
    values: Mapping[str, str],
    *,
    stack: str,
    account: str,
    region: str,
    api_policy_quota: int = API_POLICY_QUOTA,
    trust_policy_quota: int = TRUST_POLICY_QUOTA,
) -> list[Finding]:
    """Parameter values, the API resource policy and the access role's trust policy of one provider stack."""
    partition = partition_of(region)
    role = generated_role_arn(partition=partition, account=account, stack=stack, logical_id="ApiAccessRole")
    api_length = api_policy_length(
        resource_policy(values, role), partition=partition, region=region, account=account, api_id="x" * API_ID_LENGTH
    )
    trust_length = trust_policy_length(trust_policy(values, partition=partition, account=account), partition=partition)
    findings = [
        parameter_finding(values),
        Finding("API resource policy", api_length, api_policy_quota, "characters", API_POLICY_ADVICE),
        Finding("Access role trust policy", trust_length, trust_policy_quota, "characters", TRUST_POLICY_ADVICE),
    ]
    domain = domain_policy(values)
    if domain is not None:
        # No separate quota for a domain's policy is published (docs/private-domain.md): the API policy's is assumed.
        domain_length = domain_policy_length(
            domain,
            partition=partition,
            region=region,
            account=account,
            domain_name={**BACKEND_DEFAULTS, **values}["pPrivateDomainName"],
            domain_id="x" * DOMAIN_ID_LENGTH,
        )
        findings.append(
            Finding("Private domain policy", domain_length, api_policy_quota, "characters", DOMAIN_POLICY_ADVICE)
        )
    return findings


def check_client(values: Mapping[str, str], *, stack: str, account: str, region: str) -> list[Finding]:
    """Parameter values and the endpoint policies of one consumer stack."""
    if "pAPIHost" not in values:
        raise UsageError("client: pAPIHost=<api-id>.execute-api.<region>.amazonaws.com is required (no default)")
    partition = partition_of(region)
    policy = endpoint_policy(values, partition=partition, region=region, account=account)
    findings = [
        parameter_finding(values),
        Finding(
            "execute-api endpoint policy",
            endpoint_policy_length(policy),
            ENDPOINT_POLICY_QUOTA,
            "characters",
            ENDPOINT_POLICY_ADVICE,
        ),
    ]
    sts = sts_endpoint_policy(values)
    if sts is not None:
        findings.append(
            Finding(
                "STS endpoint policy",
                endpoint_policy_length(sts),
                ENDPOINT_POLICY_QUOTA,
                "characters",
                ENDPOINT_POLICY_ADVICE,
            )
        )
    return findings


def deploy_all_values(
    *, backend_stack: str, client_stack: str, provider_account: str, consumer_account: str, region: str
) -> tuple[dict[str, str], dict[str, str]]:
    """What deploy-all.sh sends to each side, with the longest ids their formats allow for ids not yet known."""
    partition = partition_of(region)
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    # The consumer's stack is nested in vpc-api-client.yaml, so its role name is generated at the 64-character cap.
    client_role = generated_role_arn(
        partition=partition, account=consumer_account, stack=client_stack, logical_id="rPythonDirectAuthClientRole"
    )
    api_role = generated_role_arn(
        partition=partition, account=provider_account, stack=backend_stack, logical_id="ApiAccessRole"
    )
    backend = {
        "pTrustedPrincipals": consumer_account,
        "pAPIAccessList": client_role,
        "pAllowedVPCEndpoints": VPCE_ID_PLACEHOLDER,
    }
    client = {
        "pAPIHost": f"{'x' * API_ID_LENGTH}.execute-api.{region}.{suffix}",
        "pAPIPrefix": "/Prod",
        "pAPIAccountID": provider_account,
        "pAPIRoleARN": api_role,
    }
    return backend, client


# ---------------------------------------------------------------------------------------------------------- CLI
def parse_parameters(tokens: Sequence[str]) -> dict[str, str]:
    """Key=Value tokens (as sam deploy --parameter-overrides takes them); a bad or repeated key is a usage error."""
    values: dict[str, str] = {}
    for token in tokens:
        match = _PARAMETER.match(token)
        if not match:
            raise UsageError(f"not a Key=Value template parameter: {token!r}")
        key, value = match.groups()
        if key in values:
            raise UsageError(f"parameter {key} given twice")
        values[key] = value
    return values


def _checked(pattern: re.Pattern[str], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise argparse.ArgumentTypeError(f"invalid {what}: {value!r}")
        return value

    return check


def _quota(low: int, high: int) -> Callable[[str], int]:
    def check(value: str) -> int:
        if not value.isdigit() or not low <= int(value) <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}")
        return int(value)

    return check


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quotas.py",
        description="Check AWS size quotas for the values about to be deployed (exit 1 when one is exceeded).",
    )
    sides = parser.add_subparsers(dest="command", required=True)
    for name, text in (("backend", "a provider stack"), ("client", "a consumer stack")):
        side = sides.add_parser(name, help=f"check {text}'s parameters and policies")
        side.add_argument("--stack-name", required=True, type=_checked(_STACK, "stack name"))
        side.add_argument("--account", required=True, type=_checked(_ACCOUNT, "account id (12 digits)"))
        side.add_argument("--region", required=True, type=_checked(_REGION, "region"))
        if name == "backend":
            side.add_argument(
                "--api-policy-quota", type=_quota(API_POLICY_QUOTA, 10**6), default=API_POLICY_QUOTA, metavar="N"
            )
            side.add_argument(
                "--trust-policy-quota",
                type=_quota(TRUST_POLICY_QUOTA, TRUST_POLICY_QUOTA_MAX),
                default=TRUST_POLICY_QUOTA,
                metavar="N",
            )
        side.add_argument("parameters", nargs="*", metavar="Key=Value")
    every = sides.add_parser("deploy-all", help="check the values deploy-all.sh sends to both stacks")
    every.add_argument("--backend-stack", required=True, type=_checked(_STACK, "stack name"))
    every.add_argument("--client-stack", required=True, type=_checked(_STACK, "stack name"))
    every.add_argument("--provider-account", required=True, type=_checked(_ACCOUNT, "account id (12 digits)"))
    every.add_argument("--consumer-account", required=True, type=_checked(_ACCOUNT, "account id (12 digits)"))
    every.add_argument("--region", required=True, type=_checked(_REGION, "region"))
    return parser


def _run(args: argparse.Namespace) -> list[tuple[str, Finding]]:
    if args.command == "deploy-all":
        backend, client = deploy_all_values(
            backend_stack=args.backend_stack,
            client_stack=args.client_stack,
            provider_account=args.provider_account,
            consumer_account=args.consumer_account,
            region=args.region,
        )
        provider = check_backend(backend, stack=args.backend_stack, account=args.provider_account, region=args.region)
        consumer = check_client(client, stack=args.client_stack, account=args.consumer_account, region=args.region)
        return [(f"{args.backend_stack}: ", f) for f in provider] + [(f"{args.client_stack}: ", f) for f in consumer]
    values = parse_parameters(args.parameters)
    if args.command == "backend":
        findings = check_backend(
            values,
            stack=args.stack_name,
            account=args.account,
            region=args.region,
            api_policy_quota=args.api_policy_quota,
            trust_policy_quota=args.trust_policy_quota,
        )
    else:
        findings = check_client(values, stack=args.stack_name, account=args.account, region=args.region)
    return [("", f) for f in findings]


def main(argv: Sequence[str] | None = None) -> int:
    """Check the quotas for one command line; 0 all fit, 1 a quota is exceeded, 2 usage error."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        results = _run(args)
    except UsageError as error:
        parser.print_usage(sys.stderr)
        print(f"quotas.py: error: {error}", file=sys.stderr)
        return 2
    for prefix, finding in results:
        print(prefix + finding.line())
    exceeded = [(prefix, f) for prefix, f in results if f.over]
    for prefix, finding in exceeded:
        unit = finding.unit.rstrip("s") if finding.over == 1 else finding.unit
        print(
            f"quotas.py: {prefix}{finding.item} is {finding.over:,} {unit} over the quota of "
            f"{finding.quota:,} {finding.unit}. {finding.advice}",
            file=sys.stderr,
        )
    return 1 if exceeded else 0


if __name__ == "__main__":
    raise SystemExit(main())
