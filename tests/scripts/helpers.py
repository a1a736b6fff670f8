"""Shared pieces of the script tests: a throw-away copy of the kit, the fake clouds' state, their call log."""

from __future__ import annotations

import json
import os
import py_compile
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jmespath

from tests.scripts.fakecli import new_stack

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
FIXTURES = HERE.parent / "workflow" / "fixtures"
SCRIPTS = ("build-backend.sh", "build-client.sh", "deploy-all.sh", "invoke.sh", "destroy-all.sh")
KIT_FILES = (*SCRIPTS, "samconfig.toml", "requirements-powertools.txt")

CONSUMER = "consumer"
PROVIDER = "provider"
CONSUMER_ACCOUNT = "111111111111"
PROVIDER_ACCOUNT = "222222222222"
REGION = "us-east-1"
API_ID = "a1b2c3d4e5"
API_HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
API_ROLE = f"arn:aws:iam::{PROVIDER_ACCOUNT}:role/private-api-backend-APIAccessRole-1A2B3C"
ENDPOINT_ID = "vpce-0123456789abcdef0"
CLIENT_ROLE = f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/private-api-client-DirectAuthClientRole-4D5E6F"
DIRECT_FUNCTION = "private-api-client-DirectAuthClient-AAAA"
ASSUME_FUNCTION = "private-api-client-AssumeRoleClient-BBBB"
BACKEND_STACK = "private-api-backend"
CLIENT_STACK = "private-api-client"
PROVIDER_BUCKET = f"private-api-artifacts-{PROVIDER_ACCOUNT}-{REGION}"
CONSUMER_BUCKET = f"private-api-artifacts-{CONSUMER_ACCOUNT}-{REGION}"
OK_RESPONSE = {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"message": "hello"}'}


def default_state() -> dict[str, Any]:
    """Two accounts in one region, no stacks or buckets yet, outputs the templates declare."""
    return {
        "clock": time.time(),
        "cli_version": 2,
        "profiles": {
            CONSUMER: {"account": CONSUMER_ACCOUNT, "region": REGION},
            PROVIDER: {"account": PROVIDER_ACCOUNT, "region": REGION},
        },
        "buckets": {},
        "stacks": {},
        "outputs": {
            BACKEND_STACK: {
                "APIGatewayID": API_ID,
                "APIGatewayFQDN": API_HOST,
                "APIAccessRole": API_ROLE,
                "APIStageName": "Prod",
                "APIURL": f"https://{API_HOST}/Prod",
                "TableName": "private-api-backend-Table-XYZ",
            },
            CLIENT_STACK: {
                "APIGatewayEndpointID": ENDPOINT_ID,
                "APIGatewayEndpointDNS": f"{ENDPOINT_ID}-abcdefgh.execute-api.{REGION}.vpce.amazonaws.com",
                "DirectAuthClientRole": CLIENT_ROLE,
                "PythonDirectAuthClient": DIRECT_FUNCTION,
                "PythonAssumeRoleClient": ASSUME_FUNCTION,
                "AssumeRoleClientRole": f"arn:aws:iam::{CONSUMER_ACCOUNT}:role/private-api-client-AssumeRole-7G8H",
            },
        },
        "functions": {
            DIRECT_FUNCTION: {"response": OK_RESPONSE},
            ASSUME_FUNCTION: {"response": OK_RESPONSE},
        },
    }


@dataclass
class Run:
    """What one script run left behind: its result, the calls it made, the clouds' state afterwards."""

    result: subprocess.CompletedProcess[str]
    log: list[dict[str, Any]]
    state: dict[str, Any]

    def calls(self, tool: str | None = None, *prefix: str) -> list[dict[str, Any]]:
        """This run's calls, optionally only one tool's whose argv starts with prefix."""
        return select_calls(self.log, tool, prefix)


def select_calls(log: list[dict[str, Any]], tool: str | None, prefix: tuple[str, ...]) -> list[dict[str, Any]]:
    return [
        entry
        for entry in log
        if (tool is None or entry["tool"] == tool) and entry["argv"][: len(prefix)] == list(prefix)
    ]


@dataclass
class Kit:
    """A copy of the kit plus the fake clouds it talks to."""

    root: Path
    state_path: Path
    log_path: Path
    env: dict[str, str]

    def state(self) -> dict[str, Any]:
        return json.loads(self.state_path.read_text())

    def change_state(self, change: Callable[[dict[str, Any]], None]) -> None:
        state = self.state()
        change(state)
        self.state_path.write_text(json.dumps(state, indent=2))

    def calls(self, tool: str | None = None, *prefix: str) -> list[dict[str, Any]]:
        """Recorded calls so far, optionally only one tool's whose argv starts with prefix."""
        if not self.log_path.exists():
            return []
        entries = [json.loads(line) for line in self.log_path.read_text().splitlines()]
        return select_calls(entries, tool, prefix)

    def capture(self, script: str, *args: str, env: dict[str, str] | None = None) -> Run:
        """Run a script on a fresh call log and keep what it did, for fixtures shared by several tests."""
        self.log_path.unlink(missing_ok=True)
        result = self.run(script, *args, env=env)
        return Run(result=result, log=self.calls(), state=self.state())

    def run(
        self, script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run a script from outside the repo (scripts must not depend on the working directory)."""
        return subprocess.run(  # noqa: S603 - runs this repo's own scripts
            [str(self.root / script), *args],
            cwd=self.root.parent,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )


def copy_kit(destination: Path, sides_from: Path) -> Path:
    """The scripts, their library and two sides (fixtures or the real ones) in a fresh directory."""
    destination.mkdir(parents=True)
    for name in KIT_FILES:
        shutil.copy2(REPO_ROOT / name, destination / name)
    shutil.copytree(REPO_ROOT / "scripts", destination / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    # The scripts ported to Python (issue 14 §2) run the workflow package from the kit copy.
    shutil.copytree(REPO_ROOT / "workflow", destination / "workflow", ignore=shutil.ignore_patterns("__pycache__"))
    for side in ("api-backend", "api-client"):
        shutil.copytree(
            sides_from / side,
            destination / side,
            ignore=shutil.ignore_patterns("__pycache__", "*-deploy.yaml", "build"),
        )
    return destination


def write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def clean_environment() -> dict[str, str]:
    """The caller's environment without anything that would point the tools at a real account."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "SAM_", "PIP", "DESTROY_", "DEPLOY_")) and key not in ("NO_COLOR",)
    }


def install_fakes(bin_dir: Path) -> None:
    """Recorded aws, sam and pip plus a fast python3, to put first on PATH."""
    bin_dir.mkdir()
    # Compiled once here: every fake call imports it and PYTHONDONTWRITEBYTECODE may forbid caching.
    shutil.copy2(HERE / "fakecli.py", bin_dir / "fakecli.py")
    py_compile.compile(str(bin_dir / "fakecli.py"), doraise=True)
    # -IS skips site start-up (the slowest part of a bare start); jmespath's directory is added by hand instead.
    site_packages = str(Path(jmespath.__file__).resolve().parent.parent)
    for tool in ("aws", "sam", "pip"):
        write_executable(
            bin_dir / tool,
            f"#!{sys.executable} -IS\nimport sys\nsys.path[:0] = [{str(bin_dir)!r}, {site_packages!r}]\n"
            f"from fakecli import main\nsys.exit(main({tool!r}))\n",
        )
    # The scripts' python3 runs their stdlib-only helpers; pinning it keeps the tests fast and predictable.
    write_executable(bin_dir / "python3", f'#!/bin/sh\nexec {sys.executable} "$@"\n')


def make_kit(base: Path, sides_from: Path = FIXTURES) -> Kit:
    """A kit copy under base with fake aws/sam/pip first on PATH and an empty two-account cloud."""
    root = copy_kit(base / "repo", sides_from)
    bin_dir = base / "bin"
    install_fakes(bin_dir)
    state_path = base / "state.json"
    state_path.write_text(json.dumps(default_state(), indent=2))
    home = base / "home"
    home.mkdir()
    env = {
        **clean_environment(),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(home),
        "FAKE_CLI_STATE": str(state_path),
        "FAKE_CLI_LOG": str(base / "calls.jsonl"),
        # No SAM_CLI_TELEMETRY here: the scripts set it themselves (test_deploy_all checks every sam call).
        "DESTROY_POLL_SECONDS": "0",
        "DESTROY_RETRY_DELAY_SECONDS": "0",
        "DEPLOY_RETRY_DELAY_SECONDS": "0",
    }
    return Kit(root=root, state_path=state_path, log_path=base / "calls.jsonl", env=env)


def seed_deployed(state: dict[str, Any], *, assume_role: bool = True) -> None:
    """State as after a successful deploy-all.sh: both stacks authorized, both buckets holding artifacts."""
    backend = new_stack(state, BACKEND_STACK, PROVIDER_ACCOUNT, REGION)
    backend.update(
        status="UPDATE_COMPLETE",
        updated=state["clock"],
        template_hash="seeded",
        parameters={
            **backend["parameters"],
            "pTrustedPrincipals": CONSUMER_ACCOUNT,
            "pAPIAccessList": CLIENT_ROLE,
            "pAllowedVPCEndpoints": ENDPOINT_ID,
        },
    )
    client = new_stack(state, CLIENT_STACK, CONSUMER_ACCOUNT, REGION)
    client.update(
        status="CREATE_COMPLETE",
        template_hash="seeded",
        parameters={
            **client["parameters"],
            "pAPIHost": API_HOST,
            "pAPIAccountID": PROVIDER_ACCOUNT,
            "pAPIRoleARN": API_ROLE if assume_role else "None",
        },
    )
    state["stacks"][f"{PROVIDER_ACCOUNT}/{BACKEND_STACK}"] = backend
    state["stacks"][f"{CONSUMER_ACCOUNT}/{CLIENT_STACK}"] = client
    for bucket, account, side in (
        (PROVIDER_BUCKET, PROVIDER_ACCOUNT, "api-backend"),
        (CONSUMER_BUCKET, CONSUMER_ACCOUNT, "api-client"),
    ):
        state["buckets"][bucket] = {
            "owner": account,
            "region": REGION,
            "objects": [[f"{side}/code", "v1"], [f"{side}/code", "v2"], [f"{side}/nested.template", "v1"]],
            "markers": [[f"{side}/old", "m1"]],
        }
