#!/usr/bin/env bash
# Explains a 403 from the private API: reads both accounts' live configuration and checks, for each client function,
# every step of the request path (see docs/troubleshooting.md). The Python package diagnose/ does the work,
# including argument parsing, so this wrapper only finds an interpreter that has boto3 (and, for --demo, the dev
# packages that build the offline emulation).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
readonly VENV_PYTHON="${SCRIPT_DIR}/.venv/bin/python"

# The repository's .venv (make venv) when present, else any python3 that can import boto3.
find_python() {
  if [[ -x "$VENV_PYTHON" ]]; then
    printf '%s\n' "$VENV_PYTHON"
    return 0
  fi
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import boto3' >/dev/null 2>&1; then
    command -v python3
    return 0
  fi
  return 1
}

# --demo builds the broken deployments in moto with the SAM translator: dev packages a user's python3 lacks.
has_demo_packages() {
  "$1" -c 'import moto, samtranslator, cfnlint' >/dev/null 2>&1
}

main() {
  local python
  if [[ "${1:-}" == "--demo" ]] && ! { python="$(find_python)" && has_demo_packages "$python"; }; then
    printf 'ERROR: diagnose.sh --demo needs the dev packages (moto and the SAM translator): %s\n' \
      'run "make diagnose-demo" (it creates .venv), or "make venv" first' >&2
    exit 2
  fi
  if ! python="$(find_python)"; then
    printf 'ERROR: diagnose.sh needs python3 with boto3: run "make venv", or "python3 -m pip install boto3"\n' >&2
    exit 2
  fi
  # api-client/src: diagnose shares the client's names (client.names: the client kinds, the STS session name).
  PYTHONPATH="${SCRIPT_DIR}:${SCRIPT_DIR}/api-client/src${PYTHONPATH:+:${PYTHONPATH}}" exec "$python" -m diagnose "$@"
}

main "$@"
