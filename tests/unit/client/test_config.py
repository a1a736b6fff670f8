"""Configuration is validated once, at start, and every error names the variable to fix."""

from __future__ import annotations

import pytest

from client.config import ConfigError, load_config
from client.transport import new_pool

VALID = {
    "API_HOST": "abc123.execute-api.us-east-1.amazonaws.com",
    "API_PREFIX": "/Prod",
    "API_TIMEOUT": "10",
    "AWS_REGION": "us-east-1",
    "ROLE_TO_ASSUME": "arn:aws:iam::111111111111:role/private-api-access",
    "AWS_LAMBDA_FUNCTION_NAME": "stack-rPythonAssumeRoleClient-AbC123",
}


def test_load_config_valid_env_without_endpoint_connects_to_api_host() -> None:
    # GIVEN the variables the template sets with private DNS on (no API_ENDPOINT)
    # WHEN the configuration is loaded for the assume-role client
    config = load_config(VALID, needs_role=True)
    # THEN it connects to the API host itself and keeps the validated values
    assert config.endpoint == "https://abc123.execute-api.us-east-1.amazonaws.com"
    assert (config.api_prefix, config.timeout, config.region) == ("/Prod", 10.0, "us-east-1")
    assert config.role_arn == VALID["ROLE_TO_ASSUME"]
    assert config.role_session_name == "stack-rPythonAssumeRoleClient-AbC123"
    assert config.ca_bundle is None


def test_load_config_endpoint_set_connects_there_but_keeps_api_host() -> None:
    # GIVEN private DNS off: API_ENDPOINT is the VPC endpoint's own DNS name
    env = {**VALID, "API_ENDPOINT": "https://vpce-0abc-1xyz.execute-api.us-east-1.vpce.amazonaws.com/"}
    # WHEN loaded
    config = load_config(env)
    # THEN the connection goes to the endpoint and the signed host stays the API host
    assert config.endpoint == "https://vpce-0abc-1xyz.execute-api.us-east-1.vpce.amazonaws.com"
    assert config.api_host == "abc123.execute-api.us-east-1.amazonaws.com"


def test_load_config_direct_client_ignores_role_variable() -> None:
    # GIVEN no ROLE_TO_ASSUME
    env = {k: v for k, v in VALID.items() if k != "ROLE_TO_ASSUME"}
    # WHEN loaded for the direct client
    config = load_config(env, needs_role=False)
    # THEN there is no role to assume
    assert config.role_arn is None


@pytest.mark.parametrize(
    ("change", "variable", "detail"),
    [
        ({"ROLE_TO_ASSUME": "private-api-access"}, "ROLE_TO_ASSUME", "not a role ARN"),
        ({"ROLE_TO_ASSUME": "arn:aws:iam::111111111111:user/bob"}, "ROLE_TO_ASSUME", "not a role ARN"),
        ({"ROLE_TO_ASSUME": ""}, "ROLE_TO_ASSUME", "is empty"),
        ({"API_HOST": ""}, "API_HOST", "is empty"),
        ({"API_HOST": "https://abc123.execute-api.us-east-1.amazonaws.com"}, "API_HOST", "not a host name"),
        ({"API_PREFIX": "Prod"}, "API_PREFIX", "must start with '/'"),
        ({"API_PREFIX": "/Prod/../admin"}, "API_PREFIX", "not a plain URL path"),
        ({"API_TIMEOUT": "ten"}, "API_TIMEOUT", "not a number"),
        ({"API_TIMEOUT": "0"}, "API_TIMEOUT", "positive number"),
        ({"API_TIMEOUT": "-3"}, "API_TIMEOUT", "positive number"),
        ({"API_TIMEOUT": "nan"}, "API_TIMEOUT", "positive number"),
        ({"API_ENDPOINT": "http://vpce-1.example.com"}, "API_ENDPOINT", "https://"),
        ({"API_ENDPOINT": "https://vpce-1.example.com/Prod"}, "API_ENDPOINT", "scheme and host only"),
        ({"API_CA_BUNDLE": "/nonexistent/ca.pem"}, "API_CA_BUNDLE", "not a readable PEM file"),
        ({"AWS_REGION": "", "AWS_DEFAULT_REGION": ""}, "AWS_REGION", "not a Region name"),
        ({"AWS_ENDPOINT_URL_STS": "http://sts.example.com"}, "AWS_ENDPOINT_URL_STS", "must be an https:// URL"),
        ({"AWS_ENDPOINT_URL_STS": "sts.us-east-1.amazonaws.com"}, "AWS_ENDPOINT_URL_STS", "must be an https:// URL"),
        ({"AWS_ENDPOINT_URL_STS": "https://sts.example.com/x"}, "AWS_ENDPOINT_URL_STS", "scheme and host only"),
        ({"AWS_ENDPOINT_URL_STS": "https://sts.example.com:99999"}, "AWS_ENDPOINT_URL_STS", "invalid port"),
        ({"AWS_ENDPOINT_URL": "ftp://sts.example.com"}, "AWS_ENDPOINT_URL", "must be an https:// URL"),
        ({"AWS_CA_BUNDLE": "/nonexistent/ca.pem"}, "AWS_CA_BUNDLE", "not a readable PEM file"),
        ({"AWS_ENDPOINT_URL_STS": "https://u:pw@sts.example.com"}, "AWS_ENDPOINT_URL_STS", "scheme and host only"),
        ({"API_ENDPOINT": "https://:pw@vpce-1.example.com"}, "API_ENDPOINT", "scheme and host only"),
        ({"AWS_REGION": "us-iso-east-1"}, "AWS_ENDPOINT_URL_STS", "is not set: set it to the STS endpoint"),
        ({"AWS_REGION": "us-isob-east-1"}, "AWS_ENDPOINT_URL_STS", "is not set: set it to the STS endpoint"),
    ],
)
def test_load_config_bad_value_raises_error_naming_variable(change: dict[str, str], variable: str, detail: str) -> None:
    # GIVEN one malformed variable
    env = {**VALID, **change}
    # WHEN the configuration is loaded (as at cold start)
    with pytest.raises(ConfigError) as raised:
        load_config(env, needs_role=True)
    # THEN the message starts with the variable's name and says what is wrong
    assert str(raised.value).startswith(variable)
    assert detail in str(raised.value)


def test_load_config_function_name_too_long_is_trimmed_for_session_name() -> None:
    # GIVEN a long function name with characters STS does not allow in a session name
    env = {**VALID, "AWS_LAMBDA_FUNCTION_NAME": "x" * 70 + ":alias"}
    # WHEN loaded
    config = load_config(env, needs_role=True)
    # THEN the session name is a valid 64-character STS session name
    assert config.role_session_name == "x" * 64


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({}, "https://sts.us-east-1.amazonaws.com"),
        ({"AWS_REGION": "cn-north-1"}, "https://sts.cn-north-1.amazonaws.com.cn"),
        ({"AWS_USE_FIPS_ENDPOINT": "true"}, "https://sts-fips.us-east-1.amazonaws.com"),
        ({"AWS_USE_FIPS_ENDPOINT": "false"}, "https://sts.us-east-1.amazonaws.com"),
        ({"AWS_ENDPOINT_URL": "https://all.example.com/"}, "https://all.example.com"),
        (
            {"AWS_ENDPOINT_URL": "https://all.example.com", "AWS_ENDPOINT_URL_STS": "https://sts.example.com:8443"},
            "https://sts.example.com:8443",
        ),
        ({"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:5000"}, "http://127.0.0.1:5000"),
        ({"AWS_ENDPOINT_URL_STS": "http://localhost:5000"}, "http://localhost:5000"),
        ({"AWS_ENDPOINT_URL_STS": "http://[::1]:5000"}, "http://[::1]:5000"),
        ({"AWS_ENDPOINT_URL_STS": "HTTPS://STS.example.com"}, "https://STS.example.com"),
        ({"AWS_REGION": "us-gov-west-1"}, "https://sts.us-gov-west-1.amazonaws.com"),
        # GovCloud's regional STS names are its FIPS endpoints; there is no sts-fips name there.
        ({"AWS_REGION": "us-gov-west-1", "AWS_USE_FIPS_ENDPOINT": "true"}, "https://sts.us-gov-west-1.amazonaws.com"),
        ({"AWS_REGION": "us-iso-east-1", "AWS_ENDPOINT_URL_STS": "https://sts.example.ic"}, "https://sts.example.ic"),
    ],
)
def test_load_config_sts_endpoint_sdk_variables_first_then_the_regions_own(
    change: dict[str, str], expected: str
) -> None:
    # GIVEN the assume-role client's variables, with or without the SDKs' endpoint variables
    # WHEN loaded
    config = load_config({**VALID, **change}, needs_role=True)
    # THEN STS is called where the SDKs would call it (http:// only for a local emulator)
    assert config.sts_endpoint == expected


def test_load_config_direct_client_has_no_sts_settings() -> None:
    # GIVEN a malformed STS variable that only the assume-role client reads
    env = {**VALID, "AWS_ENDPOINT_URL_STS": "http://sts.example.com"}
    # WHEN loaded for the direct client
    config = load_config(env, needs_role=False)
    # THEN it is neither read nor rejected
    assert (config.sts_endpoint, config.sts_ca_bundle) == (None, None)


def test_load_config_upper_case_scheme_gives_a_url_the_transport_accepts() -> None:
    # GIVEN an endpoint written in upper case
    env = {**VALID, "API_ENDPOINT": "HTTPS://VPCE-1.example.com"}
    # WHEN loaded, and a pool is built for it as at cold start
    config = load_config(env)
    # THEN the scheme is normalised, so the pool accepts it
    assert config.endpoint == "https://VPCE-1.example.com"
    assert new_pool(config.endpoint).scheme == "https"
