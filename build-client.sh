#!/usr/bin/env bash
# Builds the consumer side: stages api-client/src with its pinned dependencies for Lambda (python3.14, arm64),
# zips it reproducibly and packages api-client.yaml and vpc-api-client.yaml into *-deploy.yaml via S3.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); make lint runs it with -x, which checks lib.sh too.
# shellcheck source=scripts/lib.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/lib.sh"

readonly SIDE="${CLIENT_SIDE}"

usage() {
  build_usage "$SIDE" "API consumer"
}

main() {
  build_main "$SIDE" "$@"
}

main "$@"
