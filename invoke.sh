#!/usr/bin/env bash
# Invokes the consumer's client functions (direct and assume-role) and reports SUCCESS for a 2xx API answer.
# The Python package workflow/ does the work (python -m workflow invoke), options included.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); make lint runs it with -x, which checks python.sh too.
# shellcheck source=scripts/python.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/python.sh"

exec_python_module "$SCRIPT_DIR" workflow "$(basename "$0")" invoke "$@"
