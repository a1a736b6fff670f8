"""boto3 for the scripts: one session per profile and region, region resolution, the caller's account, and the one
botocore configuration every client shares. AWS_ENDPOINT_URL (botocore reads it) points all of it elsewhere (tests).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from workflow.output import Fatal

__all__ = [
    "caller_account",
    "client",
    "error_text",
    "known_profiles",
    "profile_region",
    "require_profiles",
    "resolve_region",
    "session",
]

# Standard retries (AWS CLI v2's default mode): throttling and transient errors are retried, 3 attempts in all.
RETRY_MODE = "standard"
DEFAULT_MAX_ATTEMPTS = 3
_ACCOUNT = re.compile(r"[0-9]{12}")


def error_text(error: Exception) -> str:
    """One line for a failed call, as the AWS CLI printed it (botocore's message is the CLI's)."""
    return " ".join(str(error).split())


def known_profiles() -> list[str]:
    """Profiles in the config and credentials files (AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE honoured)."""
    return list(botocore.session.Session().available_profiles)


def require_profiles(profiles: Sequence[str]) -> None:
    """Stop, listing the known profiles, when a profile is in neither file (boto3 needs it there, like the CLI)."""
    known = known_profiles()
    for profile in profiles:
        if profile not in known:
            raise Fatal(
                f"profile '{profile}' does not exist; known profiles: {', '.join(known)} "
                f"(check the spelling, or create it: aws configure --profile {profile})"
            )


def profile_region(profile: str, env: Mapping[str, str] | None = None) -> str:
    """The region the AWS CLI would use for a profile: AWS_REGION, then AWS_DEFAULT_REGION, then the profile's."""
    environ = os.environ if env is None else env
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(name):
            return environ[name]
    configured = botocore.session.Session(profile=profile).get_scoped_config().get("region")
    return str(configured or "")


def resolve_region(region_flag: str, profiles: Sequence[str]) -> str:
    """--region, else the profiles' one region: PrivateLink endpoints only reach APIs in their own region."""
    if region_flag:
        return region_flag
    first_region = first_profile = ""
    for profile in profiles:
        region = profile_region(profile)
        if not region:
            raise Fatal(
                f"no region configured for profile '{profile}': pass --region or set one with "
                f"'aws configure set region REGION --profile {profile}'"
            )
        if not first_region:
            first_region, first_profile = region, profile
        elif region != first_region:
            raise Fatal(
                f"profiles use different regions ('{first_profile}': {first_region}, '{profile}': {region}); the "
                "consumer's endpoint only reaches APIs in its own region, so pass --region to pick one"
            )
    return first_region


@functools.cache
def session(profile: str | None, region: str | None) -> boto3.Session:
    """The boto3 session of a profile (None: the default credentials) in a region; one per pair per process."""
    return boto3.Session(profile_name=profile, region_name=region or None)


def client(
    profile: str | None,
    region: str | None,
    service: str,
    *,
    read_timeout: float | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Any:
    """A client with the shared configuration; max_attempts=1 for a call that must never run twice."""
    settings: dict[str, Any] = {"retries": {"mode": RETRY_MODE, "total_max_attempts": max_attempts}}
    if read_timeout is not None:
        settings["read_timeout"] = read_timeout
    # boto3-stubs type client() for literal service names only; this helper serves any service.
    return session(profile, region).client(service, config=Config(**settings))  # type: ignore[call-overload]


def caller_account(profile: str | None, region: str | None) -> str:
    """The account behind a profile; proves the credentials work before anything is changed."""
    label = profile or "default"
    try:
        account = str(client(profile, region, "sts").get_caller_identity()["Account"])
    except (BotoCoreError, ClientError) as error:
        raise Fatal(
            f"profile '{label}' has no working credentials (aws sts get-caller-identity failed): {error_text(error)}"
        ) from error
    if not _ACCOUNT.fullmatch(account):
        raise Fatal(f"profile '{label}': unexpected account id '{account}'")
    return account
