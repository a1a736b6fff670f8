"""API Gateway's basic request validation, driven by the backend template's own OpenAPI definition."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from cfnrender.render import render_template
from emulation.gateway.validation import RequestParts, validate_request


@cache
def _definition() -> dict[str, Any]:
    return render_template("api-backend/api-backend.yaml").resources["BackendApi"]["Properties"]["Body"]


def _parts(body: Any = None, *, query=None, headers=None, path=None, raw: bytes | None = None) -> RequestParts:
    payload = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return RequestParts(
        query=query or {},
        headers={"content-type": "application/json", **(headers or {})},
        path_parameters=path or {},
        body=payload,
    )


def test_validate_request_valid_create_passes():
    # GIVEN a body that matches the ItemCreate model
    # WHEN POST /items is validated THEN there is no failure
    assert validate_request(_definition(), "/items", "POST", _parts({"name": "n", "tags": ["a"]})) is None


@pytest.mark.parametrize(
    ("body", "raw"),
    [
        ({"name": "n", "unknown": 1}, None),  # additionalProperties: false
        ({"description": "no name"}, None),  # name is required
        ({"name": 5}, None),  # wrong type
        ({"name": ""}, None),  # minLength 1
        (None, b"{not json"),  # malformed
        (None, b""),  # empty body where a model is required
    ],
)
def test_validate_request_body_breaking_the_model_fails_as_bad_request_body(body, raw):
    failure = validate_request(_definition(), "/items", "POST", _parts(body, raw=raw))
    assert failure is not None
    assert (failure.response_type, failure.message) == ("BAD_REQUEST_BODY", "Invalid request body")


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize(("opening", "closing"), [(b"[", b"]"), (b'{"a":', b"}")])
def test_validate_request_body_nested_past_the_recursion_limit_fails_as_bad_request_body(depth, opening, closing):
    # GIVEN a body whose JSON nests deeper than Python's recursion limit
    raw = b'{"name": "n", "description": ' + opening * depth + b"1" * (opening == b'{"a":') + closing * depth + b"}"
    # WHEN POST /items is validated
    failure = validate_request(_definition(), "/items", "POST", _parts(raw=raw))
    # THEN it is API Gateway's invalid-body answer, not a RecursionError
    assert failure is not None
    assert (failure.response_type, failure.message) == ("BAD_REQUEST_BODY", "Invalid request body")


def test_validate_request_replace_without_version_fails():
    failure = validate_request(_definition(), "/items/{id}", "PUT", _parts({"name": "n"}, path={"id": "x"}))
    assert failure is not None
    assert failure.message == "Invalid request body"
    assert "version" in failure.detail


def test_validate_request_content_type_without_model_is_not_validated():
    # GIVEN a body sent as text/plain, for which the method has no model
    parts = _parts(raw=b"anything", headers={"content-type": "text/plain"})
    # THEN API Gateway passes it on unvalidated (the backend must refuse it itself)
    assert validate_request(_definition(), "/items", "POST", parts) is None


def test_validate_request_params_validator_does_not_check_query_types():
    # GIVEN limit=abc on GET /items, whose validator checks parameters only
    # THEN API Gateway checks presence of required parameters, not their type
    assert validate_request(_definition(), "/items", "GET", _parts(query={"limit": ["abc"]})) is None


def test_validate_request_missing_required_query_parameter_fails():
    # GIVEN a definition whose GET /items requires limit
    definition = json.loads(json.dumps(_definition()))
    for parameter in definition["paths"]["/items"]["get"]["parameters"]:
        if parameter["name"] == "limit":
            parameter["required"] = True
    # WHEN limit is absent or blank THEN the failure names it as API Gateway does
    for query in ({}, {"limit": [" "]}):
        failure = validate_request(definition, "/items", "GET", _parts(query=query))
        assert failure is not None
        assert failure.response_type == "BAD_REQUEST_PARAMETERS"
        assert failure.message == "Missing required request parameters: [limit]"


def test_validate_request_unknown_resource_has_no_validator():
    assert validate_request(_definition(), "/nope", "GET", _parts()) is None
