"""Spread tests over xdist workers without building a shared fixture on every worker (`--dist loadgroup`).

A worker builds a module- or session-scoped fixture once for the tests it runs; spread by test (`--dist load`), every
worker would build every such fixture its share of tests touches: a demo run (~20 s), the generated-input run
(~1 min), a whole two-account emulation (~10 s of CPU). Tests sharing one get an `xdist_group`, and loadgroup runs a
group on one worker, so each is built once per run.
"""

from __future__ import annotations

import pytest

# Session fixtures whose setup starts a whole emulation (moto, STS front, gateway, Lambda sandboxes), by the folder
# whose conftest defines them. Cheap session fixtures (a CA, a table definition) are left alone: grouping them would
# only take their tests' parallelism away.
EMULATION_SESSIONS = frozenset({"tests/e2e", "tests/security"})


def xdist_group_of(item: pytest.Item) -> str | None:
    """The group of a test: its module when it uses a module-scoped fixture of ours, else the folder of an emulation
    session fixture it uses, else none (the test goes to whichever worker is free)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:  # not a Python test function (none here today)
        return None
    # The active definition of each name is the last one (a module's own `env` overrides its folder's).
    active = [definitions[-1] for definitions in info.name2fixturedefs.values() if definitions]
    ours = [d for d in active if d.baseid.startswith("tests/")]
    modules = sorted(d.argname for d in ours if d.scope == "module")
    if modules:
        # One instance of a parametrized module fixture per parameter: a group each, so they can run side by side.
        indices = getattr(getattr(item, "callspec", None), "indices", {})
        instance = ",".join(f"{name}[{indices[name]}]" for name in modules if name in indices)
        return item.nodeid.split("::", 1)[0] + (f"::{instance}" if instance else "")
    sessions = sorted({d.baseid for d in ours if d.scope == "session"} & EMULATION_SESSIONS)
    return sessions[0] if sessions else None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test sharing an expensive fixture with its group (read by xdist's loadgroup scheduling)."""
    for item in items:
        group = xdist_group_of(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
