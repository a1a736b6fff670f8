"""Match a request path and method against the routes of an OpenAPI definition, as API Gateway's REST API does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

ANY_METHOD = "x-amazon-apigateway-any-method"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


@dataclass(frozen=True)
class Route:
    """One resource path of the API (e.g. /items/{id}) and the methods defined on it."""

    resource: str
    methods: frozenset[str]
    segments: tuple[str, ...]

    @property
    def literal_count(self) -> int:
        """How many segments are literal: more literal segments is a more specific match."""
        return sum(1 for s in self.segments if not s.startswith("{"))

    @property
    def greedy(self) -> bool:
        """True for a trailing {name+} segment that takes the rest of the path."""
        return bool(self.segments) and self.segments[-1].endswith("+}")


@dataclass(frozen=True)
class RouteMatch:
    """A route chosen for a request, with its decoded path parameters."""

    route: Route
    method: str
    path_parameters: dict[str, str]


def _segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.strip("/").split("/") if s)


def routes_from_openapi(definition: Mapping[str, Any]) -> tuple[Route, ...]:
    """Build the route table from `paths` of an OpenAPI (or Swagger 2) definition."""
    routes = []
    for resource, operations in (definition.get("paths") or {}).items():
        if not isinstance(operations, Mapping):
            continue
        methods = {m.upper() for m in operations if m.lower() in _METHODS}
        if ANY_METHOD in operations:
            methods.add("ANY")
        routes.append(Route(resource=resource, methods=frozenset(methods), segments=_segments(resource)))
    return tuple(routes)


def _bind(route: Route, parts: tuple[str, ...]) -> dict[str, str] | None:
    if route.greedy:
        fixed = route.segments[:-1]
        if len(parts) <= len(fixed):
            return None
    elif len(parts) != len(route.segments):
        return None
    params: dict[str, str] = {}
    for index, template in enumerate(route.segments):
        if template.endswith("+}"):
            params[template[1:-2]] = "/".join(unquote(p) for p in parts[index:])
            break
        part = unquote(parts[index])
        if template.startswith("{") and template.endswith("}"):
            params[template[1:-1]] = part
        elif template != part:
            return None
    return params


def match_route(routes: tuple[Route, ...], path: str, method: str) -> RouteMatch | None:
    """The most specific route for the path that defines the method (or ANY); None means API Gateway's 403."""
    parts = _segments(path)
    candidates = []
    for route in routes:
        params = _bind(route, parts)
        if params is None:
            continue
        # Specificity: literal segments first, then fixed-length over greedy.
        candidates.append(((route.literal_count, not route.greedy), route, params))
    for _, route, params in sorted(candidates, key=lambda c: c[0], reverse=True):
        # API Gateway picks the resource by path alone; a method it lacks is not looked up elsewhere.
        if method.upper() in route.methods:
            return RouteMatch(route=route, method=method.upper(), path_parameters=params)
        if "ANY" in route.methods:
            return RouteMatch(route=route, method=method.upper(), path_parameters=params)
        return None
    return None
