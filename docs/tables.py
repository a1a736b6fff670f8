"""Write the templates' parameter and output tables into the docs (`make docs`); `--check` reports drift instead.

A docs page asks for a table with a marker pair, e.g.::

    <!-- generated: parameters api-backend/api-backend.yaml -->
    <!-- end generated -->

and this tool replaces what lies between them with a Markdown table built from the template's own Parameters
(Type, Default, ConstraintDescription, Description) or Outputs (Condition, Description). An optional last word is a
regular expression the names must match, for a page about one feature (docs/mtls.md: `^p(EnableMtls|Mtls)`).
The templates are the one source: to change a row, change the template and run `make docs`. `tests/test_docs.py`
fails when a committed table differs from what this tool writes.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

# cfn-lint's own decoder (cfnrender/render.py's PyYAML loader is tested to read the templates the same way).
from cfnlint.decode import decode_str  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TEMPLATES = (
    "api-backend/api-backend.yaml",
    "api-backend/vpc-api-backend.yaml",
    "api-client/api-client.yaml",
    "api-client/vpc-api-client.yaml",
)
MARKER = re.compile(
    r"(<!-- generated: (parameters|outputs) (\S+)(?: (\S+))? -->\n)(.*?)(<!-- end generated -->)",
    flags=re.DOTALL,
)


def load(template: str) -> dict[str, Any]:
    """The template as plain dicts (short-form tags such as !Ref included)."""
    parsed, problems = decode_str((ROOT / template).read_text(encoding="utf-8"))
    if parsed is None:
        raise SystemExit(f"{template}: cannot parse: {[str(p) for p in problems or []]}")
    result: dict[str, Any] = json.loads(json.dumps(parsed))
    return result


def _cell(text: object) -> str:
    """One Markdown table cell: pipes escaped, one line."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _code(text: object) -> str:
    return f"`{_cell(text)}`"


def _selected(section: dict[str, Any], names: str | None) -> list[tuple[str, Any]]:
    """The section's entries in template order, only those whose name matches `names` when given."""
    return [(name, spec) for name, spec in section.items() if names is None or re.search(names, name)]


def parameters_table(template: dict[str, Any], names: str | None = None) -> str:
    rows = ["| Parameter | Type | Default | Allowed | Description |", "|---|---|---|---|---|"]
    for name, spec in _selected(template.get("Parameters", {}), names):
        if "Default" not in spec:
            default = "(required)"
        elif spec["Default"] == "":
            default = "(empty)"
        else:
            default = _code(spec["Default"])
        rows.append(
            f"| {_code(name)} | {_code(spec.get('Type', ''))} | {default} | "
            f"{_cell(spec.get('ConstraintDescription', ''))} | {_cell(spec.get('Description', ''))} |"
        )
    return "\n".join(rows) + "\n"


def outputs_table(template: dict[str, Any], names: str | None = None) -> str:
    rows = ["| Output | Exists | Description |", "|---|---|---|"]
    for name, spec in _selected(template.get("Outputs", {}), names):
        condition = spec.get("Condition")
        exists = f"when `{condition}`" if condition else "always"
        rows.append(f"| {_code(name)} | {exists} | {_cell(spec.get('Description', ''))} |")
    return "\n".join(rows) + "\n"


def render(text: str, where: str) -> str:
    """The page with every generated block rewritten from its template."""

    def block(match: re.Match[str]) -> str:
        kind, template, names = match.group(2), match.group(3), match.group(4)
        if template not in TEMPLATES:
            raise SystemExit(f"{where}: unknown template {template!r} in a generated marker")
        loaded = load(template)
        table = parameters_table(loaded, names) if kind == "parameters" else outputs_table(loaded, names)
        return f"{match.group(1)}{table}{match.group(6)}"

    return MARKER.sub(block, text)


def pages() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if MARKER.search(p.read_text(encoding="utf-8")))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 and name the pages whose tables are stale")
    args = parser.parse_args(argv)
    stale = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        new = render(text, str(page.relative_to(ROOT)))
        if new != text:
            stale.append(str(page.relative_to(ROOT)))
            if not args.check:
                page.write_text(new, encoding="utf-8")
    if args.check and stale:
        print(f"stale generated tables in {', '.join(stale)}: run make docs", file=sys.stderr)
        return 1
    for name in stale:
        print(f"rewrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
