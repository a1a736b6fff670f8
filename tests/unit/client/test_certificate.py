"""The certificate client: its secret from Secrets Manager, and real mutual-TLS handshakes with a scripted server."""

from __future__ import annotations

import contextlib
import json
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from client.client_cert import CertificateError, load_client_certificate
from client.config import load_config
from client.credentials import Keys
from client.invoke import Invoker
from client.transport import new_pool
from tests.https_server import serving
from tests.unit.client.support import ACCESS_KEY, API_HOST, REGION, SECRET_KEY, Reply, ScriptedHTTPSServer

SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:222222222222:secret:mtls-client-AbCdEf"
KEYS = Keys(ACCESS_KEY, SECRET_KEY)


@pytest.fixture(scope="session")
def client_ca() -> trustme.CA:
    """The CA in the provider's trust store."""
    return trustme.CA()


@pytest.fixture(scope="session")
def client_leaf(client_ca: trustme.CA) -> trustme.LeafCert:
    return client_ca.issue_cert("partner-a.example.com", common_name="partner-a.example.com")


def _secret(leaf: trustme.LeafCert, **overrides: object) -> Reply:
    fields = {
        "certificate": leaf.cert_chain_pems[0].bytes().decode(),
        "privateKey": leaf.private_key_pem.bytes().decode(),
        **overrides,
    }
    answer = {"ARN": SECRET_ARN, "Name": "mtls-client", "SecretString": json.dumps(fields)}
    return Reply(body=json.dumps(answer), headers={"Content-Type": "application/x-amz-json-1.1"})


@pytest.fixture(params=["TLS 1.3", "TLS 1.2"])
def mtls_server(
    request: pytest.FixtureRequest, tls_ca: trustme.CA, client_ca: trustme.CA
) -> Iterator[ScriptedHTTPSServer]:
    """A server that, like the ALB in verify mode, refuses the handshake without a certificate from ``client_ca``.

    Under TLS 1.2 the refusal is an alert inside the handshake; under TLS 1.3 it comes after the client finished its
    side, and the client may see the alert or only the closed connection (both happen, by timing).
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    if request.param == "TLS 1.2":
        context.maximum_version = ssl.TLSVersion.TLSv1_2
    tls_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    context.verify_mode = ssl.CERT_REQUIRED
    client_ca.configure_trust(context)
    with running(context) as server:
        yield server


@contextlib.contextmanager
def running(context: ssl.SSLContext) -> Iterator[ScriptedHTTPSServer]:
    server = ScriptedHTTPSServer(context)
    with serving(server):
        yield server


@pytest.fixture
def certificate_env(
    client_env: dict[str, str],
    mtls_server: ScriptedHTTPSServer,
    sts_server: ScriptedHTTPSServer,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, str]:
    """The certificate client's environment: API_ENDPOINT the mTLS server, Secrets Manager played by sts_server."""
    env = {
        **client_env,
        "API_ENDPOINT": mtls_server.url,
        "API_PREFIX": "/Prod/mtls",
        "CLIENT_CERTIFICATE_SECRET_ARN": SECRET_ARN,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": sts_server.url,
        "AWS_CA_BUNDLE": client_env["API_CA_BUNDLE"],
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def _load(server: ScriptedHTTPSServer, ca_bundle: str, directory: Path):
    return load_client_certificate(
        SECRET_ARN, region=REGION, timeout=1, endpoint=server.url, source=KEYS, ca_bundle=ca_bundle,
        directory=str(directory),
    )  # fmt: skip


def test_load_client_certificate_signed_get_secret_value_writes_private_files(
    sts_server, ca_bundle, client_leaf, tmp_path, verify_sigv4
):
    # GIVEN Secrets Manager holding the certificate and key as JSON
    sts_server.script = [_secret(client_leaf)]

    # WHEN the certificate is loaded
    files = _load(sts_server, ca_bundle, tmp_path / "cert")

    # THEN one SigV4-signed GetSecretValue for the ARN was sent, and the files are the owner's only
    (request,) = sts_server.received
    assert request.headers["X-Amz-Target"] == "secretsmanager.GetSecretValue"
    assert json.loads(request.body) == {"SecretId": SECRET_ARN}
    assert verify_sigv4(
        method="POST", target="/", headers=request.headers, body=request.body, secret_key=SECRET_KEY,
        service="secretsmanager",
    )  # fmt: skip
    for path in (files.cert_file, files.key_file):
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600
    assert "BEGIN CERTIFICATE" in Path(files.cert_file).read_text()


@pytest.mark.parametrize(
    ("error_type", "kind"),
    [
        ("ResourceNotFoundException", "missing-secret"),
        ("AccessDeniedException", "access-denied"),
        ("DecryptionFailure", "access-denied"),
        ("InvalidRequestException", "secret-error"),
    ],
)
def test_load_client_certificate_secrets_manager_error_raises_its_kind(
    sts_server, ca_bundle, tmp_path, error_type, kind
):
    # GIVEN Secrets Manager refusing the read
    body = json.dumps({"__type": error_type, "Message": "refused for the test"})
    sts_server.script = [Reply(status=400, body=body)]

    # WHEN / THEN the error names the kind and Secrets Manager's own words
    with pytest.raises(CertificateError) as raised:
        _load(sts_server, ca_bundle, tmp_path)
    assert raised.value.kind == kind
    assert f"{error_type}: refused for the test" in raised.value.detail


@pytest.mark.parametrize(
    "overrides",
    [
        {"certificate": "not a certificate"},
        {"privateKey": None},
        {"chain": "garbage"},
        {"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"},
    ],
    ids=["no-pem-certificate", "no-key", "bad-chain", "pem-markers-around-garbage"],
)
def test_load_client_certificate_malformed_pem_raises_malformed(
    sts_server, ca_bundle, client_leaf, tmp_path, overrides
):
    sts_server.script = [_secret(client_leaf, **overrides)]
    with pytest.raises(CertificateError) as raised:
        _load(sts_server, ca_bundle, tmp_path)
    assert raised.value.kind == "malformed-pem"


def test_load_client_certificate_secret_not_json_raises_malformed(sts_server, ca_bundle, tmp_path):
    sts_server.script = [Reply(body=json.dumps({"SecretString": "-----BEGIN CERTIFICATE-----"}))]
    with pytest.raises(CertificateError) as raised:
        _load(sts_server, ca_bundle, tmp_path)
    assert raised.value.kind == "malformed-pem"


def test_load_client_certificate_key_of_another_certificate_raises_key_mismatch(
    sts_server, ca_bundle, client_ca, client_leaf, tmp_path
):
    # GIVEN a certificate stored with the key of another certificate
    other = client_ca.issue_cert("other.example.com")
    sts_server.script = [_secret(client_leaf, privateKey=other.private_key_pem.bytes().decode())]

    # WHEN / THEN OpenSSL's check names the mismatch
    with pytest.raises(CertificateError) as raised:
        _load(sts_server, ca_bundle, tmp_path)
    assert raised.value.kind == "key-mismatch"


def test_certificate_handler_presents_the_certificate_unsigned_with_the_api_host(
    certificate_env, load_handler, lambda_context, mtls_server, sts_server, client_leaf
):
    # GIVEN the secret and a server that requires a client certificate from the trusted CA
    sts_server.script = [_secret(client_leaf)]

    # WHEN the handler starts and is invoked twice (warm)
    module = load_handler("certificate")
    reads_at_start = len(sts_server.received)
    first = module.handler({"path": "/items"}, lambda_context)
    second = module.handler({"path": "/"}, lambda_context)

    # THEN both calls passed the handshake; unsigned, Host = the API's host, path under /Prod/mtls
    assert (first["statusCode"], second["statusCode"]) == (200, 200)
    assert [r.target for r in mtls_server.received] == ["/Prod/mtls/items", "/Prod/mtls/"]
    headers = mtls_server.received[0].headers
    assert headers["Host"] == API_HOST
    assert "Authorization" not in headers
    assert "X-Amz-Date" not in headers
    # AND the secret was read at the cold start only
    assert reads_at_start >= 1
    assert len(sts_server.received) == reads_at_start


def test_certificate_handler_missing_secret_answers_explained_failure_then_recovers(
    certificate_env, load_handler, lambda_context, sts_server, client_leaf
):
    # GIVEN no such secret at cold start
    sts_server.script = [Reply(status=400, body='{"__type": "ResourceNotFoundException", "Message": "no secret"}')]

    # WHEN the handler starts (no crash) and is invoked
    module = load_handler("certificate")
    refused = module.handler({"path": "/"}, lambda_context)

    # THEN the answer explains the missing secret
    assert refused["statusCode"] == 502
    assert "missing-secret" in refused["error"]
    assert "pMtlsCertificateSecretArn" in refused["hint"]

    # WHEN the secret exists at the next invocation
    sts_server.script = [_secret(client_leaf)]
    served = module.handler({"path": "/"}, lambda_context)

    # THEN it is read then and the call succeeds
    assert served["statusCode"] == 200


def test_certificate_handler_access_denied_hint_names_the_permission(
    certificate_env, load_handler, lambda_context, sts_server
):
    sts_server.script = [Reply(status=400, body='{"__type": "AccessDeniedException", "Message": "not allowed"}')]
    result = load_handler("certificate").handler({"path": "/"}, lambda_context)
    assert result["statusCode"] == 502
    assert "secretsmanager:GetSecretValue" in result["hint"]


def _invoker(url: str, ca_bundle: str, client_cert: tuple[str, str] | None) -> Invoker:
    env = {"API_HOST": API_HOST, "API_PREFIX": "/Prod/mtls", "API_ENDPOINT": url, "AWS_REGION": REGION}
    config = load_config({**env, "API_CA_BUNDLE": ca_bundle, "API_TIMEOUT": "2"})
    return Invoker(config, None, pool=new_pool(config.endpoint, ca_bundle, client_cert=client_cert))


def test_invoker_without_client_certificate_is_refused_at_tls_with_hint(mtls_server, ca_bundle):
    # GIVEN a client presenting no certificate to a server that requires one
    invoker = _invoker(mtls_server.url, ca_bundle, None)

    # WHEN it calls
    result = invoker.invoke({"path": "/"})

    # THEN the handshake is refused (no request reached the server) and the hint says why
    assert result["statusCode"] == 502
    assert result["hint"].startswith("TLS refused by the provider's load balancer: ")
    assert any(why in result["hint"] for why in ("no client certificate was sent", "handshake failure", "probably"))
    assert mtls_server.received == []


def test_invoker_certificate_of_unknown_ca_is_refused_with_unknown_ca_hint(mtls_server, ca_bundle, tmp_path):
    # GIVEN a certificate from a CA the server does not trust
    stranger = trustme.CA().issue_cert("stranger.example.com")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    stranger.cert_chain_pems[0].write_to_path(str(cert))
    stranger.private_key_pem.write_to_path(str(key))

    # WHEN it calls
    result = _invoker(mtls_server.url, ca_bundle, (str(cert), str(key))).invoke({"path": "/"})

    # THEN refused at TLS, and the hint names the trust store (under TLS 1.3 the alert may be lost to the close)
    assert result["statusCode"] == 502
    assert result["hint"].startswith("TLS refused by the provider's load balancer: ")
    assert "its trust store lacks the certificate's CA" in result["hint"] or "probably" in result["hint"]
    assert mtls_server.received == []


def test_invoker_tls12_unknown_ca_alert_gives_the_exact_reason(client_ca, tls_ca, ca_bundle, tmp_path):
    # GIVEN a TLS 1.2 server (the alert always arrives within the handshake) and a certificate of an unknown CA
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    context.verify_mode = ssl.CERT_REQUIRED
    client_ca.configure_trust(context)
    stranger = trustme.CA().issue_cert("stranger.example.com")
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    stranger.cert_chain_pems[0].write_to_path(str(cert))
    stranger.private_key_pem.write_to_path(str(key))
    with running(context) as server:
        # WHEN it calls
        result = _invoker(server.url, ca_bundle, (str(cert), str(key))).invoke({"path": "/"})

    # THEN the hint is exactly the unknown-CA one
    assert result["hint"] == (
        "TLS refused by the provider's load balancer: its trust store lacks the certificate's CA; "
        "check the certificate chain/expiry/CRL"
    )


@pytest.mark.parametrize(
    ("message", "hint"),
    [
        ("Certificate subject not allowed: CN=stranger", "pMtlsAllowedClients"),
        ("The certificate path is not enabled", "pEnableMtls=No"),
        ("Ambiguous client certificate headers", "Do not send X-Amzn-Mtls-Clientcert-*"),
        (
            "User: anonymous is not authorized to perform: execute-api:Invoke on resource: x with an explicit deny",
            "Explicit deny on /mtls",
        ),
    ],
)
def test_invoker_certificate_path_403_gets_certificate_hint(api_server, ca_bundle, message, hint):
    # GIVEN a 403 answered on the /mtls path
    api_server.script = [Reply(status=403, body=json.dumps({"message": message}))]

    # WHEN the unsigned invoker calls
    result = _invoker(api_server.url, ca_bundle, None).invoke({"path": "/items"})

    # THEN the hint is the certificate path's
    assert result["statusCode"] == 403
    assert hint in result["hint"]


def test_iam_path_explicit_deny_keeps_its_hint(api_server, ca_bundle):
    # GIVEN an explicit deny outside /mtls
    api_server.script = [Reply(status=403, body='{"message": "User: x is not authorized ... with an explicit deny"}')]
    env = {"API_HOST": API_HOST, "API_PREFIX": "/Prod", "API_ENDPOINT": api_server.url, "AWS_REGION": REGION}
    config = load_config({**env, "API_CA_BUNDLE": ca_bundle})

    # WHEN / THEN the IAM hint is unchanged
    result = Invoker(config, KEYS).invoke({"path": "/items"})
    assert result["hint"].startswith("Explicit deny: the API resource policy rejects")
