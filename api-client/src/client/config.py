"""Client configuration: read from the environment once at start, with errors that name the variable."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from client.names import DEFAULT_SESSION_NAME, role_session_name
from client.transport import DEFAULT_IDLE_TIMEOUT, PRIVATELINK_IDLE_TIMEOUT

__all__ = ["ClientConfig", "ConfigError", "base_url", "load_config"]

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*(?::[0-9]{{1,5}})?$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)*$")
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_ISOLATED_PREFIXES = ("us-iso", "eu-iso")  # us-iso-*, us-isob-*, us-isof-*, eu-isoe-*: other DNS suffixes


class ConfigError(ValueError):
    """A client environment variable is missing or malformed; the message names it."""


@dataclass(frozen=True)
class ClientConfig:
    """Everything the client needs, already validated."""

    api_host: str  # signed and sent as Host
    api_prefix: str  # '' or '/Stage'
    timeout: float  # seconds per attempt
    endpoint: str  # https://host[:port] the connection goes to
    region: str
    ca_bundle: str | None = None
    role_arn: str | None = None
    role_session_name: str = DEFAULT_SESSION_NAME
    sts_endpoint: str | None = None  # where the assume-role client calls sts:AssumeRole
    sts_ca_bundle: str | None = None
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT  # seconds a kept connection may idle before it is replaced


def load_config(environ: Mapping[str, str] | None = None, *, needs_role: bool = False) -> ClientConfig:
    """Build a ClientConfig from environment variables; raise ConfigError naming the first bad one."""
    env = os.environ if environ is None else environ
    api_host = _api_host(env.get("API_HOST", ""))
    region = _region(env)
    return ClientConfig(
        api_host=api_host,
        api_prefix=_api_prefix(env.get("API_PREFIX", "")),
        timeout=_seconds("API_TIMEOUT", env.get("API_TIMEOUT", "10")),
        endpoint=_endpoint(env.get("API_ENDPOINT", ""), api_host),
        region=region,
        ca_bundle=_file(env, "API_CA_BUNDLE"),
        role_arn=_role_arn(env.get("ROLE_TO_ASSUME", "")) if needs_role else None,
        role_session_name=role_session_name(env.get("AWS_LAMBDA_FUNCTION_NAME", "")),
        sts_endpoint=_sts_endpoint(env, region) if needs_role else None,
        sts_ca_bundle=_file(env, "AWS_CA_BUNDLE") if needs_role else None,
        idle_timeout=_idle_timeout(env.get("API_IDLE_TIMEOUT", "").strip() or str(DEFAULT_IDLE_TIMEOUT)),
    )


def _api_host(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ConfigError("API_HOST is empty: set it to the API host, e.g. abc123.execute-api.us-east-1.amazonaws.com")
    if not _HOST.match(value):
        raise ConfigError(f"API_HOST {value!r} is not a host name: give the bare host, without https:// or a path")
    return value.lower()


def _api_prefix(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if value and not value.startswith("/"):
        raise ConfigError(f"API_PREFIX {raw!r} must start with '/', e.g. /Prod (the stage name)")
    if not _PREFIX.match(value) or "/./" in value + "/" or "/../" in value + "/":
        raise ConfigError(f"API_PREFIX {raw!r} is not a plain URL path such as /Prod")
    return value


def _seconds(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} {raw!r} is not a number of seconds") from None
    if not math.isfinite(value) or value <= 0:
        raise ConfigError(f"{name} {raw!r} must be a positive number of seconds")
    return value


def _idle_timeout(raw: str) -> float:
    value = _seconds("API_IDLE_TIMEOUT", raw)
    if value >= PRIVATELINK_IDLE_TIMEOUT:
        # At or past the endpoint's limit a kept connection can be forgotten by the endpoint and still be used.
        raise ConfigError(
            f"API_IDLE_TIMEOUT {raw!r} must be below 350 seconds, the idle timeout of the execute-api VPC endpoint"
        )
    return value


def _endpoint(raw: str, api_host: str) -> str:
    value = raw.strip().rstrip("/")
    if not value:
        return f"https://{api_host}"
    return base_url("API_ENDPOINT", value, example="https://vpce-123.example.com", plain_http=False)


def base_url(name: str, value: str, *, example: str, plain_http: bool) -> str:
    """``value`` if it is scheme and host (and port) only: https://, or http:// to loopback when ``plain_http``."""
    parts = urlsplit(value)
    local_http = plain_http and parts.scheme == "http" and parts.hostname in _LOOPBACK
    if not parts.hostname or not (parts.scheme == "https" or local_http):
        allowed = " (http:// only for 127.0.0.1 or localhost)" if plain_http else " (TLS is always verified)"
        raise ConfigError(f"{name} {value!r} must be an https:// URL{allowed}")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{name} {value!r} must be scheme and host only, e.g. {example}")
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError:
        raise ConfigError(f"{name} {value!r} has an invalid port") from None
    return f"{parts.scheme}://{parts.netloc}"  # the scheme in lower case, as urllib3 and the checks above read it


def _region(env: Mapping[str, str]) -> str:
    value = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or ""
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]+", value):
        raise ConfigError(f"AWS_REGION {value!r} is not a Region name (Lambda sets it; set it when running locally)")
    return value


def _file(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    if not value:
        return None
    if not os.path.isfile(value):
        raise ConfigError(f"{name} {value!r} is not a readable PEM file")
    return value


def _sts_endpoint(env: Mapping[str, str], region: str) -> str:
    """The SDKs' variables first (AWS_ENDPOINT_URL_STS, then AWS_ENDPOINT_URL); else the Region's own STS endpoint.

    The default is what the STS interface endpoint's private DNS answers for: sts.{region}.amazonaws.com (.com.cn in
    China), or sts-fips.{region}... when AWS_USE_FIPS_ENDPOINT=true (GovCloud's sts.{region} names are FIPS already).
    The isolated partitions name their endpoints otherwise: there, AWS_ENDPOINT_URL_STS must say where STS is.
    """
    for name in ("AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"):
        value = env.get(name, "").strip().rstrip("/")
        if value:
            # The answer carries the role's secret key: plain HTTP only to a local emulator on this machine.
            example = "https://sts.us-east-1.amazonaws.com"
            return base_url(name, value, example=example, plain_http=True)
    if region.startswith(_ISOLATED_PREFIXES):
        raise ConfigError(
            f"AWS_ENDPOINT_URL_STS is not set: set it to the STS endpoint of {region} (the client derives it only in "
            "the aws, aws-cn and aws-us-gov partitions)"
        )
    fips = env.get("AWS_USE_FIPS_ENDPOINT", "").strip().lower() == "true" and not region.startswith("us-gov-")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{'sts-fips' if fips else 'sts'}.{region}.{suffix}"


def _role_arn(raw: str) -> str:
    value = raw.strip()
    if not value:
        raise ConfigError("ROLE_TO_ASSUME is empty: the assume-role client needs the provider role's ARN")
    if not _ROLE_ARN.match(value):
        raise ConfigError(f"ROLE_TO_ASSUME {value!r} is not a role ARN (arn:aws:iam::123456789012:role/name)")
    return value
