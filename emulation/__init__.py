"""Offline two-account emulation on moto: private API gateway, STS front, Lambda sandboxes, accounts, the demo."""

import sys
from pathlib import Path

# The emulation shares the client's names (client.names: the client kinds) and runs its package in sandboxes; make
# api-client/src importable however the emulation is started (make demo, python -m emulation.demo, python -m bench,
# diagnose.sh --demo), as pytest's pythonpath does for the tests.
_CLIENT_SOURCE = str(Path(__file__).resolve().parents[1] / "api-client" / "src")
if _CLIENT_SOURCE not in sys.path:
    sys.path.append(_CLIENT_SOURCE)
