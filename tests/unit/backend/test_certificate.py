"""backend.certificate's pure parts: the MTLS_ALLOWED_CLIENTS allow-list and the exactly-once header count."""

from __future__ import annotations

import pytest

from backend import certificate

SUBJECT = "CN=partner-a.example.com,O=Partner A,C=US"


def _event(headers: dict[str, list[str]], *, single: dict[str, str] | None = None) -> dict:
    flat = {name: values[-1] for name, values in headers.items()} if single is None else single
    return {"headers": flat, "multiValueHeaders": headers}


def test_parse_allowed_clients_two_entries_maps_each_subject_to_its_tenant():
    # GIVEN two entries whose DNs contain commas
    text = "partner-a:CN=a.example.com,O=A,C=US; partner-b:CN=b.example.com,O=B,C=US"

    # WHEN parsed
    allowed = certificate.parse_allowed_clients(text)

    # THEN each DN (commas kept, surrounding spaces dropped) maps to its tenant
    assert allowed == {"CN=a.example.com,O=A,C=US": "partner-a", "CN=b.example.com,O=B,C=US": "partner-b"}


def test_parse_allowed_clients_escaped_semicolon_stays_inside_the_dn():
    # GIVEN a DN holding an RFC 2253 escaped ';' (kept escaped: the ALB forwards it that way)
    text = r"acme:CN=ops\;east,O=Acme;beta:CN=b,O=B"

    # WHEN parsed
    allowed = certificate.parse_allowed_clients(text)

    # THEN the escaped ';' did not split the entry
    assert allowed == {r"CN=ops\;east,O=Acme": "acme", "CN=b,O=B": "beta"}


def test_parse_allowed_clients_empty_text_allows_nobody():
    assert certificate.parse_allowed_clients("  ") == {}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("CN=a,O=A", "entry 1 is not tenant:subject-DN"),
        ("a:CN=a;", "entry 2 is not tenant:subject-DN"),
        ("Partner:CN=a", "entry 1: tenant 'Partner' must match"),
        ("a" * 33 + ":CN=a", "entry 1: tenant"),
        ("a:CN=x;b:CN=x", "entry 2: the same subject is mapped to two tenants"),
    ],
)
def test_parse_allowed_clients_malformed_entry_raises_naming_the_entry(text, reason):
    # GIVEN a malformed list (no tenant, trailing ";", upper case, too long, one subject for two tenants)
    # WHEN parsed / THEN the error names the entry and what is wrong
    with pytest.raises(certificate.AllowListError, match=reason.replace("(", r"\(")):
        certificate.parse_allowed_clients(text)


def test_settings_from_env_malformed_list_is_recorded_not_raised(monkeypatch):
    # GIVEN a malformed allow-list in the environment
    monkeypatch.setenv(certificate.ENDPOINT_ENV, "vpce-0f1e2d3c4b5a69788")
    monkeypatch.setenv(certificate.ALLOWED_ENV, "NoTenant")

    # WHEN the settings are read (as at import)
    settings = certificate.settings_from_env()

    # THEN nothing is raised, nobody is allowed, and the problem is kept to answer /mtls with
    assert settings.allowed == {}
    assert settings.problem == f"{certificate.ALLOWED_ENV} is malformed: entry 1 is not tenant:subject-DN"


@pytest.mark.parametrize("name", ["X-Amzn-Mtls-Clientcert-Subject", "x-amzn-mtls-clientcert-subject"])
def test_single_header_once_in_any_case_returns_it(name):
    assert certificate._single_header(_event({name: [SUBJECT]}), certificate.SUBJECT_HEADER) == SUBJECT


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Amzn-Mtls-Clientcert-Subject": [SUBJECT, "CN=other"]},
        {"X-Amzn-Mtls-Clientcert-Subject": [SUBJECT], "x-amzn-mtls-clientcert-subject": ["CN=other"]},
        {"X-Amzn-Mtls-Clientcert-Subject": [""]},
    ],
    ids=["missing", "appended", "two-spellings", "empty"],
)
def test_single_header_missing_repeated_or_empty_returns_none(headers):
    assert certificate._single_header(_event(headers), certificate.SUBJECT_HEADER) is None


def test_single_header_headers_disagreeing_with_multi_value_headers_returns_none():
    # GIVEN one value in multiValueHeaders and a different one in headers (never a consistent API Gateway event)
    event = _event({"X-Amzn-Mtls-Clientcert-Subject": [SUBJECT]}, single={"x-amzn-mtls-clientcert-subject": "CN=b"})

    # WHEN / THEN the header is ambiguous
    assert certificate._single_header(event, certificate.SUBJECT_HEADER) is None


def test_single_header_event_without_multi_value_headers_uses_headers():
    event = {"headers": {"X-Amzn-Mtls-Clientcert-Subject": SUBJECT}}
    assert certificate._single_header(event, certificate.SUBJECT_HEADER) == SUBJECT
