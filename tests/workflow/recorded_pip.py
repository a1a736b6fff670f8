"""A recorded `pip` for the build tests: logs the install command and leaves in --target what an install leaves
(a package, its metadata, a compiled cache and a console script), without any network."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def option(argv: list[str], name: str) -> str:
    """The value after `name`, or "" when absent."""
    return argv[argv.index(name) + 1] if name in argv and argv.index(name) + 1 < len(argv) else ""


def main(argv: list[str]) -> int:
    """Record the call and install the stand-in dependency."""
    requirements = option(argv, "--requirement")
    wanted = Path(requirements).read_text().splitlines() if requirements else []
    log = os.environ.get("RECORDED_PIP_LOG")
    if log:
        entry = {"argv": argv, "requirements": [line for line in wanted if line.strip() and not line.startswith("#")]}
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")
    target = Path(option(argv, "--target"))
    (target / "fakedep" / "__pycache__").mkdir(parents=True, exist_ok=True)
    (target / "fakedep" / "__init__.py").write_text("VERSION = '1.0'\n")
    (target / "fakedep" / "__pycache__" / "__init__.cpython-314.pyc").write_bytes(b"\0")
    (target / "fakedep-1.0.dist-info").mkdir(exist_ok=True)
    (target / "fakedep-1.0.dist-info" / "METADATA").write_text("Name: fakedep\nVersion: 1.0\n")
    (target / "bin").mkdir(exist_ok=True)
    (target / "bin" / "fakedep").write_text("#!/usr/local/bin/python3\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
