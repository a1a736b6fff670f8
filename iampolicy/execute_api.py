"""The host names of a private REST API: one parser (and one formatter) for diagnose and the emulation.

A private API answers on two names (API Gateway developer guide, "Invoke a private API"):
- `{api-id}.execute-api.{region}.amazonaws.com`, which resolves to the VPC's endpoint when its private DNS is on;
- `{api-id}-{vpce-id}.execute-api.{region}.amazonaws.com`, the Route 53 alias API Gateway creates for each VPC
  endpoint associated with the API.
China's regions (cn-*) use the `amazonaws.com.cn` suffix instead. The endpoint's own names
(`vpce-...execute-api.{region}.vpce.amazonaws.com`) name no API: a request to them needs a Host or x-apigw-api-id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ExecuteApiHost", "parse_execute_api_host"]

_API_ID = r"[a-z0-9]+"  # API Gateway's REST API ids: lower-case letters and digits (10 of them today)
_VPCE_ID = r"vpce-[0-9a-f]+"  # EC2 resource ids: a prefix, then hexadecimal digits (8 or 17)
_REGION = r"[a-z]{2}(?:-[a-z]+)+-[0-9]+"  # us-east-1, us-gov-west-1, cn-north-1, eu-isoe-west-1
_HOST = re.compile(
    rf"^(?P<api>{_API_ID})(?:-(?P<vpce>{_VPCE_ID}))?"
    rf"\.execute-api\.(?P<region>{_REGION})\.(?P<suffix>amazonaws\.com(?:\.cn)?)$"
)


@dataclass(frozen=True)
class ExecuteApiHost:
    """An `{api-id}.execute-api.{region}` host, or the `{api-id}-{vpce-id}` alias when `vpce_id` is set."""

    api_id: str
    vpce_id: str | None
    region: str

    def __post_init__(self) -> None:
        for what, value, pattern in (
            ("API id", self.api_id, _API_ID),
            ("VPC endpoint id", self.vpce_id, _VPCE_ID),
            ("Region", self.region, _REGION),
        ):
            if value is not None and not re.fullmatch(pattern, value):
                raise ValueError(f"{what} {value!r} cannot be part of an execute-api host name (expected {pattern})")

    @property
    def name(self) -> str:
        """The DNS name: the Region's DNS suffix, with the alias prefix when an endpoint id is set."""
        prefix = f"{self.api_id}-{self.vpce_id}" if self.vpce_id else self.api_id
        return f"{prefix}.execute-api.{self.region}.{_dns_suffix(self.region)}"


def parse_execute_api_host(host: str) -> ExecuteApiHost | None:
    """Split an execute-api host name into its API id, optional endpoint id (alias) and Region; None if it is not one.

    Case and surrounding blanks are ignored (DNS names are case-insensitive); a port, scheme or path is not a host.
    """
    found = _HOST.match(host.strip().lower())
    if not found or found["suffix"] != _dns_suffix(found["region"]):
        return None
    return ExecuteApiHost(api_id=found["api"], vpce_id=found["vpce"], region=found["region"])


def _dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
