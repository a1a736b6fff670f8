"""Generated bad input: requests derived from the API's own OpenAPI definition, through the emulated gateway.

The definition is api-backend.yaml's own DefinitionBody (paths, request models, declared responses; read from the
source because SAM's MergeDefinitions empties `responses` in the deployed copy). schemathesis turns each operation
into Hypothesis strategies, in positive (schema-valid) and negative (schema-violating) mode; every request is
signed with SigV4 by botocore as a cross-account caller, sent over HTTPS to the main endpoint's listener, and
answered by the real backend handler on emulated DynamoDB. The emulated gateway runs the API's request validators
(emulation/gateway/validation.py) as API Gateway does, and what they pass reaches the backend: neither may answer a 5xx.
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation, BaseSchema

from cfnrender.render import load_template
from emulation.accounts.two_accounts import MAIN, TwoAccounts
from emulation.gateway.sigv4 import SigningCredentials
from tests.security.conftest import Caller, Deployment
from tests.security.resolved import REPO

MIN_REQUESTS = 1000
WORKERS = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation and mode; operations with inputs get more (GET / has none to vary).
EXAMPLES = {"GET /": 20, "GET /items": 110, "POST /items": 150, "GET /items/{id}": 80, "PUT /items/{id}": 150}
DEFAULT_EXAMPLES = 80
# Bad input the generator does not reach but that once answered 5xx or crashed a handler (issue 12): sent in the same
# run. Unpaired surrogates travel as JSON escapes (json.dumps escapes them); a version past DynamoDB's 38 digits.
LONE_SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff")
BIG_VERSIONS: tuple[Any, ...] = (2**53, 10**38 - 1, 10**38, 10**38 + 1, 10**400)
OWNED_HEADERS = (
    "Content-Length",
    "Transfer-Encoding",
    "Expect",
    "Connection",
    "X-Amz-Content-Sha256",
    "Host",
    "Authorization",
    "X-Amz-Date",
    "X-Amz-Security-Token",
)


def api_definition() -> dict[str, Any]:
    """The provider template's OpenAPI definition without its CloudFormation-only parts (policy, !Sub title)."""
    body = load_template(REPO / "api-backend/api-backend.yaml")["Resources"]["BackendApi"]["Properties"][
        "DefinitionBody"
    ]
    definition = {k: v for k, v in body.items() if k != "x-amazon-apigateway-policy"}
    definition["info"] = {"title": "private-api-backend", "version": body["info"]["version"]}
    # The certificate path's /mtls routes (authorization NONE) answer a signed caller at a consumer endpoint with
    # the resource policy's explicit deny by design; this test's callers are the IAM path's.
    definition["paths"] = {path: ops for path, ops in body["paths"].items() if not _certificate_path(path)}
    return definition


def _certificate_path(path: str) -> bool:
    """True for /mtls and the routes under it."""
    return path == "/mtls" or path.startswith("/mtls/")


class SignedAs(requests.auth.AuthBase):
    """Signs each prepared request with SigV4 for execute-api, for the API's host (not the listener's address)."""

    def __init__(self, credentials: SigningCredentials, host: str, region: str) -> None:
        self.credentials = Credentials(credentials.access_key, credentials.secret_key, credentials.token)
        self.host = host
        self.region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """Add Authorization, X-Amz-Date and the session token, and send the API host as Host."""
        url = urlsplit(request.url or "")
        target = url.path + (f"?{url.query}" if url.query else "")
        body = request.body.encode() if isinstance(request.body, str) else (request.body or b"")
        signed = AWSRequest(
            method=request.method, url=f"https://{self.host}{target}", data=body, headers={"Host": self.host}
        )
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(signed)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in signed.headers:
                request.headers[name] = signed.headers[name]
        request.headers["Host"] = self.host
        return request


@dataclass
class Tally:
    """What the run saw."""

    requests: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    nonconforming: list[str] = field(default_factory=list)
    by_mode: dict[str, int] = field(default_factory=dict)
    generation_seconds: float = 0.0
    client_events: int = 0
    client_by_status: dict[int, int] = field(default_factory=dict)
    client_crashes: list[str] = field(default_factory=list)  # the client handler raised instead of returning
    backend_logs: list[str] = field(default_factory=list)  # what the backend logged during this run, and only that
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, mode: str, status: int) -> None:
        """Record one answered request (called from the sending threads)."""
        with self.lock:
            self.requests += 1
            self.by_mode[mode] = self.by_mode.get(mode, 0) + 1
            self.by_status[status] = self.by_status.get(status, 0) + 1


def _operations(schema: BaseSchema) -> Iterator[APIOperation]:
    """Every operation of the schema; one the schema cannot describe is raised as the error it is."""
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        yield result.ok()


def _collect(work: list[tuple[str, Any]], label: str, case: Any) -> None:
    work.append((label, case))


def _generate(strategy: Any, count: int, emit: Callable[[Any], None]) -> None:
    """Draw up to `count` distinct cases from a schemathesis strategy and hand each to `emit` as it is drawn."""

    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,  # the same requests on every run: a failure reproduces
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def emit_one(case: Any) -> None:
        emit(case)

    # Unsatisfiable: nothing to vary (negative mode of an operation without inputs), so no cases from it.
    with contextlib.suppress(Unsatisfiable):
        emit_one()


def _sender(session: requests.Session, base_url: str, verify: str, tally: Tally) -> Callable[[tuple[str, Any]], None]:
    def send(item: tuple[str, Any]) -> None:
        mode, case = item
        response = case.call(base_url=base_url, session=session, verify=verify, timeout=30)
        tally.count(mode, response.status_code)
        described = f"{mode} {case.method} {case.formatted_path} {case.query} {str(case.body)[:120]!r}"
        if response.status_code >= 500:
            tally.server_errors.append(f"{response.status_code} {described}: {response.text[:200]}")
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as failure:
            tally.nonconforming.append(f"{response.status_code} {described}: {str(failure)[:300]}")

    return send


def crafted_bodies(real_id: str) -> list[tuple[str, str, bytes]]:
    """(method, path, body) of crafted item bodies: each unpaired surrogate in every text field, big versions."""
    item_paths = [f"/items/{real_id}", "/items/01ARZ3NDEKTSV4RRFFQ69G5FAV"]
    shapes: list[dict[str, Any]] = []
    for lone in LONE_SURROGATES:
        shapes += [{"name": lone}, {"name": f"a{lone}b"}, {"name": "x", "description": lone}]
        shapes += [{"name": "x", "tags": [lone]}, {"name": "x", "tags": ["ok", f"t{lone}"]}]
    cases = [("POST", "/items", json.dumps(shape).encode()) for shape in shapes]
    for path in item_paths:
        cases += [("PUT", path, json.dumps({**shape, "version": 1}).encode()) for shape in shapes]
        cases += [("PUT", path, json.dumps({"name": "x", "version": version}).encode()) for version in BIG_VERSIONS]
        cases.append(("PUT", path, b'{"name": "x", "version": 1e400}'))
    # A surrogate's bytes written out (CESU-8), which is not UTF-8 at all.
    cases.append(("POST", "/items", b'{"name": "\xed\xa0\x80"}'))
    return cases


def crafted_client_events() -> list[dict[str, Any]]:
    """Client events whose text cannot be sent as given, or that set a header the client's framing or signer owns."""
    events: list[dict[str, Any]] = []
    for value in ("\u20ac", "a\u2028b", "\u0100", "\U0001f389", *LONE_SURROGATES):
        events.append({"path": "/items", "headers": {"X-Note": value}})
    for lone in LONE_SURROGATES:
        events.append({"method": "POST", "path": "/items", "body": f'{{"name": "{lone}"}}'})
        events.append({"method": "POST", "path": "/items", "body": {"name": lone}})  # sent escaped: the API says 400
        events += [{"path": f"/items/{lone}"}, {"path": "/items", "query": {"next": lone}}]
        events.append({"path": "/items", "query": {lone: "1"}})
    for name in OWNED_HEADERS:
        for value in ("1", "UNSIGNED-PAYLOAD", "100", "chunked", "100-continue", "close", "evil.example.com"):
            events.append({"method": "POST", "path": "/items", "body": {"name": "owned"}, "headers": {name: value}})
    return events


def _send_crafted(
    session: requests.Session, base_url: str, verify: str, tally: Tally
) -> Callable[[tuple[str, str, bytes]], None]:
    def send(item: tuple[str, str, bytes]) -> None:
        method, path, body = item
        headers = {"Content-Type": "application/json"}
        response = session.request(method, base_url + path, data=body, headers=headers, verify=verify, timeout=30)
        tally.count("crafted", response.status_code)
        if response.status_code >= 500:
            tally.server_errors.append(
                f"{response.status_code} crafted {method} {path} {body[:120]!r}: {response.text}"
            )

    return send


@pytest.fixture(scope="module")
def fuzz_run(env: TwoAccounts, deployment: Deployment, callers: dict[str, Caller]) -> tuple[Tally, float]:
    """Generate the requests from the rendered definition and send them all; (what was seen, seconds taken)."""
    deployment.use("single")  # the main direct role is listed and signs every request
    assert env.provider is not None
    assert env.tls is not None
    schema = schemathesis.openapi.from_dict(api_definition())
    session = requests.Session()
    session.auth = SignedAs(callers["main-direct"].credentials(), env.names.api_host, env.region)
    base_url = f"{env.endpoint_url(MAIN)}/{env.names.stage}"
    # One real item, so some cases reach the item code paths (get, replace, delete) instead of "not found".
    created = env.request(
        "POST", "/items", credentials=callers["main-direct"].credentials(), body=b'{"name": "fuzz seed"}'
    )
    assert created.status == 201, created.text
    real_id = created.json()["id"]
    started = time.monotonic()
    work: list[tuple[str, Any]] = []
    for operation in _operations(schema):
        count = EXAMPLES.get(f"{operation.method.upper()} {operation.path}", DEFAULT_EXAMPLES)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [(mode.value, operation.as_strategy(generation_mode=mode), count)]
            if "{id}" in operation.path:
                fixed = operation.as_strategy(generation_mode=mode, path_parameters={"id": real_id})
                strategies.append((f"{mode.value}-real-id", fixed, count // 2))
            for label, strategy, examples in strategies:
                _generate(strategy, examples, functools.partial(_collect, work, label))
    tally = Tally(generation_seconds=time.monotonic() - started)
    # The session's emulation is shared: other modules' faults (throttling, a stuck DynamoDB) are in its log already.
    logged_before = set(env.function_logs("backend"))
    # Generated first, then sent: everything shares one interpreter, so overlapping the two only adds contention.
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(_sender(session, base_url, str(env.tls.ca_bundle), tally), work))
        list(pool.map(_send_crafted(session, base_url, str(env.tls.ca_bundle), tally), crafted_bodies(real_id)))
    # The same inputs at the other edge: events for the consumer's client handler, which signs and sends them.
    for event in crafted_client_events():
        result = env.invoke_client("direct", event)
        tally.client_events += 1
        if result.error is not None:
            tally.client_crashes.append(f"{event!a}: {result.error}")
            continue
        status = int(result.payload["statusCode"])
        tally.client_by_status[status] = tally.client_by_status.get(status, 0) + 1
        if status >= 500:
            tally.server_errors.append(f"{status} client event {event!a}: {result.payload}")
    tally.backend_logs = [line for line in env.function_logs("backend") if line not in logged_before]
    return tally, time.monotonic() - started


@pytest.mark.slow
def test_generated_requests_at_least_a_thousand_none_answered_5xx(fuzz_run: tuple[Tally, float]) -> None:
    # GIVEN positive and negative requests generated from every operation of the rendered definition
    tally, seconds = fuzz_run
    # WHEN they have all been answered through the gateway by the real backend
    five_xx = sum(n for status, n in tally.by_status.items() if status >= 500)
    print(  # the counts are the evidence (pytest -s shows them)
        f"generated requests: {tally.requests} in {seconds:.1f}s ({tally.generation_seconds:.1f}s generating), "
        f"5xx: {five_xx}, by status: "
        f"{dict(sorted(tally.by_status.items()))}, by mode: {tally.by_mode}"
    )
    # THEN there were at least 1,000 of them and not one 5xx
    assert tally.requests >= MIN_REQUESTS
    assert tally.server_errors == []
    assert five_xx == 0


@pytest.mark.slow
def test_generated_requests_every_answer_conforms_to_declared_responses(fuzz_run: tuple[Tally, float]) -> None:
    # GIVEN the same run
    tally, _ = fuzz_run
    # WHEN each answer was checked against the operation's declared responses (status, content type, schema)
    # THEN none deviates
    assert tally.nonconforming == []


@pytest.mark.slow
def test_generated_requests_backend_logged_no_unhandled_exception(fuzz_run: tuple[Tally, float]) -> None:
    # GIVEN the same run
    tally, _ = fuzz_run
    # WHEN the backend function's log is read
    markers = ("Unhandled error", '"errorType"', "Traceback")
    unhandled = [line for line in tally.backend_logs if any(marker in line for marker in markers)]
    # THEN the handler never fell through to its catch-all (it would answer 500) and never crashed
    assert tally.requests >= MIN_REQUESTS
    assert unhandled == []


@pytest.mark.slow
def test_generated_requests_crafted_bad_input_no_5xx_and_no_unhandled_exception(fuzz_run: tuple[Tally, float]) -> None:
    # GIVEN the same run, which also sent the crafted inputs (big versions, unpaired surrogates in every field,
    # header values outside latin-1, headers the client owns) to the API and as events to the client handler
    tally, _ = fuzz_run
    # WHEN the answers, the client results and the backend log are read
    crafted_5xx = sum(1 for line in tally.server_errors if " crafted " in line or " client event " in line)
    backend_unhandled = [line for line in tally.backend_logs if "Unhandled error" in line or "Traceback" in line]
    client_5xx = sum(n for status, n in tally.client_by_status.items() if status >= 500)
    unhandled = len(backend_unhandled) + len(tally.client_crashes)
    print(  # the counts are the evidence (pytest -rP shows them)
        f"crafted requests to the API: {tally.by_mode.get('crafted', 0)}, client events: {tally.client_events}; "
        f"5xx: {crafted_5xx + client_5xx}, unhandled exceptions: {unhandled} "
        f"(backend log: {len(backend_unhandled)}, client handler: {len(tally.client_crashes)}); "
        f"client results by status: {dict(sorted(tally.client_by_status.items()))}"
    )
    # THEN every one was answered with a 4xx or passed through, none answered 5xx, and no handler raised
    assert tally.by_mode.get("crafted", 0) == len(crafted_bodies("x"))
    assert tally.client_events == len(crafted_client_events())
    assert tally.client_crashes == []
    assert crafted_5xx == client_5xx == 0
    assert backend_unhandled == []
