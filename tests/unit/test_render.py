"""The template renderer: transform + parameters + conditions + intrinsics, and the errors it must raise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from samcli.yamlhelper import yaml_parse

from cfnrender.render import ParameterError, RenderError, load_template, render_template

REPO = Path(__file__).resolve().parents[2]

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Transform": "AWS::Serverless-2016-10-31",
    "Parameters": {
        "pMode": {"Type": "String", "Default": "Yes", "AllowedValues": ["Yes", "No"]},
        "pList": {"Type": "CommaDelimitedList", "Default": "None"},
        "pId": {"Type": "String", "Default": "vpce-0abc", "AllowedPattern": "^vpce-[0-9a-f]+$"},
        "pCidr": {"Type": "String", "Default": "10.1.0.0/16"},
    },
    "Rules": {
        "ListNeedsMode": {
            "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": [",", {"Ref": "pList"}]}, "None"]}]},
            "Assertions": [
                {"Assert": {"Fn::Equals": [{"Ref": "pMode"}, "Yes"]}, "AssertDescription": "pList needs pMode=Yes"}
            ],
        }
    },
    "Conditions": {
        "IsModeOn": {"Fn::Equals": [{"Ref": "pMode"}, "Yes"]},
        "HasList": {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": [",", {"Ref": "pList"}]}, "None"]}]},
        "IsBoth": {"Fn::And": [{"Condition": "IsModeOn"}, {"Condition": "HasList"}]},
    },
    "Resources": {
        "Fn": {
            "Type": "AWS::Serverless::Function",
            "Properties": {
                "Runtime": "python3.14",
                "Handler": "a.b",
                "CodeUri": "s3://b/k",
                "Architectures": ["arm64"],
            },
        },
        "Topic": {"Type": "AWS::SNS::Topic", "Condition": "IsModeOn", "Properties": {}},
        "Queue": {
            "Type": "AWS::SQS::Queue",
            "Properties": {
                "QueueName": {"Fn::If": ["IsModeOn", {"Fn::GetAtt": ["Topic", "TopicName"]}, {"Ref": "AWS::NoValue"}]},
                "Tags": [
                    {"Key": "sub", "Value": {"Fn::Sub": "${AWS::Region}/${Fn.Arn}/${!Literal}/${pId}"}},
                    {"Key": "cidr", "Value": {"Fn::Select": [1, {"Fn::Cidr": [{"Ref": "pCidr"}, 3, 8]}]}},
                    {"Key": "az", "Value": {"Fn::Select": [0, {"Fn::GetAZs": ""}]}},
                ],
            },
        },
    },
    "Outputs": {
        "TopicArn": {"Condition": "IsModeOn", "Value": {"Ref": "Topic"}},
        "List": {"Value": {"Fn::Join": ["|", {"Ref": "pList"}]}},
    },
}


def test_render_defaults_transform_sam_and_resolve_intrinsics():
    # GIVEN the template with its defaults
    # WHEN it is rendered
    rendered = render_template(TEMPLATE, account_id="111122223333", region="eu-west-1", attributes={"Fn.Arn": "A"})
    # THEN SAM turned the function into a Lambda function and its role, and every intrinsic is resolved
    assert rendered.one("AWS::Lambda::Function")["Properties"]["Runtime"] == "python3.14"
    assert "FnRole" in rendered.of_type("AWS::IAM::Role")
    tags = {t["Key"]: t["Value"] for t in rendered.resources["Queue"]["Properties"]["Tags"]}
    assert tags == {"sub": "eu-west-1/A/${Literal}/vpce-0abc", "cidr": "10.1.1.0/24", "az": "eu-west-1a"}
    assert rendered.resources["Queue"]["Properties"]["QueueName"] == "Topic.TopicName"
    assert rendered.outputs == {"TopicArn": "Topic", "List": "None"}


def test_render_false_condition_removes_resource_output_and_novalue_property():
    # GIVEN pMode=No, which removes Topic and the guarded property
    rendered = render_template(TEMPLATE, {"pMode": "No"})
    # THEN Topic, its output and the Fn::If-guarded property are all gone
    assert "Topic" not in rendered.resources
    assert "TopicArn" not in rendered.outputs
    assert "QueueName" not in rendered.resources["Queue"]["Properties"]
    assert rendered.conditions == {"IsModeOn": False, "HasList": False, "IsBoth": False}


def test_render_unguarded_reference_to_removed_resource_raises():
    # GIVEN an output that refers to Topic without its condition
    template = {**TEMPLATE, "Outputs": {"Bad": {"Value": {"Fn::GetAtt": ["Topic", "TopicName"]}}}}
    # WHEN rendered with the condition false THEN the dangling reference is reported by name
    with pytest.raises(RenderError, match=r"Outputs.Bad: .*Topic, which condition IsModeOn removes"):
        render_template(template, {"pMode": "No"})


def test_render_sub_reference_to_removed_resource_raises():
    template = {**TEMPLATE, "Outputs": {"Bad": {"Value": {"Fn::Sub": "x-${Topic}"}}}}
    with pytest.raises(RenderError, match="Topic, which condition IsModeOn removes"):
        render_template(template, {"pMode": "No"})


def test_render_list_parameter_splits_on_commas():
    rendered = render_template(TEMPLATE, {"pList": "a,b"})
    assert rendered.parameters["pList"] == ["a", "b"]
    assert rendered.outputs["List"] == "a|b"
    assert rendered.conditions["IsBoth"] is True


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"pMode": "Maybe"}, "pMode: 'Maybe' is not one of"),
        ({"pId": "sg-123"}, "pId: 'sg-123' does not match"),
        ({"pNope": "x"}, "unknown parameter"),
        ({"pList": "a", "pMode": "No"}, "rule ListNeedsMode: pList needs pMode=Yes"),
    ],
)
def test_render_bad_parameter_raises_parameter_error(parameters, message):
    with pytest.raises(ParameterError, match=message):
        render_template(TEMPLATE, parameters)


def test_render_missing_required_parameter_raises():
    template = {**TEMPLATE, "Parameters": {**TEMPLATE["Parameters"], "pNeeded": {"Type": "String"}}}
    with pytest.raises(ParameterError, match="pNeeded: a value is required"):
        render_template(template)


def test_render_cidr_that_does_not_fit_raises():
    with pytest.raises(RenderError, match="do not fit"):
        render_template(TEMPLATE, {"pCidr": "10.0.0.0/30"})


def test_render_physical_ids_replace_resource_refs():
    rendered = render_template(TEMPLATE, physical_ids={"Topic": "arn:aws:sns:us-east-1:1:t"})
    assert rendered.outputs["TopicArn"] == "arn:aws:sns:us-east-1:1:t"


def test_render_ref_to_sam_generated_stage_is_its_stage_name():
    # GIVEN a SAM API whose stage SAM generates (no physical id chosen for it), and an output referencing it
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {"Api": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "Prod"}}},
        "Outputs": {"Stage": {"Value": {"Ref": "Api.Stage"}}},
    }
    # WHEN rendered
    rendered = render_template(template)
    # THEN Ref returns the stage's name, as CloudFormation's Ref of AWS::ApiGateway::Stage does (not a logical id)
    assert rendered.outputs["Stage"] == "Prod"


def test_render_local_code_uri_is_packaged_like_sam_package():
    # GIVEN a function whose CodeUri is a local folder, as in the repo's templates
    template = {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": "src/", "Handler": "a.b", "Runtime": "python3.14"},
            }
        },
    }
    # WHEN rendered THEN the transform sees an S3 location, as it does after `sam package`
    code = render_template(template).one("AWS::Lambda::Function")["Properties"]["Code"]
    assert code == {"S3Bucket": "packaged-artifacts", "S3Key": "src"}


_SHORT_FORMS = """
Conditions:
  IsOn: !Equals [!Ref pMode, "Yes"]
  Both: !And [!Condition IsOn, !Not [!Equals [!Join [",", !Ref pList], None]]]
Resources:
  rThing:
    Type: AWS::SSM::Parameter
    Condition: IsOn
    Properties:
      Value: !Sub "${AWS::StackName}-x"
      Other: !Sub ["${A}", {A: !GetAtt rRole.Arn}]
      Third: !GetAtt [rRole, Arn]
      Fourth: !Select [0, !GetAZs ""]
      Fifth: !If [IsOn, !Base64 "abc", !Ref AWS::NoValue]
      Sixth: !FindInMap [Map, !Ref AWS::Region, key]
      Seventh: !Split [",", !ImportValue shared]
      Flags: [Yes, No, True, "Yes", 1, 1.5, ~]
"""


def _template_files() -> list[Path]:
    return sorted([*REPO.glob("api-backend/*.yaml"), *REPO.glob("api-client/*.yaml")])


@pytest.mark.parametrize("path", _template_files(), ids=lambda path: path.name)
def test_load_template_reads_each_template_as_cfn_lint_does(path: Path) -> None:
    # GIVEN one of the repo's templates
    cfnlint_decode = pytest.importorskip("cfnlint.decode")
    expected, matches = cfnlint_decode.decode_str(path.read_text(encoding="utf-8"))
    assert not matches
    # WHEN the renderer loads it (without cfn-lint: the demo's venv does not install it)
    # THEN it gets the same plain document cfn-lint decodes
    assert load_template(path) == json.loads(json.dumps(expected))


def test_load_template_turns_every_short_form_tag_into_its_long_form(tmp_path: Path) -> None:
    # GIVEN short-form intrinsics in every shape (scalar, list, nested, GetAtt dotted and as a list)
    path = tmp_path / "short.yaml"
    path.write_text(_SHORT_FORMS, encoding="utf-8")
    cfnlint_decode = pytest.importorskip("cfnlint.decode")
    expected, _ = cfnlint_decode.decode_str(_SHORT_FORMS)
    # WHEN the renderer loads it
    loaded = load_template(path)
    # THEN each tag has its long form, as cfn-lint reads it
    assert loaded == json.loads(json.dumps(expected))
    properties = loaded["Resources"]["rThing"]["Properties"]
    assert properties["Other"] == {"Fn::Sub": ["${A}", {"A": {"Fn::GetAtt": ["rRole", "Arn"]}}]}
    assert properties["Third"] == {"Fn::GetAtt": ["rRole", "Arn"]}
    assert loaded["Conditions"]["Both"]["Fn::And"][0] == {"Condition": "IsOn"}


def test_load_template_refuses_a_duplicate_key(tmp_path: Path) -> None:
    # GIVEN a template that names one resource twice (YAML would silently keep the last)
    path = tmp_path / "dup.yaml"
    path.write_text("Resources:\n  rA: {Type: X}\n  rA: {Type: Y}\n", encoding="utf-8")
    # WHEN the renderer loads it
    # THEN it refuses, naming the key
    with pytest.raises(RenderError, match="rA"):
        load_template(path)


def test_load_template_keeps_its_rules_after_sam_cli_patched_pyyaml(tmp_path: Path) -> None:
    # GIVEN SAM CLI's YAML parser has run in this process (it re-registers the mapping and "!" constructors on
    # PyYAML's SafeLoader, process-wide: make test ran it in the same worker before the renderer)
    yaml_parse("Resources:\n  rA: {Type: X}\n")
    path = tmp_path / "dup.yaml"
    path.write_text("Resources:\n  rA: {Type: X}\n  rA: {Type: !Ref Y}\n", encoding="utf-8")
    # WHEN the renderer loads a template naming one resource twice
    # THEN it still refuses, naming the key
    with pytest.raises(RenderError, match="rA"):
        load_template(path)


def test_load_template_same_file_twice_returns_independent_documents(tmp_path: Path) -> None:
    # GIVEN a template loaded once and the caller's copy mutated
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  rA: {Type: X, Properties: {Name: !Ref P}}\n", encoding="utf-8")
    first = load_template(path)
    first["Resources"]["rA"]["Properties"]["Name"] = "changed"
    # WHEN it is loaded again (from the parse cache)
    second = load_template(path)
    # THEN the second caller sees the file's content, not the first caller's change
    assert second == {"Resources": {"rA": {"Type": "X", "Properties": {"Name": {"Ref": "P"}}}}}


def test_load_template_rewritten_file_is_parsed_again(tmp_path: Path) -> None:
    # GIVEN a template loaded once
    path = tmp_path / "t.yaml"
    path.write_text("Resources:\n  rA: {Type: X}\n", encoding="utf-8")
    assert load_template(path) == {"Resources": {"rA": {"Type": "X"}}}
    # WHEN the file is rewritten (another length, so even a coarse mtime tells the versions apart)
    path.write_text("Resources:\n  rLonger: {Type: Y}\n", encoding="utf-8")
    # THEN the new content is what loads
    assert load_template(path) == {"Resources": {"rLonger": {"Type": "Y"}}}


def _policy_template_function(table: str) -> dict[str, object]:
    return {
        "Transform": "AWS::Serverless-2016-10-31",
        "Resources": {
            "Fn": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Runtime": "python3.13",
                    "Handler": "app.handler",
                    "CodeUri": "s3://bucket/key",
                    "Policies": [{"DynamoDBReadPolicy": {"TableName": table}}],
                },
            }
        },
    }


def test_render_template_sam_policy_templates_are_filled_in_afresh_for_each_render() -> None:
    # GIVEN two renders of a function using one of SAM's policy templates, with different tables
    # (the translator's policy templates are loaded once per process and shared between renders)
    def statement_resources(table: str) -> list[object]:
        role = render_template(_policy_template_function(table)).one("AWS::IAM::Role")
        (policy,) = role["Properties"]["Policies"]
        return [statement["Resource"] for statement in policy["PolicyDocument"]["Statement"]]

    # WHEN each is rendered THEN each names its own table: nothing of the first leaked into the shared template
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/"
    assert statement_resources("first-table") == [[arn + "first-table", arn + "first-table/index/*"]]
    assert statement_resources("second-table") == [[arn + "second-table", arn + "second-table/index/*"]]
