"""The docs stay true: generated tables match the templates, and every link between the pages lands."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TEMPLATES = (
    "api-backend/api-backend.yaml",
    "api-backend/vpc-api-backend.yaml",
    "api-client/api-client.yaml",
    "api-client/vpc-api-client.yaml",
)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _outside_code(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.DOTALL)


def _anchors(page: Path) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", _outside_code(page.read_text(encoding="utf-8")), re.M)}


def test_generated_tables_match_the_templates() -> None:
    # GIVEN the committed docs pages WHEN the generator checks them (make docs would rewrite them)
    result = subprocess.run(
        [sys.executable, "docs/tables.py", "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    # THEN nothing is stale
    assert result.returncode == 0, result.stderr


def test_every_template_has_its_parameter_and_output_tables() -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    wanted = {f"<!-- generated: {kind} {t} -->" for kind in ("parameters", "outputs") for t in TEMPLATES}
    assert sorted(m for m in wanted if m not in text) == []


def test_generated_table_lists_every_parameter() -> None:
    # A table row per parameter of the template, named as the template names it
    page = (DOCS / "provider.md").read_text(encoding="utf-8")
    block = page.split("<!-- generated: parameters api-backend/api-backend.yaml -->")[1].split("<!-- end")[0]
    template = (ROOT / TEMPLATES[0]).read_text(encoding="utf-8")
    names = re.findall(r"^  (p[A-Za-z0-9]+):\n", template, flags=re.MULTILINE)
    assert names, "the template's parameters were found"
    rows = [re.match(r"\| `(\w+)`", row) for row in block.strip().splitlines()[2:]]
    assert [row.group(1) if row else None for row in rows] == names


def test_docs_links_land() -> None:
    # Every relative link in README.md, CONTRIBUTING.md and docs/*.md names an existing file, its #anchor a heading
    broken = []
    for page in [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]:
        for target in re.findall(r"\]\(([^)\s]+)\)", _outside_code(page.read_text(encoding="utf-8"))):
            if "://" in target or target.startswith("mailto:"):
                continue
            path, _, anchor = target.partition("#")
            dest = (page.parent / path) if path else page
            missing_anchor = bool(anchor) and dest.suffix == ".md" and dest.exists() and anchor not in _anchors(dest)
            if not dest.exists() or missing_anchor:
                broken.append(f"{page.name}: {target}")
    assert broken == []


def test_generated_table_with_a_name_pattern_lists_only_matching_names() -> None:
    # GIVEN a marker naming a pattern (docs/mtls.md lists only the certificate path's parameters)
    sys.path.insert(0, str(DOCS))  # docs/ is not a package: its tables.py is imported as a top-level module
    tables = importlib.import_module("tables")

    marker = "<!-- generated: parameters api-backend/api-backend.yaml ^pAPI(StageName|AccessList)$ -->"
    page = f"{marker}\nold\n<!-- end generated -->"
    # WHEN the table is rendered
    rendered = tables.render(page, "test")
    # THEN its rows are exactly the matching parameters of the template, in template order
    names = list(tables.load(TEMPLATES[0])["Parameters"])
    expected = [name for name in names if name in ("pAPIStageName", "pAPIAccessList")]
    assert expected, "the template names at least one of them"
    assert re.findall(r"^\| `(\w+)`", rendered, flags=re.M) == expected
    assert "old" not in rendered
