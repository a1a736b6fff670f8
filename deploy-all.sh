#!/usr/bin/env bash
# Deploys the provider (API) and the consumer (client) stacks into two accounts and wires them together:
# provider (letting in the consumer stack's current role and endpoint, or nobody) -> consumer pointed at the
# provider's API -> provider updated to let the consumer in, when that changed -> check that the live stage serves
# the new resource policy. Safe to re-run: the consumer is unchanged, the provider gets one new API deployment.
# The Python package workflow/ does the work (workflow/deploy_all.py), including the command line.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); make lint runs it with -x, which checks python.sh too.
# shellcheck source=scripts/python.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/python.sh"

exec_python_module "$SCRIPT_DIR" workflow "$(basename "$0")" deploy-all "$@"
