"""A test PKI for the certificate path: a CA, an unknown CA, client certificates for every refusal case, a CRL.

Subjects are fixed strings, so tests and `make demo` can name them in the allow-list; keys are fresh per run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_SUBJECT = "CN=Example Tenants Test CA,O=Example Provider"
UNKNOWN_CA_SUBJECT = "CN=Unknown Test CA,O=Somebody Else"
# Client subjects (RFC 4514, as the load balancer forwards them and MTLS_ALLOWED_CLIENTS lists them).
VALID_SUBJECT = "CN=tenant-a client,O=Tenant A"
TENANT_B_SUBJECT = "CN=tenant-b client,O=Tenant B"  # a second allowed tenant, to show isolation between tenants
EXPIRED_SUBJECT = "CN=tenant-a expired,O=Tenant A"
REVOKED_SUBJECT = "CN=tenant-a revoked,O=Tenant A"
NOT_ALLOWED_SUBJECT = "CN=tenant-z client,O=Tenant Z"
UNKNOWN_CA_CLIENT_SUBJECT = "CN=tenant-a client,O=Tenant A"  # same subject, wrong issuer
# MTLS_ALLOWED_CLIENTS with both tenants, to show items isolated per tenant; tenant-z is absent.
ALLOWED_TENANTS = f"tenant-a:{VALID_SUBJECT};tenant-b:{TENANT_B_SUBJECT}"
_DAY = dt.timedelta(days=1)


def _name(rfc4514: str) -> x509.Name:
    """Build a Name from `CN=...,O=...` (test subjects only: no escaped commas)."""
    oids = {"CN": NameOID.COMMON_NAME, "O": NameOID.ORGANIZATION_NAME}
    # RFC 4514 lists the most specific attribute first; x509.Name stores them in the opposite order.
    pairs = [part.split("=", 1) for part in rfc4514.split(",")]
    return x509.Name([x509.NameAttribute(oids[key], value) for key, value in reversed(pairs)])


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    certificate: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> str:
        """The certificate as PEM text."""
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def key_pem(self) -> str:
        """The private key as unencrypted PKCS#8 PEM text."""
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()

    @property
    def serial_hex(self) -> str:
        """The serial number in hex, as the load balancer's Serial-Number header carries it."""
        return format(self.certificate.serial_number, "X")

    def write(self, directory: Path, stem: str) -> tuple[Path, Path]:
        """Write `<stem>.pem` and `<stem>.key` (0600) and return their paths."""
        directory.mkdir(parents=True, exist_ok=True)
        cert, key = directory / f"{stem}.pem", directory / f"{stem}.key"
        cert.write_text(self.cert_pem)
        key.touch(mode=0o600)
        key.write_text(self.key_pem)
        return cert, key


def _self_signed_ca(subject: str, now: dt.datetime) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(subject)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 365 * _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(certificate, key)


def _client(ca: Issued, subject: str, not_before: dt.datetime, not_after: dt.datetime) -> Issued:
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(ca.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Issued(certificate, key)


@dataclass(frozen=True)
class TestPki:
    """Everything a certificate-path test needs: the trusted CA, its CRL and one client per case."""

    __test__ = False  # not a pytest test class despite its name

    ca: Issued
    unknown_ca: Issued
    valid: Issued
    expired: Issued
    revoked: Issued
    not_allowed: Issued
    unknown_ca_client: Issued
    crl: x509.CertificateRevocationList
    tenant_b: Issued

    @property
    def ca_bundle_pem(self) -> str:
        """The trust store's CA bundle: the trusted CA only."""
        return self.ca.cert_pem

    @property
    def crl_pem(self) -> str:
        """The CRL as PEM text (the trust store's revocation list)."""
        return self.crl.public_bytes(serialization.Encoding.PEM).decode()

    def allowed_clients(self) -> str:
        """MTLS_ALLOWED_CLIENTS for this PKI: tenant-a is allowed; tenant-z's subject is not listed."""
        return f"tenant-a:{VALID_SUBJECT}"

    def allowed_tenants(self) -> str:
        """MTLS_ALLOWED_CLIENTS with both tenants (a and b): ALLOWED_TENANTS."""
        return ALLOWED_TENANTS


def make_pki(now: dt.datetime | None = None) -> TestPki:
    """Issue the CA, the unknown CA, the client certificates and a CRL revoking the `revoked` one."""
    now = now or dt.datetime.now(dt.UTC)
    ca = _self_signed_ca(CA_SUBJECT, now)
    unknown_ca = _self_signed_ca(UNKNOWN_CA_SUBJECT, now)
    valid = _client(ca, VALID_SUBJECT, now - _DAY, now + 30 * _DAY)
    expired = _client(ca, EXPIRED_SUBJECT, now - 30 * _DAY, now - _DAY)
    revoked = _client(ca, REVOKED_SUBJECT, now - _DAY, now + 30 * _DAY)
    not_allowed = _client(ca, NOT_ALLOWED_SUBJECT, now - _DAY, now + 30 * _DAY)
    unknown_ca_client = _client(unknown_ca, UNKNOWN_CA_CLIENT_SUBJECT, now - _DAY, now + 30 * _DAY)
    tenant_b = _client(ca, TENANT_B_SUBJECT, now - _DAY, now + 30 * _DAY)
    revocation = (
        x509.RevokedCertificateBuilder().serial_number(revoked.certificate.serial_number).revocation_date(now).build()
    )
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + 7 * _DAY)
        .add_revoked_certificate(revocation)
        .sign(ca.key, hashes.SHA256())
    )
    return TestPki(ca, unknown_ca, valid, expired, revoked, not_allowed, unknown_ca_client, crl, tenant_b)
