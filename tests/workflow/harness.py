"""The workflow tests' world: two AWS accounts in one moto server, profiles for them in throw-away AWS config files,
a copy of the kit, and recorded `sam` and `pip` first on PATH.

Isolation: each cloud empties just its two accounts, never the whole of moto. moto's backends are per process,
shared with whatever else runs in this xdist worker (the e2e emulation's accounts above all), and a global reset
would wipe those too; the two account ids are used by no other test or emulation.

Accounts: moto serves many accounts at once and picks the account of a request from its access key when the key
belongs to an IAM user of that account (moto.iam.models.get_account_id_from). Each profile's credentials are such a
key, created in its account through the `x-moto-account-id` header, so boto3 and the recorded sam act in the
account of the profile they use, exactly as with real AWS.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from moto.core.base_backend import BackendDict, backend_lock

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
FIXTURES = HERE / "fixtures"
SCRIPTS = ("build-backend.sh", "build-client.sh", "deploy-all.sh", "invoke.sh", "destroy-all.sh")
KIT_FILES = (*SCRIPTS, "samconfig.toml", "requirements-powertools.txt")
SIDES = ("api-backend", "api-client")

CONSUMER = "consumer"
PROVIDER = "provider"
# Not the emulation's (emulation/accounts/plan.py) nor moto's default 123456789012: see the module docstring.
CONSUMER_ACCOUNT = "410000000001"
PROVIDER_ACCOUNT = "420000000002"
ACCOUNTS = {CONSUMER: CONSUMER_ACCOUNT, PROVIDER: PROVIDER_ACCOUNT}
PROFILES = (CONSUMER, PROVIDER)
REGION = "us-east-1"
SETUP_KEY = "AKIAWORKFLOWSETUP000"


@dataclass
class Result:
    """What one workflow command run in-process returned and printed."""

    returncode: int
    stdout: str
    stderr: str


def admin_client(url: str, service: str, account: str, region: str = REGION) -> Any:
    """A client acting in `account` regardless of its key (setup and inspection only)."""
    client = boto3.client(  # type: ignore[call-overload]
        service,
        region_name=region,
        endpoint_url=url,
        aws_access_key_id=SETUP_KEY,
        aws_secret_access_key="setup",
        config=Config(retries={"max_attempts": 1}),
    )

    def in_account(request: AWSRequest, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign", in_account)
    return client


@dataclass
class Cloud:
    """Two accounts in moto and the AWS config files whose profiles reach them."""

    url: str
    home: Path
    config_file: Path
    credentials_file: Path
    accounts: dict[str, str] = field(default_factory=dict)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)

    def client(self, service: str, profile: str, region: str = REGION) -> Any:
        """An administrator client of a profile's account."""
        return admin_client(self.url, service, self.accounts[profile], region)

    def bucket(self, profile: str) -> str:
        """The artifact bucket name deploy-all.sh derives for a profile's account (prefix private-api)."""
        return f"private-api-artifacts-{self.accounts[profile]}-{REGION}"

    def env(self) -> dict[str, str]:
        """What points boto3 (and sam) at these accounts."""
        return {
            "HOME": str(self.home),
            "AWS_ENDPOINT_URL": self.url,
            "AWS_CONFIG_FILE": str(self.config_file),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.credentials_file),
        }

    def write_profiles(self, regions: dict[str, str] | None = None) -> None:
        """Config and credentials files: one profile per account, each in its region (default: REGION)."""
        chosen = dict.fromkeys(PROFILES, REGION) | (regions or {})
        config = "".join(
            f"[profile {profile}]\n" + (f"region = {region}\n" if region else "") for profile, region in chosen.items()
        )
        self.config_file.write_text(config)
        self.credentials_file.write_text(
            "".join(
                f"[{profile}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
                for profile, (key, secret) in self.keys.items()
            )
        )


def reset_accounts(accounts: Iterable[str]) -> None:
    """Forget every resource of these accounts, in every service and region, and nothing else."""
    with backend_lock:
        for backends in list(BackendDict._instances):  # type: ignore[misc]  # as moto's own base_backend.py
            for account in accounts:
                if account in backends:
                    backends[account].reset()


def make_cloud(url: str, base: Path) -> Cloud:
    """The two accounts, emptied, with one administrator user each, whose key the profile of that account uses."""
    reset_accounts(ACCOUNTS.values())
    base.mkdir(parents=True, exist_ok=True)
    home = base / "home"
    home.mkdir(exist_ok=True)
    cloud = Cloud(url=url, home=home, config_file=base / "aws-config", credentials_file=base / "aws-credentials")
    cloud.accounts = dict(ACCOUNTS)
    for profile, account in cloud.accounts.items():
        iam = admin_client(url, "iam", account)
        iam.create_user(UserName="admin")
        key = iam.create_access_key(UserName="admin")["AccessKey"]
        cloud.keys[profile] = (key["AccessKeyId"], key["SecretAccessKey"])
    cloud.write_profiles()
    return cloud


def write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def clean_environment() -> dict[str, str]:
    """The caller's environment without anything that would point the tools at a real account."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "SAM_", "PIP", "DESTROY_", "DEPLOY_", "RECORDED_"))
        and key not in ("NO_COLOR", "PYTHONPATH")
    }


def install_recorded_tools(bin_dir: Path) -> None:
    """Recorded sam and pip, and a python3 that is this interpreter (it has boto3), first on PATH."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool, module in (("sam", "recorded_sam"), ("pip", "recorded_pip")):
        write_executable(
            bin_dir / tool,
            f"#!{sys.executable}\nimport sys\nsys.path.insert(0, {str(HERE)!r})\n"
            f"from {module} import main\nsys.exit(main(sys.argv[1:]))\n",
        )
    write_executable(bin_dir / "python3", f'#!/bin/sh\nexec {sys.executable} "$@"\n')


def copy_kit(destination: Path, sides_from: Path = FIXTURES) -> Path:
    """The wrappers, the workflow package and two sides (fixtures or the real ones) in a fresh directory."""
    destination.mkdir(parents=True)
    for name in KIT_FILES:
        shutil.copy2(REPO_ROOT / name, destination / name)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(REPO_ROOT / "scripts", destination / "scripts", ignore=ignore)
    shutil.copytree(REPO_ROOT / "workflow", destination / "workflow", ignore=ignore)
    for side in SIDES:
        shutil.copytree(
            sides_from / side,
            destination / side,
            ignore=shutil.ignore_patterns("__pycache__", "*-deploy.yaml", "build"),
        )
    # The wrappers' first choice of Python, as in a checkout after `make venv` (test_python_sh covers the others).
    if (REPO_ROOT / ".venv").exists():
        (destination / ".venv").symlink_to(REPO_ROOT / ".venv")
    return destination


@dataclass
class Kit:
    """A copy of the kit, the cloud it talks to, and the logs of the recorded tools."""

    root: Path
    base: Path
    cloud: Cloud
    env: dict[str, str]

    @property
    def sam_log(self) -> Path:
        return self.base / "sam.jsonl"

    @property
    def pip_log(self) -> Path:
        return self.base / "pip.jsonl"

    @property
    def control(self) -> Path:
        return self.base / "sam-control.json"

    def sam_calls(self, *prefix: str) -> list[dict[str, Any]]:
        """Recorded sam calls whose argv starts with prefix."""
        return _entries(self.sam_log, prefix)

    def pip_calls(self) -> list[dict[str, Any]]:
        """Recorded pip calls."""
        return _entries(self.pip_log, ())

    def set_outputs(self, outputs: dict[str, dict[str, str]]) -> None:
        """The Outputs the recorded sam gives each stack it deploys."""
        control = json.loads(self.control.read_text()) if self.control.exists() else {}
        control["outputs"] = outputs
        self.control.write_text(json.dumps(control))

    def run(
        self, script: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run a top-level script from outside the kit (scripts must not depend on the working directory)."""
        return subprocess.run(  # noqa: S603 - runs this repo's own scripts
            [str(self.root / script), *args],
            cwd=self.base,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )


def _entries(path: Path, prefix: tuple[str, ...]) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    return [entry for entry in entries if entry["argv"][: len(prefix)] == list(prefix)]


def make_kit(base: Path, cloud: Cloud, sides_from: Path = FIXTURES) -> Kit:
    """A kit copy under base with recorded sam/pip first on PATH, talking to the cloud's two accounts."""
    root = copy_kit(base / "repo", sides_from)
    bin_dir = base / "bin"
    install_recorded_tools(bin_dir)
    env = {
        **clean_environment(),
        **cloud.env(),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "RECORDED_SAM_LOG": str(base / "sam.jsonl"),
        "RECORDED_PIP_LOG": str(base / "pip.jsonl"),
        "RECORDED_SAM_CONTROL": str(base / "sam-control.json"),
        "PIP": str(bin_dir / "pip"),
        "DESTROY_POLL_SECONDS": "0",
        "DESTROY_RETRY_DELAY_SECONDS": "0",
        "DEPLOY_RETRY_DELAY_SECONDS": "0",
    }
    return Kit(root=root, base=base, cloud=cloud, env=env)
