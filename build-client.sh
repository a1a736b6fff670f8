#!/usr/bin/env bash
# Builds the consumer side: stages api-client/src with its pinned dependencies for Lambda (python3.14, arm64),
# zips it reproducibly and packages api-client.yaml and vpc-api-client.yaml into *-deploy.yaml via S3.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); tests/scripts runs it with -x, which checks lib.sh too.
# shellcheck source=scripts/lib.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/lib.sh"

readonly SIDE="${CLIENT_SIDE}"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [--profile PROFILE] [--region REGION] <s3-bucket>

Build and package the API consumer (${SIDE}) for deployment.
Writes ${SIDE}/${SIDE}-deploy.yaml and ${SIDE}/vpc-${SIDE}-deploy.yaml; the code zip and the nested
template are uploaded to <s3-bucket>, which must be in the region you deploy to.

Options:
  --profile PROFILE   AWS CLI profile for the upload (default: the CLI's default credentials)
  --region REGION     region of the bucket (default: the profile's region)
  -h, --help          show this help

Environment:
  PIP                 pip command to run (default: "python3 -m pip")
USAGE
}

main() {
  build_main "$SIDE" "$@"
}

main "$@"
