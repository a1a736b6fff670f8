"""The certificate client's certificate and key, read once from Secrets Manager into 0600 files and checked.

GetSecretValue is one signed POST on the client's own signing and transport (as client.sts): a botocore client
would load its session, model and endpoint rules (~0.1 s of CPU) for one call per container.
"""

from __future__ import annotations

import json
import os
import re
import ssl
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass

from client.config import ConfigError, base_url
from client.credentials import CredentialSource
from client.signing import sign_request
from client.transport import RetryPolicy, TransportError, new_pool, send

__all__ = ["CertificateError", "CertificateFiles", "load_client_certificate", "secret_region", "secrets_endpoint"]

SECRET_ENV = "CLIENT_CERTIFICATE_SECRET_ARN"  # noqa: S105  # nosec B105  # a variable name, not a secret
_SECRET_ARN = re.compile(r"^arn:aws[a-z-]*:secretsmanager:([a-z]{2}(?:-[a-z]+)+-[0-9]+):[0-9]{12}:secret:[^\s]{1,512}$")
_NOT_FOUND = frozenset({"ResourceNotFoundException"})
# DecryptionFailure: the secret's KMS key refused the role.
_DENIED = frozenset({"AccessDeniedException", "AccessDenied", "DecryptionFailure", "UnrecognizedClientException"})


class CertificateError(Exception):
    """No usable certificate; ``kind`` says why (client.diagnosis explains each)."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class CertificateFiles:
    """PEM files for the handshake: the certificate (then its chain) and the key."""

    cert_file: str
    key_file: str


def secret_region(secret_arn: str) -> str:
    """The Region in a secret ARN; ConfigError when it is no secret ARN."""
    match = _SECRET_ARN.match(secret_arn.strip())
    if not match:
        raise ConfigError(f"{SECRET_ENV} {secret_arn!r} is not a secret ARN (arn:aws:secretsmanager:...)")
    return match.group(1)


def secrets_endpoint(env: Mapping[str, str], region: str) -> str:
    """The SDKs' AWS_ENDPOINT_URL_SECRETS_MANAGER or AWS_ENDPOINT_URL, else the Region's endpoint."""
    for name in ("AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_ENDPOINT_URL"):
        value = env.get(name, "").strip().rstrip("/")
        if value:
            return base_url(name, value, example="https://secretsmanager.us-east-1.amazonaws.com", plain_http=True)
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://secretsmanager.{region}.{suffix}"


def load_client_certificate(
    secret_arn: str,
    *,
    region: str,
    timeout: float,
    endpoint: str,
    source: CredentialSource,
    ca_bundle: str | None = None,
    directory: str | None = None,
) -> CertificateFiles:
    """Read the secret's JSON {certificate, privateKey, chain?}, write the PEM files, check that they pair up."""
    body = json.dumps({"SecretId": secret_arn}).encode()
    keys = source.get_frozen_credentials()
    pool = new_pool(endpoint, ca_bundle, plain_http=True)  # http:// only to a loopback emulator (base_url)
    host = str(pool.host) + (f":{pool.port}" if pool.port not in (None, 80, 443) else "")

    def sign() -> dict[str, str]:
        headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "secretsmanager.GetSecretValue"}
        signed = sign_request(
            method="POST", host=host, target="/", headers=headers, body=body, credentials=keys, region=region,
            service="secretsmanager",
        )  # fmt: skip
        return {**signed, "Connection": "close"}  # one call per container

    try:
        # A read: retried like a GET on connection errors, 429 and 5xx.
        answer = send(
            pool, method="POST", target="/", sign=sign, body=body, timeout=timeout,
            policy=RetryPolicy(max_attempts=2), idempotent=True,
        )  # fmt: skip
    except TransportError as error:
        raise CertificateError("unreachable", f"Secrets Manager: {error.detail}") from None
    finally:
        pool.close()
    document = _json_object(answer.body)
    if answer.status >= 400:
        code = str(document.get("__type") or f"HTTP {answer.status}").rsplit("#", 1)[-1]
        kind = "missing-secret" if code in _NOT_FOUND else "access-denied" if code in _DENIED else "secret-error"
        raise CertificateError(kind, f"GetSecretValue on {secret_arn}: {code}: {document.get('Message', '')}")
    fields = _json_object(str(document.get("SecretString", "")).encode())
    certificate, key, chain = (fields.get(name) for name in ("certificate", "privateKey", "chain"))
    if not (
        _pem(certificate, "CERTIFICATE") and _pem(key, "PRIVATE KEY") and (chain is None or _pem(chain, "CERTIFICATE"))
    ):
        raise CertificateError("malformed-pem", "the SecretString is not that JSON with PEM values")
    if "ENCRYPTED" in str(key):
        raise CertificateError("malformed-pem", "the private key is encrypted; store it unencrypted")
    # The chain follows the leaf in one file, so the handshake sends the intermediates too.
    files = _write(directory, f"{certificate}\n{chain or ''}\n", f"{key}\n")
    _check(files)
    return files


def _pem(value: object, label: str) -> bool:
    return isinstance(value, str) and bool(re.search(rf"-----BEGIN ([A-Z]+ )?{label}-----", value))


def _json_object(raw: bytes) -> dict[str, object]:
    try:
        parsed = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _write(directory: str | None, certificate: str, private_key: str) -> CertificateFiles:
    # A fresh 0700 folder under TMPDIR (/tmp on Lambda) per load: two clients in one process never share files.
    directory = directory or tempfile.mkdtemp(prefix="client-cert-")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    files = CertificateFiles(os.path.join(directory, "client.crt"), os.path.join(directory, "client.key"))
    for path, text in ((files.cert_file, certificate), (files.key_file, private_key)):
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii", errors="replace") as handle:
            handle.write(text)
    return files


def _check(files: CertificateFiles) -> None:
    """OpenSSL reads the pair as the handshake will: a bad PEM or a foreign key is named now, not at the handshake."""
    try:
        # The callback stops OpenSSL prompting on a terminal for a passphrase.
        ssl.create_default_context().load_cert_chain(files.cert_file, files.key_file, password=lambda: b"")
    except ssl.SSLError as error:
        reason = str(getattr(error, "reason", "") or error)
        if "KEY_VALUES_MISMATCH" in reason.upper() or "key values mismatch" in str(error).lower():
            raise CertificateError("key-mismatch", "the private key does not belong to the certificate") from None
        raise CertificateError("malformed-pem", f"OpenSSL cannot read the certificate or key: {error}") from None
