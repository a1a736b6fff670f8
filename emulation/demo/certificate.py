"""The demo's certificate (mTLS) rows: the certificate client succeeding, its items isolated per tenant, and the
refusals issue 16 lists, each a real one (the load balancer's TLS handshake, or a 403 from the API's pipeline or
backend), shown with the client's own explained failure hint.

Every row but one runs the real certificate client in its Lambda sandbox, with one of the test PKI's certificates
from the consumer account's Secrets Manager (emulation/accounts/mtls.py). "No certificate" cannot be that client
(it refuses to start without one): it is the client's own Invoker with no certificate, run in this process.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

from client.config import load_config
from client.invoke import Invoker
from client.invoke import logger as client_logger
from client.names import ClientKind
from emulation.accounts.mtls import SERVICE_DNS_NAME
from emulation.accounts.two_accounts import MAIN, TwoAccounts
from emulation.alb.pki import VALID_SUBJECT
from emulation.demo.scenario import Case, Expected, Observed, observe_invocation
from emulation.lambdas.sandbox import InvokeResult

__all__ = [
    "FORGED_SUBJECT",
    "HEADING",
    "build_certificate_cases",
    "certificate_client_case",
    "describe",
    "warm_configs",
]

# A caller holding tenant-b's certificate claims tenant-a's subject in the load balancer's own header.
FORGED_SUBJECT = {"X-Amzn-Mtls-Clientcert-Subject": VALID_SUBJECT, "X-Amzn-Mtls-Clientcert-Serial-Number": "01"}
_TLS_REFUSED = "TLS refused by the provider's load balancer: "
HEADING = "Certificate path (mTLS): the certificate client, then what the load balancer or the API must refuse"
# The test certificates the rows below run the certificate client with (each its own function configuration).
_VARIANTS = ("tenant-b", "unknown-ca", "expired", "revoked", "not-allowed")


def warm_configs(env: TwoAccounts) -> list[tuple[ClientKind, str, str | None, dict[str, str]]]:
    """The certificate client's configurations the rows use, to start their sandboxes with the others."""
    return [
        (ClientKind.CERTIFICATE, MAIN, None, {"CLIENT_CERTIFICATE_SECRET_ARN": env.certificate_secret(name)})
        for name in _VARIANTS
    ]


def _refused(why: str) -> Expected:
    return Expected(502, _TLS_REFUSED + why, f"TLS handshake refused ({why})")


def _certificate(secret: str | None, event: Mapping[str, Any] | None = None) -> Callable[[TwoAccounts], Observed]:
    """The certificate client with the named test certificate (None: its own, tenant-a's)."""

    def run(env: TwoAccounts) -> Observed:
        overrides = None if secret is None else {"CLIENT_CERTIFICATE_SECRET_ARN": env.certificate_secret(secret)}
        result = env.invoke_client(ClientKind.CERTIFICATE, dict(event or {"path": "/"}), env=overrides)
        return observe_invocation(result)

    return run


def _isolation(env: TwoAccounts) -> Observed:
    """tenant-a creates an item; tenant-b asks for it by id. The backend keys items by caller, so: not found."""
    created = env.invoke_client(ClientKind.CERTIFICATE, {"method": "POST", "path": "/items", "body": {"name": "a"}})
    if created.status != 201:
        failed = observe_invocation(created)  # no status: a failed write must not pass as the isolation's 404
        return Observed(None, failed.text, f"tenant-a could not create its item: {failed.summary}", failed.shown)
    item = json.loads(created.body)["id"]
    secret = {"CLIENT_CERTIFICATE_SECRET_ARN": env.certificate_secret("tenant-b")}
    read = observe_invocation(env.invoke_client(ClientKind.CERTIFICATE, {"path": f"/items/{item}"}, env=secret))
    return Observed(read.status, read.text, f"tenant-a created {item} (201); tenant-b: {read.summary}", read.shown)


def _no_certificate(env: TwoAccounts) -> Observed:
    """The certificate client's Invoker with no certificate in its pool, to the load balancer's listener."""
    function = env.consumer(MAIN).function_by_handler(ClientKind.CERTIFICATE.handler)
    if function is None:
        raise LookupError("the main consumer stack has no certificate client (start(mtls=True))")
    environ = {
        **function.environment,
        "AWS_REGION": env.region,
        "API_CA_BUNDLE": str(env.tls.ca_bundle),
        # This process has no VPC DNS view: the listener's own address (its certificate covers it).
        "API_ENDPOINT": env.mtls_listener.url,
    }
    invoker = Invoker(load_config(environ), None)
    level = client_logger.log_level
    client_logger.setLevel(logging.CRITICAL)  # the client's JSON log lines belong in a function log, not here
    try:
        payload = invoker.invoke({"path": "/"})
    finally:
        client_logger.setLevel(level)
        invoker.pool.close()
    result = InvokeResult("no-certificate", "", payload, None, cold_start=False, init_ms=None, duration_ms=0.0)
    return observe_invocation(result)


def certificate_client_case() -> Case:
    """Step 3's row: the deployed certificate client, with its own certificate (tenant-a)."""
    return Case(
        "certificate-client",
        "certificate client: tenant-a's certificate, the provider's endpoint service (mTLS)",
        Expected(200, '"accountId":"cert:tenant-a"', "200, caller cert:tenant-a"),
        _certificate(None),
        client_label="PythonCertificateClient",
        client=(ClientKind.CERTIFICATE, MAIN, None),
    )


def build_certificate_cases() -> list[Case]:
    """The certificate path's checks, after the certificate client's own row."""
    return [
        Case(
            "tenant-isolation",
            "tenant-b's certificate asks for the item tenant-a's certificate just created",
            Expected(404, "not found", "404, items isolated per tenant"),
            _isolation,
        ),
        Case(
            "no-certificate",
            "no client certificate",
            _refused("no client certificate was sent"),
            _no_certificate,
            hint=True,
        ),
        Case(
            "unknown-ca",
            "certificate from a CA the trust store does not hold (same subject as tenant-a)",
            _refused("its trust store lacks the certificate's CA"),
            _certificate("unknown-ca"),
            hint=True,
        ),
        Case("expired", "expired certificate", _refused("the certificate expired"), _certificate("expired"), hint=True),
        Case(
            "revoked",
            "certificate revoked by the trust store's CRL",
            _refused("the certificate is revoked"),
            _certificate("revoked"),
            hint=True,
        ),
        Case(
            "not-allowed",
            "valid certificate whose subject pMtlsAllowedClients does not list",
            Expected(403, "Certificate subject not allowed", "403 subject not allowed (backend)"),
            _certificate("not-allowed"),
            hint=True,
        ),
        Case(
            "forged-through-alb",
            "tenant-b's certificate sending a forged X-Amzn-Mtls-Clientcert-Subject of tenant-a",
            Expected(200, '"accountId":"cert:tenant-b"', "200, answered as tenant-b (the verified certificate)"),
            _certificate("tenant-b", {"path": "/", "headers": FORGED_SUBJECT}),
        ),
        Case(
            "forged-through-endpoint",
            "direct client sending forged certificate headers to /mtls/items through the main execute-api endpoint",
            Expected(403, "with an explicit deny in a resource-based policy", "403 explicit deny (resource policy)"),
            _forged_through_endpoint,
            hint=True,
        ),
    ]


def _forged_through_endpoint(env: TwoAccounts) -> Observed:
    event = {"path": "/mtls/items", "headers": FORGED_SUBJECT}
    return observe_invocation(env.invoke_client(ClientKind.DIRECT, event))


def describe() -> list[str]:
    """Step 1's line about the certificate path (its values are fixed before anything starts)."""
    return [
        f"   certificate path: pEnableMtls=Yes, a test CA + CRL, allowed tenant-a and tenant-b, name {SERVICE_DNS_NAME}"
    ]
