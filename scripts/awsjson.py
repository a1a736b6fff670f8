"""Reads AWS CLI JSON for the shell scripts still in bash: stack outputs and Lambda results (invoke.sh)."""

# Runs under the user's python3 (any 3.8+), so: standard library only, no 3.10+ syntax at runtime.
from __future__ import annotations

import argparse
import base64
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

EXIT_MISSING = 3
LOG_TAIL_LINES = 20


def read_json_stdin() -> Any:
    """Parse stdin as JSON; empty input counts as null."""
    text = sys.stdin.read().strip()
    return json.loads(text) if text else None


def cmd_output(args: argparse.Namespace) -> int:
    """Print one stack output's value from a describe-stacks Outputs list."""
    outputs = read_json_stdin() or []
    for output in outputs:
        if output.get("OutputKey") == args.key:
            print(output.get("OutputValue", ""))
            return 0
    return 0 if args.optional else EXIT_MISSING


def _decoded_log_tail(meta: dict[str, Any]) -> list[str]:
    encoded = meta.get("LogResult")
    if not encoded:
        return []
    text = base64.b64decode(encoded).decode("utf-8", errors="replace")
    return text.rstrip("\n").splitlines()[-LOG_TAIL_LINES:]


def _render_result(result: dict[str, Any]) -> dict[str, Any]:
    # error and hint are printed on their own lines after the response, so they are not repeated inside it.
    shown = {key: value for key, value in result.items() if key not in ("error", "hint")}
    body = shown.get("body")
    if isinstance(body, str):
        with contextlib.suppress(ValueError):  # not JSON: show the text as it came
            shown["body"] = json.loads(body)
    return shown


def cmd_lambda_result(args: argparse.Namespace) -> int:
    """Print a client function's answer; exit 0 only for a 2xx statusCode."""
    meta = json.loads(Path(args.meta).read_text() or "{}")
    raw = Path(args.response).read_text()
    if meta.get("FunctionError"):
        print(f"the function raised an error ({meta['FunctionError']}):")
        print(raw)
        for line in _decoded_log_tail(meta):
            print(f"  log: {line}")
        return 1
    try:
        result = json.loads(raw)
    except ValueError:
        result = None
    if not isinstance(result, dict):
        print(f"unexpected response (not a JSON object): {raw}")
        return 1
    print(json.dumps(_render_result(result), indent=2, sort_keys=True))
    for key in ("error", "hint"):
        if result.get(key):
            print(f"{key}: {result[key]}")
    status = result.get("statusCode")
    if not isinstance(status, int):
        print("the response has no integer statusCode")
        return 1
    return 0 if 200 <= status < 300 else 1


def cmd_is_json(_args: argparse.Namespace) -> int:
    """Exit 0 when stdin is one JSON document."""
    try:
        json.loads(sys.stdin.read())
    except ValueError as error:
        print(f"not valid JSON: {error}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Command line: one sub-command per question the scripts ask."""
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    output = commands.add_parser("output", help="value of one stack output (stdin: Outputs list)")
    output.add_argument("key")
    output.add_argument("--optional", action="store_true", help="print nothing instead of failing when absent")
    output.set_defaults(handler=cmd_output)

    lambda_result = commands.add_parser("lambda-result", help="show an aws lambda invoke result")
    lambda_result.add_argument("--meta", required=True, help="file with the invoke command's JSON output")
    lambda_result.add_argument("--response", required=True, help="file the function's response was written to")
    lambda_result.set_defaults(handler=cmd_lambda_result)

    is_json = commands.add_parser("is-json", help="validate stdin as JSON")
    is_json.set_defaults(handler=cmd_is_json)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
