"""Route matching from an OpenAPI definition, as API Gateway's REST API picks resources."""

from __future__ import annotations

import pytest

from emulation.gateway.routes import match_route, routes_from_openapi

OPENAPI = {
    "openapi": "3.0.1",
    "paths": {
        "/items": {"get": {}, "post": {}},
        "/items/{id}": {"get": {}, "put": {}, "delete": {}},
        "/items/special": {"get": {}},
        "/files/{proxy+}": {"x-amazon-apigateway-any-method": {}},
        "/": {"get": {}},
    },
}
ROUTES = routes_from_openapi(OPENAPI)


@pytest.mark.parametrize(
    ("method", "path", "resource", "params"),
    [
        ("GET", "/items", "/items", {}),
        ("POST", "/items/", "/items", {}),
        ("GET", "/items/42", "/items/{id}", {"id": "42"}),
        ("DELETE", "/items/a%20b", "/items/{id}", {"id": "a b"}),
        ("GET", "/items/special", "/items/special", {}),
        ("PATCH", "/files/a/b/c.txt", "/files/{proxy+}", {"proxy": "a/b/c.txt"}),
        ("GET", "/", "/", {}),
    ],
)
def test_match_route_defined_method_finds_most_specific_resource(
    method: str, path: str, resource: str, params: dict[str, str]
) -> None:
    # GIVEN the API's OpenAPI routes WHEN a defined method and path are matched
    found = match_route(ROUTES, path, method)
    # THEN the most specific resource wins and path parameters are decoded
    assert found is not None
    assert (found.route.resource, found.path_parameters) == (resource, params)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/items"),  # resource exists, method does not
        ("PUT", "/items/special"),  # the literal resource wins and lacks PUT: no fallback to /items/{id}
        ("GET", "/items/1/extra"),
        ("GET", "/unknown"),
        ("GET", "/files"),  # a greedy parameter needs at least one segment
    ],
)
def test_match_route_undefined_method_or_path_is_no_match(method: str, path: str) -> None:
    # GIVEN the API's routes WHEN a method or path the API does not define is matched
    # THEN there is no route (API Gateway answers Missing Authentication Token)
    assert match_route(ROUTES, path, method) is None
