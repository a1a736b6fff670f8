"""Match a request path and method against the routes of an OpenAPI definition, as API Gateway's REST API does."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

ANY_METHOD = "x-amazon-apigateway-any-method"
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
AWS_IAM = "AWS_IAM"
NONE = "NONE"
_SIGV4 = "awssigv4"  # x-amazon-apigateway-authtype of an IAM scheme, compared lowercased


@dataclass(frozen=True)
class Route:
    """One resource path of the API (e.g. /items/{id}) and the methods defined on it."""

    resource: str
    methods: frozenset[str]
    segments: tuple[str, ...]
    # Method (or ANY) -> AWS_IAM or NONE, as the rendered definition's `security` entries say.
    authorization: Mapping[str, str] = field(default_factory=dict, hash=False)

    def authorization_of(self, method: str) -> str:
        """How a method of this resource authorizes callers: AWS_IAM (SigV4) or NONE."""
        return self.authorization.get(method.upper(), self.authorization.get("ANY", AWS_IAM))

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


def _sigv4_schemes(definition: Mapping[str, Any]) -> frozenset[str]:
    """Names of the security schemes API Gateway reads as IAM (SigV4) authorization."""
    schemes = (definition.get("components") or {}).get("securitySchemes") or definition.get("securityDefinitions")
    return frozenset(
        name
        for name, scheme in (schemes or {}).items()
        if isinstance(scheme, Mapping) and str(scheme.get("x-amazon-apigateway-authtype", "")).lower() == _SIGV4
    )


def _authorization(operation: Any, default: Any, sigv4: frozenset[str], fallback: str) -> str:
    """AWS_IAM when the operation's security (or the definition's) names a SigV4 scheme; NONE when it names others.

    SAM renders `Authorizer: NONE` with `OverrideApiAuth` as `security: [{"NONE": []}]` (a name with no scheme),
    and DefaultAuthorizer AWS_IAM as `security: [{"AWS_IAM": []}]` on every other method. A definition with no
    security entry at all (hand-written test definitions) gets `fallback`.
    """
    security = operation.get("security") if isinstance(operation, Mapping) else None
    if security is None:
        security = default
    if security is None:
        return fallback
    names = {name for requirement in security if isinstance(requirement, Mapping) for name in requirement}
    return AWS_IAM if names & sigv4 else NONE


def routes_from_openapi(definition: Mapping[str, Any], *, fallback: str = AWS_IAM) -> tuple[Route, ...]:
    """Build the route table from `paths` of an OpenAPI (or Swagger 2) definition, with each method's authorization."""
    routes = []
    sigv4 = _sigv4_schemes(definition)
    default = definition.get("security")
    for resource, operations in (definition.get("paths") or {}).items():
        if not isinstance(operations, Mapping):
            continue
        authorization = {
            m.upper(): _authorization(operation, default, sigv4, fallback)
            for m, operation in operations.items()
            if m.lower() in _METHODS
        }
        if ANY_METHOD in operations:
            authorization["ANY"] = _authorization(operations[ANY_METHOD], default, sigv4, fallback)
        routes.append(
            Route(
                resource=resource,
                methods=frozenset(authorization),
                segments=_segments(resource),
                authorization=authorization,
            )
        )
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
