#!/usr/bin/env bash
# Deletes the consumer stack, then the provider stack, waiting for each; optionally empties and deletes the
# artifact buckets. Copes with VPC Lambda network interfaces that Lambda releases slowly (one retry).
# The Python package workflow/ does the work (workflow/destroy_all.py), including the command line.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); make lint runs it with -x, which checks python.sh too.
# shellcheck source=scripts/python.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/python.sh"

exec_python_module "$SCRIPT_DIR" workflow "$(basename "$0")" destroy-all "$@"
