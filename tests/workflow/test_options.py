"""Command lines as the scripts read them, and the validations with the scripts' own messages (exit 2)."""

from __future__ import annotations

import pytest

from workflow.options import (
    backend_stack_name,
    client_stack_name,
    parse,
    validate_bucket_name,
    validate_powertools_layer,
    validate_region,
    validate_stack_prefix,
)
from workflow.output import ShowHelp, UsageError

VALUES = ("--region", "--stack-prefix")
FLAGS = ("--yes", "--delete-buckets")
ALIASES = {"-y": "--yes"}


def test_parse_values_flags_and_positionals_in_any_order() -> None:
    # GIVEN options in both spellings, a flag, an alias and positionals
    argv = ["consumer", "--region", "eu-west-1", "-y", "--stack-prefix=demo", "provider", "--delete-buckets"]
    # WHEN parsed
    parsed = parse(argv, values=VALUES, flags=FLAGS, aliases=ALIASES)
    # THEN each lands under its canonical name, positionals in order
    assert parsed.values == {"--region": "eu-west-1", "--stack-prefix": "demo"}
    assert parsed.flags == {"--yes", "--delete-buckets"}
    assert parsed.positional == ["consumer", "provider"]
    assert parsed.value("--missing", "default") == "default"


@pytest.mark.parametrize("argv", [["--region"], ["--region", ""], ["--region", "--yes"]])
def test_parse_option_without_value_is_a_usage_error(argv: list[str]) -> None:
    with pytest.raises(UsageError, match=r"^option --region needs a value$"):
        parse(argv, values=VALUES, flags=FLAGS)


@pytest.mark.parametrize("arg", ["--frobnicate", "-x", "--yes=1", "--", "-"])
def test_parse_unknown_option_is_a_usage_error_naming_it(arg: str) -> None:
    with pytest.raises(UsageError, match=f"^unknown option: {arg}$"):
        parse(["a", arg], values=VALUES, flags=FLAGS)


@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_parse_help_wins_over_later_problems(flag: str) -> None:
    # GIVEN help before an unknown option
    # WHEN parsed
    # THEN help is asked for; the later problem is never reached
    with pytest.raises(ShowHelp):
        parse([flag, "--frobnicate"], values=VALUES, flags=FLAGS)


def test_parse_inline_empty_value_is_kept_empty() -> None:
    assert parse(["--region="], values=VALUES).values == {"--region": ""}


@pytest.mark.parametrize("prefix", ["a", "private-api", "abcdefghij0123456789"])
def test_validate_stack_prefix_accepts_short_lowercase_names(prefix: str) -> None:
    assert validate_stack_prefix(prefix) == prefix


@pytest.mark.parametrize("prefix", ["", "Private", "1abc", "abc-", "a_b", "abcdefghij0123456789x"])
def test_validate_stack_prefix_rejects_other_names(prefix: str) -> None:
    with pytest.raises(UsageError, match=f"^invalid --stack-prefix '{prefix}': 1-20 characters, lowercase"):
        validate_stack_prefix(prefix)


@pytest.mark.parametrize("bucket", ["my-bucket", "a.b.c", "x" * 63])
def test_validate_bucket_name_accepts_s3_names(bucket: str) -> None:
    assert validate_bucket_name(bucket) == bucket


@pytest.mark.parametrize("bucket", ["ab", "My_Bucket", "-bucket", "bucket-", "x" * 64])
def test_validate_bucket_name_rejects_other_names(bucket: str) -> None:
    with pytest.raises(UsageError, match=f"^invalid S3 bucket name '{bucket}'$"):
        validate_bucket_name(bucket)


@pytest.mark.parametrize("region", ["us-east-1", "ap-southeast-5", "us-gov-west-1"])
def test_validate_region_accepts_region_names(region: str) -> None:
    assert validate_region(region) == region


@pytest.mark.parametrize("region", ["useast1", "US-EAST-1", "us-east", "us-east-1 "])
def test_validate_region_rejects_other_text(region: str) -> None:
    with pytest.raises(UsageError, match=r"^invalid region '.*' \(expected e\.g\. us-east-1\)$"):
        validate_region(region)


@pytest.mark.parametrize(
    "layer",
    [
        "/aws/service/powertools/python/arm64/python3.14/latest",
        "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:7",
    ],
)
def test_validate_powertools_layer_accepts_parameter_names_and_layer_arns(layer: str) -> None:
    assert validate_powertools_layer(layer) == layer


@pytest.mark.parametrize("layer", ["None", "latest", "arn:aws:lambda:eu-west-1:123:layer:x:1"])
def test_validate_powertools_layer_rejects_other_values(layer: str) -> None:
    with pytest.raises(UsageError, match=f"^invalid --powertools-layer '{layer}': an SSM parameter name"):
        validate_powertools_layer(layer)


def test_stack_names_derive_from_the_prefix() -> None:
    assert backend_stack_name("demo") == "demo-backend"
    assert client_stack_name("demo") == "demo-client"
