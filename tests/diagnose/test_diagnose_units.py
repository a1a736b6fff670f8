"""The pure parts of diagnose: reading API Gateway's policy text, host names, security groups, access-log lines."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from diagnose.access_log import error_groups, parse_lines
from diagnose.collect import parse_api_policy
from diagnose.context import Target
from diagnose.facts import LogEvent, Network, Rule, SecurityGroup
from diagnose.network import https_path
from iampolicy.execute_api import parse_execute_api_host

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111111111111:role/client"},
            "Action": "execute-api:Invoke",
            "Resource": "arn:aws:execute-api:us-east-1:222222222222:a1b2c3d4e5/*",
        }
    ],
}
AT = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_diagnose_parse_api_policy_escaped_text_gives_document() -> None:
    # GIVEN the policy as API Gateway's GetRestApi returns it: quotes and slashes backslash-escaped
    text = json.dumps(json.dumps(POLICY, separators=(",", ":")))[1:-1].replace("/", "\\/")
    assert text.startswith('{\\"Version\\":')
    # WHEN it is parsed
    parsed = parse_api_policy(text)
    # THEN it is the original document
    assert parsed == POLICY


def test_diagnose_parse_api_policy_plain_json_gives_document() -> None:
    # GIVEN plain JSON (other implementations, and moto, return it unescaped)
    # WHEN it is parsed
    parsed = parse_api_policy(json.dumps(POLICY))
    # THEN it is the same document; no policy at all stays None
    assert parsed == POLICY
    assert parse_api_policy(None) is None


def _network(client_egress: tuple[Rule, ...], endpoint_ingress: tuple[Rule, ...]) -> Network:
    return Network(
        dns_support=True,
        dns_hostnames=True,
        subnet_cidrs={"subnet-client": "10.1.1.0/24", "subnet-endpoint": "10.1.2.0/24"},
        security_groups={
            "sg-client": SecurityGroup("sg-client", ingress=(), egress=client_egress),
            "sg-endpoint": SecurityGroup("sg-endpoint", ingress=endpoint_ingress, egress=()),
        },
    )


def _path(network: Network, client_group: str = "sg-client") -> tuple[bool | None, bool | None]:
    found = https_path(
        network,
        client_groups=[client_group],
        client_subnets=["subnet-client"],
        endpoint_groups=["sg-endpoint"],
        endpoint_subnets=["subnet-endpoint"],
    )
    return found.egress, found.ingress


def test_diagnose_https_path_group_and_cidr_rules_allow_both_ways() -> None:
    # GIVEN egress to the VPC's CIDR on 443 and ingress from the client group on 0-65535
    network = _network((Rule("tcp", 443, 443, ("10.1.0.0/16",), ()),), (Rule("tcp", 0, 65535, (), ("sg-client",)),))
    # WHEN the path is evaluated
    # THEN both directions are allowed
    assert _path(network) == (True, True)


def test_diagnose_https_path_wrong_port_or_peer_is_refused() -> None:
    # GIVEN egress on 80 only, and ingress from a CIDR that does not hold the client subnet
    network = _network((Rule("tcp", 80, 80, ("0.0.0.0/0",), ()),), (Rule("tcp", 443, 443, ("10.9.0.0/16",), ()),))
    # WHEN the path is evaluated
    # THEN neither direction lets HTTPS through
    assert _path(network) == (False, False)


def test_diagnose_https_path_unreadable_group_is_unknown() -> None:
    # GIVEN a client group that could not be read and nothing else allowing the path
    network = _network((), (Rule("-1", None, None, (), ("sg-client",)),))
    # WHEN the path is evaluated for a group missing from the collected data
    # THEN egress is unknown rather than refused; ingress still names the (unread) group and passes
    assert _path(network, client_group="sg-missing") == (None, False)


def test_diagnose_access_log_lines_keep_waf_and_authorization_errors() -> None:
    # GIVEN a WAF block, an authorization denial, a success and a line in another format
    waf = {"status": "403", "waf": {"responseCode": "WAF_BLOCK", "webaclArn": "arn:aws:wafv2:acl"}}
    denied = {"status": "403", "identity": {"userArn": "arn:aws:sts::1:assumed-role/r/s"}, "error": {"message": "No"}}
    fine = {"status": "200", "identity": {"userArn": "arn:aws:sts::1:assumed-role/r/s"}, "error": {"message": "-"}}
    events = [LogEvent(AT, json.dumps(record)) for record in (waf, denied, fine)] + [LogEvent(AT, "1.2.3.4 - GET")]
    # WHEN the lines are parsed and grouped
    lines, unparsed = parse_lines(events)
    groups = error_groups(lines)
    # THEN both failures keep their reason, the success has none, and the foreign line is only counted
    assert [(line.status, line.error, line.failed) for line in lines] == [
        (403, "blocked by WAF (arn:aws:wafv2:acl)", True),
        (403, "No", True),
        (200, None, False),
    ]
    assert unparsed == 1
    assert sorted((g.count, g.error) for g in groups) == [(1, "No"), (1, "blocked by WAF (arn:aws:wafv2:acl)")]


@pytest.mark.parametrize(
    ("region", "partition", "host"),
    [
        ("us-east-1", "aws", "abc123.execute-api.us-east-1.amazonaws.com"),
        ("us-gov-west-1", "aws-us-gov", "abc123.execute-api.us-gov-west-1.amazonaws.com"),
        ("cn-north-1", "aws-cn", "abc123.execute-api.cn-north-1.amazonaws.com.cn"),
    ],
)
def test_target_host_uses_the_partitions_dns_suffix(region: str, partition: str, host: str) -> None:
    # GIVEN the API diagnose compares the client with, in a region of each partition
    target = Target(region=region, partition=partition, api_id="abc123", account="111111111111", stage="Prod")
    # THEN the host its advice names (pAPIHost=...) is one the client template accepts and DNS answers there
    assert target.host == host
    assert parse_execute_api_host(host) is not None
