"""The client kinds and the STS session name have one home, shared by the client, diagnose and the emulation."""

from __future__ import annotations

import re

import pytest

from client.names import DEFAULT_SESSION_NAME, ClientKind, role_session_name

# AWS's documented RoleSessionName pattern (sts:AssumeRole): [\w+=,.@-]*, 2 to 64 characters.
STS_SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}", flags=re.ASCII)


@pytest.mark.parametrize(
    ("function_name", "expected"),
    [
        ("private-api-client-rPythonAssumeRoleClient-AbC123", "private-api-client-rPythonAssumeRoleClient-AbC123"),
        ("fn:alias with spaces/é", "fn-alias-with-spaces--"),
        ("x" * 70, "x" * 64),
        ("ab", "ab"),
        ("a", DEFAULT_SESSION_NAME),
        ("", DEFAULT_SESSION_NAME),
    ],
)
def test_role_session_name_function_name_becomes_a_valid_sts_session_name(function_name: str, expected: str) -> None:
    # GIVEN the function name Lambda sets in AWS_LAMBDA_FUNCTION_NAME
    # WHEN it is turned into the STS session name
    name = role_session_name(function_name)
    # THEN unsafe characters become '-', it is cut at 64, a name too short falls back; STS accepts the result
    assert name == expected
    assert STS_SESSION_NAME.fullmatch(name)


def test_default_session_name_is_itself_valid_for_sts() -> None:
    # GIVEN the fallback name WHEN checked against AWS's pattern THEN STS accepts it
    assert STS_SESSION_NAME.fullmatch(DEFAULT_SESSION_NAME)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("direct", ClientKind.DIRECT),
        ("direct_auth", ClientKind.DIRECT),
        ("assume-role", ClientKind.ASSUME_ROLE),
        ("assume_role", ClientKind.ASSUME_ROLE),
        ("certificate", ClientKind.CERTIFICATE),
    ],
)
def test_client_kind_of_value_or_handler_module_gives_the_kind(name: str, expected: ClientKind) -> None:
    # GIVEN a kind spelled as diagnose reports it or as its handler module is named
    # WHEN it is looked up
    # THEN both spellings give the same kind
    assert ClientKind.of(name) is expected


@pytest.mark.parametrize("name", ["", "Direct", "assume role", "assumerole", "backend"])
def test_client_kind_of_unknown_name_raises_naming_the_choices(name: str) -> None:
    # GIVEN a name that is no client kind
    # WHEN it is looked up
    with pytest.raises(ValueError, match="is not a client kind") as raised:
        ClientKind.of(name)
    # THEN the error repeats the name and lists every accepted spelling
    assert repr(name) in str(raised.value)
    assert "'direct', 'direct_auth', 'assume-role', 'assume_role'" in str(raised.value)


def test_client_kind_values_and_handlers_match_the_users_spellings() -> None:
    # GIVEN the three kinds (the certificate client of issue 16 is the third)
    # THEN their values are diagnose's output spellings, and their handlers the client template's Handler settings
    assert [str(kind) for kind in ClientKind] == ["direct", "assume-role", "certificate"]
    assert [kind.handler for kind in ClientKind] == [
        "client.direct_auth.handler",
        "client.assume_role.handler",
        "client.certificate.handler",
    ]
