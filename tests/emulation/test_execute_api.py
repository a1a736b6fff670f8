"""One parser of execute-api host names for diagnose and the emulated gateway (iampolicy.execute_api)."""

from __future__ import annotations

import pytest

from iampolicy.execute_api import ExecuteApiHost, parse_execute_api_host


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", ExecuteApiHost("a1b2c3d4e5", None, "us-east-1")),
        (
            "a1b2c3d4e5-vpce-0123456789abcdef0.execute-api.eu-west-1.amazonaws.com",
            ExecuteApiHost("a1b2c3d4e5", "vpce-0123456789abcdef0", "eu-west-1"),
        ),
        ("vpce-0123-abcd.execute-api.us-east-1.vpce.amazonaws.com", None),
        ("https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com", None),
    ],
)
def test_parse_execute_api_host_splits_api_alias_and_region(host: str, expected: ExecuteApiHost | None) -> None:
    # GIVEN a host name a client may be configured with
    # WHEN it is parsed
    # THEN the API's own host and the {api-id}-{vpce-id} alias are recognised, anything else is not
    assert parse_execute_api_host(host) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("abc123.execute-api.cn-north-1.amazonaws.com.cn", ExecuteApiHost("abc123", None, "cn-north-1")),
        ("abc123.execute-api.us-gov-west-1.amazonaws.com", ExecuteApiHost("abc123", None, "us-gov-west-1")),
        (" ABC123.Execute-Api.US-EAST-1.amazonaws.com ", ExecuteApiHost("abc123", None, "us-east-1")),
        (
            "abc123-vpce-1a2b3c4d.execute-api.us-east-1.amazonaws.com",
            ExecuteApiHost("abc123", "vpce-1a2b3c4d", "us-east-1"),
        ),
    ],
)
def test_parse_execute_api_host_other_partitions_and_case_are_recognised(host: str, expected: ExecuteApiHost) -> None:
    # GIVEN a host of China's or GovCloud's partition, upper case with blanks, or an alias with a short endpoint id
    # WHEN it is parsed THEN it gives the same parts as its canonical spelling, which it formats back to
    parsed = parse_execute_api_host(host)
    assert parsed == expected
    assert parsed.name == host.strip().lower()


@pytest.mark.parametrize(
    "host",
    [
        "abc123.execute-api.us-east-1.amazonaws.com.cn",  # .com.cn outside China
        "abc123.execute-api.cn-north-1.amazonaws.com",  # China without its suffix
        "abc123-vpce-0xyz.execute-api.us-east-1.amazonaws.com",  # endpoint ids are hexadecimal
        "abc123.execute-api.us-east-1.amazonaws.com:443",  # a port is not part of the host name
        "abc123.execute-api.useast1.amazonaws.com",  # not a Region
        "abc_123.execute-api.us-east-1.amazonaws.com",
        "abc123.execute-api.us-east-1.amazonaws.com/Prod",
        "",
    ],
)
def test_parse_execute_api_host_other_names_give_none(host: str) -> None:
    # GIVEN a name that is not one of a private API's host names WHEN it is parsed THEN it is refused
    assert parse_execute_api_host(host) is None


def test_execute_api_host_name_alias_formats_with_the_endpoint_id() -> None:
    # GIVEN the alias parts WHEN formatted THEN the endpoint id follows the API id, as Route 53's alias record has it
    host = ExecuteApiHost("abc123defg", "vpce-0123456789abcdef0", "eu-west-1")
    assert host.name == "abc123defg-vpce-0123456789abcdef0.execute-api.eu-west-1.amazonaws.com"


@pytest.mark.parametrize(
    ("api_id", "vpce_id", "region", "message"),
    [
        ("ABC123", None, "us-east-1", "API id 'ABC123' cannot be part of an execute-api host name"),
        ("abc123", "vpce-main", "us-east-1", "VPC endpoint id 'vpce-main' cannot be part of an execute-api host name"),
        ("abc123", None, "us-east-1.evil.example", "Region 'us-east-1.evil.example' cannot be part of"),
    ],
)
def test_execute_api_host_bad_part_raises_naming_it(
    api_id: str, vpce_id: str | None, region: str, message: str
) -> None:
    # GIVEN a part no execute-api host name can hold
    # WHEN the host is built THEN a ValueError names the part and the value
    with pytest.raises(ValueError, match="cannot be part of") as raised:
        ExecuteApiHost(api_id, vpce_id, region)
    assert str(raised.value).startswith(message)
