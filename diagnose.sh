#!/usr/bin/env bash
# Explains a 403 from the private API: reads both accounts' live configuration and checks, for each client function,
# every step of the request path (see docs/troubleshooting.md). The Python package diagnose/ does the work,
# including argument parsing, so this wrapper only finds an interpreter that has boto3 (and, for --demo, the dev
# packages that build the offline emulation).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); make lint runs it with -x, which checks python.sh too.
# shellcheck source=scripts/python.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/python.sh"

# --demo builds the broken deployments in moto with the SAM translator: dev packages a user's python3 lacks.
has_demo_packages() {
  "$1" -c 'import moto, samtranslator, cfnlint' >/dev/null 2>&1
}

main() {
  local python
  if [[ "${1:-}" == "--demo" ]] && ! { python="$(find_python "$SCRIPT_DIR")" && has_demo_packages "$python"; }; then
    printf 'ERROR: diagnose.sh --demo needs the dev packages (moto and the SAM translator): %s\n' \
      'run "make diagnose-demo" (it creates .venv), or "make venv" first' >&2
    exit 2
  fi
  exec_python_module "$SCRIPT_DIR" diagnose "$(basename "$0")" "$@"
}

main "$@"
