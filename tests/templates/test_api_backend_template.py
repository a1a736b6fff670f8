"""api-backend.yaml: lint, SAM transform for every deployable parameter combination, rendered policies."""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file

from backend import validation
from cfnrender.render import (
    POWERTOOLS_SSM_PARAMETER,
    ParameterError,
    Rendered,
    load_template,
    public_ssm_parameters,
    render_template,
)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = [ROOT / "api-backend" / "api-backend.yaml", ROOT / "api-backend" / "vpc-api-backend.yaml"]
BACKEND = TEMPLATES[0]

ACCOUNT = "222222222222"
REGION = "us-east-1"
API_ID = "a1b2c3d4e5"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/private-api-backend-ApiAccessRole-EXAMPLE"
TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/private-api-backend-ItemsTable-EXAMPLE"
IDEMPOTENCY_TABLE_ARN = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/private-api-backend-IdempotencyTable-EXAMPLE"
PHYSICAL_IDS = {"BackendApi": API_ID, "BackendApiStage": "Prod"}
ATTRIBUTES = {"ApiAccessRole.Arn": ROLE_ARN, "ItemsTable.Arn": TABLE_ARN, "IdempotencyTable.Arn": IDEMPOTENCY_TABLE_ARN}

CLIENT_ROLE = "arn:aws:iam::111111111111:role/private-api-client-DirectAuthClientRole-EXAMPLE"
VPC = {
    "pVPCID": "vpc-0a1b2c3d4e5f60718",
    "pLambdaSubnetIDs": "subnet-0a1b2c3d4e5f60718,subnet-1a1b2c3d4e5f60718",
    "pDynamoDBPrefixListID": "pl-02cd2c6b",
}

# Every combination users deploy, by name.
COMBINATIONS: dict[str, dict[str, str]] = {
    "defaults": {},
    "all-lists": {
        "pTrustedPrincipals": "111111111111,arn:aws:iam::333333333333:role/caller",
        "pAPIAccessList": f"{CLIENT_ROLE},444444444444",
        "pAllowedPrincipalPatterns": (
            "arn:aws:iam::111111111111:role/team-*,arn:aws:sts::555555555555:assumed-role/ops-?/*"
        ),
        "pAllowedOrgID": "o-a1b2c3d4e5",
        "pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718,vpce-11112222",
        "pAssociateVPCEndpoints": "Yes",
    },
    "direct-client": {"pAPIAccessList": CLIENT_ROLE, "pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718"},
    "assume-role-client": {"pTrustedPrincipals": "111111111111", "pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718"},
    "endpoints-associated": {"pAllowedVPCEndpoints": "vpce-0a1b2c3d4e5f60718", "pAssociateVPCEndpoints": "Yes"},
    "associate-without-endpoints": {"pAssociateVPCEndpoints": "Yes"},
    "patterns": {"pAllowedPrincipalPatterns": "arn:aws:iam::111111111111:role/team-*"},
    "org": {"pAllowedOrgID": "o-a1b2c3d4e5"},
    "waf-off": {"pEnableWAF": "No"},
    "account-role-off": {"pAPIGatewayAccountRole": "No"},
    "vpc-endpoint-route-table": {
        **VPC,
        "pCreateDDBEndpoint": "Yes",
        "pLambdaSubnetRouteTable": "rtb-0a1b2c3d4e5f60718",
    },
    "vpc-endpoint-no-route-table": {**VPC, "pCreateDDBEndpoint": "Yes"},
    "vpc-no-endpoint": {**VPC, "pCreateDDBEndpoint": "No"},
    "vpc-no-endpoint-route-table-ignored": {
        **VPC,
        "pCreateDDBEndpoint": "No",
        "pLambdaSubnetRouteTable": "rtb-0a1b2c3d4e5f60718",
    },
    "everything-off": {"pEnableWAF": "No", "pAPIGatewayAccountRole": "No", "pAPIStageName": "v1"},
}
REQUIRED_OUTPUTS = {"APIGatewayID", "APIGatewayFQDN", "APIAccessRole", "APIStageName", "APIURL", "TableName"}
ITEM_ACTIONS = {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:Query"}
RECORD_ACTIONS = ITEM_ACTIONS - {"dynamodb:Query"}  # Powertools' idempotency records: by key only


@functools.cache
def backend_template() -> dict[str, Any]:
    """The source template, parsed once (render_template packages its local CodeUri as `sam package` would)."""
    return load_template(BACKEND)


def render(parameters: dict[str, str]) -> Rendered:
    """Transform and resolve api-backend.yaml for one parameter set in the provider account."""
    return render_template(
        copy.deepcopy(backend_template()),
        parameters,
        account_id=ACCOUNT,
        region=REGION,
        stack_name="private-api-backend",
        physical_ids=PHYSICAL_IDS,
        attributes=ATTRIBUTES,
    )


@functools.cache
def rendered(combination: str) -> Rendered:
    return render(COMBINATIONS[combination])


def as_list(value: str) -> list[str]:
    return value.split(",")


def expected_resource_policy(parameters: dict[str, str]) -> dict[str, Any]:
    """The resource policy docs/provider.md promises for these parameters (the test oracle)."""
    invoke = {"Action": "execute-api:Invoke", "Resource": "execute-api:/*"}
    statements: list[dict[str, Any]] = [
        {"Sid": "AllowAccessRole", "Effect": "Allow", "Principal": {"AWS": ROLE_ARN}, **invoke}
    ]
    if parameters.get("pAPIAccessList", "None") != "None":
        principals = as_list(parameters["pAPIAccessList"])
        statements.append({"Sid": "AllowAccessList", "Effect": "Allow", "Principal": {"AWS": principals}, **invoke})
    if parameters.get("pAllowedPrincipalPatterns", "None") != "None":
        patterns = as_list(parameters["pAllowedPrincipalPatterns"])
        statements.append(
            {
                "Sid": "AllowPrincipalPatterns",
                "Effect": "Allow",
                "Principal": "*",
                **invoke,
                "Condition": {"ArnLike": {"aws:PrincipalArn": patterns}},
            }
        )
    if parameters.get("pAllowedOrgID", "None") != "None":
        org = parameters["pAllowedOrgID"]
        statements.append(
            {
                "Sid": "AllowOrganization",
                "Effect": "Allow",
                "Principal": "*",
                **invoke,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": org}},
            }
        )
    if parameters.get("pAllowedVPCEndpoints", "None") != "None":
        endpoints = as_list(parameters["pAllowedVPCEndpoints"])
        statements.append(
            {
                "Sid": "DenyOutsideAllowedVPCEndpoints",
                "Effect": "Deny",
                "Principal": "*",
                **invoke,
                "Condition": {"StringNotEquals": {"aws:SourceVpce": endpoints}},
            }
        )
    # Always present (mTLS off here): nobody reaches the unsigned /mtls routes.
    statements.append(
        {
            "Sid": "DenyCertificatePathElsewhere",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": ["execute-api:/*/*/mtls", "execute-api:/*/*/mtls/*"],
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def is_certificate_path(path: str) -> bool:
    return path == "/mtls" or path.startswith("/mtls/")


def methods(api: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every (path, method) of the OpenAPI body."""
    return {
        (path, verb): operation
        for path, item in api["Properties"]["Body"]["paths"].items()
        for verb, operation in item.items()
        if verb in {"get", "put", "post", "delete", "patch", "head", "options", "x-amazon-apigateway-any-method"}
    }


# --- lint -----------------------------------------------------------------------------------------------------


@pytest.mark.slow  # 4-9 s per template; make lint runs the same cfn-lint
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_template_reports_no_findings(template):
    # GIVEN a provider template
    # WHEN cfn-lint checks it with informational rules included
    matches = lint_file(template, ManualArgs(regions=[REGION], include_checks=["I"]))

    # THEN there is nothing to report
    assert [str(m) for m in matches] == []


# --- every combination ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_render_combination_has_exactly_one_private_rest_api(combination):
    # GIVEN a parameter combination users deploy
    # WHEN the template is transformed and resolved (a dangling reference would raise RenderError)
    result = rendered(combination)

    # THEN there is one REST API, private, and nothing else API-like
    api = result.one("AWS::ApiGateway::RestApi")
    assert api["Properties"]["EndpointConfiguration"]["Types"] == ["PRIVATE"]
    assert api["Properties"]["Parameters"] == {"endpointConfigurationTypes": "PRIVATE"}
    assert result.of_type("AWS::ApiGatewayV2::Api") == {}


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_render_combination_every_method_iam_authorized_without_integration_credentials(combination):
    # GIVEN a rendered combination
    api = rendered(combination).one("AWS::ApiGateway::RestApi")

    # WHEN each method of the definition is inspected
    operations = methods(api)

    # THEN all six routes exist, each signed with SigV4 and proxied to the function with no credentials (the
    # certificate path's copies under /mtls are the next test's)
    operations = {key: operation for key, operation in operations.items() if not is_certificate_path(key[0])}
    assert set(operations) == {
        ("/", "get"),
        ("/items", "get"),
        ("/items", "post"),
        ("/items/{id}", "get"),
        ("/items/{id}", "put"),
        ("/items/{id}", "delete"),
    }
    for operation in operations.values():
        assert operation["security"] == [{"AWS_IAM": []}]
        integration = operation["x-amazon-apigateway-integration"]
        assert integration["type"] == "aws_proxy"
        assert "credentials" not in integration
        assert integration["uri"] == (
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/BackendFunction.Arn/invocations"
        )
    schemes = api["Properties"]["Body"]["components"]["securitySchemes"]
    assert schemes["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_render_combination_resource_policy_matches_parameters(combination):
    # GIVEN a rendered combination
    api = rendered(combination).one("AWS::ApiGateway::RestApi")

    # WHEN its resource policy is read from the OpenAPI body
    policy = api["Properties"]["Body"]["x-amazon-apigateway-policy"]

    # THEN it is exactly the documented statements for these parameters
    assert policy == expected_resource_policy(COMBINATIONS[combination])
    assert len(json.dumps(policy)) <= 8192


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_render_combination_access_role_trust_policy_matches_parameters(combination):
    # GIVEN a rendered combination
    role = rendered(combination).resources["ApiAccessRole"]

    # WHEN its trust policy is read
    statements = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]

    # THEN Nobody trusts this account only, otherwise exactly the listed principals
    trusted = COMBINATIONS[combination].get("pTrustedPrincipals", "Nobody")
    expected = f"arn:aws:iam::{ACCOUNT}:root" if trusted == "Nobody" else as_list(trusted)
    assert statements == [
        {"Sid": "TrustedPrincipals", "Effect": "Allow", "Principal": {"AWS": expected}, "Action": "sts:AssumeRole"}
    ]


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_render_combination_access_role_may_invoke_this_api_only(combination):
    # GIVEN a rendered combination
    policy = rendered(combination).resources["ApiAccessPolicy"]["Properties"]

    # WHEN the access role's identity policy is read
    statements = policy["PolicyDocument"]["Statement"]

    # THEN it allows execute-api:Invoke on this API's ARN and nothing else
    assert policy["Roles"] == ["ApiAccessRole"]
    assert statements == [
        {
            "Sid": "InvokeThisApiOnly",
            "Effect": "Allow",
            "Action": "execute-api:Invoke",
            "Resource": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/*",
        }
    ]


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_render_combination_functions_are_python314_on_arm64(combination):
    # GIVEN a rendered combination
    functions = rendered(combination).of_type("AWS::Lambda::Function")

    # WHEN the runtime settings are read
    settings = {name: (f["Properties"]["Runtime"], f["Properties"]["Architectures"]) for name, f in functions.items()}

    # THEN the one backend function runs python3.14 on arm64 with tracing and the Powertools layer AWS publishes
    assert settings == {"BackendFunction": ("python3.14", ["arm64"])}
    function = functions["BackendFunction"]["Properties"]
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["Layers"] == [public_ssm_parameters(REGION)[POWERTOOLS_SSM_PARAMETER]]
    assert function["Handler"] == "backend.app.handler"


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_render_combination_one_stage_on_one_deployment(combination):
    # GIVEN a rendered combination
    result = rendered(combination)

    # WHEN stages and deployments are counted
    stage = result.one("AWS::ApiGateway::Stage")
    deployments = result.of_type("AWS::ApiGateway::Deployment")

    # THEN the single stage (no stray "Stage" stage) points at the single deployment
    assert list(deployments) == [stage["Properties"]["DeploymentId"]]
    assert stage["Properties"]["StageName"] == COMBINATIONS[combination].get("pAPIStageName", "Prod")
    assert stage["Properties"]["TracingEnabled"] is True


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_render_combination_outputs_present(combination):
    # GIVEN a rendered combination
    outputs = rendered(combination).outputs

    # WHEN the outputs are listed
    names = set(outputs)

    # THEN the contract outputs exist with resolved values
    assert names >= REQUIRED_OUTPUTS
    stage = COMBINATIONS[combination].get("pAPIStageName", "Prod")
    assert outputs["APIGatewayFQDN"] == f"{API_ID}.execute-api.{REGION}.amazonaws.com"
    assert outputs["APIURL"] == f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/{stage}"
    assert (outputs["APIAccessRole"], outputs["APIStageName"]) == (ROLE_ARN, stage)


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_render_combination_optional_resources_follow_parameters(combination):
    # GIVEN a rendered combination
    parameters = COMBINATIONS[combination]
    present = set(rendered(combination).resources)

    # WHEN the optional resources are looked for
    expected = {
        "WebACL": parameters.get("pEnableWAF", "Yes") == "Yes",
        "WebACLAssociation": parameters.get("pEnableWAF", "Yes") == "Yes",
        "ApiGatewayAccount": parameters.get("pAPIGatewayAccountRole", "Yes") == "Yes",
        "ApiGatewayCloudWatchRole": parameters.get("pAPIGatewayAccountRole", "Yes") == "Yes",
        "BackendSecurityGroup": "pVPCID" in parameters,
        "DynamoDBEndpoint": "pVPCID" in parameters and parameters.get("pCreateDDBEndpoint", "No") == "Yes",
    }

    # THEN each exists exactly when its parameters ask for it
    assert {name: name in present for name in expected} == expected


@pytest.mark.parametrize("combination", COMBINATIONS)
def test_render_combination_vpc_endpoint_association_follows_parameters(combination):
    # GIVEN a rendered combination
    parameters = COMBINATIONS[combination]
    configuration = rendered(combination).one("AWS::ApiGateway::RestApi")["Properties"]["EndpointConfiguration"]

    # WHEN the associated endpoint ids are read
    associated = configuration.get("VpcEndpointIds")

    # THEN they are the allowed endpoints when association is asked for and endpoints are given, else absent
    endpoints = parameters.get("pAllowedVPCEndpoints", "None")
    wanted = parameters.get("pAssociateVPCEndpoints") == "Yes" and endpoints != "None"
    assert associated == (as_list(endpoints) if wanted else None)


# --- single behaviours ----------------------------------------------------------------------------------------


def test_render_twice_at_different_times_creates_new_deployment(monkeypatch):
    # GIVEN two stack updates with identical parameters a second apart (AlwaysDeploy)
    monkeypatch.setattr("time.time", lambda: 1_700_000_000.0)
    first = render({})
    monkeypatch.setattr("time.time", lambda: 1_700_000_001.0)

    # WHEN the template is transformed again
    second = render({})

    # THEN the deployment gets a new logical id, so CloudFormation deploys the stage again
    first_id = next(iter(first.of_type("AWS::ApiGateway::Deployment")))
    second_id = next(iter(second.of_type("AWS::ApiGateway::Deployment")))
    assert first_id != second_id
    assert second.one("AWS::ApiGateway::Stage")["Properties"]["DeploymentId"] == second_id


def test_source_template_api_always_deploys_and_invokes_without_role():
    # GIVEN the API as written in the template
    api = backend_template()["Resources"]["BackendApi"]["Properties"]

    # WHEN its deployment and auth settings are read
    settings = (api["AlwaysDeploy"], api["Auth"]["DefaultAuthorizer"], api["Auth"]["InvokeRole"])

    # THEN every update redeploys and IAM auth does not switch on caller-credential integration
    assert settings == (True, "AWS_IAM", "NONE")


def test_render_defaults_access_log_is_json_with_troubleshooting_fields():
    # GIVEN the stage of the default combination
    stage = rendered("defaults").one("AWS::ApiGateway::Stage")["Properties"]

    # WHEN the access log format is filled in the way API Gateway fills it ("-" for absent values)
    line = re.sub(r"\$context\.[A-Za-z.]+", "-", stage["AccessLogSetting"]["Format"])
    entry = json.loads(line)

    # THEN each line is JSON carrying authentication, authorization, WAF, identity, error and integration fields
    assert stage["AccessLogSetting"]["DestinationArn"] == "ApiAccessLogGroup.Arn"
    assert set(entry["identity"]) >= {"accountId", "caller", "userArn", "vpceId", "vpcId", "sourceIp"}
    assert set(entry["authenticate"]) == {"status", "error", "latency"}
    assert set(entry["authorize"]) == {"status", "error", "latency"}
    assert set(entry["waf"]) >= {"status", "error", "latency", "responseCode"}
    assert set(entry["error"]) >= {"message", "responseType"}
    assert set(entry["integration"]) >= {"status", "integrationStatus", "error", "latency", "requestId"}
    assert {"requestId", "status", "httpMethod", "resourcePath"} <= set(entry)


def test_render_defaults_log_groups_keep_configured_retention():
    # GIVEN a custom retention
    result = render({"pAPIAccessLogRetention": "14"})

    # WHEN the log groups are read
    retention = {name: g["Properties"]["RetentionInDays"] for name, g in result.of_type("AWS::Logs::LogGroup").items()}

    # THEN both the access log and the function log use it, and the function logs to its own group
    assert retention == {"ApiAccessLogGroup": "14", "BackendFunctionLogGroup": "14"}
    function = result.resources["BackendFunction"]["Properties"]
    assert function["LoggingConfig"] == {"LogGroup": "BackendFunctionLogGroup"}


def test_render_defaults_table_is_on_demand_kms_encrypted_with_pitr():
    # GIVEN the default combination
    table = rendered("defaults").resources["ItemsTable"]["Properties"]

    # WHEN the table settings are read
    settings = (table["BillingMode"], table["SSESpecification"], table["PointInTimeRecoverySpecification"])

    # THEN on-demand, SSE-KMS with the stack's customer managed key and point-in-time recovery, keyed by pk (owner
    # account) and sk (item id)
    sse = {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": "DataKey.Arn"}
    assert settings == ("PAY_PER_REQUEST", sse, {"PointInTimeRecoveryEnabled": True})
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]


def test_render_defaults_idempotency_table_expires_records_and_is_encrypted_like_the_items():
    # GIVEN the default combination
    result = rendered("defaults")
    table = result.resources["IdempotencyTable"]["Properties"]
    # WHEN its settings and the function's environment are read
    variables = result.resources["BackendFunction"]["Properties"]["Environment"]["Variables"]
    # THEN keyed by Powertools' id, expired by TTL on `expiration`, KMS with the stack's key, PITR, named in the env
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert table["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": "DataKey.Arn"}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert variables["IDEMPOTENCY_TABLE_NAME"] == "IdempotencyTable"


def test_render_defaults_function_role_allows_only_item_actions_on_table():
    # GIVEN the backend function's role
    role = rendered("defaults").resources["BackendFunctionRole"]["Properties"]

    # WHEN its DynamoDB statement is read
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}

    # THEN only the five item actions on this table, logs to its own group, no VPC policy outside a VPC
    assert set(statements["ItemsTable"]["Action"]) == ITEM_ACTIONS
    assert statements["ItemsTable"]["Resource"] == TABLE_ARN
    assert set(statements["IdempotencyTable"]["Action"]) == RECORD_ACTIONS
    assert statements["IdempotencyTable"]["Resource"] == IDEMPOTENCY_TABLE_ARN
    assert statements["WriteOwnLogs"]["Resource"] == "BackendFunctionLogGroup.Arn"
    assert "ManagedPolicyArns" not in role


def test_render_defaults_waf_has_managed_groups_and_rate_rule_on_the_stage():
    # GIVEN the default combination
    result = rendered("defaults")

    # WHEN the web ACL and its association are read
    acl = result.resources["WebACL"]["Properties"]
    association = result.resources["WebACLAssociation"]["Properties"]

    # THEN AWS common + known-bad-inputs + a per-IP rate limit, regional, attached to the stage ARN
    assert acl["Scope"] == "REGIONAL"
    managed = [r["Statement"]["ManagedRuleGroupStatement"]["Name"] for r in acl["Rules"] if "OverrideAction" in r]
    assert managed == ["AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]
    rate = [r["Statement"]["RateBasedStatement"] for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert rate == [{"Limit": "20000", "EvaluationWindowSec": 300, "AggregateKeyType": "IP"}]
    assert association["ResourceArn"] == f"arn:aws:apigateway:{REGION}::/restapis/{API_ID}/stages/Prod"


def test_render_vpc_security_group_allows_only_dns_and_dynamodb_prefix_list():
    # GIVEN a VPC-attached combination
    result = rendered("vpc-endpoint-route-table")

    # WHEN the function's security group egress is read
    egress = result.resources["BackendSecurityGroup"]["Properties"]["SecurityGroupEgress"]

    # THEN only DNS (udp+tcp 53) and HTTPS to the DynamoDB prefix list leave the function
    assert sorted(
        (e["IpProtocol"], e["FromPort"], e.get("CidrIp") or e.get("DestinationPrefixListId")) for e in egress
    ) == [
        ("tcp", 53, "169.254.169.253/32"),
        ("tcp", 443, "pl-02cd2c6b"),
        ("udp", 53, "169.254.169.253/32"),
    ]
    function = result.resources["BackendFunction"]["Properties"]
    assert function["VpcConfig"] == {
        "SecurityGroupIds": ["BackendSecurityGroup"],
        "SubnetIds": as_list(VPC["pLambdaSubnetIDs"]),
    }


def test_render_vpc_dynamodb_endpoint_policy_allows_only_this_table_and_used_actions():
    # GIVEN a VPC-attached combination with endpoint and route table
    result = rendered("vpc-endpoint-route-table")

    # WHEN the gateway endpoint is read
    endpoint = result.resources["DynamoDBEndpoint"]["Properties"]

    # THEN it routes the given table, and its policy equals the function's table permissions
    assert (endpoint["VpcEndpointType"], endpoint["ServiceName"]) == ("Gateway", f"com.amazonaws.{REGION}.dynamodb")
    assert endpoint["RouteTableIds"] == ["rtb-0a1b2c3d4e5f60718"]
    items, records = endpoint["PolicyDocument"]["Statement"]
    assert (items["Effect"], items["Resource"], set(items["Action"])) == ("Allow", TABLE_ARN, ITEM_ACTIONS)
    assert (records["Effect"], records["Resource"], set(records["Action"])) == (
        "Allow",
        IDEMPOTENCY_TABLE_ARN,
        RECORD_ACTIONS,
    )
    role = result.resources["BackendFunctionRole"]["Properties"]
    assert role["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"]


def test_render_vpc_without_route_table_creates_endpoint_without_routes():
    # GIVEN a VPC combination without pLambdaSubnetRouteTable
    endpoint = rendered("vpc-endpoint-no-route-table").resources["DynamoDBEndpoint"]["Properties"]

    # WHEN its route tables are read
    routes = endpoint.get("RouteTableIds")

    # THEN the property is omitted rather than set to "None"
    assert routes is None


def test_render_account_role_off_api_does_not_wait_for_account_setting():
    # GIVEN the account-role switch off
    result = rendered("account-role-off")

    # WHEN the API's ordering dependency is resolved
    api = result.one("AWS::ApiGateway::RestApi")

    # THEN it still depends only on the always-present ordering handle
    assert api["DependsOn"] == "ApiGatewayAccountReady"
    assert "ApiGatewayAccountReady" in result.resources


def test_render_models_match_backend_validation():
    # GIVEN the request models API Gateway validates and the backend's own validation rules
    schemas = rendered("defaults").one("AWS::ApiGateway::RestApi")["Properties"]["Body"]["components"]["schemas"]
    create, replace = schemas["ItemCreate"], schemas["ItemReplace"]

    # WHEN fields, required fields and limits are compared
    # THEN both layers accept and refuse the same shapes
    assert set(create["properties"]) == validation.CREATE_FIELDS
    assert set(create["required"]) == validation.CREATE_REQUIRED
    assert set(replace["properties"]) == validation.REPLACE_FIELDS
    assert set(replace["required"]) == validation.REPLACE_REQUIRED
    assert create["additionalProperties"] is replace["additionalProperties"] is False
    for schema in (create, replace):
        assert schema["properties"]["name"]["maxLength"] == validation.NAME_MAX
        assert schema["properties"]["description"]["maxLength"] == validation.DESCRIPTION_MAX
        assert schema["properties"]["tags"]["maxItems"] == validation.TAGS_MAX_ITEMS
        assert schema["properties"]["tags"]["items"]["maxLength"] == validation.TAG_MAX
    assert replace["properties"]["version"]["minimum"] == 1
    assert replace["properties"]["version"]["maximum"] == validation.VERSION_MAX


def test_render_models_say_the_backend_refuses_unpaired_surrogates():
    # GIVEN the request models (JSON Schema cannot express "valid Unicode text", so API Gateway passes them)
    schemas = rendered("defaults").one("AWS::ApiGateway::RestApi")["Properties"]["Body"]["components"]["schemas"]

    # WHEN their descriptions are read
    # THEN each says the backend refuses an unpaired surrogate escape with 400
    for name in ("ItemCreate", "ItemReplace"):
        assert "unpaired surrogate" in schemas[name]["description"], name
        assert "400" in schemas[name]["description"], name


@pytest.mark.parametrize(
    ("parameters", "reason"),
    [
        ({"pAPIAccessList": f"None,{CLIENT_ROLE}"}, "pAPIAccessList is either None"),
        ({"pTrustedPrincipals": "Nobody,111111111111"}, "pTrustedPrincipals is either Nobody"),
        ({"pAllowedVPCEndpoints": "None,vpce-11112222"}, "pAllowedVPCEndpoints is either None"),
        ({"pAllowedPrincipalPatterns": "None,arn:aws:iam::111111111111:role/x*"}, "pAllowedPrincipalPatterns"),
        ({"pVPCID": VPC["pVPCID"], "pDynamoDBPrefixListID": "pl-02cd2c6b"}, "pLambdaSubnetIDs must list"),
        ({"pVPCID": VPC["pVPCID"], "pLambdaSubnetIDs": VPC["pLambdaSubnetIDs"]}, "pDynamoDBPrefixListID is required"),
        ({"pLambdaSubnetIDs": VPC["pLambdaSubnetIDs"]}, "pLambdaSubnetIDs needs pVPCID"),
        ({"pAllowedPrincipalPatterns": "arn:aws:iam::*:role/team-*"}, "does not match"),
        ({"pAPIAccessList": "arn:aws:iam::111111111111:group/admins"}, "does not match"),
        ({"pAllowedOrgID": "o-short"}, "does not match"),
        ({"pAllowedVPCEndpoints": "vpc-11112222"}, "does not match"),
        ({"pAPIStageName": "bad stage"}, "does not match"),
        ({"pAPIAccessLogRetention": "2"}, "is not one of"),
    ],
)
def test_render_invalid_parameters_rejected_before_deploy(parameters, reason):
    # GIVEN a parameter set CloudFormation must refuse (Rules, AllowedPattern, AllowedValues)
    # WHEN the template is rendered with it
    with pytest.raises(ParameterError) as raised:
        render(parameters)

    # THEN the error says why
    assert reason in str(raised.value)
