"""Can HTTPS get from the client functions to the execute-api endpoint? Security groups only (not NACLs/routes)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from diagnose.facts import Network, Rule

__all__ = ["HttpsPath", "https_path"]

HTTPS = 443


@dataclass(frozen=True)
class HttpsPath:
    """Whether the client side may send and the endpoint side may accept HTTPS; None: a group was unreadable."""

    egress: bool | None
    ingress: bool | None
    unreadable: tuple[str, ...] = ()


def _covers_https(rule: Rule) -> bool:
    if rule.protocol in ("-1", "all"):
        return True
    if rule.protocol.lower() not in ("tcp", "6"):
        return False
    low = rule.from_port if rule.from_port is not None else 0
    high = rule.to_port if rule.to_port is not None else 65535
    return low <= HTTPS <= high


def _cidrs_cover(cidrs: Iterable[str], targets: list[str]) -> bool:
    """True when every target subnet lies inside one of the rule's CIDRs (so every endpoint/client IP is covered)."""
    networks = []
    for cidr in cidrs:
        try:
            networks.append(ipaddress.ip_network(cidr, strict=False))
        except ValueError:
            continue
    if not targets:
        return False
    covered = 0
    for target in targets:
        subnet = ipaddress.ip_network(target, strict=False)
        if any(subnet.version == n.version and subnet.subnet_of(n) for n in networks):  # type: ignore[arg-type]
            covered += 1
    return covered == len(targets)


def _allows(rules: Iterable[Rule], peer_groups: set[str], peer_cidrs: list[str]) -> bool:
    return any(_covers_https(r) and (peer_groups & set(r.groups) or _cidrs_cover(r.cidrs, peer_cidrs)) for r in rules)


def https_path(
    network: Network,
    *,
    client_groups: Iterable[str],
    client_subnets: Iterable[str],
    endpoint_groups: Iterable[str],
    endpoint_subnets: Iterable[str],
) -> HttpsPath:
    """Evaluate the client groups' egress and the endpoint groups' ingress for TCP 443 (stateful: replies pass)."""
    clients, endpoints = set(client_groups), set(endpoint_groups)
    unread_clients = {g for g in clients if g not in network.security_groups}
    unread_endpoints = {g for g in endpoints if g not in network.security_groups}
    client_cidrs = [network.subnet_cidrs[s] for s in client_subnets if s in network.subnet_cidrs]
    endpoint_cidrs = [network.subnet_cidrs[s] for s in endpoint_subnets if s in network.subnet_cidrs]
    egress_rules = [r for g in clients if g in network.security_groups for r in network.security_groups[g].egress]
    ingress_rules = [r for g in endpoints if g in network.security_groups for r in network.security_groups[g].ingress]
    egress = _allows(egress_rules, endpoints, endpoint_cidrs)
    ingress = _allows(ingress_rules, clients, client_cidrs)
    # A direction that no readable rule allows is unknown, not refused, while one of its own groups is unread.
    return HttpsPath(
        egress=None if not egress and unread_clients else egress,
        ingress=None if not ingress and unread_endpoints else ingress,
        unreadable=tuple(sorted(unread_clients | unread_endpoints)),
    )
