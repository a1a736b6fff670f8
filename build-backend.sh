#!/usr/bin/env bash
# Builds the provider side: stages api-backend/src with its pinned dependencies for Lambda (python3.14, arm64),
# zips it reproducibly and packages api-backend.yaml and vpc-api-backend.yaml into *-deploy.yaml via S3.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); make lint runs it with -x, which checks lib.sh too.
# shellcheck source=scripts/lib.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/lib.sh"

readonly SIDE="${BACKEND_SIDE}"

usage() {
  build_usage "$SIDE" "API provider"
}

main() {
  build_main "$SIDE" "$@"
}

main "$@"
