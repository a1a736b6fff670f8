"""Statement matching: wildcards, principals, Action/Resource and the condition operators this project uses."""

from __future__ import annotations

import pytest

from iampolicy.policy import (
    ANONYMOUS,
    Principal,
    PrincipalMatch,
    Request,
    UnsupportedPolicyError,
    arn_match,
    evaluate_operator,
    evaluate_policies,
    match_not_principal,
    match_principal,
    normalize_context,
)

SESSION = Principal(
    arn="arn:aws:sts::111111111111:assumed-role/client-role/fn",
    account="111111111111",
    user_id="AROAEXAMPLE:fn",
    role_arn="arn:aws:iam::111111111111:role/app/client-role",
)
USER = Principal(arn="arn:aws:iam::111111111111:user/alice", account="111111111111", user_id="AIDAALICE")
API_ARN = "arn:aws:execute-api:us-east-1:222222222222:abc123/Prod/GET/items/1"


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("arn:aws:execute-api:us-east-1:222222222222:abc123/*", API_ARN, True),
        ("arn:aws:execute-api:*:*:abc123/Prod/*/items/*", API_ARN, True),
        ("arn:aws:execute-api:us-east-1:222222222222:abc123/Prod/POST/*", API_ARN, False),
        ("arn:aws:execute-api:us-east-1:2222222222??:abc123/*", API_ARN, True),
        ("arn:aws:execute-api:us-east-1:*", API_ARN, True),  # a trailing * expands beyond the colons
        ("arn:aws:execute-api:eu-*:222222222222:abc123/*", API_ARN, False),
        ("*", API_ARN, True),
    ],
)
def test_arn_match_wildcards_match_per_arn_part(pattern: str, value: str, expected: bool) -> None:
    # GIVEN a Resource/ArnLike pattern WHEN it is matched against an execute-api ARN
    # THEN * and ? match inside the ARN part they stand in (a trailing * may run on, as IAM documents)
    assert arn_match(pattern, value) is expected


@pytest.mark.parametrize(
    ("entry", "principal", "expected"),
    [
        ("*", ANONYMOUS, PrincipalMatch.WILDCARD),
        ("111111111111", SESSION, PrincipalMatch.ACCOUNT),
        ("arn:aws:iam::111111111111:root", SESSION, PrincipalMatch.ACCOUNT),
        ("arn:aws:iam::111111111111:role/app/client-role", SESSION, PrincipalMatch.DIRECT),
        ("arn:aws:sts::111111111111:assumed-role/client-role/fn", SESSION, PrincipalMatch.DIRECT),
        ("arn:aws:sts::111111111111:assumed-role/client-role/other", SESSION, None),
        ("arn:aws:iam::111111111111:role/other-role", SESSION, None),
        ("999999999999", SESSION, None),
        ("111111111111", ANONYMOUS, None),
        ("arn:aws:iam::111111111111:user/alice", USER, PrincipalMatch.DIRECT),
    ],
)
def test_match_principal_aws_entry_matches_as_iam_documents(
    entry: str, principal: Principal, expected: PrincipalMatch | None
) -> None:
    # GIVEN a Principal {"AWS": entry} WHEN the caller is matched
    # THEN accounts delegate, role ARNs cover their sessions, session ARNs only themselves
    assert match_principal({"AWS": [entry]}, principal) is expected


def test_match_principal_service_principal_never_matches_an_iam_caller() -> None:
    # GIVEN a statement for the Lambda service WHEN a role session is matched THEN it does not apply
    assert match_principal({"Service": "lambda.amazonaws.com"}, SESSION) is None


def test_match_not_principal_role_arn_alone_does_not_exclude_its_session() -> None:
    # GIVEN NotPrincipal listing the role ARN and the account, but not the session ARN
    block = {"AWS": [SESSION.role_arn, "arn:aws:iam::111111111111:root"]}
    # WHEN the session is matched THEN the statement still applies to it (AWS's documented pitfall)
    assert match_not_principal(block, SESSION) is PrincipalMatch.WILDCARD


def test_match_not_principal_session_and_account_listed_excludes_the_session() -> None:
    # GIVEN NotPrincipal listing the session ARN and its account
    block = {"AWS": [SESSION.arn, "111111111111"]}
    # WHEN the session is matched THEN the statement does not apply
    assert match_not_principal(block, SESSION) is None


VPCE = "aws:SourceVpce"
ORG = "aws:PrincipalOrgID"
PARN = "aws:PrincipalArn"
ROLE_X = "arn:aws:iam::111111111111:role/app-x"


@pytest.mark.parametrize(
    ("operator", "key", "wanted", "value", "expected"),
    [
        ("StringEquals", VPCE, "vpce-1", "vpce-1", True),
        ("StringEquals", VPCE, ["vpce-2", "vpce-1"], "vpce-1", True),
        ("StringEquals", VPCE, "vpce-1", None, False),
        ("StringNotEquals", VPCE, ["vpce-1", "vpce-2"], "vpce-3", True),
        ("StringNotEquals", VPCE, ["vpce-1", "vpce-2"], "vpce-2", False),
        ("StringNotEquals", VPCE, ["vpce-1"], None, True),  # missing key: negated operators are true
        ("StringLike", VPCE, "vpce-*", "vpce-1", True),
        ("StringNotLike", VPCE, "vpce-?", "vpce-12", True),
        ("StringNotLike", VPCE, "vpce-*", None, True),
        ("StringEqualsIfExists", ORG, "o-1", None, True),
        ("StringEqualsIfExists", ORG, "o-1", "o-2", False),
        ("StringEqualsIgnoreCase", VPCE, "VPCE-1", "vpce-1", True),
        ("ArnLike", PARN, "arn:aws:iam::111111111111:role/app-*", ROLE_X, True),
        ("ArnLike", PARN, "arn:aws:iam::*:role/app-*", "arn:aws:iam::111111111111:user/app-x", False),
        ("ArnNotLike", PARN, "arn:aws:iam::*:role/app-*", None, True),
        ("ArnEquals", PARN, "arn:aws:iam::111111111111:role/*", ROLE_X, True),
        ("ArnNotEquals", PARN, ROLE_X, ROLE_X, False),
        ("Bool", "aws:SecureTransport", "true", True, True),
        ("Bool", "aws:SecureTransport", "false", True, False),
        ("Bool", "aws:SecureTransport", "true", None, False),
        ("BoolIfExists", "aws:SecureTransport", "false", None, True),
        ("Null", ORG, "true", None, True),
        ("Null", ORG, "false", "o-1", True),
        ("Null", ORG, "true", "o-1", False),
        ("IpAddress", "aws:VpcSourceIp", "10.0.0.0/8", "10.1.2.3", True),
        ("NotIpAddress", "aws:VpcSourceIp", "10.0.0.0/8", "192.0.2.1", True),
        ("NumericLessThan", "aws:MultiFactorAuthAge", "5", "3", True),
    ],
)
def test_evaluate_operator_follows_aws_semantics(
    operator: str, key: str, wanted: object, value: str | bool | None, expected: bool
) -> None:
    # GIVEN one operator, its policy values and the request's value for the key (None: the key is missing)
    context = normalize_context({key: value})
    # WHEN the operator is evaluated THEN the result is what IAM documents, missing keys included
    assert evaluate_operator(operator, key, wanted, context) is expected


@pytest.mark.parametrize(
    ("operator", "wanted", "values", "expected"),
    [
        ("ForAnyValue:StringEquals", ["a", "b"], ["c", "b"], True),
        ("ForAnyValue:StringEquals", ["a"], ["c", "d"], False),
        ("ForAnyValue:StringEquals", ["a"], None, False),  # missing key: no value can match
        ("ForAllValues:StringEquals", ["a", "b"], ["a", "b"], True),
        ("ForAllValues:StringEquals", ["a"], ["a", "c"], False),
        ("ForAllValues:StringEquals", ["a"], None, True),  # missing key: vacuously true
        ("ForAnyValue:StringNotEquals", ["a"], ["a", "c"], True),
        ("ForAllValues:StringLike", ["ou-*"], ["ou-1", "ou-2"], True),
        ("StringEquals", ["b"], ["a", "b"], True),  # no set operator on a multi-valued key: any value
        ("StringNotEquals", ["b"], ["a", "b"], False),
    ],
)
def test_evaluate_operator_set_prefixes_handle_multi_valued_keys(
    operator: str, wanted: list[str], values: list[str] | None, expected: bool
) -> None:
    # GIVEN a multi-valued key (e.g. aws:PrincipalOrgPaths) WHEN a set operator evaluates it
    context = normalize_context({"aws:PrincipalOrgPaths": values})
    # THEN ForAnyValue needs one matching value, ForAllValues needs every value (and holds when there are none)
    assert evaluate_operator(operator, "aws:PrincipalOrgPaths", wanted, context) is expected


def test_evaluate_operator_condition_keys_are_case_insensitive() -> None:
    # GIVEN a context key in one spelling WHEN the policy names it in another THEN it still matches
    context = normalize_context({"aws:SourceVpce": "vpce-1"})
    assert evaluate_operator("StringEquals", "AWS:SOURCEVPCE", "vpce-1", context) is True


def test_evaluate_operator_unknown_operator_raises_instead_of_guessing() -> None:
    # GIVEN an operator the evaluator does not implement WHEN it is evaluated THEN it refuses loudly
    with pytest.raises(UnsupportedPolicyError, match="DateGreaterThan"):
        evaluate_operator("DateGreaterThan", "aws:CurrentTime", "2020-01-01T00:00:00Z", {})


def test_evaluate_policies_not_action_and_not_resource_apply_to_everything_else() -> None:
    # GIVEN a Deny on everything except execute-api:Invoke, and an Allow on everything except /admin
    policy = {
        "Statement": [
            {"Sid": "NotInvoke", "Effect": "Deny", "NotAction": "execute-api:Invoke", "Resource": "*"},
            {"Sid": "NotAdmin", "Effect": "Allow", "Action": "execute-api:*", "NotResource": "*/admin/*"},
        ]
    }
    request = Request(action="execute-api:Invoke", resource=API_ARN, principal=SESSION)
    # WHEN an invoke on /items is evaluated as an identity policy
    result = evaluate_policies([policy], request, resource_based=False)
    # THEN only the NotResource Allow applies
    assert (result.allow_sids, result.deny_sids) == (("NotAdmin",), ())


def test_evaluate_policies_action_matching_is_case_insensitive() -> None:
    # GIVEN an Allow written in lower case WHEN execute-api:Invoke is evaluated THEN it applies
    policy = {"Statement": {"Effect": "Allow", "Action": "EXECUTE-API:invoke", "Resource": "*"}}
    request = Request(action="execute-api:Invoke", resource=API_ARN, principal=SESSION)
    assert evaluate_policies([policy], request, resource_based=False).allow_sids == ("#0",)


def test_evaluate_policies_resource_statement_without_principal_is_rejected() -> None:
    # GIVEN a resource policy statement with neither Principal nor NotPrincipal
    policy = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    request = Request(action="execute-api:Invoke", resource=API_ARN, principal=SESSION)
    # WHEN it is evaluated as resource-based THEN the evaluator refuses it
    with pytest.raises(UnsupportedPolicyError, match="Principal"):
        evaluate_policies([policy], request, resource_based=True)
