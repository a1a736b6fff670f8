"""A throwaway CA and server certificate for the emulated endpoints (trustme), TLS 1.2 or newer."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import trustme


def api_hostnames(region: str) -> tuple[str, ...]:
    """Names the emulated private API answers to: API hosts, vpce aliases, the endpoint's own name, loopback."""
    return (
        f"*.execute-api.{region}.amazonaws.com",
        f"*.execute-api.{region}.vpce.amazonaws.com",
        "localhost",
        "127.0.0.1",
    )


@dataclass(frozen=True)
class TlsMaterial:
    """The server side SSL context, the CA bundle clients trust, and the CA (to issue other servers' certificates)."""

    server_context: ssl.SSLContext
    ca_bundle: Path
    ca: trustme.CA | None = None

    def issue(self, *hostnames: str) -> trustme.LeafCert:
        """A server certificate for other names from the same CA, so clients trusting `ca_bundle` trust it too."""
        if self.ca is None:
            raise ValueError("this TLS material has no CA to issue from")
        return self.ca.issue_cert(*hostnames)


def make_tls(hostnames: tuple[str, ...], directory: Path) -> TlsMaterial:
    """Issue a certificate for the names and write the CA's PEM into `directory` (clients pass it as CA bundle)."""
    ca = trustme.CA()
    leaf = ca.issue_cert(*hostnames)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    leaf.configure_cert(context)
    directory.mkdir(parents=True, exist_ok=True)
    bundle = directory / "emulation-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return TlsMaterial(server_context=context, ca_bundle=bundle, ca=ca)
