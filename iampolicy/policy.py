"""IAM policy statement matching: Principal, Action, Resource and Condition, for the cases this project uses."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any

Policy = Mapping[str, Any]
ConditionContext = Mapping[str, str | bool | int | Sequence[str] | None]

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROOT_ARN = re.compile(r"^arn:[\w-]+:iam::(\d{12}):root$")


class UnsupportedPolicyError(ValueError):
    """A policy uses an element or operator this evaluator does not implement (never guess a result)."""


@dataclass(frozen=True)
class Principal:
    """The authenticated caller (or the anonymous one) as IAM sees it."""

    arn: str
    account: str | None = None
    user_id: str | None = None
    role_arn: str | None = None
    org_id: str | None = None
    access_key: str | None = None

    @property
    def is_anonymous(self) -> bool:
        """True for an unsigned caller."""
        return self.account is None

    @property
    def is_assumed_role(self) -> bool:
        """True for an assumed-role session."""
        return ":assumed-role/" in self.arn

    @property
    def principal_arn(self) -> str:
        """The value of aws:PrincipalArn: the role ARN for a session, the caller's ARN otherwise."""
        return self.role_arn if self.is_assumed_role and self.role_arn else self.arn

    @property
    def principal_type(self) -> str:
        """The value of aws:PrincipalType."""
        if self.is_anonymous:
            return "Anonymous"
        if self.is_assumed_role:
            return "AssumedRole"
        if _ROOT_ARN.match(self.arn):
            return "Account"
        return "User"


ANONYMOUS = Principal(arn="anonymous")


class PrincipalMatch(Enum):
    """How a statement's Principal element matched the caller."""

    WILDCARD = "wildcard"  # "*": grants on its own, anonymous included
    DIRECT = "direct"  # the caller's user, role or session ARN: grants on its own within one account
    ACCOUNT = "account"  # the caller's account: delegates, the account's identity policies must also allow


@dataclass(frozen=True)
class StatementMatch:
    """One statement that applied to the request."""

    sid: str
    effect: str
    principal_match: PrincipalMatch | None


@dataclass(frozen=True)
class PolicyResult:
    """What one set of policies says about one request."""

    allows: tuple[StatementMatch, ...] = ()
    denies: tuple[StatementMatch, ...] = ()

    @property
    def explicit_deny(self) -> bool:
        """True when a Deny statement applied."""
        return bool(self.denies)

    @property
    def allowed(self) -> bool:
        """True when an Allow statement applied (a Deny may still win)."""
        return bool(self.allows)

    @property
    def grants_caller_directly(self) -> bool:
        """True when an Allow names the caller itself or everyone, not only the caller's account."""
        return any(m.principal_match in (PrincipalMatch.WILDCARD, PrincipalMatch.DIRECT) for m in self.allows)

    @property
    def allow_sids(self) -> tuple[str, ...]:
        """Ids of the Allow statements that applied."""
        return tuple(m.sid for m in self.allows)

    @property
    def deny_sids(self) -> tuple[str, ...]:
        """Ids of the Deny statements that applied."""
        return tuple(m.sid for m in self.denies)


@dataclass(frozen=True)
class Request:
    """The request a policy is evaluated against."""

    action: str
    resource: str
    principal: Principal = ANONYMOUS
    context: ConditionContext = field(default_factory=dict)


def as_list(value: Any) -> list[Any]:
    """Policy elements may be a scalar or a list; make them a list."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def statements(policy: Policy | None) -> list[Mapping[str, Any]]:
    """The statements of a policy document (Statement may be one object or a list)."""
    if not policy:
        return []
    return [s for s in as_list(policy.get("Statement")) if isinstance(s, Mapping)]


def condition_values(policy: Policy | None, sids: Sequence[str], key: str) -> list[str]:
    """Every value the statements named by `sids` (a Sid, or #index for one without) test `key` against, in order."""
    values: list[str] = []
    for index, statement in enumerate(statements(policy)):
        if str(statement.get("Sid") or f"#{index}") not in sids:
            continue
        for operands in (statement.get("Condition") or {}).values():
            for name, wanted in (operands or {}).items():
                if name.lower() == key.lower():
                    values.extend(str(v) for v in as_list(wanted))
    return values


@lru_cache(maxsize=4096)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.DOTALL if case_sensitive else re.DOTALL | re.IGNORECASE)


def glob_match(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """IAM wildcard match: `*` any run of characters, `?` exactly one."""
    return _glob(pattern, case_sensitive).fullmatch(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """ArnLike/ArnEquals and Resource matching: each of the six ARN parts is matched on its own."""
    if pattern == "*":
        return True
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        return glob_match(pattern, value)
    return all(glob_match(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def action_match(pattern: str, action: str) -> bool:
    """Actions are case-insensitive and may use wildcards."""
    return glob_match(pattern, action, case_sensitive=False)


def _account_of(entry: str) -> str | None:
    if _ACCOUNT_ID.match(entry):
        return entry
    root = _ROOT_ARN.match(entry)
    return root.group(1) if root else None


def _match_aws_entry(entry: str, principal: Principal) -> PrincipalMatch | None:
    if entry == "*":
        return PrincipalMatch.WILDCARD
    if principal.is_anonymous:
        return None
    account = _account_of(entry)
    if account is not None:
        return PrincipalMatch.ACCOUNT if account == principal.account else None
    # A role ARN covers every session of that role; a session or user ARN covers only itself.
    if entry == principal.arn or (principal.is_assumed_role and entry == principal.role_arn):
        return PrincipalMatch.DIRECT
    return None


def _aws_entries(block: Any) -> list[str] | None:
    if block == "*":
        return ["*"]
    if not isinstance(block, Mapping):
        raise UnsupportedPolicyError(f"Principal must be '*' or an object, got {block!r}")
    # Service, Federated and CanonicalUser principals never match an IAM role or user caller.
    return [str(e) for e in as_list(block.get("AWS"))]


def match_principal(block: Any, principal: Principal) -> PrincipalMatch | None:
    """How a Principal element matches the caller (None: it does not)."""
    entries = _aws_entries(block)
    best: PrincipalMatch | None = None
    for entry in entries or []:
        found = _match_aws_entry(entry, principal)
        if found in (PrincipalMatch.WILDCARD, PrincipalMatch.DIRECT):
            return found
        best = best or found
    return best


def match_not_principal(block: Any, principal: Principal) -> PrincipalMatch | None:
    """NotPrincipal: applies unless the caller is excluded.

    AWS documents that excluding an assumed-role session needs the session ARN and the account both listed
    (the role ARN alone does not exclude its sessions), so the caller is excluded only when its own ARN and
    its account are both in the list, or the list is "*".
    """
    entries = _aws_entries(block) or []
    if "*" in entries:
        return None
    if principal.is_anonymous:
        return PrincipalMatch.WILDCARD
    own_listed = principal.arn in entries
    account_listed = any(_account_of(e) == principal.account for e in entries)
    return None if own_listed and account_listed else PrincipalMatch.WILDCARD


# ---------------------------------------------------------------------------------------------- conditions


def _context_values(context: Mapping[str, list[str]], key: str) -> list[str] | None:
    return context.get(key.lower())


def normalize_context(context: ConditionContext) -> dict[str, list[str]]:
    """Condition keys are case-insensitive; every value becomes a list of strings (bools as 'true'/'false')."""
    normalized: dict[str, list[str]] = {}
    for key, value in context.items():
        if value is None:
            continue
        values = value if isinstance(value, list | tuple) else [value]
        normalized[key.lower()] = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    return normalized


def _ip_in(value: str, cidr: str) -> bool:
    try:
        return ipaddress.ip_address(value) in ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False


def _number(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], bool]:
    def matcher(value: str, wanted: str) -> bool:
        left, right = _number(value), _number(wanted)
        return left is not None and right is not None and compare(left, right)

    return matcher


# Positive base operators; each negated operator is the negation of one of these.
_MATCHERS: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda v, w: v == w,
    "stringequalsignorecase": lambda v, w: v.lower() == w.lower(),
    "stringlike": glob_match,  # argument order (value, pattern) is swapped below
    "arnequals": arn_match,
    "arnlike": arn_match,
    "bool": lambda v, w: v.lower() == w.lower(),
    "ipaddress": _ip_in,
    "numericequals": _numeric(lambda a, b: a == b),
    "numericlessthan": _numeric(lambda a, b: a < b),
    "numericlessthanequals": _numeric(lambda a, b: a <= b),
    "numericgreaterthan": _numeric(lambda a, b: a > b),
    "numericgreaterthanequals": _numeric(lambda a, b: a >= b),
}
_PATTERN_FIRST = {"stringlike", "arnequals", "arnlike"}
_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
    "notipaddress": "ipaddress",
    "numericnotequals": "numericequals",
}


def _matches_any(base: str, value: str, wanted: Sequence[str]) -> bool:
    matcher = _MATCHERS[base]
    if base in _PATTERN_FIRST:
        return any(matcher(w, value) for w in wanted)
    return any(matcher(value, w) for w in wanted)


def _single(base: str, negated: bool, value: str, wanted: Sequence[str]) -> bool:
    hit = _matches_any(base, value, wanted)
    return not hit if negated else hit


def evaluate_operator(operator: str, key: str, wanted: Any, context: Mapping[str, list[str]]) -> bool:
    """One operator/key pair of a Condition block, following AWS's rules for missing and multi-valued keys."""
    name = operator.lower()
    set_op = None
    for prefix in ("foranyvalue:", "forallvalues:"):
        if name.startswith(prefix):
            set_op, name = prefix[:-1], name[len(prefix) :]
    if_exists = name.endswith("ifexists")
    if if_exists:
        name = name[: -len("ifexists")]
    wanted_values = [str(w).lower() if isinstance(w, bool) else str(w) for w in as_list(wanted)]
    values = _context_values(context, key)

    if name == "null":
        absent = not values
        return any((w.lower() == "true") == absent for w in wanted_values)
    negated = name in _NEGATED
    base = _NEGATED.get(name, name)
    if base not in _MATCHERS:
        raise UnsupportedPolicyError(f"condition operator {operator!r} is not supported")

    if set_op == "forallvalues":
        # True for an absent or empty key: "every one of no values" matches.
        return all(_single(base, negated, v, wanted_values) for v in values or [])
    if not values:
        # Missing key: IfExists makes the test pass; otherwise only negated operators are true.
        if if_exists:
            return True
        return negated and set_op is None
    if set_op == "foranyvalue":
        return any(_single(base, negated, v, wanted_values) for v in values)
    # A single-valued operator on a multi-valued key: positive if any value matches, negated if none does.
    hit = any(_matches_any(base, v, wanted_values) for v in values)
    return not hit if negated else hit


def evaluate_condition(block: Any, context: Mapping[str, list[str]]) -> bool:
    """All operators and all keys of a Condition block must hold (AND); values within a key are OR."""
    if not block:
        return True
    if not isinstance(block, Mapping):
        raise UnsupportedPolicyError(f"Condition must be an object, got {block!r}")
    for operator, keys in block.items():
        if not isinstance(keys, Mapping):
            raise UnsupportedPolicyError(f"Condition operator {operator!r} must map keys to values")
        for key, wanted in keys.items():
            if not evaluate_operator(operator, key, wanted, context):
                return False
    return True


# ---------------------------------------------------------------------------------------------- statements


def _sid(statement: Mapping[str, Any], index: int) -> str:
    return str(statement.get("Sid") or f"#{index}")


def _listed_match(items: Iterable[Any], value: str, matcher: Callable[[str, str], bool]) -> bool:
    return any(matcher(str(item), value) for item in items)


def _action_applies(statement: Mapping[str, Any], action: str) -> bool:
    if "Action" in statement:
        return _listed_match(as_list(statement["Action"]), action, action_match)
    if "NotAction" in statement:
        return not _listed_match(as_list(statement["NotAction"]), action, action_match)
    raise UnsupportedPolicyError("a statement needs Action or NotAction")


def _resource_applies(statement: Mapping[str, Any], resource: str) -> bool:
    if "Resource" in statement:
        return _listed_match(as_list(statement["Resource"]), resource, arn_match)
    if "NotResource" in statement:
        return not _listed_match(as_list(statement["NotResource"]), resource, arn_match)
    # Trust policies carry no Resource: the role itself is the resource.
    return True


def _principal_applies(statement: Mapping[str, Any], principal: Principal) -> PrincipalMatch | None:
    if "Principal" in statement:
        return match_principal(statement["Principal"], principal)
    if "NotPrincipal" in statement:
        return match_not_principal(statement["NotPrincipal"], principal)
    raise UnsupportedPolicyError("a resource-based statement needs Principal or NotPrincipal")


def evaluate_policies(
    policies: Iterable[Policy | None],
    request: Request,
    *,
    resource_based: bool,
) -> PolicyResult:
    """Evaluate policies of one kind: resource-based ones check Principal, identity-based ones do not."""
    context = normalize_context(request.context)
    allows: list[StatementMatch] = []
    denies: list[StatementMatch] = []
    for policy in policies:
        for index, statement in enumerate(statements(policy)):
            effect = str(statement.get("Effect", ""))
            if effect not in ("Allow", "Deny"):
                raise UnsupportedPolicyError(f"Effect must be Allow or Deny, got {effect!r}")
            principal_match = _principal_applies(statement, request.principal) if resource_based else None
            if resource_based and principal_match is None:
                continue
            if not _action_applies(statement, request.action) or not _resource_applies(statement, request.resource):
                continue
            if not evaluate_condition(statement.get("Condition"), context):
                continue
            match = StatementMatch(sid=_sid(statement, index), effect=effect, principal_match=principal_match)
            (allows if effect == "Allow" else denies).append(match)
    return PolicyResult(allows=tuple(allows), denies=tuple(denies))


def principal_context(principal: Principal) -> dict[str, str]:
    """The global condition keys AWS derives from the caller."""
    if principal.is_anonymous:
        return {"aws:PrincipalType": "Anonymous"}
    keys = {
        "aws:PrincipalArn": principal.principal_arn,
        "aws:PrincipalAccount": principal.account or "",
        "aws:PrincipalType": principal.principal_type,
    }
    if principal.user_id:
        keys["aws:userid"] = principal.user_id
    if principal.org_id:
        keys["aws:PrincipalOrgID"] = principal.org_id
    if principal.principal_type == "User":
        keys["aws:username"] = principal.arn.rsplit("/", 1)[-1]
    return keys
