"""One request through an emulated private REST API, its checks in this order (AWS documents only that the endpoint
policy comes first; the domain steps' order is modelled, and any failing check refuses the call either way).

0. a Host naming a private custom domain: the endpoint needs a live access association with a domain of that name
   and the path's first segment must be a base path mapping (else 403 Forbidden); the mapped API and stage then
   take the request, with the route path after the base path, and steps 4 and 6 also check the domain's ARN
   (endpoint policy, then the domain's own policy: both it and the API's policy must allow)
1. otherwise the Host (or x-apigw-api-id) selects the API; unknown: 403 Forbidden
2. the path must start with the stage and name a resource and method; otherwise: Missing Authentication Token
3. on an AWS_IAM method, a SigV4 Authorization header is verified (unknown key, bad signature, stale date answered
   as API Gateway does) and resolved to a principal; no header: the caller is anonymous. On a method with
   authorization NONE nothing is verified: the caller is anonymous whatever it sent
4. the VPC endpoint policy, for that principal (AWS evaluates it first, with the identity from the signature)
5. an anonymous caller of an AWS_IAM method: Missing Authentication Token
6. resource policy (+ identity policies for a signed caller), per AWS's same-account and cross-account tables: an
   anonymous caller of a NONE method needs an Allow to Principal "*" and no explicit Deny
7. the Lambda proxy integration: event in, result out (errors and malformed results: 502)
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from emulation.gateway import sigv4
from emulation.gateway.access_log import AccessLog
from emulation.gateway.domains import DomainRegistry, PrivateDomain
from emulation.gateway.proxy import (
    Invocation,
    LambdaContext,
    MalformedProxyResponse,
    ProxyResponse,
    build_event,
    json_body,
    read_result,
)
from emulation.gateway.routes import NONE, Route, RouteMatch, match_route, routes_from_openapi
from emulation.gateway.validation import RequestParts, validate_request
from iampolicy import authz
from iampolicy.authz import ANONYMOUS, Decision, Principal
from iampolicy.execute_api import ExecuteApiHost, parse_execute_api_host
from iampolicy.policy import Policy

Handler = Callable[[dict[str, Any], Any], Any]
PrincipalResolver = Callable[[str], Principal | None]
IdentityPolicies = Callable[[Principal], Sequence[Policy]]

_RESPONSE_TYPE = {
    sigv4.Failure.MISSING: "MISSING_AUTHENTICATION_TOKEN",
    sigv4.Failure.INCOMPLETE: "INVALID_SIGNATURE",
    sigv4.Failure.UNKNOWN_KEY: "UNAUTHORIZED",
    sigv4.Failure.EXPIRED_CREDENTIALS: "EXPIRED_TOKEN",
    sigv4.Failure.BAD_SIGNATURE: "INVALID_SIGNATURE",
    sigv4.Failure.EXPIRED: "EXPIRED_TOKEN",
    sigv4.Failure.NOT_YET_VALID: "INVALID_SIGNATURE",
    sigv4.Failure.WRONG_SCOPE: "INVALID_SIGNATURE",
}


@dataclass(frozen=True)
class ApiDeployment:
    """One deployed stage of a private REST API: what a CloudFormation deployment fixes until the next one."""

    api_id: str
    account: str
    region: str
    stage: str
    openapi: Mapping[str, Any]
    resource_policy: Policy | None
    handler: Handler
    vpc_endpoint_ids: tuple[str, ...] = ()
    access_log: AccessLog | None = None
    function_name: str = "backend"
    partition: str = "aws"

    @property
    def host(self) -> str:
        """The API's own DNS name (resolves to the endpoint when private DNS is on)."""
        return ExecuteApiHost(self.api_id, None, self.region).name


@dataclass(frozen=True)
class LiveApi:
    """A deployment with its route table built and its policy's `execute-api:/` shorthand expanded."""

    deployment: ApiDeployment
    routes: tuple[Route, ...]
    policy: Policy | None

    @classmethod
    def of(cls, deployment: ApiDeployment) -> LiveApi:
        """Prepare a deployment once, so requests only read it."""
        policy = None
        if deployment.resource_policy is not None:
            policy = authz.expand_execute_api_resources(
                deployment.resource_policy,
                region=deployment.region,
                account=deployment.account,
                api_id=deployment.api_id,
                partition=deployment.partition,
            )
        return cls(deployment=deployment, routes=routes_from_openapi(deployment.openapi), policy=policy)


@dataclass(frozen=True)
class Endpoint:
    """An emulated execute-api interface VPC endpoint; `policy=None` is AWS's default full-access policy."""

    vpce_id: str
    vpc_id: str
    policy: Policy | None = None


@dataclass(frozen=True)
class Incoming:
    """A request as the listener received it."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source_ip: str

    def header(self, name: str) -> str | None:
        """The last value of a header, case-insensitively."""
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return found[-1] if found else None


@dataclass
class Outcome:
    """The HTTP answer and the access-log variables of one request."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    log: dict[str, object] = field(default_factory=dict)
    decision: Decision | None = None


@dataclass(frozen=True)
class Callbacks:
    """Where the gateway learns secrets, principals and identity policies (the emulation asks moto)."""

    credentials: sigv4.CredentialLookup
    principals: PrincipalResolver
    identity_policies: IdentityPolicies


def _error(status: int, error_type: str, body: Mapping[str, str], log: dict[str, object]) -> Outcome:
    message = next(iter(body.values()))
    log.update({"status": status, "error.message": message, "error.messageString": f'"{message}"'})
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", error_type)]
    return Outcome(status=status, headers=headers, body=json_body(body), log=log)


def _forbidden(log: dict[str, object]) -> Outcome:
    return _error(403, "ForbiddenException", {"message": "Forbidden"}, log)


def _missing_token(log: dict[str, object]) -> Outcome:
    log["error.responseType"] = "MISSING_AUTHENTICATION_TOKEN"
    return _error(403, "MissingAuthenticationTokenException", {"message": "Missing Authentication Token"}, log)


def _denied(decision: Decision, log: dict[str, object]) -> Outcome:
    log.update({"error.responseType": "ACCESS_DENIED", "authorize.status": 403, "authorize.error": decision.message()})
    outcome = _error(403, "AccessDeniedException", authz.access_denied_body(decision), log)
    outcome.decision = decision
    return outcome


def _host(incoming: Incoming) -> str:
    return (incoming.header("host") or "").split(":", 1)[0].lower()


@dataclass(frozen=True)
class Addressed:
    """What a request addresses: the API, the path prefix before its routes, and the domain it came through."""

    api: LiveApi
    prefix: str  # "/{stage}" on the API's own hosts; "/{base path}" (or "" for the root) through a domain
    alternate_hosts: tuple[str, ...] = ()
    domain: PrivateDomain | None = None


def select_domain_api(
    incoming: Incoming, endpoint: Endpoint, apis: Mapping[str, LiveApi], domains: DomainRegistry
) -> Addressed | None:
    """The API and stage a private custom domain maps the request to; None is API Gateway's 403 Forbidden.

    Refused alike: no live access association of this endpoint with a domain of that name, a path whose first
    segment is no base path (and no root mapping), a mapping to an API or stage not deployed.
    """
    domain = domains.associated(endpoint.vpce_id, _host(incoming))
    if domain is None:
        return None
    mapped = domain.mapping_for(incoming.target.split("?", 1)[0])
    if mapped is None:
        return None
    base_path, api_id, stage = mapped
    api = apis.get(api_id)
    if api is None or api.deployment.stage != stage or api.deployment.region != domain.region:
        return None
    return Addressed(api=api, prefix=f"/{base_path}" if base_path else "", domain=domain)


def select_api(
    incoming: Incoming, endpoint: Endpoint, apis: Mapping[str, LiveApi]
) -> tuple[LiveApi | None, tuple[str, ...]]:
    """The API a request addresses, and the hosts its signature may cover besides the Host header it sent."""
    found = parse_execute_api_host(_host(incoming))
    if found:
        api = apis.get(found.api_id)
        if api is None or api.deployment.region != found.region:
            return None, ()
        alias_vpce = found.vpce_id
        # The {api-id}-{vpce-id} alias exists only for endpoints the API lists, and resolves to that endpoint.
        if alias_vpce and (alias_vpce != endpoint.vpce_id or alias_vpce not in api.deployment.vpc_endpoint_ids):
            return None, ()
        return api, ()
    api_id = incoming.header("x-apigw-api-id")
    api = apis.get(api_id.strip()) if api_id else None
    return (api, (api.deployment.host,)) if api else (None, ())


def _base_log(incoming: Incoming, endpoint: Endpoint, request_id: str, extended_id: str) -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "requestId": request_id,
        "extendedRequestId": extended_id,
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "httpMethod": incoming.method,
        "path": incoming.target.split("?", 1)[0],
        "protocol": "HTTP/1.1",
        "identity.sourceIp": incoming.source_ip,
        "identity.vpceId": endpoint.vpce_id,
        "identity.vpcId": endpoint.vpc_id,
        "identity.userAgent": incoming.header("user-agent"),
        "waf.status": None,
        "waf.error": None,
        "waf.latency": None,
    }


def _condition_context(incoming: Incoming, endpoint: Endpoint) -> dict[str, str | bool]:
    now = datetime.now(UTC)
    return {
        "aws:SourceVpce": endpoint.vpce_id,
        "aws:SourceVpc": endpoint.vpc_id,
        "aws:VpcSourceIp": incoming.source_ip,
        "aws:SecureTransport": True,
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
    }


def _identity_log(principal: Principal) -> dict[str, object]:
    return {
        "identity.accountId": principal.account,
        "identity.caller": principal.user_id,
        "identity.user": principal.user_id,
        "identity.userArn": None if principal.is_anonymous else principal.arn,
        "identity.accessKey": principal.access_key,
        "identity.principalOrgId": principal.org_id,
    }


class _Reject(Exception):
    """A check failed: carries the answer to send."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.status)
        self.outcome = outcome


def _route(incoming: Incoming, api: LiveApi, prefix: str, log: dict[str, object]) -> tuple[RouteMatch, str]:
    raw_path = incoming.target.split("?", 1)[0]
    if prefix and raw_path != prefix and not raw_path.startswith(prefix + "/"):
        raise _Reject(_missing_token(log))
    path = raw_path[len(prefix) :] or "/"
    route = match_route(api.routes, path, incoming.method)
    if route is None:
        raise _Reject(_missing_token(log))
    log["resourcePath"] = route.route.resource
    return route, path


def _parts(incoming: Incoming, route: RouteMatch) -> RequestParts:
    query = incoming.target.split("?", 1)[1] if "?" in incoming.target else ""
    return RequestParts(
        query=parse_qs(query, keep_blank_values=True),
        headers={name.lower(): value for name, value in incoming.headers},
        path_parameters=route.path_parameters,
        body=incoming.body,
    )


class Pipeline:
    """Runs the checks and the integration for one request against a snapshot of the configuration."""

    def __init__(self, callbacks: Callbacks) -> None:
        self.callbacks = callbacks

    def handle(
        self,
        incoming: Incoming,
        endpoint: Endpoint,
        apis: Mapping[str, LiveApi],
        domains: DomainRegistry | None = None,
    ) -> Outcome:
        """Answer one request; access-log variables travel in the outcome."""
        log = _base_log(incoming, endpoint, str(uuid.uuid4()), secrets.token_urlsafe(12))
        addressed = self._address(incoming, endpoint, apis, domains)
        if addressed is None:
            if domains is not None and domains.serves(_host(incoming)):
                log.update({"domainName": incoming.header("host"), "domainPrefix": _host(incoming).split(".")[0]})
            return _forbidden(log)
        api, domain = addressed.api, addressed.domain
        deployment = api.deployment
        log.update({"apiId": deployment.api_id, "stage": deployment.stage, "accountId": deployment.account})
        domain_prefix = domain.name.split(".", 1)[0] if domain else deployment.api_id
        log.update({"domainName": incoming.header("host"), "domainPrefix": domain_prefix})
        try:
            route, path = _route(incoming, api, addressed.prefix, log)
            iam_method = route.route.authorization_of(route.method) != NONE
            principal = (
                self._authenticate(incoming, deployment, addressed.alternate_hosts, log) if iam_method else ANONYMOUS
            )
            decision = self._authorize(
                incoming=incoming,
                endpoint=endpoint,
                api=api,
                path=path,
                principal=principal,
                iam_method=iam_method,
                domain=domain,
                log=log,
            )
        except _Reject as rejected:
            return rejected.outcome
        failure = validate_request(deployment.openapi, route.route.resource, incoming.method, _parts(incoming, route))
        if failure is not None:  # API Gateway validates after authorization, before the integration runs
            log.update({"error.responseType": failure.response_type, "error.validationErrorString": failure.detail})
            rejected_outcome = _error(400, "BadRequestException", {"message": failure.message}, log)
            rejected_outcome.decision = decision
            return rejected_outcome
        invocation = Invocation(
            api_id=deployment.api_id,
            api_account=deployment.account,
            stage=deployment.stage,
            domain_name=incoming.header("host") or deployment.host,
            method=incoming.method.upper(),
            target=incoming.target,
            headers=incoming.headers,
            body=incoming.body,
            route=route,
            principal=principal,
            source_ip=incoming.source_ip,
            vpce_id=endpoint.vpce_id,
            vpc_id=endpoint.vpc_id,
            request_id=str(log["requestId"]),
            extended_request_id=str(log["extendedRequestId"]),
            received_at=datetime.now(UTC),
            # Through a domain the event's path keeps the base path (the stage is not in the URL to remove).
            event_path_prefix=addressed.prefix if domain is None else "",
        )
        outcome = self._integrate(deployment, invocation, log)
        outcome.decision = decision
        return outcome

    @staticmethod
    def _address(
        incoming: Incoming, endpoint: Endpoint, apis: Mapping[str, LiveApi], domains: DomainRegistry | None
    ) -> Addressed | None:
        if domains is not None and domains.serves(_host(incoming)):
            return select_domain_api(incoming, endpoint, apis, domains)
        api, alternate_hosts = select_api(incoming, endpoint, apis)
        if api is None:
            return None
        return Addressed(api=api, prefix=f"/{api.deployment.stage}", alternate_hosts=alternate_hosts)

    def _authenticate(
        self, incoming: Incoming, deployment: ApiDeployment, alternate_hosts: tuple[str, ...], log: dict[str, object]
    ) -> Principal:
        if not incoming.header("authorization"):
            return ANONYMOUS
        received = sigv4.ReceivedRequest(
            method=incoming.method, target=incoming.target, headers=incoming.headers, body=incoming.body
        )
        started = time.monotonic()
        try:
            verified = sigv4.verify(
                received,
                region=deployment.region,
                service="execute-api",
                lookup=self.callbacks.credentials,
                alternate_hosts=alternate_hosts,
            )
            principal = self.callbacks.principals(verified.access_key)
            if principal is None:
                # Credentials moto knows but cannot attribute: AWS would not know the key either.
                raise sigv4.SigV4Error(
                    sigv4.Failure.UNKNOWN_KEY, "The security token included in the request is invalid."
                )
        except sigv4.SigV4Error as error:
            status, error_type, body = sigv4.apigateway_error(error)
            log.update({"authenticate.status": status, "authenticate.error": error.message})
            log["error.responseType"] = _RESPONSE_TYPE[error.failure]
            raise _Reject(_error(status, error_type, body, log)) from error
        log["authenticate.latency"] = int((time.monotonic() - started) * 1000)
        log["authenticate.status"] = 200
        log.update(_identity_log(principal))
        return principal

    def _authorize(
        self,
        *,
        incoming: Incoming,
        endpoint: Endpoint,
        api: LiveApi,
        path: str,
        principal: Principal,
        iam_method: bool,
        domain: PrivateDomain | None,
        log: dict[str, object],
    ) -> Decision:
        deployment = api.deployment
        resource_arn = authz.execute_api_arn(
            region=deployment.region,
            account=deployment.account,
            api_id=deployment.api_id,
            stage=deployment.stage,
            method=incoming.method,
            path=path,
            partition=deployment.partition,
        )
        context = _condition_context(incoming, endpoint)
        if domain is not None:
            context[authz.VIA_DOMAIN_ARN] = domain.execute_api_arn
            # AWS's endpoint policy example 5 allows the domain's ARN and the API's: a domain call needs both here.
            domain_endpoint_decision = authz.decide_endpoint(
                principal=principal,
                resource_arn=domain.execute_api_arn,
                endpoint_policy=endpoint.policy,
                context=context,
            )
            if not domain_endpoint_decision.allowed:
                raise _Reject(_denied(domain_endpoint_decision, log))
        endpoint_decision = authz.decide_endpoint(
            principal=principal, resource_arn=resource_arn, endpoint_policy=endpoint.policy, context=context
        )
        if not endpoint_decision.allowed:
            raise _Reject(_denied(endpoint_decision, log))
        if principal.is_anonymous and iam_method:
            # An unsigned call of an AWS_IAM method stops here, after the endpoint policy.
            raise _Reject(_missing_token(log))
        started = time.monotonic()
        if domain is not None:
            domain_decision = authz.decide_domain(
                principal=principal,
                domain_arn=domain.execute_api_arn,
                domain_policy=domain.expanded_policy(),
                context=context,
            )
            if not domain_decision.allowed:
                raise _Reject(_denied(domain_decision, log))
        decision = authz.decide_invoke(
            principal=principal,
            resource_arn=resource_arn,
            resource_policy=api.policy,
            identity_policies=None if principal.is_anonymous else self.callbacks.identity_policies(principal),
            api_account=deployment.account,
            context=context,
        )
        log["authorize.latency"] = int((time.monotonic() - started) * 1000)
        if not decision.allowed:
            raise _Reject(_denied(decision, log))
        log["authorize.status"] = 200
        return decision

    def _integrate(self, deployment: ApiDeployment, invocation: Invocation, log: dict[str, object]) -> Outcome:
        event = build_event(invocation)
        context = LambdaContext(
            function_name=deployment.function_name,
            invoked_function_arn=(
                f"arn:{deployment.partition}:lambda:{deployment.region}:{deployment.account}"
                f":function:{deployment.function_name}"
            ),
            aws_request_id=str(uuid.uuid4()),
        )
        started = time.monotonic()
        try:
            response: ProxyResponse = read_result(deployment.handler(event, context))
        except MalformedProxyResponse as error:
            return self._bad_gateway(log, started, f"Malformed Lambda proxy response: {error}")
        except Exception as error:  # any function error is API Gateway's 502, never a crash of the gateway
            return self._bad_gateway(log, started, f"Lambda function error: {type(error).__name__}: {error}")
        latency = int((time.monotonic() - started) * 1000)
        log.update(
            {
                "status": response.status,
                "integration.status": 200,
                "integration.integrationStatus": 200,
                "integrationStatus": 200,
                "integration.latency": latency,
                "integrationLatency": latency,
                "integration.requestId": context.aws_request_id,
                "responseLength": len(response.body),
            }
        )
        return Outcome(status=response.status, headers=list(response.headers), body=response.body, log=log)

    @staticmethod
    def _bad_gateway(log: dict[str, object], started: float, reason: str) -> Outcome:
        latency = int((time.monotonic() - started) * 1000)
        log.update({"integration.error": reason, "integration.latency": latency, "integrationLatency": latency})
        log["error.responseType"] = "DEFAULT_5XX"
        return _error(502, "InternalServerErrorException", {"message": "Internal server error"}, log)
