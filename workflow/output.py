"""What the scripts print: colours, numbered steps, info/warning/error lines, the closing line, and the exit codes.

The text is exactly what the bash scripts printed (tests/workflow holds it): steps `[n/N] title` in bold, details
indented six spaces, `SUCCESS`/`FAILED` lines, `WARNING:`/`ERROR:` on stderr, and on a failure inside a step a last
`ERROR: failed during step [n/N] title (exit S, after 0m05s)`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

__all__ = [
    "EXIT_FAILURE",
    "EXIT_USAGE",
    "Fatal",
    "Output",
    "Palette",
    "ShowHelp",
    "Steps",
    "UsageError",
    "format_duration",
    "palette",
    "run",
]

EXIT_FAILURE = 1
EXIT_USAGE = 2
# A run interrupted with Ctrl-C exits as a shell would after SIGINT.
EXIT_INTERRUPTED = 130


class Fatal(Exception):
    """Stops the command: its message (if any) goes to stderr as ERROR, then the command exits with `status`."""

    def __init__(self, message: str | None = None, status: int = EXIT_FAILURE) -> None:
        super().__init__(message or "")
        self.message = message
        self.status = status


class UsageError(Exception):
    """A bad command line: the message and the usage go to stderr, exit 2."""


class ShowHelp(Exception):
    """-h/--help: the usage goes to stdout, exit 0."""


@dataclass(frozen=True)
class Palette:
    """ANSI sequences, all empty when colours are off."""

    red: str = ""
    green: str = ""
    yellow: str = ""
    bold: str = ""
    reset: str = ""


COLOURS = Palette(red="\033[31m", green="\033[32m", yellow="\033[33m", bold="\033[1m", reset="\033[0m")


def palette(stream: TextIO, env: Mapping[str, str]) -> Palette:
    """Colours only for a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    if stream.isatty() and not env.get("NO_COLOR") and env.get("TERM", "") != "dumb":
        return COLOURS
    return Palette()


def format_duration(seconds: float) -> str:
    """Whole seconds as "1m05s", for the closing line and step failures."""
    whole = int(seconds)
    return f"{whole // 60}m{whole % 60:02d}s"


class Output:
    """One command's printing: stdout for progress and results, stderr for warnings and errors."""

    def __init__(
        self,
        stdout: TextIO | None = None,
        stderr: TextIO | None = None,
        env: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        # Decided by stdout, as the scripts did ([[ -t 1 ]]), for both streams.
        self.colours = palette(self.stdout, os.environ if env is None else env)
        self.current_step = ""
        self._clock = clock
        self._started = clock()

    def elapsed(self) -> float:
        """Seconds since the command started."""
        return self._clock() - self._started

    def _out(self, text: str) -> None:
        print(text, file=self.stdout, flush=True)

    def _err(self, text: str) -> None:
        print(text, file=self.stderr, flush=True)

    def step(self, number: int, total: int, title: str) -> None:
        """`[n/N] title` in bold; a failure from here on names this step."""
        self.current_step = f"[{number}/{total}] {title}"
        self.heading(self.current_step)

    def heading(self, text: str) -> None:
        """A line in bold."""
        self._out(f"{self.colours.bold}{text}{self.colours.reset}")

    def line(self, text: str = "") -> None:
        """A plain line on stdout."""
        self._out(text)

    def info(self, text: str) -> None:
        """A detail of the current step, indented under it."""
        self._out(f"      {text}")

    def success(self, text: str) -> None:
        """`SUCCESS text`, green on a terminal."""
        self._out(f"{self.colours.green}SUCCESS{self.colours.reset} {text}")

    def failure(self, text: str) -> None:
        """`FAILED text`, red on a terminal (stdout: it is a result, not a crash)."""
        self._out(f"{self.colours.red}FAILED{self.colours.reset} {text}")

    def warn(self, text: str) -> None:
        """`WARNING: text` on stderr."""
        self._err(f"{self.colours.yellow}WARNING:{self.colours.reset} {text}")

    def error(self, text: str) -> None:
        """`ERROR: text` on stderr."""
        self._err(f"{self.colours.red}ERROR:{self.colours.reset} {text}")

    def done(self) -> None:
        """Closing line of a multi-step run; clears the step so a later exit has nothing to report."""
        self.current_step = ""
        self._out(f"\n{self.colours.green}Done in {format_duration(self.elapsed())}.{self.colours.reset}")

    def flush(self) -> None:
        """Flush both streams, before a subprocess writes to them too."""
        self.stdout.flush()
        self.stderr.flush()


class Steps:
    """Numbered progress: each start() prints the next `[n/total] title`."""

    def __init__(self, out: Output, total: int) -> None:
        self.out = out
        self.total = total
        self.number = 0

    def start(self, title: str) -> None:
        """Begin the next step."""
        self.number += 1
        self.out.step(self.number, self.total, title)


def run(out: Output, usage: Callable[[], str], body: Callable[[], int]) -> int:
    """Run a command's body and turn help, usage errors, fatal errors and AWS errors into output and an exit code."""
    status = EXIT_FAILURE
    try:
        status = body()
    except ShowHelp:
        out.stdout.write(usage())
        out.stdout.flush()
        return 0
    except UsageError as error:
        out.error(str(error))
        out.stderr.write(usage())
        out.stderr.flush()
        return EXIT_USAGE
    except Fatal as error:
        if error.message:
            out.error(error.message)
        status = error.status
    except (BotoCoreError, ClientError) as error:
        # What the AWS CLI printed for a call that set -e then stopped on.
        out.error(str(error))
        status = EXIT_FAILURE
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    # Exit 2 is a usage error, already explained; anything else names the step that failed.
    if status not in (0, EXIT_USAGE) and out.current_step:
        out.error(f"failed during step {out.current_step} (exit {status}, after {format_duration(out.elapsed())})")
    return status
