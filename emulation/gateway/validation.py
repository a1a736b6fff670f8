"""API Gateway's basic request validation, as its documentation defines it, from the API's own OpenAPI definition.

Parameters: every required query string, header and path parameter is present and not blank (type and format are
not checked). Body: the payload matches the JSON schema of the method's model for the request's content type (or
the `$default` one); with no matching content type the body is not validated. A failure is a 400 before the
integration runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft4Validator  # API Gateway models are JSON Schema draft 4

from emulation.gateway.routes import ANY_METHOD

VALIDATOR_KEY = "x-amazon-apigateway-request-validator"
VALIDATORS_KEY = "x-amazon-apigateway-request-validators"


@dataclass(frozen=True)
class ValidationFailure:
    """Why API Gateway refuses the request: the gateway response type and the message it sends."""

    response_type: str  # BAD_REQUEST_PARAMETERS or BAD_REQUEST_BODY
    message: str
    detail: str  # what $context.error.validationErrorString carries


@dataclass(frozen=True)
class RequestParts:
    """What validation looks at in a request."""

    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # lower-cased names
    path_parameters: Mapping[str, str]
    body: bytes


def validate_request(
    definition: Mapping[str, Any], resource: str, method: str, request: RequestParts
) -> ValidationFailure | None:
    """None when the method's validator (if any) accepts the request, else the failure API Gateway answers."""
    path_item = (definition.get("paths") or {}).get(resource) or {}
    operation = path_item.get(method.lower()) or path_item.get(ANY_METHOD)
    if not isinstance(operation, Mapping):
        return None
    validator_name = operation.get(VALIDATOR_KEY, definition.get(VALIDATOR_KEY))
    validator = (definition.get(VALIDATORS_KEY) or {}).get(validator_name) if validator_name else None
    if not validator:
        return None
    if validator.get("validateRequestParameters"):
        missing = _missing_parameters([*path_item.get("parameters", []), *operation.get("parameters", [])], request)
        if missing:
            message = f"Missing required request parameters: [{', '.join(missing)}]"
            return ValidationFailure("BAD_REQUEST_PARAMETERS", message, message)
    if validator.get("validateRequestBody"):
        return _body_failure(definition, operation, request)
    return None


def _missing_parameters(parameters: list[Any], request: RequestParts) -> list[str]:
    missing = []
    for parameter in parameters:
        if not isinstance(parameter, Mapping) or not parameter.get("required"):
            continue
        name, where = str(parameter.get("name")), parameter.get("in")
        if where == "query":
            present = any(value.strip() for value in request.query.get(name, []))
        elif where == "header":
            present = bool(request.headers.get(name.lower(), "").strip())
        elif where == "path":
            present = bool(request.path_parameters.get(name, "").strip())
        else:
            continue
        if not present:
            missing.append(name)
    return missing


def _body_failure(
    definition: Mapping[str, Any], operation: Mapping[str, Any], request: RequestParts
) -> ValidationFailure | None:
    content = (operation.get("requestBody") or {}).get("content") or {}
    media_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    model = content.get(media_type) or content.get("$default")
    if not isinstance(model, Mapping) or "schema" not in model:
        return None  # no model for this content type: API Gateway does not validate the body
    schema = _resolve(definition, model["schema"])
    # Nesting past Python's recursion limit is a body API Gateway refuses with a 400, not a reason to crash.
    try:
        payload = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return ValidationFailure("BAD_REQUEST_BODY", "Invalid request body", f"[body is not JSON: {error}]")
    try:
        errors = sorted(Draft4Validator(schema).iter_errors(payload), key=lambda e: list(e.path))
    except RecursionError as error:
        return ValidationFailure("BAD_REQUEST_BODY", "Invalid request body", f"[body nests too deep: {error}]")
    if errors:
        return ValidationFailure(
            "BAD_REQUEST_BODY", "Invalid request body", f"[{'; '.join(e.message for e in errors)}]"
        )
    return None


def _resolve(definition: Mapping[str, Any], node: Any) -> Any:
    """Inline local `#/...` references so the validator needs no resolver of its own."""
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = definition
            for part in ref[2:].split("/"):
                target = target[part]
            return _resolve(definition, target)
        return {key: _resolve(definition, value) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(definition, value) for value in node]
    return node
