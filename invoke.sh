#!/usr/bin/env bash
# Invokes the consumer's client functions (direct and assume-role) and reports SUCCESS for a 2xx API answer.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); tests/scripts runs it with -x, which checks lib.sh too.
# shellcheck source=scripts/lib.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/lib.sh"

readonly DEFAULT_PAYLOAD='{}'
readonly DIRECT_OUTPUT="PythonDirectAuthClient"
readonly ASSUME_ROLE_OUTPUT="PythonAssumeRoleClient"
# The CLI must wait longer than the function can run: on a read timeout it re-sends Invoke, running it again.
# The margin covers a cold start's init phase (not part of the function timeout) and the network.
readonly READ_TIMEOUT_MARGIN_SECONDS=60
# Lambda's largest function timeout: the wait used when a function's own timeout cannot be read.
readonly LAMBDA_MAX_TIMEOUT_SECONDS=900

usage() {
  cat <<USAGE
Usage: $(basename "$0") [options] <consumer-profile>

Invoke the client functions of stack <prefix>-client and show what the private API answered.
Exits non-zero when any invoked client did not get a 2xx answer.

Options:
  --payload JSON        client event, e.g. '{"method": "GET", "path": "/"}' (default: ${DEFAULT_PAYLOAD})
  --region REGION       region of the stack (default: the profile's region)
  --stack-prefix NAME   stack name prefix (default: ${DEFAULT_STACK_PREFIX})
  -h, --help            show this help
USAGE
}

# Seconds the CLI may wait for one invoke: the function's configured timeout plus a margin.
invoke_read_timeout() {
  local profile="$1" region="$2" function_name="$3" err="${WORK_DIR}/configuration.err" timeout
  if timeout="$(aws lambda get-function-configuration --function-name "$function_name" \
    --profile "$profile" --region "$region" --query Timeout --output text 2>"$err")" && [[ "$timeout" =~ ^[0-9]+$ ]]; then
    printf '%s\n' "$((timeout + READ_TIMEOUT_MARGIN_SECONDS))"
    return 0
  fi
  log_warn "could not read the timeout of ${function_name}, waiting up to Lambda's maximum: $(tr '\n' ' ' <"$err")"
  printf '%s\n' "$((LAMBDA_MAX_TIMEOUT_SECONDS + READ_TIMEOUT_MARGIN_SECONDS))"
}

# Runs one client and prints its answer; returns 1 unless the API answered 2xx.
invoke_client() {
  local profile="$1" region="$2" label="$3" function_name="$4" payload_file="$5"
  local meta="${WORK_DIR}/${label}.meta.json" response="${WORK_DIR}/${label}.response.json"
  local err="${WORK_DIR}/${label}.err" read_timeout
  printf '\n%s== %s: %s ==%s\n' "$BOLD" "$label" "$function_name" "$RESET"
  read_timeout="$(invoke_read_timeout "$profile" "$region" "$function_name")"
  # fileb:// sends the JSON bytes as-is with AWS CLI v1 and v2 alike (v2 would base64-decode a literal).
  # AWS_MAX_ATTEMPTS=1 (all attempts, the first included): no retry can run a POST twice.
  if ! AWS_MAX_ATTEMPTS=1 aws lambda invoke --function-name "$function_name" --payload "fileb://${payload_file}" \
    --log-type Tail --cli-read-timeout "$read_timeout" \
    --profile "$profile" --region "$region" --output json "$response" >"$meta" 2>"$err"; then
    log_failure "${label}: aws lambda invoke failed: $(tr '\n' ' ' <"$err")"
    return 1
  fi
  if python3 "$JSON_TOOL" lambda-result --meta "$meta" --response "$response"; then
    log_success "${label}"
    return 0
  fi
  log_failure "${label}"
  return 1
}

main() {
  local payload="$DEFAULT_PAYLOAD" region_flag="" prefix="$DEFAULT_STACK_PREFIX" positional=()
  while (($#)); do
    case "$1" in
      -h | --help) usage; exit 0 ;;
      --payload) require_option_value "$1" "${2-}"; payload="$2"; shift 2 ;;
      --payload=*) payload="${1#*=}"; shift ;;
      --region) require_option_value "$1" "${2-}"; region_flag="$2"; shift 2 ;;
      --region=*) region_flag="${1#*=}"; shift ;;
      --stack-prefix) require_option_value "$1" "${2-}"; prefix="$2"; shift 2 ;;
      --stack-prefix=*) prefix="${1#*=}"; shift ;;
      -*) usage_error "unknown option: $1" ;;
      *) positional+=("$1"); shift ;;
    esac
  done
  ((${#positional[@]} == 1)) || usage_error "expected one argument: <consumer-profile>"
  validate_stack_prefix "$prefix"
  [[ -z "$region_flag" ]] || validate_region "$region_flag"
  local profile="${positional[0]}" stack
  stack="$(client_stack_name "$prefix")"

  init_script
  require_commands aws python3
  local payload_file="${WORK_DIR}/payload.json"
  printf '%s' "$payload" >"$payload_file"
  python3 "$JSON_TOOL" is-json <"$payload_file" || usage_error "--payload must be one JSON document"

  local region status outputs="${WORK_DIR}/outputs.json" direct assume failures=0
  require_profiles "$profile"
  region="$(resolve_region "$region_flag" "$profile")"
  status="$(stack_status "$profile" "$region" "$stack")"
  if [[ "$status" == "NONE" ]]; then
    die "no stack ${stack} for profile '${profile}' in ${region}; deploy it first with ./deploy-all.sh"
  fi
  fetch_stack_outputs "$profile" "$region" "$stack" "$outputs"
  direct="$(stack_output "$outputs" "$DIRECT_OUTPUT" "$stack")"
  assume="$(stack_output_optional "$outputs" "$ASSUME_ROLE_OUTPUT")"

  invoke_client "$profile" "$region" "$DIRECT_OUTPUT" "$direct" "$payload_file" || failures=$((failures + 1))
  if [[ -z "$assume" ]]; then
    printf '\n%s== %s ==%s\n' "$BOLD" "$ASSUME_ROLE_OUTPUT" "$RESET"
    log_info "not deployed (stack ${stack} has no ${ASSUME_ROLE_OUTPUT} output: it was deployed without pAPIRoleARN); skipped"
  else
    invoke_client "$profile" "$region" "$ASSUME_ROLE_OUTPUT" "$assume" "$payload_file" || failures=$((failures + 1))
  fi

  if ((failures > 0)); then
    printf '\n'
    log_error "${failures} client invocation(s) failed"
    log_info "for the cause and the fix, run: ./diagnose.sh ${profile} <provider profile>"
    exit 1
  fi
}

main "$@"
