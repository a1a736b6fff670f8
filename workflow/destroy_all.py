"""destroy-all.sh: delete the consumer stack, then the provider stack, waiting for each; optionally empty and delete
the artifact buckets. Copes with VPC Lambda network interfaces that Lambda releases slowly (one retry).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from workflow import private_domain, stacks
from workflow.aws import caller_account, client, error_text, require_profiles, resolve_region
from workflow.buckets import artifact_bucket_name, empty_and_delete_bucket
from workflow.options import (
    DEFAULT_STACK_PREFIX,
    backend_stack_name,
    client_stack_name,
    parse,
    validate_region,
    validate_stack_prefix,
)
from workflow.output import Fatal, Output, Steps, UsageError, format_duration, run

__all__ = ["Settings", "Timing", "main", "parse_settings", "usage"]

TOTAL_STEPS = 4
DELETE_ATTEMPTS = 2
PROGRESS_EVERY_POLLS = 8
# Overridable for impatient people and for the tests; the defaults allow for slow ENI release.
TIMING_DEFAULTS = {
    "DESTROY_POLL_SECONDS": "15",
    "DESTROY_TIMEOUT_SECONDS": "3600",
    "DESTROY_RETRY_DELAY_SECONDS": "120",
}


@dataclass(frozen=True)
class Timing:
    """How often to poll, how long to wait per attempt, and how long to pause before the retry (seconds)."""

    poll: int
    timeout: int
    retry_delay: int


def timing_settings(env: Mapping[str, str]) -> dict[str, str]:
    """The DESTROY_* settings as given (unset or empty: the default)."""
    return {name: env.get(name) or default for name, default in TIMING_DEFAULTS.items()}


def read_timing(env: Mapping[str, str]) -> Timing:
    """The DESTROY_* settings; a value that is not a whole number of seconds is a usage error."""
    values = timing_settings(env)
    for name, value in values.items():
        if not value.isdigit():
            raise UsageError(f"{name} must be a whole number of seconds, got '{value}'")
    return Timing(
        poll=int(values["DESTROY_POLL_SECONDS"]),
        timeout=int(values["DESTROY_TIMEOUT_SECONDS"]),
        retry_delay=int(values["DESTROY_RETRY_DELAY_SECONDS"]),
    )


def usage() -> str:
    """The help text, showing the settings in effect."""
    poll, timeout, delay = timing_settings(os.environ).values()
    return f"""\
Usage: destroy-all.sh [options] <consumer-profile> <provider-profile>

Delete stack <prefix>-client (consumer account), then <prefix>-backend (provider account).
A private custom domain name (deploy-all.sh --domain) goes with the provider stack: the consumer's access
association goes first with its stack, and other accounts' associations with the domain are rejected just before.

Options:
  --region REGION       region of both stacks (default: the profiles' region, which must match)
  --stack-prefix NAME   stack and bucket name prefix (default: {DEFAULT_STACK_PREFIX})
  --delete-buckets      also empty (all versions) and delete the artifact buckets
  -y, --yes             do not ask for confirmation (required when stdin is not a terminal)
  -h, --help            show this help

Environment:
  DESTROY_POLL_SECONDS ({poll}), DESTROY_TIMEOUT_SECONDS ({timeout}) per attempt,
  DESTROY_RETRY_DELAY_SECONDS ({delay}) before the retry after DELETE_FAILED.
"""


@dataclass(frozen=True)
class Settings:
    """A valid command line plus the DESTROY_* settings."""

    consumer: str
    provider: str
    region_flag: str
    prefix: str
    delete_buckets: bool
    assume_yes: bool
    timing: Timing


def parse_settings(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Settings:
    """The command line, validated in the script's order; any problem is a UsageError."""
    parsed = parse(
        argv,
        values=("--region", "--stack-prefix"),
        flags=("--delete-buckets", "--yes"),
        aliases={"-y": "--yes"},
    )
    if len(parsed.positional) != 2:
        raise UsageError("expected two arguments: <consumer-profile> <provider-profile>")
    prefix = validate_stack_prefix(parsed.value("--stack-prefix", DEFAULT_STACK_PREFIX))
    timing = read_timing(os.environ if env is None else env)
    region_flag = parsed.value("--region")
    if region_flag:
        validate_region(region_flag)
    consumer, provider = parsed.positional
    return Settings(
        consumer,
        provider,
        region_flag,
        prefix,
        delete_buckets="--delete-buckets" in parsed.flags,
        assume_yes="--yes" in parsed.flags,
        timing=timing,
    )


def confirm_destruction(out: Output, assume_yes: bool, ask: Callable[[str], str] = input) -> None:
    """Ask before deleting, unless --yes; refuse to guess when nobody can answer."""
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("not deleting without confirmation: stdin is not a terminal, pass --yes")
    out.flush()
    # As `read -p` did: the prompt on stderr, so stdout stays the run's record.
    sys.stderr.write("Delete the stacks above? Type 'yes' to continue: ")
    sys.stderr.flush()
    try:
        answer = ask("")
    except EOFError:
        answer = ""
    if answer.strip() != "yes":
        raise Fatal("cancelled; nothing was deleted")


@dataclass
class Account:
    """One side of the run: its profile, account, stack and artifact bucket."""

    profile: str
    account: str
    stack: str
    bucket: str


class Destroyer:
    """Deletes stacks in one region, waiting for each and retrying once after DELETE_FAILED."""

    def __init__(
        self,
        out: Output,
        region: str,
        timing: Timing,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.out = out
        self.region = region
        self.timing = timing
        self.sleep = sleep
        self.clock = clock

    def stack_id(self, cfn: Any, stack: str) -> str:
        """The stack's ARN, or "" when it does not exist. Polling by ARN still works once it is deleted."""
        try:
            return str(cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackId"])
        except ClientError as error:
            if stacks.is_missing_stack(error):
                return ""
            raise Fatal(f"cannot describe stack {stack}: {error_text(error)}") from error

    def wait_for_delete(self, cfn: Any, arn: str) -> str:
        """DELETE_COMPLETE, DELETE_FAILED, or "timeout" when the attempt's time ran out."""
        started = self.clock()
        deadline = started + self.timing.timeout
        previous = ""
        polls = 0
        while True:
            status = stacks.stack_status(cfn, arn)
            if status in ("DELETE_COMPLETE", stacks.NO_STACK):
                return "DELETE_COMPLETE"
            if status == "DELETE_FAILED":
                return status
            if status != previous or polls % PROGRESS_EVERY_POLLS == 0:
                self.out.info(f"{status} ({format_duration(self.clock() - started)} elapsed)")
                previous = status
            if self.clock() >= deadline:
                return "timeout"
            polls += 1
            self.sleep(self.timing.poll)

    def delete_and_wait(self, account: Account) -> None:
        """Delete one stack and wait; after DELETE_FAILED explain, wait and try once more."""
        cfn = client(account.profile, self.region, "cloudformation")
        arn = self.stack_id(cfn, account.stack)
        if not arn:
            self.out.info(f"stack {account.stack} does not exist for profile '{account.profile}': nothing to delete")
            return
        limit = format_duration(self.timing.timeout)
        for attempt in range(1, DELETE_ATTEMPTS + 1):
            started = time.time()
            cfn.delete_stack(StackName=arn)
            self.out.info(f"deleting {account.stack} (attempt {attempt}/{DELETE_ATTEMPTS}, waiting up to {limit})")
            result = self.wait_for_delete(cfn, arn)
            if result == "DELETE_COMPLETE":
                self.out.info(f"deleted {account.stack}")
                return
            if result == "timeout":
                raise Fatal(
                    f"stack {account.stack} is still deleting after {limit}; CloudFormation carries on without us: "
                    "check the console, then re-run this script"
                )
            stacks.print_failed_events(self.out, cfn, arn, started - stacks.EVENT_CLOCK_SLACK_SECONDS)
            if attempt < DELETE_ATTEMPTS:
                self.out.warn(
                    f"stack {account.stack} is DELETE_FAILED. Usual cause: Lambda has not yet released the network "
                    "interfaces of a VPC function, which blocks deleting its security group and subnets; Lambda "
                    "releases them on its own, which can take many minutes. Retrying in "
                    f"{self.timing.retry_delay}s."
                )
                self.sleep(self.timing.retry_delay)
        raise Fatal(
            f"stack {account.stack} could not be deleted (reasons above). Wait for leftover network interfaces to go "
            "(aws ec2 describe-network-interfaces --filters Name=interface-type,Values=lambda --profile "
            f"{account.profile} --region {self.region}) and re-run this script"
        )


def reject_foreign_associations(out: Output, region: str, provider: Account) -> None:
    """Before the provider's private domain goes (its stack's PrivateDomainNameArn output): reject the access
    associations other accounts still hold with it. The consumer stack, deleted first, removed its own; only their
    owners can delete the rest, and CloudFormation cannot reject them (AWS's CloudFormation page), so the provider
    rejects them here, as AWS's stop-sharing page does."""
    cfn = client(provider.profile, region, "cloudformation")
    if stacks.stack_status(cfn, provider.stack) == stacks.NO_STACK:
        return
    domain_arn = stacks.optional_output(stacks.stack_outputs(cfn, provider.stack), "PrivateDomainNameArn")
    if not domain_arn:
        return
    apigateway = client(provider.profile, region, "apigateway")
    try:
        foreign = private_domain.foreign_associations(apigateway, domain_arn)
        for arn in foreign:
            apigateway.reject_domain_name_access_association(
                domainNameAccessAssociationArn=arn, domainNameArn=domain_arn
            )
            out.info(f"rejected access association {arn} (another account's, with {domain_arn})")
    except ClientError as error:
        # The stack delete may still succeed; if it fails, its events say why.
        out.warn(f"could not reject the other accounts' associations with {domain_arn}: {error_text(error)}")
        return
    if not foreign:
        out.info(f"no other account holds an access association with {domain_arn}")


def destroy_all(out: Output, settings: Settings) -> int:
    """The four steps."""
    steps = Steps(out, TOTAL_STEPS)
    steps.start("Preflight: tools, credentials, region")
    profiles = [settings.consumer, settings.provider]
    require_profiles(profiles)
    region = resolve_region(settings.region_flag, profiles)
    sides = []
    for profile, stack in (
        (settings.consumer, client_stack_name(settings.prefix)),
        (settings.provider, backend_stack_name(settings.prefix)),
    ):
        account = caller_account(profile, region)
        sides.append(Account(profile, account, stack, artifact_bucket_name(settings.prefix, account, region)))
    consumer, provider = sides
    for side in sides:
        out.info(f"will delete stack {side.stack} (account {side.account}, profile '{side.profile}', {region})")
    # Both profiles in one account share one bucket: name it once.
    shared = provider.bucket == consumer.bucket
    buckets = f"s3://{consumer.bucket}" + ("" if shared else f" and s3://{provider.bucket}")
    if settings.delete_buckets:
        out.info(f"will empty and delete {buckets}")
    confirm_destruction(out, settings.assume_yes)

    destroyer = Destroyer(out, region, settings.timing)
    steps.start(f"Delete consumer stack {consumer.stack}")
    destroyer.delete_and_wait(consumer)
    steps.start(f"Delete provider stack {provider.stack}")
    reject_foreign_associations(out, region, provider)
    destroyer.delete_and_wait(provider)

    steps.start("Artifact buckets")
    if settings.delete_buckets:
        for side in [consumer] if shared else [consumer, provider]:
            s3 = client(side.profile, region, "s3")
            empty_and_delete_bucket(out, s3, side.bucket, account=side.account, profile=side.profile)
    else:
        out.info(f"kept {buckets} (pass --delete-buckets to remove them)")
    out.done()
    return 0


def main(argv: Sequence[str]) -> int:
    """destroy-all.sh's command line; 0 done, 1 failed (the step named), 2 usage error or no confirmation."""
    out = Output()
    return run(out, usage, lambda: destroy_all(out, parse_settings(argv)))
