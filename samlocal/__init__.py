"""`make sam-local-test`: every function run by SAM CLI in a container against the offline emulation."""

import sys
from pathlib import Path

# The product's own code, as emulation/ imports it: the backend's repository seeds the item the fixed-id events
# name; the client's names say which handler is which kind.
for _side in ("api-backend", "api-client"):
    _src = str(Path(__file__).resolve().parents[1] / _side / "src")
    if _src not in sys.path:
        sys.path.append(_src)
