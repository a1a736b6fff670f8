"""The layout map of CONTRIBUTING.md, enforced: each folder imports only the first-party packages it may."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = {
    "backend",
    "endpoint_targets",
    "client",
    "iampolicy",
    "cfnrender",
    "emulation",
    "diagnose",
    "bench",
    "workflow",
    "tests",
}

# folder -> first-party packages (or sub-packages) its modules may import; anything absent is refused.
# The most specific folder wins. Must match the table at the top of CONTRIBUTING.md.
ALLOWED: dict[str, set[str]] = {
    "api-backend/src/backend": {"backend"},
    "api-backend/src/endpoint_targets": {"endpoint_targets"},
    "api-client/src/client": {"client"},
    "iampolicy": {"iampolicy"},
    "cfnrender": {"cfnrender"},
    "emulation/gateway": {"emulation.gateway", "iampolicy"},
    "emulation/sts": {"emulation.sts", "emulation.gateway", "iampolicy"},
    "emulation/lambdas": {"emulation.lambdas"},
    "emulation/alb": {"emulation.alb"},
    "emulation/accounts": {
        "emulation.accounts",
        "emulation.gateway",
        "emulation.sts",
        "emulation.lambdas",
        "emulation.alb",
        "cfnrender",
        "iampolicy",
        "client.names",
    },
    "emulation/demo": {"emulation", "cfnrender", "iampolicy", "client.names"},
    # "No certificate" runs the certificate client's own Invoker without one (the client cannot start without it).
    "emulation/demo/certificate.py": {
        "emulation",
        "cfnrender",
        "iampolicy",
        "client.names",
        "client.config",
        "client.invoke",
    },
    "emulation": {"emulation"},
    "diagnose": {"diagnose", "iampolicy", "client.names"},
    "diagnose/demo.py": {"diagnose", "iampolicy", "client.names", "emulation.demo"},
    "bench": {"bench", "emulation", "workflow"},
    "workflow": {"workflow"},
    "samlocal": {"samlocal", "emulation", "cfnrender", "backend", "client.names"},
    "docs": set(),
}
# Third-party packages a folder must not import, whatever the first-party rules say.
FORBIDDEN_THIRD_PARTY: dict[str, set[str]] = {
    "iampolicy": {"moto", "boto3", "botocore", "samtranslator", "cfnlint", "yaml"},
    "cfnrender": {"moto"},
    "diagnose": {"moto", "samtranslator", "cfnlint"},
    "diagnose/demo.py": set(),  # --demo builds broken deployments in moto
}


def _rule_for(relative: str, table: dict[str, set[str]]) -> set[str] | None:
    matches = [key for key in table if relative == key or relative.startswith(key + "/")]
    return table[max(matches, key=len)] if matches else None


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from emulation import gateway` imports the sub-package emulation.gateway.
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
    return found


def _permitted(module: str, allowed: set[str]) -> bool:
    return any(module == entry or module.startswith(entry + ".") for entry in allowed)


def _sources() -> list[Path]:
    return sorted(
        path
        for folder in {key.split("/src/")[0] + "/src" if "/src/" in key else key.split("/")[0] for key in ALLOWED}
        for path in (ROOT / folder).rglob("*.py")
        if ".venv" not in path.parts
    )


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_imports_only_what_the_layout_map_allows(path: Path) -> None:
    # GIVEN a module of a mapped folder and that folder's rule
    relative = str(path.relative_to(ROOT))
    allowed = _rule_for(relative, ALLOWED)
    assert allowed is not None, f"{relative} is in no folder of the layout map"
    forbidden = _rule_for(relative, FORBIDDEN_THIRD_PARTY) or set()
    # WHEN its imports are read
    imports = _imported_modules(path)
    # THEN each first-party import is one its folder may make, and no forbidden third-party package is imported
    wrong = [
        f"line {line}: {module}"
        for line, module in imports
        if (module.split(".")[0] in FIRST_PARTY and not _permitted(module, allowed))
        or module.split(".")[0] in forbidden
    ]
    assert not wrong, f"{relative} imports across the layout map: {wrong}"


def test_layout_map_refuses_an_import_against_the_direction(tmp_path: Path) -> None:
    # GIVEN a gateway module that reaches up into the accounts (the direction the map forbids)
    module = tmp_path / "bad.py"
    module.write_text("from emulation.accounts.two_accounts import TwoAccounts\nimport iampolicy.policy\n")
    allowed = _rule_for("emulation/gateway/bad.py", ALLOWED)
    assert allowed is not None
    # WHEN its imports are checked THEN only the upward one is refused
    refused = [m for _, m in _imported_modules(module) if not _permitted(m, allowed)]
    assert refused == ["emulation.accounts.two_accounts", "emulation.accounts.two_accounts.TwoAccounts"]
