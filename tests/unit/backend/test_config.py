"""Configuration is validated once, at cold start."""

from __future__ import annotations

import importlib
import sys

import pytest


def test_cold_start_without_table_name_fails_with_clear_message(aws_env, monkeypatch):
    # GIVEN the function environment lacks TABLE_NAME
    monkeypatch.delenv("TABLE_NAME")
    monkeypatch.delitem(sys.modules, "backend.app", raising=False)

    # WHEN the handler module loads (a cold start)
    with pytest.raises(RuntimeError) as raised:
        importlib.import_module("backend.app")

    # THEN the error names the variable
    assert "TABLE_NAME is required" in str(raised.value)


def test_cold_start_binds_table_from_environment(backend):
    # GIVEN the backend imported with TABLE_NAME set by the fixture
    # WHEN its module-level table is inspected
    name = backend.table.name

    # THEN it is the configured table, built once at import
    assert name == "items-under-test"


@pytest.mark.parametrize("value", ["v1", "/", "/v1/v2"])
def test_cold_start_with_malformed_domain_base_path_fails_with_clear_message(aws_env, monkeypatch, value):
    # GIVEN DOMAIN_BASE_PATH that is not '' or /<one segment> (the template writes /<pPrivateDomainBasePath> or '')
    monkeypatch.setenv("DOMAIN_BASE_PATH", value)
    monkeypatch.delitem(sys.modules, "backend.app", raising=False)

    # WHEN the handler module loads (a cold start)
    with pytest.raises(RuntimeError) as raised:
        importlib.import_module("backend.app")

    # THEN the error names the variable and the value
    assert f"DOMAIN_BASE_PATH must be '' or /<one path segment>, got {value!r}" in str(raised.value)
