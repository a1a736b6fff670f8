"""diagnose.sh --demo [CAUSE]: diagnose's real checks against one broken deployment built offline in moto.

Needs the dev packages (moto, the SAM translator): they are imported here, on demand, never by a normal run.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TextIO

from diagnose.checks import diagnose
from diagnose.results import EXIT_USAGE

__all__ = ["main"]

_HEADER = """\
Offline demo: two emulated accounts (moto) holding what the kit's templates deploy, broken one way; diagnose's own
checks read them as they would read real accounts. Nothing contacts AWS.
"""


def _listing() -> str:
    from emulation.demo.diagnose_world import CAUSES  # noqa: PLC0415 - dev packages, demo only

    rows = [f"  {cause.name:<24} {cause.summary}" for cause in CAUSES]
    return "\n".join([_HEADER, "Causes:", *rows, "", "Run one: ./diagnose.sh --demo CAUSE"]) + "\n"


def main(argv: Sequence[str], *, stdout: TextIO, stderr: TextIO, unicode: bool = True) -> int:
    """List the causes (no argument) or run diagnose against one; return diagnose's exit status."""
    # moto loads its EC2 AMI catalogue unless told not to: seconds for nothing here.
    os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    from moto import mock_aws  # noqa: PLC0415 - dev packages, demo only

    from diagnose.cli import gather  # noqa: PLC0415 - cli imports this module
    from diagnose.report import to_text  # noqa: PLC0415
    from emulation.demo.diagnose_world import REGION, build_broken, cause_named  # noqa: PLC0415

    if not argv:
        stdout.write(_listing())
        return 0
    cause = cause_named(argv[0]) if len(argv) == 1 else None
    if cause is None:
        stderr.write(f"ERROR: unknown demo cause '{' '.join(argv)}'\n{_listing()}")
        return EXIT_USAGE
    with mock_aws():
        world = build_broken(cause)
        collected = gather(
            world.consumer, world.provider, consumer_profile="consumer", provider_profile="provider", region=REGION
        )
    diagnosis = diagnose(collected)
    stdout.write(f"Demo: {cause.name}: {cause.summary}\n{_HEADER}\n")
    stdout.write(to_text(diagnosis, unicode=unicode))
    return diagnosis.exit_code
