"""Command line of diagnose.sh: arguments, one boto3 session per profile, collect, check, report, exit code."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TextIO

import boto3
from botocore.exceptions import ProfileNotFound

from client.names import ClientKind
from diagnose import certificate, demo, private_domain
from diagnose.checks import diagnose
from diagnose.consumer import collect_consumer
from diagnose.facts import CertificatePath, Collected, Consumer, DomainPath, Provider
from diagnose.provider import collect_provider
from diagnose.report import to_json, to_text
from diagnose.results import EXIT_USAGE

__all__ = ["UsageError", "gather", "main", "parse_args"]

DEFAULT_PREFIX = "private-api"
_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
_DESCRIPTION = """\
Explain why a client of the private API would get a 403. Reads the live configuration of stack <prefix>-client
(consumer profile) and, when given, stack <prefix>-backend (provider profile), then checks for each client function
(direct, assume-role, and certificate when deployed with --mtls) every step of the request path in AWS's order, with
the project's own policy engine.
"""
_EPILOG = """\
Checks that need the other account show '?'. Exit status: 0 every client would be allowed, 1 a check fails,
2 usage error, 3 nothing failed but some checks could not run (e.g. no provider profile, no connection, expired
credentials, no permission to read). A check that could not read its input is '?', never a failure.
./diagnose.sh --demo [CAUSE] lists, or runs diagnose offline against, one broken deployment per known cause (needs
the dev packages: make diagnose-demo).
"""


class UsageError(Exception):
    """A bad command line; main prints it with the usage and exits 2."""


class _Parser(argparse.ArgumentParser):
    """argparse, with errors raised (main prints them) and "Usage:" spelled as the other scripts spell it."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def format_usage(self) -> str:
        return "Usage: " + super().format_usage().removeprefix("usage: ")

    def format_help(self) -> str:
        return "Usage: " + super().format_help().removeprefix("usage: ")


def _parser() -> _Parser:
    parser = _Parser(
        prog="diagnose.sh",
        usage="%(prog)s [options] <consumer-profile> [provider-profile]",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("consumer_profile", metavar="consumer-profile", help="AWS CLI profile of the consumer account")
    parser.add_argument(
        "provider_profile", metavar="provider-profile", nargs="?", help="AWS CLI profile of the provider account"
    )
    parser.add_argument("--region", help="region of both stacks (default: the profiles' region, which must match)")
    parser.add_argument(
        "--stack-prefix", default=DEFAULT_PREFIX, metavar="NAME", help=f"stack name prefix (default: {DEFAULT_PREFIX})"
    )
    parser.add_argument(
        "--since", type=int, default=60, metavar="MINUTES", help="access-log window in minutes (default: 60)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the checklist")
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Parse and validate the command line; raise UsageError on anything wrong."""
    args = _parser().parse_args(list(argv))
    if not _PREFIX.match(args.stack_prefix) or args.stack_prefix.endswith("-"):
        raise UsageError(
            f"invalid --stack-prefix '{args.stack_prefix}': 1-20 characters, lowercase letters, digits and hyphens, "
            "starting with a letter"
        )
    if args.region is not None and not _REGION.match(args.region):
        raise UsageError(f"invalid --region '{args.region}'")
    if not 1 <= args.since <= 10080:
        raise UsageError("--since must be between 1 and 10080 minutes")
    return args


def _session(profile: str) -> Any:
    try:
        return boto3.Session(profile_name=profile)
    except ProfileNotFound:
        raise UsageError(f"profile '{profile}' not found in the AWS config") from None


def _region(args: argparse.Namespace, sessions: Sequence[Any]) -> str:
    if args.region:
        return str(args.region)
    regions: set[str] = {s.region_name for s in sessions if s.region_name}
    if len(regions) > 1:
        raise UsageError(f"the profiles use different regions ({', '.join(sorted(regions))}): pass --region")
    if not regions:
        raise UsageError("no region: pass --region or set one in the profile")
    return regions.pop()


def gather(
    consumer: Any,
    provider: Any | None,
    *,
    consumer_profile: str,
    provider_profile: str | None,
    region: str,
    prefix: str = DEFAULT_PREFIX,
    since_minutes: int = 60,
) -> Collected:
    """Collect both sides: the consumer first, because the provider read needs the role its clients assume."""
    now = datetime.now(UTC)
    consumer_stack, provider_stack = f"{prefix}-client", f"{prefix}-backend"
    consumer_side = collect_consumer(consumer, profile=consumer_profile, region=region, stack_name=consumer_stack)
    provider_side = None
    if provider is not None and provider_profile is not None:
        # The signing clients' settings: the certificate client's API_PREFIX carries /mtls after the stage.
        envs = [f.environment for k, f in consumer_side.functions.items() if k is not ClientKind.CERTIFICATE]
        prefix_env = next((e.get("API_PREFIX", "") for e in envs if e.get("API_PREFIX")), "")
        if private_domain.configured(consumer_side.stack):
            prefix_env = ""  # through a domain API_PREFIX is the base path, not the stage
        provider_side = collect_provider(
            provider,
            profile=provider_profile,
            region=region,
            stack_name=provider_stack,
            stage_hint=prefix_env.strip("/") or None,
            role_arns=[e["ROLE_TO_ASSUME"] for e in envs if e.get("ROLE_TO_ASSUME")],
            since_minutes=since_minutes,
            now=now,
        )
    return Collected(
        region=region,
        consumer_stack=consumer_stack,
        provider_stack=provider_stack,
        since_minutes=since_minutes,
        at=now,
        consumer=consumer_side,
        provider=provider_side,
        certificate=_certificate_path(
            consumer, provider, consumer_side, provider_side, region=region, since_minutes=since_minutes, now=now
        ),
        domain=_domain_path(consumer, provider, consumer_side, provider_side, region=region),
    )


def _domain_path(
    consumer: Any, provider: Any | None, consumer_side: Consumer, provider_side: Provider | None, *, region: str
) -> DomainPath | None:
    """The private custom domain path's facts, read only when the consumer stack calls a domain (else None)."""
    stack = consumer_side.stack
    if consumer_side.account is None or stack is None or not private_domain.configured(stack):
        return None
    provider_stack = provider_side.stack if provider_side else None
    provider_clients = None
    if provider is not None and provider_stack is not None:
        provider_clients = lambda name: provider.client(name, region_name=region)  # noqa: E731 - one use
    return private_domain.read_domain_path(
        lambda name: consumer.client(name, region_name=region),
        provider_clients,
        consumer_stack=stack,
        provider_outputs=provider_stack.outputs if provider_stack else None,
        consumer_account=consumer_side.account,
        consumer_org_id=consumer_side.org_id,
        region=region,
        consumer_profile=consumer_side.profile,
        provider_profile=provider_side.profile if provider_side else "",
    )


def _certificate_path(
    consumer: Any,
    provider: Any | None,
    consumer_side: Consumer,
    provider_side: Provider | None,
    *,
    region: str,
    since_minutes: int,
    now: datetime,
) -> CertificatePath | None:
    """The certificate path's facts, read only when the consumer stack has the certificate client (else None)."""
    stack = consumer_side.stack
    if stack is None or consumer_side.account is None or not stack.outputs.get(certificate.CLIENT_OUTPUT):
        return None
    function = consumer_side.functions.get(ClientKind.CERTIFICATE)
    env = function.environment if function else {}
    provider_stack = provider_side.stack if provider_side else None
    provider_clients = None
    if provider is not None and provider_stack is not None:
        provider_clients = lambda name: provider.client(name, region_name=region)  # noqa: E731 - one use
    return certificate.read_certificate_path(
        lambda name: consumer.client(name, region_name=region),
        provider_clients,
        consumer_outputs=stack.outputs,
        provider_outputs=provider_stack.outputs if provider_stack else None,
        consumer_account=consumer_side.account,
        region=region,
        provider_profile=provider_side.profile if provider_side else "",
        consumer_profile=consumer_side.profile,
        secret_arn=env.get(certificate.SECRET_ENV) or stack.parameters.get(certificate.SECRET_PARAMETER, ""),
        # Lambda's default group when the function has no LoggingConfig (the template gives it its own group).
        client_log_group=(function.log_group or f"/aws/lambda/{function.name}") if function else "",
        since=now - timedelta(minutes=since_minutes),
        since_minutes=since_minutes,
        client_modified=function.last_modified if function else None,
    )


def _supports_unicode(stream: TextIO) -> bool:
    encoding = getattr(stream, "encoding", None)
    if encoding is None:  # an in-memory text stream: any character goes
        return True
    try:
        "✓✗".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    """Run diagnose.sh; return its exit status."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["--demo"]:
        return demo.main(arguments[1:], stdout=out, stderr=err, unicode=_supports_unicode(out))
    parser = _parser()
    try:
        args = parse_args(arguments)
        consumer = _session(args.consumer_profile)
        provider = _session(args.provider_profile) if args.provider_profile else None
        region = _region(args, [s for s in (consumer, provider) if s is not None])
    except UsageError as error:
        err.write(f"ERROR: {error}\n")
        parser.print_usage(err)
        return EXIT_USAGE
    except SystemExit as done:  # --help
        return int(done.code or 0)
    collected = gather(
        consumer,
        provider,
        consumer_profile=args.consumer_profile,
        provider_profile=args.provider_profile,
        region=region,
        prefix=args.stack_prefix,
        since_minutes=args.since,
    )
    diagnosis = diagnose(collected)
    out.write(to_json(diagnosis) if args.json else to_text(diagnosis, unicode=_supports_unicode(out)))
    return diagnosis.exit_code
