#!/usr/bin/env bash
# Deletes the consumer stack, then the provider stack, waiting for each; optionally empties and deletes the
# artifact buckets. Copes with VPC Lambda network interfaces that Lambda releases slowly (one retry).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); tests/scripts runs it with -x, which checks lib.sh too.
# shellcheck source=scripts/lib.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/lib.sh"

readonly TOTAL_STEPS=4
# Overridable for impatient people and for the tests; the defaults allow for slow ENI release.
readonly POLL_SECONDS="${DESTROY_POLL_SECONDS:-15}"
readonly TIMEOUT_SECONDS="${DESTROY_TIMEOUT_SECONDS:-3600}"
readonly RETRY_DELAY_SECONDS="${DESTROY_RETRY_DELAY_SECONDS:-120}"
readonly DELETE_ATTEMPTS=2
readonly PROGRESS_EVERY_POLLS=8

usage() {
  cat <<USAGE
Usage: $(basename "$0") [options] <consumer-profile> <provider-profile>

Delete stack <prefix>-client (consumer account), then <prefix>-backend (provider account).

Options:
  --region REGION       region of both stacks (default: the profiles' region, which must match)
  --stack-prefix NAME   stack and bucket name prefix (default: ${DEFAULT_STACK_PREFIX})
  --delete-buckets      also empty (all versions) and delete the artifact buckets
  -y, --yes             do not ask for confirmation (required when stdin is not a terminal)
  -h, --help            show this help

Environment:
  DESTROY_POLL_SECONDS (${POLL_SECONDS}), DESTROY_TIMEOUT_SECONDS (${TIMEOUT_SECONDS}) per attempt,
  DESTROY_RETRY_DELAY_SECONDS (${RETRY_DELAY_SECONDS}) before the retry after DELETE_FAILED.
USAGE
}

validate_settings() {
  local name value
  for name in DESTROY_POLL_SECONDS DESTROY_TIMEOUT_SECONDS DESTROY_RETRY_DELAY_SECONDS; do
    value="${!name:-0}"
    [[ "$value" =~ ^[0-9]+$ ]] || usage_error "${name} must be a whole number of seconds, got '${value}'"
  done
}

# Asks before deleting, unless --yes; refuses to guess when nobody can answer.
confirm_destruction() {
  local assume_yes="$1" answer
  if [[ "$assume_yes" == "true" ]]; then
    return 0
  fi
  if [[ ! -t 0 ]]; then
    usage_error "not deleting without confirmation: stdin is not a terminal, pass --yes"
  fi
  read -r -p "Delete the stacks above? Type 'yes' to continue: " answer
  [[ "$answer" == "yes" ]] || die "cancelled; nothing was deleted"
}

# Stack ARN, or nothing when the stack does not exist. Polling by ARN still works once it is deleted.
stack_id() {
  local profile="$1" region="$2" stack="$3" err="${WORK_DIR}/stack-id.err" id
  if id="$(aws cloudformation describe-stacks --stack-name "$stack" --profile "$profile" --region "$region" \
    --query 'Stacks[0].StackId' --output text 2>"$err")"; then
    printf '%s\n' "$id"
  elif ! grep -q 'does not exist' "$err"; then
    die "cannot describe stack ${stack}: $(tr '\n' ' ' <"$err")"
  fi
}

# Returns 0 on DELETE_COMPLETE, 1 on DELETE_FAILED, 2 on timeout, 3 when the status cannot be read.
wait_for_delete() {
  local profile="$1" region="$2" stack_arn="$3" started=$SECONDS polls=0
  local deadline=$((SECONDS + TIMEOUT_SECONDS)) status previous=""
  while :; do
    status="$(stack_status "$profile" "$region" "$stack_arn")" || return 3
    case "$status" in
      DELETE_COMPLETE | NONE) return 0 ;;
      DELETE_FAILED) return 1 ;;
      *) ;;
    esac
    if [[ "$status" != "$previous" ]] || ((polls % PROGRESS_EVERY_POLLS == 0)); then
      log_info "${status} ($(format_duration "$((SECONDS - started))") elapsed)"
      previous="$status"
    fi
    ((SECONDS < deadline)) || return 2
    polls=$((polls + 1))
    sleep "$POLL_SECONDS"
  done
}

# Deletes one stack and waits; after DELETE_FAILED explains, waits and tries once more.
delete_stack_and_wait() {
  local profile="$1" region="$2" stack="$3" arn attempt started result
  arn="$(stack_id "$profile" "$region" "$stack")"
  if [[ -z "$arn" ]]; then
    log_info "stack ${stack} does not exist for profile '${profile}': nothing to delete"
    return 0
  fi
  for ((attempt = 1; attempt <= DELETE_ATTEMPTS; attempt++)); do
    started="$(date +%s)"
    aws cloudformation delete-stack --stack-name "$arn" --profile "$profile" --region "$region"
    log_info "deleting ${stack} (attempt ${attempt}/${DELETE_ATTEMPTS}, waiting up to $(format_duration "$TIMEOUT_SECONDS"))"
    result=0
    wait_for_delete "$profile" "$region" "$arn" || result=$?
    case "$result" in
      0) log_info "deleted ${stack}"; return 0 ;;
      2) die "stack ${stack} is still deleting after $(format_duration "$TIMEOUT_SECONDS"); CloudFormation carries on without us: check the console, then re-run this script" ;;
      3) die "lost track of stack ${stack} while it was deleting" ;;
      *) ;;
    esac
    print_failed_events "$profile" "$region" "$arn" "$((started - EVENT_CLOCK_SLACK_SECONDS))"
    if ((attempt < DELETE_ATTEMPTS)); then
      log_warn "stack ${stack} is DELETE_FAILED. Usual cause: Lambda has not yet released the network interfaces of a VPC function, which blocks deleting its security group and subnets; Lambda releases them on its own, which can take many minutes. Retrying in ${RETRY_DELAY_SECONDS}s."
      sleep "$RETRY_DELAY_SECONDS"
    fi
  done
  die "stack ${stack} could not be deleted (reasons above). Wait for leftover network interfaces to go (aws ec2 describe-network-interfaces --filters Name=interface-type,Values=lambda --profile ${profile} --region ${region}) and re-run this script"
}

main() {
  local region_flag="" prefix="$DEFAULT_STACK_PREFIX" delete_buckets="false" assume_yes="false" positional=()
  while (($#)); do
    case "$1" in
      -h | --help) usage; exit 0 ;;
      --region) require_option_value "$1" "${2-}"; region_flag="$2"; shift 2 ;;
      --region=*) region_flag="${1#*=}"; shift ;;
      --stack-prefix) require_option_value "$1" "${2-}"; prefix="$2"; shift 2 ;;
      --stack-prefix=*) prefix="${1#*=}"; shift ;;
      --delete-buckets) delete_buckets="true"; shift ;;
      -y | --yes) assume_yes="true"; shift ;;
      -*) usage_error "unknown option: $1" ;;
      *) positional+=("$1"); shift ;;
    esac
  done
  ((${#positional[@]} == 2)) || usage_error "expected two arguments: <consumer-profile> <provider-profile>"
  validate_stack_prefix "$prefix"
  validate_settings
  [[ -z "$region_flag" ]] || validate_region "$region_flag"
  local consumer="${positional[0]}" provider="${positional[1]}" backend_stack client_stack
  backend_stack="$(backend_stack_name "$prefix")"
  client_stack="$(client_stack_name "$prefix")"

  init_script
  log_step 1 "$TOTAL_STEPS" "Preflight: tools, credentials, region"
  require_commands aws python3
  local region consumer_account provider_account consumer_bucket provider_bucket
  require_profiles "$consumer" "$provider"
  region="$(resolve_region "$region_flag" "$consumer" "$provider")"
  consumer_account="$(caller_account "$consumer" "$region")"
  provider_account="$(caller_account "$provider" "$region")"
  consumer_bucket="$(artifact_bucket_name "$prefix" "$consumer_account" "$region")"
  provider_bucket="$(artifact_bucket_name "$prefix" "$provider_account" "$region")"
  log_info "will delete stack ${client_stack} (account ${consumer_account}, profile '${consumer}', ${region})"
  log_info "will delete stack ${backend_stack} (account ${provider_account}, profile '${provider}', ${region})"
  # Both profiles in one account share one bucket: name it once.
  local buckets="s3://${consumer_bucket}"
  if [[ "$provider_bucket" != "$consumer_bucket" ]]; then
    buckets+=" and s3://${provider_bucket}"
  fi
  if [[ "$delete_buckets" == "true" ]]; then
    log_info "will empty and delete ${buckets}"
  fi
  confirm_destruction "$assume_yes"

  log_step 2 "$TOTAL_STEPS" "Delete consumer stack ${client_stack}"
  delete_stack_and_wait "$consumer" "$region" "$client_stack"

  log_step 3 "$TOTAL_STEPS" "Delete provider stack ${backend_stack}"
  delete_stack_and_wait "$provider" "$region" "$backend_stack"

  log_step 4 "$TOTAL_STEPS" "Artifact buckets"
  if [[ "$delete_buckets" == "true" ]]; then
    empty_and_delete_bucket "$consumer" "$region" "$consumer_bucket" "$consumer_account"
    if [[ "$provider_bucket" != "$consumer_bucket" ]]; then
      empty_and_delete_bucket "$provider" "$region" "$provider_bucket" "$provider_account"
    fi
  else
    log_info "kept ${buckets} (pass --delete-buckets to remove them)"
  fi
  log_done
}

main "$@"
