"""Generated bad input: requests derived from the API's own OpenAPI definition, through the emulated gateway.

The definition is api-backend.yaml's own DefinitionBody (paths, request models, declared responses; read from the
source because SAM's MergeDefinitions empties `responses` in the deployed copy). schemathesis turns each operation
into Hypothesis strategies, in positive (schema-valid) and negative (schema-violating) mode; every request is
signed with SigV4 by botocore as a cross-account caller, sent over HTTPS to the main endpoint's listener, and
answered by the real backend handler on emulated DynamoDB. The emulated gateway runs the API's request validators
(emulation/validation.py) as API Gateway does, and what they pass reaches the backend: neither may answer a 5xx.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
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
from schemathesis.generation import GenerationMode

from emulation.accounts import MAIN, TwoAccounts
from emulation.render import load_template
from emulation.sigv4 import SigningCredentials
from tests.security.conftest import Caller, Deployment
from tests.security.resolved import REPO

MIN_REQUESTS = 1000
WORKERS = 8
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Examples per operation and mode; operations with inputs get more (GET / has none to vary).
EXAMPLES = {"GET /": 20, "GET /items": 110, "POST /items": 150, "GET /items/{id}": 80, "PUT /items/{id}": 150}
DEFAULT_EXAMPLES = 80


def api_definition() -> dict[str, Any]:
    """The provider template's OpenAPI definition without its CloudFormation-only parts (policy, !Sub title)."""
    body = load_template(REPO / "api-backend/api-backend.yaml")["Resources"]["BackendApi"]["Properties"][
        "DefinitionBody"
    ]
    definition = {k: v for k, v in body.items() if k != "x-amazon-apigateway-policy"}
    definition["info"] = {"title": "private-api-backend", "version": body["info"]["version"]}
    return definition


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
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, mode: str, status: int) -> None:
        """Record one answered request (called from the sending threads)."""
        with self.lock:
            self.requests += 1
            self.by_mode[mode] = self.by_mode.get(mode, 0) + 1
            self.by_status[status] = self.by_status.get(status, 0) + 1


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
    for operation in (result.ok() for result in schema.get_all_operations()):
        count = EXAMPLES.get(f"{operation.method.upper()} {operation.path}", DEFAULT_EXAMPLES)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies = [(mode.value, operation.as_strategy(generation_mode=mode), count)]
            if "{id}" in operation.path:
                fixed = operation.as_strategy(generation_mode=mode, path_parameters={"id": real_id})
                strategies.append((f"{mode.value}-real-id", fixed, count // 2))
            for label, strategy, examples in strategies:
                _generate(strategy, examples, lambda case, label=label: work.append((label, case)))
    tally = Tally(generation_seconds=time.monotonic() - started)
    # Generated first, then sent: everything shares one interpreter, so overlapping the two only adds contention.
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(_sender(session, base_url, str(env.tls.ca_bundle), tally), work))
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
def test_generated_requests_backend_logged_no_unhandled_exception(
    env: TwoAccounts, fuzz_run: tuple[Tally, float]
) -> None:
    # GIVEN the same run
    tally, _ = fuzz_run
    # WHEN the backend function's log is read
    logs = env.function_logs("backend")
    unhandled = [line for line in logs if "Unhandled error" in line or '"errorType"' in line or "Traceback" in line]
    # THEN the handler never fell through to its catch-all (it would answer 500) and never crashed
    assert tally.requests >= MIN_REQUESTS
    assert unhandled == []
