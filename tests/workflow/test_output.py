"""What every command prints: steps, details, SUCCESS/FAILED, warnings, errors, colours, closing line, exit codes."""

from __future__ import annotations

import io

import pytest

from workflow.output import EXIT_USAGE, Fatal, Output, ShowHelp, Steps, UsageError, format_duration, run


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def output(
    stdout: io.StringIO | None = None, env: dict[str, str] | None = None, clock: list[float] | None = None
) -> Output:
    times = clock if clock is not None else [0.0]
    return Output(stdout=stdout or io.StringIO(), stderr=io.StringIO(), env=env or {}, clock=lambda: times[0])


def text(stream: object) -> str:
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


def test_output_steps_number_themselves_and_details_are_indented() -> None:
    # GIVEN a two-step run
    out = output()
    steps = Steps(out, 2)
    # WHEN both steps start, each with a detail
    steps.start("Preflight")
    out.info("region us-east-1")
    steps.start("Deploy")
    # THEN the steps are numbered in order and details indented six spaces
    assert text(out.stdout) == "[1/2] Preflight\n      region us-east-1\n[2/2] Deploy\n"
    assert out.current_step == "[2/2] Deploy"


def test_output_results_warnings_and_errors_have_their_words_and_streams() -> None:
    # GIVEN no terminal
    out = output()
    # WHEN each kind of line is printed
    out.success("direct")
    out.failure("assume-role")
    out.warn("careful")
    out.error("broken")
    # THEN results go to stdout, warnings and errors to stderr, all without escape sequences
    assert text(out.stdout) == "SUCCESS direct\nFAILED assume-role\n"
    assert text(out.stderr) == "WARNING: careful\nERROR: broken\n"


def test_output_on_terminal_is_coloured() -> None:
    # GIVEN a terminal and no NO_COLOR
    out = output(stdout=Terminal(), env={"TERM": "xterm"})
    # WHEN a step and a result are printed
    out.step(1, 1, "Build")
    out.success("ok")
    # THEN the step is bold and SUCCESS green
    assert text(out.stdout) == "\033[1m[1/1] Build\033[0m\n\033[32mSUCCESS\033[0m ok\n"


@pytest.mark.parametrize("env", [{"NO_COLOR": "1", "TERM": "xterm"}, {"TERM": "dumb"}])
def test_output_on_terminal_with_no_color_or_dumb_term_is_plain(env: dict[str, str]) -> None:
    # GIVEN a terminal but NO_COLOR set, or a dumb terminal
    out = output(stdout=Terminal(), env=env)
    # WHEN a result is printed
    out.failure("x")
    # THEN it carries no escape sequence
    assert text(out.stdout) == "FAILED x\n"


@pytest.mark.parametrize(("seconds", "expected"), [(0, "0m00s"), (65, "1m05s"), (3600.9, "60m00s")])
def test_format_duration_minutes_and_two_digit_seconds(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


def test_output_done_prints_duration_and_clears_the_step() -> None:
    # GIVEN a run 65 seconds into its last step
    clock = [100.0]
    out = output(clock=clock)
    out.step(1, 1, "Deploy")
    clock[0] = 165.0
    # WHEN it is done
    out.done()
    # THEN the closing line names the duration and no step is current any more
    assert text(out.stdout).endswith("\nDone in 1m05s.\n")
    assert out.current_step == ""


def test_run_fatal_inside_a_step_names_the_step_and_exits_1() -> None:
    # GIVEN a body that fails in step 2 of 3
    out = output()

    def body() -> int:
        out.step(2, 3, "Deploy provider")
        raise Fatal("sam deploy failed")

    # WHEN it runs
    status = run(out, lambda: "Usage: x\n", body)
    # THEN the reason and the step go to stderr, exit 1
    assert status == 1
    assert text(out.stderr) == (
        "ERROR: sam deploy failed\nERROR: failed during step [2/3] Deploy provider (exit 1, after 0m00s)\n"
    )


def test_run_fatal_with_status_and_no_message_keeps_the_status() -> None:
    # GIVEN a body that stops with sam's exit status, sam having explained itself
    out = output()

    def body() -> int:
        raise Fatal(status=3)

    # WHEN it runs outside any step
    # THEN nothing more is printed and the status is kept
    assert run(out, lambda: "Usage: x\n", body) == 3
    assert text(out.stderr) == ""


def test_run_usage_error_prints_reason_and_usage_to_stderr_and_exits_2() -> None:
    # GIVEN a body rejecting its command line
    out = output()

    def body() -> int:
        raise UsageError("unknown option: --frobnicate")

    # WHEN it runs
    status = run(out, lambda: "Usage: invoke.sh [options]\n", body)
    # THEN exit 2, with the reason then the usage on stderr and nothing on stdout
    assert status == EXIT_USAGE
    assert text(out.stderr) == "ERROR: unknown option: --frobnicate\nUsage: invoke.sh [options]\n"
    assert text(out.stdout) == ""


def test_run_help_prints_usage_to_stdout_and_exits_0() -> None:
    # GIVEN a body asked for help
    out = output()

    def body() -> int:
        raise ShowHelp

    # WHEN it runs
    # THEN the usage goes to stdout only
    assert run(out, lambda: "Usage: invoke.sh\n", body) == 0
    assert text(out.stdout) == "Usage: invoke.sh\n"
    assert text(out.stderr) == ""


def test_run_returns_the_body_status() -> None:
    assert run(output(), lambda: "", lambda: 0) == 0
    assert run(output(), lambda: "", lambda: 1) == 1
