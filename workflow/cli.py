"""Dispatch of `python -m workflow COMMAND ...` to the command modules, each exposing main(argv) -> int."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from workflow.output import EXIT_USAGE

__all__ = ["COMMANDS", "main"]

# command -> module under workflow/. Imported on demand so one command never pays for another's imports.
COMMANDS: dict[str, str] = {
    "build": "workflow.build",
    "deploy-all": "workflow.deploy_all",
    "invoke": "workflow.invoke",
    "destroy-all": "workflow.destroy_all",
    "quotas": "workflow.quotas",
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command with the rest of the command line; exit 2 for a missing or unknown command."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in COMMANDS:
        given = f"unknown command '{args[0]}'" if args else "no command"
        print(f"ERROR: {given}; expected one of: {', '.join(COMMANDS)}", file=sys.stderr)
        return EXIT_USAGE
    module = importlib.import_module(COMMANDS[args[0]])
    status: int = module.main(args[1:])
    return status
