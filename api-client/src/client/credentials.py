"""Where the signing credentials come from: the function's own role, or an assumed provider role."""

from __future__ import annotations

import functools
from typing import Any

from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, Credentials, DeferredRefreshableCredentials
from botocore.session import Session, get_session

from client.config import ConfigError

__all__ = ["assume_role_credentials", "own_credentials"]


def own_credentials(session: Session | None = None) -> Credentials:
    """Credentials of the function's execution role (Lambda puts them in the environment)."""
    credentials = (session or get_session()).get_credentials()
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
    session = session or get_session()
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
        source_credentials=own_credentials(session),
        role_arn=role_arn,
        extra_args=extra_args,
    )
    return DeferredRefreshableCredentials(refresh_using=fetcher.fetch_credentials, method="assume-role")
