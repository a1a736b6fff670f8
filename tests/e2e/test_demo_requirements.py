"""`make demo` installs requirements-demo.txt only: it must hold everything the demo imports when it runs."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import json
import re
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[2]
# What `python -m venv` puts into every venv before any requirements file is read.
_SEEDED = {"pip", "setuptools"}
# Imported inside try/except only when installed (the dev venv has them through aws-sam-cli, moto[server], ...):
# the demo runs without them, as a run in a venv holding requirements-demo.txt alone shows.
_OPTIONAL = {
    "awscrt": "botocore.compat uses the CRT signer when present",
    "pyopenssl": "botocore.httpsession tries urllib3.contrib.pyopenssl",
    "jsonpointer": "jsonschema's json-pointer format checker",
    "rfc3339-validator": "jsonschema's date-time format checker",
}

_RUN_DEMO = """
import contextlib, io, json, sys
sys.path.insert(0, {repo!r})
from emulation.demo.run import main
with contextlib.redirect_stdout(io.StringIO()):
    status = main(["--seed", "5"])
print(json.dumps({{"status": status, "modules": sorted({{name.split(".")[0] for name in sys.modules}})}}))
"""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(path: Path) -> list[Requirement]:
    found: list[Requirement] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            found += _requirements(path.parent / line[3:].strip())
        else:
            found.append(Requirement(line))
    return found


def _closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution pip installs for these requirements (markers evaluated here, extras followed)."""
    seen: set[str] = set()
    pending = [(requirement, frozenset(requirement.extras)) for requirement in requirements]
    while pending:
        requirement, extras = pending.pop()
        name = _canonical(requirement.name)
        if name in seen and not extras:
            continue
        seen.add(name)
        for text in metadata.requires(requirement.name) or []:
            child = Requirement(text)
            environments = [{"extra": extra} for extra in extras] or [{"extra": ""}]
            if child.marker is None or any(child.marker.evaluate(env) for env in environments):
                pending.append((child, frozenset(child.extras)))
    return seen


def _distributions(modules: set[str]) -> set[str]:
    owners = metadata.packages_distributions()
    return {_canonical(dist) for module in modules for dist in owners.get(module, [])} - _SEEDED - set(_OPTIONAL)


def _lambda_code_imports() -> set[str]:
    """Top-level modules the Lambda code imports (it runs in the demo's sandboxes, child processes)."""
    modules: set[str] = set()
    for source in [*REPO.glob("api-backend/src/**/*.py"), *REPO.glob("api-client/src/**/*.py")]:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    return modules


def test_demo_requirements_hold_every_distribution_the_demo_imports() -> None:
    # GIVEN the distributions requirements-demo.txt installs, with their dependencies
    installed = _closure(_requirements(REPO / "requirements-demo.txt"))
    # WHEN the demo runs (in its own interpreter) and the Lambda code it starts is read
    done = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", _RUN_DEMO.format(repo=str(REPO))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["status"] == 0, result
    imported = _distributions(set(result["modules"]) | _lambda_code_imports())
    # THEN each of them comes with requirements-demo.txt
    assert sorted(imported - installed) == [], sorted(imported - installed)


def test_demo_requirements_leave_out_the_test_toolchain() -> None:
    # GIVEN what requirements-demo.txt installs
    installed = _closure(_requirements(REPO / "requirements-demo.txt"))
    # THEN none of the heavy test and lint tools comes with it
    heavy = {"aws-sam-cli", "cfn-lint", "schemathesis", "hypothesis", "pytest", "ruff", "bandit", "docker"}
    assert sorted(installed & heavy) == []


def test_dev_requirements_include_the_demo_requirements() -> None:
    # GIVEN the dev requirements (what `make test` installs)
    # THEN they install everything the demo needs, at the same pins
    demo = {str(requirement) for requirement in _requirements(REPO / "requirements-demo.txt")}
    dev = {str(requirement) for requirement in _requirements(REPO / "requirements-dev.txt")}
    assert sorted(demo - dev) == []
