"""Lambda handler of the certificate client: mutual TLS with a certificate from Secrets Manager, no SigV4."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from client.client_cert import (
    SECRET_ENV,
    CertificateError,
    CertificateFiles,
    load_client_certificate,
    secret_region,
    secrets_endpoint,
)
from client.config import ClientConfig, ConfigError, load_config
from client.credentials import own_credentials
from client.diagnosis import Failure, certificate_failure
from client.invoke import Context, Invoker, logger
from client.transport import new_pool

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class CertificateInvoker:
    """The Invoker over a pool presenting the certificate, loaded once per container.

    An unloadable certificate is no crash: each invocation answers the explained failure and tries again, so a fixed
    secret or permission works without a redeploy.
    """

    def __init__(self, config: ClientConfig, load: Callable[[], CertificateFiles]) -> None:
        self.config = config
        self._load_files = load
        self.invoker: Invoker | None = None
        self.failure = Failure(502, "client certificate not loaded", "See the function log")
        self._load()

    def _load(self) -> None:
        try:
            files = self._load_files()
        except CertificateError as error:
            self.failure = certificate_failure(error)
            logger.error("client certificate unavailable", extra={"error": self.failure.error, "kind": error.kind})
            return
        pair = (files.cert_file, files.key_file)
        pool = new_pool(
            self.config.endpoint, self.config.ca_bundle, idle_timeout=self.config.idle_timeout, client_cert=pair
        )
        self.invoker = Invoker(self.config, None, pool=pool)

    def invoke(self, event: Any, context: Context | None = None) -> dict[str, Any]:
        """Call the API as the event describes, or answer why the certificate is unavailable."""
        if self.invoker is None:
            self._load()
        return self.failure.result() if self.invoker is None else self.invoker.invoke(event, context)


def build_certificate_invoker(environ: Mapping[str, str] | None = None) -> CertificateInvoker:
    """Validate the configuration (failing the start, as the others do), then load the certificate."""
    env = os.environ if environ is None else environ
    try:
        config = load_config(env)
        arn = env.get(SECRET_ENV, "").strip()
        region = secret_region(arn)
        endpoint = secrets_endpoint(env, region)
        source = own_credentials(env)
        # The SDKs' variable for an AWS endpoint's private CA (a local emulator).
        bundle = env.get("AWS_CA_BUNDLE", "").strip() or None
        if bundle and not os.path.isfile(bundle):
            raise ConfigError(f"AWS_CA_BUNDLE {bundle!r} is not a readable PEM file")
    except ConfigError as error:
        logger.error("invalid configuration", extra={"error": str(error)})
        raise

    def load() -> CertificateFiles:
        return load_client_certificate(
            arn, region=region, timeout=config.timeout, endpoint=endpoint, source=source, ca_bundle=bundle
        )

    return CertificateInvoker(config, load)


# Built at cold start: the certificate is read once and the pool (with its TLS session) reused while warm.
INVOKER = build_certificate_invoker()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Call the private API as the event describes and return its answer (or an explained failure)."""
    return INVOKER.invoke(event, context)
