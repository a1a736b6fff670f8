"""What a fresh interpreter has imported after importing one handler module: a Lambda init phase, offline."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def loaded_after_import(src: Path, module: str, env: Mapping[str, str]) -> set[str]:
    """sys.modules after `import module` in a new process with only `src` on the path and `env` set."""
    code = f"import sys, {module}; print('\\n'.join(sorted(sys.modules)))"
    full_env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(src), **env}
    command = [sys.executable, "-c", code]  # fixed module names from the tests, no outside input
    result = subprocess.run(command, env=full_env, capture_output=True, text=True, check=True)  # noqa: S603
    return set(result.stdout.split())
