"""Command lines as the scripts read them: `--opt value` or `--opt=value`, flags, positionals, and the validations
(stack prefix, bucket, region, Powertools layer) with the scripts' messages. Every problem is a UsageError (exit 2).

Deliberately not argparse: the scripts stop at the first problem with their own wording, print their own usage text,
and treat -h/--help as soon as it is seen.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from workflow.output import ShowHelp, UsageError

__all__ = [
    "BACKEND_SIDE",
    "CLIENT_SIDE",
    "DEFAULT_POWERTOOLS_LAYER",
    "DEFAULT_STACK_PREFIX",
    "SIDES",
    "Parsed",
    "backend_stack_name",
    "client_stack_name",
    "parse",
    "validate_bucket_name",
    "validate_powertools_layer",
    "validate_region",
    "validate_stack_prefix",
]

DEFAULT_STACK_PREFIX = "private-api"
BACKEND_SIDE = "api-backend"
CLIENT_SIDE = "api-client"
SIDES = (BACKEND_SIDE, CLIENT_SIDE)
# Powertools: the public layer's SSM parameter (the templates' default); "None" when the zips carry it.
DEFAULT_POWERTOOLS_LAYER = "/aws/service/powertools/python/arm64/python3.14/latest"

# Stack names and bucket names are derived from the prefix, so it must suit both (lowercase, short).
_STACK_PREFIX = re.compile(r"[a-z][a-z0-9-]{0,19}")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]+")
# An SSM parameter name or a Lambda layer version ARN (what pPowertoolsLayerArn accepts besides None).
_POWERTOOLS_LAYER = re.compile(
    r"/[A-Za-z0-9_./-]+|arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+"
)
_HELP = ("-h", "--help")


@dataclass
class Parsed:
    """A command line: option values by canonical name (e.g. "--region"), flags seen, positionals in order."""

    values: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    positional: list[str] = field(default_factory=list)

    def value(self, name: str, default: str = "") -> str:
        """An option's value, or the default when it was not given."""
        return self.values.get(name, default)


def parse(
    argv: Sequence[str],
    *,
    values: Collection[str] = (),
    flags: Collection[str] = (),
    aliases: Mapping[str, str] | None = None,
) -> Parsed:
    """Read argv left to right; -h/--help raises ShowHelp at once, any problem raises UsageError.

    `values` are options taking a value, `flags` options without one; `aliases` maps other spellings (e.g. "-y")
    to a canonical name in either collection.
    """
    names = dict(aliases or {})
    parsed = Parsed()
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg in _HELP:
            raise ShowHelp
        name, equals, inline = arg.partition("=")
        name = names.get(name, name)
        if name in values:
            if equals:
                parsed.values[name] = inline
                continue
            # For `--opt value`: the value must exist and must not be the next option.
            following = argv[index] if index < len(argv) else ""
            if not following or following.startswith("--"):
                raise UsageError(f"option {arg} needs a value")
            parsed.values[name] = following
            index += 1
        elif not equals and name in flags:
            parsed.flags.add(name)
        elif arg.startswith("-"):
            raise UsageError(f"unknown option: {arg}")
        else:
            parsed.positional.append(arg)
    return parsed


def validate_stack_prefix(prefix: str) -> str:
    """The prefix, when it suits stack and bucket names."""
    if not _STACK_PREFIX.fullmatch(prefix) or prefix.endswith("-"):
        raise UsageError(
            f"invalid --stack-prefix '{prefix}': 1-20 characters, lowercase letters, digits and hyphens, "
            "starting with a letter"
        )
    return prefix


def validate_bucket_name(bucket: str) -> str:
    """The bucket name, when S3 would accept it."""
    if not _BUCKET.fullmatch(bucket):
        raise UsageError(f"invalid S3 bucket name '{bucket}'")
    return bucket


def validate_region(region: str) -> str:
    """The region, when it is shaped like one."""
    if not _REGION.fullmatch(region):
        raise UsageError(f"invalid region '{region}' (expected e.g. us-east-1)")
    return region


def validate_powertools_layer(value: str) -> str:
    """An SSM parameter name or a layer version ARN, as --powertools-layer takes."""
    if not _POWERTOOLS_LAYER.fullmatch(value):
        raise UsageError(
            f"invalid --powertools-layer '{value}': an SSM parameter name (/...) or a layer version ARN "
            "(arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION); for no layer use --bundle-powertools"
        )
    return value


def backend_stack_name(prefix: str) -> str:
    """The provider stack's name."""
    return f"{prefix}-backend"


def client_stack_name(prefix: str) -> str:
    """The consumer stack's name."""
    return f"{prefix}-client"
