#!/usr/bin/env bash
# Builds the provider side: stages api-backend/src with its pinned dependencies for Lambda (python3.14, arm64),
# zips it reproducibly and packages api-backend.yaml and vpc-api-backend.yaml into *-deploy.yaml via S3.
# The Python package workflow/ does the work (python -m workflow build api-backend), options included.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); make lint runs it with -x, which checks python.sh too.
# shellcheck source=scripts/python.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/python.sh"

exec_python_module "$SCRIPT_DIR" workflow "$(basename "$0")" build api-backend "$@"
