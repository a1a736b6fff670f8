"""scripts/make-test-ca.sh: the test CA, client certificates and CRL it writes, checked with `cryptography` and `ssl`
(what the load balancer and the certificate client do with them), and its usage errors."""

from __future__ import annotations

import json
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.workflow.harness import REPO_ROOT
from workflow import mtls

SCRIPT = REPO_ROOT / "scripts" / "make-test-ca.sh"


def make_ca(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this repo's own script
        [str(SCRIPT), *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """A CA with a valid client and a revoked one."""
    out = tmp_path_factory.mktemp("ca") / "out"
    result = make_ca("--revoke", "/O=Example/CN=old", str(out), "/O=Example/CN=orders client", "/O=Example/CN=old")
    assert result.returncode == 0, result.stderr
    return out, result


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_make_test_ca_clients_are_signed_by_the_ca_for_client_auth(made: tuple[Path, object]) -> None:
    # GIVEN the script's output
    out, _ = made
    ca = load(out / "ca.pem")
    # WHEN each client certificate is checked against the CA
    for number in (1, 2):
        client = load(out / f"client-{number}.pem")
        client.verify_directly_issued_by(ca)
        # THEN it is an X.509 v3 client-authentication certificate
        assert client.version == x509.Version.v3
        usage = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.CLIENT_AUTH in usage


def test_make_test_ca_crl_revokes_only_the_named_subject(made: tuple[Path, object]) -> None:
    # GIVEN the CRL
    out, _ = made
    crl = x509.load_pem_x509_crl((out / "crl.pem").read_bytes())
    # WHEN its entries are read
    revoked = {entry.serial_number for entry in crl}
    # THEN it is signed by the CA and lists the revoked client's serial, not the valid one's
    assert crl.is_signature_valid(load(out / "ca.pem").public_key())  # type: ignore[arg-type]
    assert revoked == {load(out / "client-2.pem").serial_number}


def test_make_test_ca_prints_rfc2253_subjects_that_allowed_clients_accepts(
    made: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    # GIVEN the printed subjects
    out, result = made
    # WHEN compared with the certificates' own subjects
    subject = load(out / "client-1.pem").subject.rfc4514_string()
    # THEN each line gives the subject as the load balancer forwards it, usable in --mtls-allowed-clients
    assert f"client-1 (valid): {subject}\n" in result.stdout
    assert "client-2 (revoked): CN=old,O=Example\n" in result.stdout
    assert mtls.allowed_clients(f"orders:{subject}") == [("orders", "CN=orders client,O=Example")]


def test_make_test_ca_outputs_pass_deploy_alls_pem_checks_and_the_secret_loads(
    made: tuple[Path, object], tmp_path: Path
) -> None:
    # GIVEN the CA bundle, the CRL and a client's secret JSON
    out, _ = made
    # WHEN deploy-all's checks read them, and ssl loads the secret's certificate and key
    assert mtls.pem_ders(out / "ca.pem", "--mtls-ca-bundle", "CERTIFICATE")
    assert mtls.pem_ders(out / "crl.pem", "--mtls-crl", "X509 CRL")
    secret = json.loads((out / "client-1.json").read_text())
    (tmp_path / "c.pem").write_text(secret["certificate"])
    (tmp_path / "c.key").write_text(secret["privateKey"])
    # THEN they pass, and the pair matches (load_cert_chain raises on a mismatch)
    ssl.create_default_context().load_cert_chain(tmp_path / "c.pem", tmp_path / "c.key")
    assert (out / "client-1.key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "expected OUT_DIR and at least one SUBJECT"),
        (("--revoke",), "option --revoke needs a value"),
        (("--bogus", "x", "/CN=a"), "unknown option: --bogus"),
    ],
)
def test_make_test_ca_usage_errors_exit_2(args: tuple[str, ...], message: str) -> None:
    # GIVEN a bad command line
    # WHEN the script runs
    result = make_ca(*args)
    # THEN it exits 2 with the reason
    assert result.returncode == 2
    assert f"ERROR: {message}" in result.stderr


def test_make_test_ca_existing_directory_is_refused(tmp_path: Path) -> None:
    # GIVEN an existing output directory
    # WHEN the script runs
    result = make_ca(str(tmp_path), "/CN=a")
    # THEN it refuses to overwrite it
    assert result.returncode == 2
    assert "exists; pick a new directory" in result.stderr
