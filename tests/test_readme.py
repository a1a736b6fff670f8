"""The README keeps its promises: the two set-up commands first, and every internal link lands on a heading."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _outside_code(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.DOTALL)


def test_readme_first_commands_are_make_demo_then_make_test():
    # GIVEN the README's first code block
    block = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert block is not None
    # THEN it holds exactly the two set-up commands, in that order
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_readme_internal_links_point_at_existing_headings():
    text = _outside_code(README.read_text(encoding="utf-8"))
    anchors = {_slug(h) for h in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE)}
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert links, "the README has a contents list"
    assert sorted(links - anchors) == []


def test_readme_local_file_links_exist():
    text = _outside_code(README.read_text(encoding="utf-8"))
    targets = {t.split("#")[0] for t in re.findall(r"\]\(([^)#][^)]*)\)", text) if "://" not in t}
    missing = sorted(t for t in targets if t and not (README.parent / t).exists())
    assert missing == []


def test_readme_is_at_most_250_lines() -> None:
    # A newcomer reads it in five minutes; everything else lives in docs/
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 250
