"""What a cold start of each handler imports: neither client builds a botocore session or client at any point."""

from __future__ import annotations

from pathlib import Path

from tests.unit.cold_imports import loaded_after_import

SRC = Path(__file__).resolve().parents[3] / "api-client" / "src"
ENV = {
    "API_HOST": "abc1234567.execute-api.us-east-1.amazonaws.com",
    "API_PREFIX": "/Prod",
    "API_TIMEOUT": "10",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "ROLE_TO_ASSUME": "arn:aws:iam::111111111111:role/access",
}


def _loaded_after_import(module: str) -> set[str]:
    return loaded_after_import(SRC, module, ENV)


def test_direct_handler_cold_import_does_not_load_boto3_or_botocore_credentials():
    # GIVEN a fresh process with the direct client's environment
    # WHEN the handler module is imported (Lambda's init phase)
    loaded = _loaded_after_import("client.direct_auth")
    # THEN signing is ready without boto3, a botocore session, or botocore's credential providers
    assert "botocore.auth" in loaded
    assert {"boto3", "botocore.session", "botocore.credentials", "botocore.client", "client.sts"}.isdisjoint(loaded)


def test_assume_role_handler_cold_import_loads_refreshable_credentials_but_no_botocore_client():
    # GIVEN a fresh process with the assume-role client's environment
    # WHEN the handler module is imported
    loaded = _loaded_after_import("client.assume_role")
    # THEN botocore's refreshable credentials are there, but no session or client (STS is one signed POST)
    assert {"botocore.auth", "botocore.credentials", "client.sts"} <= loaded
    assert {"boto3", "botocore.session", "botocore.client", "botocore.loaders"}.isdisjoint(loaded)


def test_signing_handlers_cold_import_leaves_the_certificate_modules_out():
    # GIVEN fresh processes with the signing clients' environment
    # WHEN each handler module is imported
    # THEN neither loads the certificate client's modules (its cost stays off their cold path)
    for module in ("client.direct_auth", "client.assume_role"):
        assert {"client.certificate", "client.client_cert"}.isdisjoint(_loaded_after_import(module))


def test_certificate_handler_cold_import_loads_no_boto3_botocore_client_or_sts():
    # GIVEN the certificate client's environment, Secrets Manager unreachable (a closed loopback port: fails at once)
    env = {
        **ENV,
        "CLIENT_CERTIFICATE_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:222222222222:secret:client-AbCdEf",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:9",
    }
    # WHEN the handler module is imported (the secret read fails and is kept as the invocations' answer, no crash)
    loaded = loaded_after_import(SRC, "client.certificate", env)
    # THEN Secrets Manager was called on the client's own signing path: no boto3, botocore session, client or STS
    assert {"client.client_cert", "botocore.auth"} <= loaded
    assert {"boto3", "botocore.session", "botocore.client", "botocore.credentials", "client.sts"}.isdisjoint(loaded)
