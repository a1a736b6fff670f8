"""`make sam-local-test`: every function of the inner templates, run by SAM CLI in a container, on every event.

The offline two-account emulation stands in for AWS: the client functions reach its private API through the main
site's execute-api endpoint (and its STS front, for the assume-role client), the backend reaches its DynamoDB. Each
function runs in `sam local start-lambda` (one process per function: SAM gives every function of a process the
same credentials, and each function has its own role), with warm containers made at start (`EAGER`: the first
request then never races the runtime interface emulator's start under qemu). Each outcome is asserted: status and
body shape, not only SAM's exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess  # nosec B404 - runs docker, dockerd, apt-get, debootstrap, tar, pip and sam with arguments built here
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import trustme
from botocore.config import Config

from backend import repository
from backend.identity import Caller
from backend.table import Table
from backend.validation import ItemFields
from cfnrender.stacks import FunctionView
from client.names import ClientKind
from emulation.accounts.two_accounts import MAIN, PROVIDER, TwoAccounts
from samlocal.cases import BACKEND_EVENTS, CASES, Case, Outcome, check
from samlocal.engine import EngineUnavailable, ensure_engine
from samlocal.forward import Relay
from samlocal.image import Platform, ensure_image

__all__ = ["main"]

REPO = Path(__file__).resolve().parents[1]
STATE = REPO / ".samlocal"
START_SECONDS = 180.0
# SAM resolves no SSM parameter locally: the layer is off and the stand-in image carries Powertools instead.
LAYER_OFF = "pPowertoolsLayerArn=None"


@dataclass(frozen=True)
class Site:
    """One `sam local start-lambda` process: a template folder staged with its code, one function, its credentials."""

    label: str
    template: Path
    function: FunctionView
    credentials: Mapping[str, str]
    variables: Mapping[str, str]
    parameters: tuple[str, ...]


def _stage(side: Path, into: Path, platform: Platform, extra_files: Mapping[str, bytes]) -> Path:
    """A copy of one side's inner template and src/ with Powertools vendored in (what `--bundle-powertools` does for
    a deployment, with wheels for the stand-in's interpreter) and `extra_files`: what SAM mounts is all a container
    sees, and the repository's own src/ stays untouched."""
    target = into / side.name
    shutil.copytree(side / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(side / f"{side.name}.yaml", target / f"{side.name}.yaml")
    subprocess.run(  # noqa: S603  # nosec B603
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
            "--target", str(target / "src"), "--only-binary=:all:", "--implementation", "cp",
            "--python-version", platform.python, "--platform", platform.wheel_tag,
            "-r", str(REPO / "requirements-powertools.txt"),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    for name, content in extra_files.items():
        (target / "src" / name).write_bytes(content)
    return target / f"{side.name}.yaml"


@contextmanager
def _start_lambda(site: Site, *, port: int, image: str, hosts: list[str], scratch: Path) -> Iterator[Any]:
    env_file = scratch / f"env-{site.label}.json"
    env_file.write_text(json.dumps({site.function.logical_id: dict(site.variables)}))
    argv = [
        str(Path(sys.executable).with_name("sam")), "local", "start-lambda", "--template", str(site.template),
        "--port", str(port), "--warm-containers", "EAGER", "--env-vars", str(env_file),
        "--invoke-image", image, "--skip-pull-image", "--parameter-overrides", " ".join(site.parameters),
        *[arg for host in hosts for arg in ("--add-host", host)],
    ]  # fmt: skip
    environ = {**os.environ, **site.credentials, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    environ.pop("AWS_PROFILE", None)
    log = (STATE / f"sam-{site.label}.log").open("w")
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=environ, start_new_session=True)  # noqa: S603  # nosec B603
    try:
        client = boto3.client(
            "lambda",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - SAM's local endpoint checks no signature  # nosec B106 - not a secret
            config=Config(read_timeout=120, retries={"max_attempts": 0}),
        )
        deadline = time.monotonic() + START_SECONDS
        while "Running on http" not in (STATE / f"sam-{site.label}.log").read_text():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"sam local start-lambda for {site.label} did not start; see .samlocal/sam-{site.label}.log"
                )
            time.sleep(0.5)
        _wait_for_runtime(site.function.logical_id, deadline)
        yield client
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
        remove_containers(image)


def remove_containers(image: str) -> list[str]:
    """Remove SAM's Lambda containers of the stand-in image (and images built on it); their ids.

    SAM leaves its warm containers running after start-lambda ends on SIGINT: one CI-like run here left nine, all idle
    under qemu, so the next run and anything else on the engine share it with them. `--warm-containers EAGER` starts
    one for every function in the template, not only the one a site invokes, so the filter names no function; the
    sites run one after another, so no other site's containers are alive to be caught by it.
    """
    filters = ["--filter", "label=sam.cli.container.type=lambda", "--filter", f"ancestor={image}"]
    listed = subprocess.run(  # noqa: S603  # nosec B603 B607
        ["docker", "ps", "--all", "--quiet", *filters],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    ids = listed.stdout.split()
    if ids:
        subprocess.run(["docker", "rm", "--force", *ids], capture_output=True, check=False)  # noqa: S603, S607  # nosec B603 B607
    return ids


def _wait_for_runtime(function_id: str, deadline: float) -> None:
    """Until the warm container's runtime interface emulator answers HTTP. SAM reports itself running before that,
    and its first request gives up after 0.7 s (three quick tries), answering an empty payload: a harness race
    (the emulator starts under qemu), not the function's behaviour, so it is waited out here, not retried."""
    label = f"label=sam.cli.function.name={function_id}"
    while time.monotonic() < deadline:
        ports = subprocess.run(  # noqa: S603  # nosec B603 B607
            ["docker", "ps", "--filter", label, "--format", "{{.Ports}}"],  # noqa: S607
            capture_output=True, text=True, check=False,
        ).stdout  # fmt: skip
        match = re.search(r"127\.0\.0\.1:(\d+)->8080", ports)
        if match:
            try:
                with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=2) as sock:
                    sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
                    if sock.recv(16).startswith(b"HTTP/"):
                        return
            except OSError:
                pass
        time.sleep(0.5)
    raise RuntimeError(f"the warm container of {function_id} never answered; see .samlocal/sam-*.log")


def _seed_item(env: TwoAccounts) -> None:
    """The item the backend's get-item, replace-item and delete-item events name, stored by the backend's own
    repository code for the caller those events carry."""
    event = json.loads((BACKEND_EVENTS / "get-item.json").read_text())
    identity = event["requestContext"]["identity"]
    table = Table(env.provider.physical_id("ItemsTable"), env.client("dynamodb", PROVIDER))
    fields = ItemFields("seeded item", "the item the fixed-id events act on", ["demo"])
    caller = Caller(identity["accountId"], identity["userArn"])
    seed_id = event["pathParameters"]["id"]
    repository.create_item(table, caller, fields, token="samlocal-seed", item_id=seed_id)  # noqa: S106 - not a secret  # nosec B106 - not a secret


def _credentials(keys: Any) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": keys.access_key,
        "AWS_SECRET_ACCESS_KEY": keys.secret_key,
        **({"AWS_SESSION_TOKEN": keys.token} if keys.token else {}),
    }


def _sites(
    env: TwoAccounts, scratch: Path, platform: Platform, *, gateway: str, ports: Mapping[str, int], ca_pem: bytes
) -> list[Site]:
    provider = env.provider
    backend = next(f for f in provider.functions().values() if f.handler == "backend.app.handler")
    consumer = env.consumer(MAIN)
    backend_template = _stage(REPO / "api-backend", scratch, platform, {})
    client_template = _stage(REPO / "api-client", scratch, platform, {"emulation-ca.pem": ca_pem})
    endpoint_name = consumer.endpoints()[0].dns_names[0]
    sites = [
        Site(
            "backend",
            backend_template,
            backend,
            _credentials(env.role_credentials(backend.role_arn, backend.name)),
            {**backend.environment, "AWS_ENDPOINT_URL_DYNAMODB": f"http://{gateway}:{ports['moto']}"},
            (LAYER_OFF,),
        )
    ]
    role = provider.outputs.get("APIAccessRole", "")
    for kind in ClientKind:
        function = consumer.function_by_handler(kind.handler)
        if function is None:
            continue
        sites.append(
            Site(
                kind.value,
                client_template,
                function,
                _credentials(env.lambda_credentials(MAIN, kind)),
                {
                    **function.environment,
                    "API_ENDPOINT": f"https://{endpoint_name}:{ports['api']}",
                    "API_CA_BUNDLE": "/var/task/emulation-ca.pem",
                    "AWS_CA_BUNDLE": "/var/task/emulation-ca.pem",
                    "AWS_ENDPOINT_URL_STS": f"https://sts.{env.region}.amazonaws.com:{ports['sts']}",
                },
                (LAYER_OFF, f"pAPIRoleARN={role}" if role else "pAPIRoleARN=None"),
            )
        )
    return sites


def run(*, keep_going: bool = True) -> list[Outcome]:
    """Start everything, run every case, return the outcomes (each with its check's verdict)."""
    STATE.mkdir(exist_ok=True)
    engine = ensure_engine(STATE)
    image, platform = ensure_image(STATE, sys.executable)
    outcomes: list[Outcome] = []
    with ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="samlocal-")))
        env = stack.enter_context(TwoAccounts(seed=7))
        _seed_item(env)
        sts_ca = trustme.CA()
        sts_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        sts_ca.issue_cert(f"sts.{env.region}.amazonaws.com").configure_cert(sts_context)
        ca_pem = env.tls.ca_bundle.read_bytes() + b"\n" + sts_ca.cert_pem.bytes()
        moto_port = int(env.moto_url.rsplit(":", 1)[1])
        api_port = int(env.endpoint_url(MAIN).rsplit(":", 1)[1])
        sts_port = int(env.sts.url.rsplit(":", 1)[1])
        relays = {
            "moto": stack.enter_context(Relay(engine.bridge_gateway, moto_port)),
            "api": stack.enter_context(Relay(engine.bridge_gateway, api_port)),
            "sts": stack.enter_context(Relay(engine.bridge_gateway, sts_port, tls=sts_context)),
        }
        ports = {name: relay.port for name, relay in relays.items()}
        consumer = env.consumer(MAIN)
        hosts = [
            f"{consumer.endpoints()[0].dns_names[0]}:{engine.bridge_gateway}",
            f"sts.{env.region}.amazonaws.com:{engine.bridge_gateway}",
        ]
        sites = _sites(env, scratch, platform, gateway=engine.bridge_gateway, ports=ports, ca_pem=ca_pem)
        for index, site in enumerate(sites):
            with _start_lambda(site, port=3901 + index, image=image, hosts=hosts, scratch=scratch) as client:
                for case in (c for c in CASES if c.site == site.label):
                    outcomes.append(_invoke(client, site, case))
                    if not outcomes[-1].passed and not keep_going:
                        return outcomes
    return outcomes


def _invoke(client: Any, site: Site, case: Case) -> Outcome:
    started = time.monotonic()
    reply = client.invoke(FunctionName=site.function.logical_id, Payload=case.event.read_bytes())
    payload = reply["Payload"].read()
    seconds = time.monotonic() - started
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = {"unparsed": payload.decode("utf-8", "replace")}
    return check(case, answer, reply.get("FunctionError"), seconds)


def main(argv: list[str] | None = None) -> int:
    """Run every function x event under `sam local`; print one line per case; 0 when all passed."""
    parser = argparse.ArgumentParser(prog="make sam-local-test", description=__doc__.splitlines()[0])
    parser.add_argument("--stop-at-first-failure", action="store_true")
    options = parser.parse_args(argv)
    started = time.monotonic()
    try:
        outcomes = run(keep_going=not options.stop_at_first_failure)
    except EngineUnavailable as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 2
    for outcome in outcomes:
        print(outcome.line())
    failed = [o for o in outcomes if not o.passed]
    total = time.monotonic() - started
    verdict = "FAILED" if failed or not outcomes else "SUCCESS"
    print(f"{verdict}: {len(outcomes) - len(failed)}/{len(outcomes)} function x event cases passed in {total:.0f} s")
    return 1 if failed or not outcomes else 0
