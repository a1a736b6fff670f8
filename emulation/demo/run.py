"""`make demo`: the whole two-account flow offline, its successes and its denials, each checked against AWS's rules.

Run `python -m emulation.demo --help` for the options. Exit status 0 only when every outcome was the expected one
and nothing listens any more.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import textwrap
import time
from collections.abc import Sequence
from typing import IO, Any

from emulation.accounts.two_accounts import MAIN, TwoAccounts
from emulation.demo import certificate
from emulation.demo import domain as domain_rows
from emulation.demo.scenario import ACCESS_LIST_CHOICES, SITES, TRUST_CHOICES, Case, Observed, Settings, build_cases

_RED, _GREEN, _YELLOW, _BOLD, _RESET = "\033[31m", "\033[32m", "\033[33m", "\033[1m", "\033[0m"


def use_color(stream: IO[str], environ: dict[str, str] | None = None) -> bool:
    """Colours on a terminal or with FORCE_COLOR; never with NO_COLOR (https://no-color.org) or TERM=dumb."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return stream.isatty() and env.get("TERM") != "dumb"


class Printer:
    """Numbered steps and SUCCESS/FAILED lines like invoke.sh."""

    def __init__(self, stream: IO[str], *, color: bool) -> None:
        self.stream = stream
        self.color = color

    def paint(self, code: str, text: str) -> str:
        """Wrap text in an ANSI colour when colours are on."""
        return f"{code}{text}{_RESET}" if self.color else text

    def line(self, text: str = "") -> None:
        """Print one line."""
        print(text, file=self.stream, flush=True)

    def step(self, number: int, title: str) -> None:
        """A numbered step heading."""
        self.line()
        self.line(self.paint(_BOLD, f"{number}. {title}"))


def _site_list(value: str) -> tuple[str, ...] | None:
    if value.strip().lower() == "none":
        return None
    sites = tuple(s.strip() for s in value.split(",") if s.strip())
    unknown = [s for s in sites if s not in SITES]
    if unknown or not sites:
        raise argparse.ArgumentTypeError(f"expected 'none' or a comma-separated list of {', '.join(SITES)}")
    return sites


def _access_list(value: str) -> tuple[str, ...]:
    if value.strip().lower() == "none":
        return ()
    items = tuple(s.strip() for s in value.split(",") if s.strip())
    if not items or any(item not in ACCESS_LIST_CHOICES for item in items):
        raise argparse.ArgumentTypeError(
            f"expected 'none' or a comma-separated list of {', '.join(ACCESS_LIST_CHOICES)}"
        )
    return items


def build_parser() -> argparse.ArgumentParser:
    """The demo's command line."""
    parser = argparse.ArgumentParser(
        prog="python -m emulation.demo",
        description=(
            "Deploy the provider and consumer templates into emulated accounts on 127.0.0.1 (moto, an emulated "
            "private API gateway, STS), run the real client handlers and show the expected denials."
        ),
    )
    parser.add_argument(
        "--allowed-endpoints",
        type=_site_list,
        default=(MAIN,),
        metavar="SITES",
        help="pAllowedVPCEndpoints as consumer sites (main, other, outsider), or 'none' for any (default: main)",
    )
    parser.add_argument(
        "--access-list",
        type=_access_list,
        default=("direct",),
        metavar="PRINCIPALS",
        help=(
            "pAPIAccessList: 'direct' (main direct client role), 'other' (the other stack's direct role), "
            "'account' (the consumer account id), comma-separated, or 'none' (default: direct)"
        ),
    )
    parser.add_argument(
        "--trusted-principals",
        choices=TRUST_CHOICES,
        default="account",
        help="pTrustedPrincipals: the consumer account, main's assume-role client role, or Nobody (default: account)",
    )
    parser.add_argument(
        "--private-dns",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "pEnablePrivateDNS: clients reach the API by its own host name (on) or by the endpoint's DNS name with "
            "a Host header (off, API_ENDPOINT from the template) (default: on)"
        ),
    )
    parser.add_argument(
        "--associate-endpoints",
        action="store_true",
        help="pAssociateVPCEndpoints=Yes: the API lists the allowed endpoints, so {api-id}-{vpce-id} names resolve",
    )
    parser.add_argument(
        "--mtls",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "also deploy the certificate (mTLS) path: pEnableMtls=Yes, the certificate client, a test CA with its "
            "CRL, and show its refusals (default: on)"
        ),
    )
    parser.add_argument(
        "--domain",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=(
            "also deploy the private custom domain name (a deployment of its own, as deploy-all.sh --domain): both "
            "IAM clients through it and its refusals (default: on)"
        ),
    )
    parser.add_argument(
        "--show-responses", action="store_true", help="print each client's whole response (headers and JSON body)"
    )
    parser.add_argument("--show-access-log", action="store_true", help="print the API access-log lines at the end")
    parser.add_argument("--show-function-logs", action="store_true", help="print each client invocation's log")
    parser.add_argument("--seed", type=int, default=None, help="seed for the generated resource ids (repeatable runs)")
    return parser


# Said at the end of every run; docs/proven.md and docs/mtls.md ("What is proven offline, ...") hold the full lists.
NOT_PROVEN = (
    "What this run does not prove: CloudFormation and IAM at deploy time, DNS and the network (private DNS, "
    "security groups, routes, Lambda's VPC ENIs), the certificate path's NLB, endpoint service and a real ALB's TLS "
    "alerts, managed services (WAF rules, KMS, CloudWatch Logs, X-Ray) and IAM beyond resource and identity policies "
    "(SCPs, RCPs, permission boundaries, session policies). Only a real deployment shows those; see docs/proven.md, "
    '"What is proven offline, and what is not", for the certificate path docs/mtls.md, and for the private custom '
    "domain (its provisioning and association minutes, the RAM invitation's acceptance, ACM validation, the Route 53 "
    "alias) docs/private-domain.md."
)


def _summary(document: dict[str, Any]) -> str:
    """A response in a few words: status, header count, body size."""
    parts = []
    if "statusCode" in document:
        parts.append(f"statusCode {document['statusCode']}")
    headers = document.get("headers")
    if isinstance(headers, dict):
        parts.append(f"{len(headers)} headers")
    body = document.get("body")
    if isinstance(body, dict):
        parts.append(f"JSON body of {len(body)} fields")
    elif body:
        parts.append(f"body of {len(str(body))} characters")
    others = sorted(key for key in document if key not in ("statusCode", "headers", "body"))
    if others:
        parts.append(f"fields {', '.join(others)}")
    return ", ".join(parts) or "empty"


def _show_payload(out: Printer, observed: Observed, *, full: bool) -> None:
    shown = observed.shown
    if isinstance(shown, dict):
        document = {k: v for k, v in shown.items() if k not in ("error", "hint")}
        with contextlib.suppress(ValueError, TypeError):
            document["body"] = json.loads(document.get("body") or "")
        if full:
            for text in json.dumps(document, indent=2, sort_keys=True).splitlines():
                out.line(f"   {text}")
        else:
            out.line(f"   response: {_summary(document)} (--show-responses prints it)")
        for key in ("error", "hint"):
            if shown.get(key):
                out.line(f"   {key}: {shown[key]}")
    else:
        out.line(f"   {shown}")


def _run_case(out: Printer, env: TwoAccounts, case: Case, label: str, *, full: bool = False) -> bool:
    observed = case.run(env)
    matched = case.matches(observed)
    verdict = out.paint(_GREEN, "as expected") if matched else out.paint(_RED, "NOT as expected")
    out.line(f"{label} {case.title}")
    if case.client_label is not None:
        _show_payload(out, observed, full=full)
        succeeded = observed.status is not None and 200 <= observed.status < 300
        mark = out.paint(_GREEN, "SUCCESS") if succeeded else out.paint(_RED, "FAILED")
        out.line(f"   {mark} {case.client_label}")
    out.line(f"   expected: {case.expected.label}")
    out.line(f"   got:      {observed.summary}")
    if case.hint and isinstance(observed.shown, dict) and observed.shown.get("hint"):
        out.line(f"   hint:     {observed.shown['hint']}")
    out.line(f"   -> {verdict}")
    return matched


def listening(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def _describe(out: Printer, env: TwoAccounts, settings: Settings, *, mtls: bool, domain: bool) -> None:
    names = env.names
    out.line(f"   provider {names.provider}: stack private-api-backend, API {names.api_id}, table {names.table_name}")
    out.line(f"     access role {names.access_role_arn}")
    for site, vpce in names.endpoints.items():
        account = env.sites[site].account
        out.line(f"   consumer site {site} ({account}, {names.vpcs[site]}): execute-api endpoint {vpce}")
    params = settings.provider_params(names)
    for name, value in params.items():
        out.line(f"   {name}={value}")
    out.line(f"   pEnablePrivateDNS={settings.consumer_params()['pEnablePrivateDNS']}")
    if mtls:
        for line in certificate.describe():
            out.line(line)
    if domain:
        for line in domain_rows.describe():
            out.line(line)


def _checks_heading(checks: Sequence[Case]) -> str:
    """Step 4's heading, named by what these options make AWS do with the requests."""
    allowed = sum(1 for case in checks if 200 <= case.expected.status < 300)
    if not allowed:
        return "Requests AWS must refuse"
    refused = len(checks) - allowed
    return f"Requests checked against AWS's rules: {refused} must be refused, {allowed} allowed with these options"


def _run_domain(
    out: Printer, settings: Settings, args: argparse.Namespace, step: int, ports: dict[str, int]
) -> list[bool]:
    """The private custom domain's step, on a deployment of its own (stopped before returning; its ports in `ports`)."""
    # Other ids than step 1's: moto keeps every deployment of this process in one state, and names must not clash.
    env = TwoAccounts(seed=None if args.seed is None else args.seed + 1)
    try:
        env.start(settings.provider_params(env.names), settings.consumer_params(), domain=True)
        started = {f"domain:{name}": port for name, port in env.listening_ports.items()}
        ports.update(started)
        out.line("   its own deployment: " + ", ".join(f"{name} 127.0.0.1:{port}" for name, port in started.items()))
        env.warm_client_configs(domain_rows.warm_configs())
        cases = domain_rows.build_domain_cases(env.names)
        return [
            _run_case(out, env, case, f"{step}.{number}", full=args.show_responses)
            for number, case in enumerate(cases, start=1)
        ]
    finally:
        env.stop()


def _run_requests(
    out: Printer, env: TwoAccounts, settings: Settings, args: argparse.Namespace, ports: dict[str, int]
) -> tuple[list[bool], int]:
    """Steps 3 on: the clients, the checks (IAM, the certificate path, the private custom domain), the access log;
    the outcomes and the last step's number."""
    cases = build_cases(settings, env.names)
    # The certificate path's rows, its client first, come after the IAM path's: the first screen stays the IAM path.
    certificate_cases = (
        [certificate.certificate_client_case(), *certificate.build_certificate_cases()] if args.mtls else []
    )
    # The refusals' clients are separate function configurations: start their sandboxes together.
    refusals = [(*case.client, None) for case in cases if case.client is not None and case.client_label is None]
    env.warm_client_configs([*refusals, *(certificate.warm_configs(env) if args.mtls else [])])
    out.step(3, "Invoke the real client handlers (each in its own Lambda sandbox)")
    results: list[bool] = []
    clients = [case for case in cases if case.client_label is not None]
    for number, case in enumerate(clients, start=1):
        results.append(_run_case(out, env, case, f"3.{number}", full=args.show_responses))
        if args.show_function_logs and case.client is not None:
            for line in env.function_logs(case.client[0], MAIN):
                out.line(f"   log: {line}")
    checks = [case for case in cases if case.client_label is None]
    step = 4
    out.step(step, _checks_heading(checks))
    results += [_run_case(out, env, case, f"{step}.{number}") for number, case in enumerate(checks, start=1)]
    if certificate_cases:
        step += 1
        out.step(step, certificate.HEADING)
        for number, case in enumerate(certificate_cases, start=1):
            results.append(_run_case(out, env, case, f"{step}.{number}", full=args.show_responses))
            if args.show_function_logs and case.client is not None:
                for line in env.function_logs(case.client[0], MAIN):
                    out.line(f"   log: {line}")
    if args.domain:
        step += 1
        out.step(step, domain_rows.HEADING)
        results += _run_domain(out, settings, args, step, ports)
    log = env.access_log
    lines = log.lines if log is not None else []
    step += 1
    out.step(step, f"Access log: {len(lines)} lines in the template's own format")
    if args.show_access_log:
        for line in lines:
            out.line(f"   {line}")
    else:
        out.line("   (--show-access-log prints them)")
    return results, step


def run(args: argparse.Namespace, out: Printer) -> int:
    """The demo itself; returns the exit status."""
    started = time.monotonic()
    settings = Settings(
        allowed_endpoints=args.allowed_endpoints,
        access_list=args.access_list,
        trusted=args.trusted_principals,
        private_dns=args.private_dns,
        associate_endpoints=args.associate_endpoints,
    )
    env = TwoAccounts(seed=args.seed)
    out.line(out.paint(_BOLD, "Private API across accounts, offline: every server on 127.0.0.1, no AWS account"))
    out.step(1, "Render the real templates with realistic ids (provider first, then the consumer stacks)")
    _describe(out, env, settings, mtls=args.mtls, domain=args.domain)
    results: list[bool] = []
    ports: dict[str, int] = {}
    step = 5
    try:
        heading = "Start emulated AWS: moto (IAM, STS, DynamoDB), STS front, one gateway listener per endpoint"
        out.step(2, heading + (", the mTLS load balancer" if args.mtls else ""))
        env.start(settings.provider_params(env.names), settings.consumer_params(), mtls=args.mtls)
        ports = env.listening_ports
        for name, port in ports.items():
            out.line(f"   {name:<24} 127.0.0.1:{port}")
        results, step = _run_requests(out, env, settings, args, ports)
    finally:
        env.stop()
    still = [f"{name} 127.0.0.1:{port}" for name, port in ports.items() if listening(port)]
    out.step(step + 1, "Stop everything")
    out.line(f"   still listening: {', '.join(still)}" if still else "   all servers stopped, nothing listens")
    matched = sum(results)
    elapsed = time.monotonic() - started
    all_ok = matched == len(results) and not still and bool(results)
    summary = f"{matched}/{len(results)} outcomes as expected in {elapsed:.1f} s"
    out.line()
    out.line(out.paint(_GREEN, summary) if all_ok else out.paint(_RED, summary))
    out.line()
    for text in textwrap.wrap(NOT_PROVEN, width=116):
        out.line(text)
    return 0 if all_ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m emulation.demo`."""
    args = build_parser().parse_args(argv)
    out = Printer(sys.stdout, color=use_color(sys.stdout))
    return run(args, out)
