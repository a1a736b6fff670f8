"""A throwaway CA and server certificate for the emulated endpoints (trustme), TLS 1.2 or newer."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
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
    leaf: trustme.LeafCert | None = None  # server_context's certificate, so a listener can build its own context

    def issue(self, *hostnames: str) -> trustme.LeafCert:
        """A server certificate for other names from the same CA, so clients trusting `ca_bundle` trust it too."""
        if self.ca is None:
            raise ValueError("this TLS material has no CA to issue from")
        return self.ca.issue_cert(*hostnames)


def _server_context(leaf: trustme.LeafCert) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    leaf.configure_cert(context)
    return context


class DomainCertificates:
    """Certificates for private custom domain names, picked by the name the client sends in SNI.

    On AWS the domain's ACM certificate is presented for its name; here the same throwaway CA issues one per name
    on first use, so clients that trust `ca_bundle` verify the domain as they verify the execute-api names.
    """

    def __init__(self, material: TlsMaterial, serves: Callable[[str], bool]) -> None:
        if material.ca is None or material.leaf is None:
            raise ValueError("domain certificates need the TLS material's CA and its default certificate")
        self._leaf = material.leaf
        self._ca = material.ca
        self._serves = serves
        self._contexts: dict[str, ssl.SSLContext] = {}
        self._lock = threading.Lock()

    def context_for(self, name: str) -> ssl.SSLContext:
        """The server context presenting a certificate for exactly `name` (issued once, then reused)."""
        with self._lock:
            context = self._contexts.get(name)
            if context is None:
                context = self._contexts[name] = _server_context(self._ca.issue_cert(name))
            return context

    def server_context(self) -> ssl.SSLContext:
        """The listeners' context: the execute-api certificate, or a domain's when SNI names a served domain."""
        context = _server_context(self._leaf)

        def pick(sock: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: ssl.SSLContext) -> None:
            if name and self._serves(name.lower()):
                sock.context = self.context_for(name.lower())

        context.sni_callback = pick
        return context


def make_tls(hostnames: tuple[str, ...], directory: Path) -> TlsMaterial:
    """Issue a certificate for the names and write the CA's PEM into `directory` (clients pass it as CA bundle)."""
    ca = trustme.CA()
    leaf = ca.issue_cert(*hostnames)
    context = _server_context(leaf)
    directory.mkdir(parents=True, exist_ok=True)
    bundle = directory / "emulation-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    return TlsMaterial(server_context=context, ca_bundle=bundle, ca=ca, leaf=leaf)
