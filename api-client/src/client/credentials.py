"""Where the signing credentials come from: the function's own role, or an assumed provider role."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, Credentials, DeferredRefreshableCredentials, EnvProvider

from client.config import ConfigError

if TYPE_CHECKING:
    from botocore.session import Session

__all__ = ["assume_role_credentials", "own_credentials"]


def own_credentials(session: Session | None = None) -> Credentials:
    """Credentials of the function's execution role (Lambda puts them in the environment)."""
    if session is None:
        # Lambda always puts the role's keys in the environment, and the provider chain would find them there
        # first too: reading them directly keeps botocore.session out of the direct client's cold start.
        from_environment = EnvProvider().load()
        if from_environment is not None:
            return from_environment
        session = _new_session()
    credentials = session.get_credentials()
    if credentials is None:
        raise ConfigError("AWS_ACCESS_KEY_ID: no AWS credentials found (Lambda sets them; set them to run locally)")
    return credentials


def assume_role_credentials(
    role_arn: str,
    *,
    region: str,
    session_name: str,
    timeout: float,
    session: Session | None = None,
    duration_seconds: int | None = None,
) -> Credentials:
    """Refreshable credentials of ``role_arn``: no STS call until first use, then one per credential lifetime.

    botocore refreshes them when less than 15 minutes remain (and insists below 10), so warm invocations
    reuse one AssumeRole result for most of its hour.
    """
    source_credentials = own_credentials(session)  # read before the session exists: no credential chain on Lambda
    session = session or _new_session()
    sts_config = Config(
        region_name=region,  # regional endpoint (sts.{region}.amazonaws.com): the VPC's STS endpoint answers it
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "max_attempts": 2},
    )
    extra_args: dict[str, Any] = {"RoleSessionName": session_name}
    if duration_seconds is not None:
        extra_args["DurationSeconds"] = duration_seconds
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=functools.partial(session.create_client, region_name=region, config=sts_config),
        source_credentials=source_credentials,
        role_arn=role_arn,
        extra_args=extra_args,
    )
    return DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method="assume-role")


def _new_session() -> Session:
    """botocore's default session: the full credential chain and the STS client factory."""
    # Imported on demand (still during init for the assume-role client): the direct client never needs it on Lambda.
    from botocore.session import get_session  # noqa: PLC0415

    return get_session()
