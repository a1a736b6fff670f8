"""The assume-role client: botocore's refreshable credentials of ROLE_TO_ASSUME, one sts:AssumeRole per lifetime."""

from __future__ import annotations

from collections.abc import Mapping

from botocore.credentials import DeferredRefreshableCredentials

from client.config import ClientConfig
from client.credentials import CredentialSource, own_credentials
from client.invoke import Invoker, build_invoker
from client.sts import AssumeRoleCall

__all__ = ["assume_role_credentials", "build_assume_role_invoker"]


def assume_role_credentials(
    role_arn: str,
    *,
    region: str,
    session_name: str,
    timeout: float,
    endpoint: str,
    ca_bundle: str | None = None,
    source: CredentialSource | None = None,
    duration_seconds: int | None = None,
) -> DeferredRefreshableCredentials:
    """Refreshable credentials of ``role_arn``: no STS call until first use, then one per credential lifetime.

    botocore refreshes them when less than 15 minutes remain (and insists below 10), so warm invocations
    reuse one AssumeRole result for most of its hour. ``source`` signs the AssumeRole (default: own credentials).
    """
    call = AssumeRoleCall(
        endpoint=endpoint,
        role_arn=role_arn,
        session_name=session_name,
        region=region,
        timeout=timeout,
        source=source or own_credentials(),
        ca_bundle=ca_bundle,
        duration_seconds=duration_seconds,
    )
    return DeferredRefreshableCredentials(refresh_using=call, method="assume-role")


def build_assume_role_invoker(environ: Mapping[str, str] | None = None) -> Invoker:
    """The assume-role client: signs with refreshable credentials of ROLE_TO_ASSUME."""

    def assumed(config: ClientConfig) -> CredentialSource:
        return assume_role_credentials(
            str(config.role_arn),
            region=config.region,
            session_name=config.role_session_name,
            timeout=config.timeout,
            endpoint=str(config.sts_endpoint),
            ca_bundle=config.sts_ca_bundle,
            source=own_credentials(environ),
        )

    return build_invoker(environ, needs_role=True, credentials=assumed)
