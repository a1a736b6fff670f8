# shellcheck shell=bash
# Shared helpers for the top-level scripts (build, deploy, invoke, destroy). Sourced, never run.
# Written for bash 3.2+ (macOS ships 3.2): no associative arrays, mapfile or ${var,,}, and
# possibly-empty arrays are expanded as ${a[@]+"${a[@]}"} because `set -u` trips on them in 3.2.

if [[ -n "${PRIVATE_API_LIB_LOADED:-}" ]]; then
  return 0
fi
readonly PRIVATE_API_LIB_LOADED=1
# No usage data from the SAM CLI for any sam call the scripts make (a caller's explicit setting is overridden too).
export SAM_CLI_TELEMETRY=0

LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly LIB_DIR
REPO_ROOT="$(cd "${LIB_DIR}/.." && pwd)"
readonly REPO_ROOT
readonly JSON_TOOL="${LIB_DIR}/awsjson.py"
readonly BUILD_TOOL="${LIB_DIR}/buildtool.py"
readonly QUOTAS_TOOL="${REPO_ROOT}/workflow/quotas.py"
# Pinned so every sam call ignores a stray samconfig.toml in the caller's directory.
readonly SAM_CONFIG_FILE="${REPO_ROOT}/samconfig.toml"
# shellcheck disable=SC2034  # used by the scripts that source this file
readonly DEFAULT_STACK_PREFIX="private-api" BACKEND_SIDE="api-backend" CLIENT_SIDE="api-client"
# Lambda target of every function: wheels are cross-installed for it, never for the build host.
readonly LAMBDA_PYTHON_VERSION="3.14"
readonly LAMBDA_PLATFORM="manylinux2014_aarch64"
# Powertools: the public layer's SSM parameter (the templates' default), or None when the zips carry it.
# shellcheck disable=SC2034  # used by deploy-all.sh
readonly DEFAULT_POWERTOOLS_LAYER="/aws/service/powertools/python/arm64/python3.14/latest"
readonly POWERTOOLS_REQUIREMENTS="${REPO_ROOT}/requirements-powertools.txt"
SAM_CAPABILITIES=(CAPABILITY_IAM CAPABILITY_NAMED_IAM CAPABILITY_AUTO_EXPAND)
readonly SAM_CAPABILITIES
# Stack events this much older than the step's start are from an earlier run; the slack absorbs clock skew.
readonly EVENT_CLOCK_SLACK_SECONDS=120
# IAM is eventually consistent: AWS::ApiGateway::Account can reject a role created moments earlier in the same
# stack with this reason. deploy_stack retries that failure once, after this many seconds (tests set 0).
readonly IAM_PROPAGATION_REASON="The role ARN does not have required permissions set to API Gateway"
readonly DEPLOY_RETRY_DELAY="${DEPLOY_RETRY_DELAY_SECONDS:-60}"

WORK_DIR=""
CURRENT_STEP=""
RED="" GREEN="" YELLOW="" BOLD="" RESET=""

# ---------------------------------------------------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------------------------------------------------

# Colours only for a terminal, and never when NO_COLOR is set (https://no-color.org).
init_colors() {
  if [[ -t 1 && -z "${NO_COLOR:-}" && "${TERM:-}" != "dumb" ]]; then
    RED=$'\033[31m' GREEN=$'\033[32m' YELLOW=$'\033[33m' BOLD=$'\033[1m' RESET=$'\033[0m'
  fi
}

log_step() {
  local number="$1" total="$2" title="$3"
  CURRENT_STEP="[${number}/${total}] ${title}"
  printf '%s%s%s\n' "$BOLD" "$CURRENT_STEP" "$RESET"
}

log_info() {
  printf '      %s\n' "$*"
}

log_success() {
  printf '%sSUCCESS%s %s\n' "$GREEN" "$RESET" "$*"
}

log_failure() {
  printf '%sFAILED%s %s\n' "$RED" "$RESET" "$*"
}

log_warn() {
  printf '%sWARNING:%s %s\n' "$YELLOW" "$RESET" "$*" >&2
}

log_error() {
  printf '%sERROR:%s %s\n' "$RED" "$RESET" "$*" >&2
}

die() {
  log_error "$*"
  exit 1
}

# Each script defines usage(); a bad command line prints it to stderr and exits 2.
usage_error() {
  log_error "$*"
  usage >&2
  exit 2
}

# Closing line of a multi-step run; clears the step so the exit handler has nothing to report.
log_done() {
  CURRENT_STEP=""
  printf '\n%sDone in %s.%s\n' "$GREEN" "$(format_duration "$SECONDS")" "$RESET"
}

# Seconds as "1m05s", for the closing summary.
format_duration() {
  local seconds="$1"
  printf '%dm%02ds' "$((seconds / 60))" "$((seconds % 60))"
}

# ---------------------------------------------------------------------------------------------------------------------
# Process set-up
# ---------------------------------------------------------------------------------------------------------------------

# One scratch directory per run, removed on exit; a failing run names the step it was in.
on_exit() {
  local status="$1"
  if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    rm -rf "$WORK_DIR"
  fi
  # Exit 2 is a usage error, already explained; anything else names the step that failed.
  if ((status != 0 && status != 2)) && [[ -n "$CURRENT_STEP" ]]; then
    log_error "failed during step ${CURRENT_STEP} (exit ${status}, after $(format_duration "$SECONDS"))"
  fi
}

init_script() {
  init_colors
  WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/private-api.XXXXXX")"
  trap 'on_exit $?' EXIT
}

# Stops naming the missing commands and, for each, what to install: only the tools this script runs.
require_commands() {
  local missing=() install=() command
  for command in "$@"; do
    if ! command -v "$command" >/dev/null 2>&1; then
      missing+=("$command")
      case "$command" in
        aws) install+=("the AWS CLI") ;;
        sam) install+=("the SAM CLI") ;;
        *) install+=("$command") ;;
      esac
    fi
  done
  if ((${#missing[@]})); then
    local joined
    joined="$(printf '%s, ' "${install[@]}")"
    die "missing required command(s): ${missing[*]} (install ${joined%, }; see docs/deploy.md)"
  fi
}

# For `--opt value`: the value must exist and must not be the next option.
require_option_value() {
  local option="$1" value="${2-}"
  if [[ -z "$value" || "$value" == --* ]]; then
    usage_error "option ${option} needs a value"
  fi
}

# Stack names and bucket names are derived from the prefix, so it must suit both (lowercase, short).
validate_stack_prefix() {
  local prefix="$1"
  if [[ ! "$prefix" =~ ^[a-z][a-z0-9-]{0,19}$ || "$prefix" == *- ]]; then
    usage_error "invalid --stack-prefix '${prefix}': 1-20 characters, lowercase letters, digits and hyphens, starting with a letter"
  fi
}

validate_bucket_name() {
  local bucket="$1"
  if [[ ! "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]]; then
    usage_error "invalid S3 bucket name '${bucket}'"
  fi
}

validate_region() {
  local region="$1"
  if [[ ! "$region" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]]; then
    usage_error "invalid region '${region}' (expected e.g. us-east-1)"
  fi
}

backend_stack_name() {
  printf '%s-backend\n' "$1"
}

client_stack_name() {
  printf '%s-client\n' "$1"
}

# Deterministic per account and region, so every run (and destroy-all.sh) finds the same bucket.
artifact_bucket_name() {
  local prefix="$1" account="$2" region="$3"
  printf '%s-artifacts-%s-%s\n' "$prefix" "$account" "$region"
}

# ---------------------------------------------------------------------------------------------------------------------
# Identity and region
# ---------------------------------------------------------------------------------------------------------------------

# Stops with the known profiles listed when a profile is not in the AWS CLI's config or credentials files, which
# the CLI requires for --profile even when credentials come from the environment. One call for all the profiles.
require_profiles() {
  local known profile
  # `aws configure list-profiles` is AWS CLI v2 only; v1 can still tell whether one profile exists.
  if known="$(aws configure list-profiles 2>/dev/null)"; then
    for profile in "$@"; do
      if ! grep -qxF -- "$profile" <<<"$known"; then
        die "profile '${profile}' does not exist; known profiles: $(printf '%s' "$known" | paste -sd, - | sed 's/,/, /g') (check the spelling, or create it: aws configure --profile ${profile})"
      fi
    done
    return 0
  fi
  local err="${WORK_DIR}/profile.err"
  for profile in "$@"; do
    if ! aws configure list --profile "$profile" >/dev/null 2>"$err" && grep -q 'could not be found' "$err"; then
      die "profile '${profile}' does not exist in ~/.aws/config or ~/.aws/credentials (or the files AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE name); check the spelling, or create it: aws configure --profile ${profile}"
    fi
  done
}

# The region the AWS CLI would use for a profile (AWS_REGION, then AWS_DEFAULT_REGION, then the profile's config).
profile_region() {
  local profile="$1"
  if [[ -n "${AWS_REGION:-}" ]]; then
    printf '%s\n' "$AWS_REGION"
  elif [[ -n "${AWS_DEFAULT_REGION:-}" ]]; then
    printf '%s\n' "$AWS_DEFAULT_REGION"
  else
    aws configure get region --profile "$profile" 2>/dev/null || true
  fi
}

# One region for every profile given: PrivateLink endpoints only reach APIs in their own region.
resolve_region() {
  local region_flag="$1" first_region="" first_profile="" profile region
  shift
  if [[ -n "$region_flag" ]]; then
    printf '%s\n' "$region_flag"
    return 0
  fi
  for profile in "$@"; do
    region="$(profile_region "$profile")"
    [[ -n "$region" ]] || die "no region configured for profile '${profile}': pass --region or set one with 'aws configure set region REGION --profile ${profile}'"
    if [[ -z "$first_region" ]]; then
      first_region="$region"
      first_profile="$profile"
    elif [[ "$region" != "$first_region" ]]; then
      die "profiles use different regions ('${first_profile}': ${first_region}, '${profile}': ${region}); the consumer's endpoint only reaches APIs in its own region, so pass --region to pick one"
    fi
  done
  printf '%s\n' "$first_region"
}

# An SSM parameter name or a Lambda layer version ARN (what pPowertoolsLayerArn accepts besides None).
validate_powertools_layer() {
  local value="$1"
  if [[ ! "$value" =~ ^(/[A-Za-z0-9_./-]+|arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[A-Za-z0-9_-]+:[0-9]+)$ ]]; then
    usage_error "invalid --powertools-layer '${value}': an SSM parameter name (/...) or a layer version ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION); for no layer use --bundle-powertools"
  fi
}

# Fails before any stack operation when the functions' Powertools layer cannot exist in the region.
check_powertools_layer() {
  local layer="$1" profile="$2" region="$3" err="${WORK_DIR}/ssm.err" value layer_region
  local fix="rerun with --bundle-powertools (Powertools goes into the code zips), or with --powertools-layer <ARN of a Powertools layer published in ${region}>; see docs/regions-and-powertools.md"
  case "$layer" in
    None)
      log_info "Powertools: bundled into the code zips, no layer"
      return 0
      ;;
    arn:*)
      layer_region="$(cut -d: -f4 <<<"$layer")"
      # Lambda attaches only layers of the function's own region.
      [[ "$layer_region" == "$region" ]] || die "Powertools layer ${layer} is in ${layer_region}, not ${region}; ${fix}"
      log_info "Powertools layer ${layer}"
      return 0
      ;;
    *) ;;
  esac
  if value="$(aws ssm get-parameter --name "$layer" --profile "$profile" --region "$region" \
    --query Parameter.Value --output text 2>"$err")"; then
    log_info "Powertools layer ${value} (SSM parameter ${layer})"
  elif grep -q 'ParameterNotFound' "$err"; then
    die "SSM parameter ${layer} does not exist in ${region} (Powertools publishes its layer parameters only in the regions of its release workflow); ${fix}"
  elif grep -Eq 'AccessDenied|not authorized' "$err"; then
    die "cannot check SSM parameter ${layer} in ${region}: access denied for profile '${profile}' (CloudFormation reads it with the deploying credentials, which need ssm:GetParameters): $(tr '\n' ' ' <"$err")"
  elif grep -Eq 'Could not connect|Connect timeout|Read timeout' "$err"; then
    die "could not connect to SSM in ${region} to check parameter ${layer} (network, proxy, or a region not enabled for the account): $(tr '\n' ' ' <"$err")"
  else
    die "cannot check SSM parameter ${layer} in ${region}: $(tr '\n' ' ' <"$err")"
  fi
}

# Account id behind a profile; proves the credentials work before anything is changed.
caller_account() {
  local profile="$1" region="$2" account err="${WORK_DIR}/sts.err"
  if ! account="$(aws sts get-caller-identity --profile "$profile" --region "$region" \
    --query Account --output text 2>"$err")"; then
    die "profile '${profile}' has no working credentials (aws sts get-caller-identity failed): $(tr '\n' ' ' <"$err")"
  fi
  [[ "$account" =~ ^[0-9]{12}$ ]] || die "profile '${profile}': unexpected account id '${account}'"
  printf '%s\n' "$account"
}

# Size quotas (docs/quotas.md) of what deploy-all.sh will send, measured before any bucket or stack is touched.
check_deploy_all_quotas() {
  local backend_stack="$1" client_stack="$2" provider_account="$3" consumer_account="$4" region="$5"
  local report status=0 line
  report="$(python3 "$QUOTAS_TOOL" deploy-all --backend-stack "$backend_stack" --client-stack "$client_stack" \
    --provider-account "$provider_account" --consumer-account "$consumer_account" --region "$region")" || status=$?
  while IFS= read -r line; do
    [[ -z "$line" ]] || log_info "$line"
  done <<<"$report"
  ((status != 2)) || die "the quota check could not run (${QUOTAS_TOOL} exited 2, reason above)"
  ((status == 0)) || die "a size quota would be exceeded (reasons above); nothing was deployed. See docs/quotas.md"
}

# ---------------------------------------------------------------------------------------------------------------------
# CloudFormation
# ---------------------------------------------------------------------------------------------------------------------

# Prints the stack's status, or NONE when there is no such stack.
stack_status() {
  local profile="$1" region="$2" stack="$3" status err="${WORK_DIR}/describe.err"
  if status="$(aws cloudformation describe-stacks --stack-name "$stack" --profile "$profile" --region "$region" \
    --query 'Stacks[0].StackStatus' --output text 2>"$err")"; then
    printf '%s\n' "$status"
  elif grep -q 'does not exist' "$err"; then
    printf 'NONE\n'
  else
    die "cannot describe stack ${stack}: $(tr '\n' ' ' <"$err")"
  fi
}

# Stops early with advice when CloudFormation would refuse an update anyway; prints the status (NONE: no stack).
require_deployable_stack() {
  local profile="$1" region="$2" stack="$3" status
  status="$(stack_status "$profile" "$region" "$stack")"
  printf '%s\n' "$status"
  case "$status" in
    ROLLBACK_COMPLETE | ROLLBACK_FAILED | DELETE_FAILED)
      die "stack ${stack} is ${status} and cannot be updated; delete it first (./destroy-all.sh, or aws cloudformation delete-stack --stack-name ${stack} --profile ${profile} --region ${region}) and run again"
      ;;
    REVIEW_IN_PROGRESS | NONE | *_COMPLETE) ;;
    *_IN_PROGRESS)
      die "stack ${stack} is busy (${status}); wait for it to finish and run again"
      ;;
    *) ;;
  esac
}

# Writes the stack's Outputs (a JSON list) to a file for stack_output to read.
fetch_stack_outputs() {
  local profile="$1" region="$2" stack="$3" file="$4" err="${WORK_DIR}/outputs.err"
  if ! aws cloudformation describe-stacks --stack-name "$stack" --profile "$profile" --region "$region" \
    --query 'Stacks[0].Outputs' --output json >"$file" 2>"$err"; then
    die "cannot read the outputs of stack ${stack}: $(tr '\n' ' ' <"$err")"
  fi
}

# Value of one output; a missing output stops the run with the stack and key named.
stack_output() {
  local file="$1" key="$2" stack="$3" value
  if ! value="$(python3 "$JSON_TOOL" output "$key" <"$file")"; then
    die "stack ${stack} has no output ${key}; the template must export it (is the stack from an older template?)"
  fi
  printf '%s\n' "$value"
}

# Value of an output that may legitimately be absent (prints nothing then).
stack_output_optional() {
  local file="$1" key="$2"
  python3 "$JSON_TOOL" output --optional "$key" <"$file"
}

# Reasons of the FAILED events since a moment, for the stack and (recursively) its failed nested stacks.
print_failed_events() {
  local profile="$1" region="$2" stack="$3" since_epoch="$4" depth="${5:-0}"
  local events="${WORK_DIR}/events-${depth}.json" nested
  if ! aws cloudformation describe-stack-events --stack-name "$stack" --profile "$profile" --region "$region" \
    --output json >"$events" 2>/dev/null; then
    log_warn "could not read the events of stack ${stack}"
    return 0
  fi
  printf 'Failed events of %s:\n' "$stack" >&2
  # Kept in failed-events.txt too, so deploy_stack can tell a retryable cause from the rest.
  python3 "$JSON_TOOL" failed-events --since-epoch "$since_epoch" <"$events" | tee -a "${WORK_DIR}/failed-events.txt" >&2
  ((depth < 3)) || return 0
  for nested in $(python3 "$JSON_TOOL" failed-events --nested --since-epoch "$since_epoch" <"$events"); do
    print_failed_events "$profile" "$region" "$nested" "$since_epoch" "$((depth + 1))"
  done
}

# A create that failed leaves ROLLBACK_COMPLETE, on which CloudFormation allows only a delete. Deleted by its ARN,
# so only the stack this run just created goes.
delete_failed_create() {
  local profile="$1" region="$2" stack="$3" arn
  local aws_args=(--profile "$profile" --region "$region")
  arn="$(aws cloudformation describe-stacks --stack-name "$stack" "${aws_args[@]}" --query 'Stacks[0].StackId' \
    --output text)"
  log_info "deleting stack ${stack} (ROLLBACK_COMPLETE after the failed create) before creating it again"
  aws cloudformation delete-stack --stack-name "$arn" "${aws_args[@]}"
  aws cloudformation wait stack-delete-complete --stack-name "$arn" "${aws_args[@]}" ||
    die "could not delete the rolled-back stack ${stack}; delete it (./destroy-all.sh) and run again"
}

# sam deploy with the flags every deploy needs; on failure prints the failed events' reasons and stops, except
# for IAM propagation (IAM_PROPAGATION_REASON), which is retried once.
deploy_stack() {
  local profile="$1" region="$2" stack="$3" template="$4" bucket="$5" s3_prefix="$6"
  shift 6
  local started status attempt
  [[ "$DEPLOY_RETRY_DELAY" =~ ^[0-9]+$ ]] ||
    die "DEPLOY_RETRY_DELAY_SECONDS must be a whole number of seconds, got '${DEPLOY_RETRY_DELAY}'"
  local cmd=(sam deploy --template-file "$template" --stack-name "$stack"
    --s3-bucket "$bucket" --s3-prefix "$s3_prefix"
    --capabilities "${SAM_CAPABILITIES[@]}"
    --no-fail-on-empty-changeset --no-confirm-changeset
    --config-file "$SAM_CONFIG_FILE"
    --profile "$profile" --region "$region")
  if (($#)); then
    cmd+=(--parameter-overrides "$@")
  fi
  for attempt in 1 2; do
    started="$(date +%s)"
    status="$(require_deployable_stack "$profile" "$region" "$stack")"
    if "${cmd[@]}"; then
      return 0
    fi
    : >"${WORK_DIR}/failed-events.txt"
    print_failed_events "$profile" "$region" "$stack" "$((started - EVENT_CLOCK_SLACK_SECONDS))"
    if ((attempt == 1)) && grep -qF "$IAM_PROPAGATION_REASON" "${WORK_DIR}/failed-events.txt"; then
      log_warn "stack ${stack} failed while IAM propagates a new role ('${IAM_PROPAGATION_REASON}'): IAM is eventually consistent, so deploying once more in ${DEPLOY_RETRY_DELAY}s"
      if [[ "$status" == "NONE" && "$(stack_status "$profile" "$region" "$stack")" == "ROLLBACK_COMPLETE" ]]; then
        delete_failed_create "$profile" "$region" "$stack"
      fi
      sleep "$DEPLOY_RETRY_DELAY"
      continue
    fi
    break
  done
  die "sam deploy of stack ${stack} failed (reasons above)"
}

# ---------------------------------------------------------------------------------------------------------------------
# S3 artifact buckets
# ---------------------------------------------------------------------------------------------------------------------

# 0 when the bucket exists in this account, 1 when there is no such bucket; stops on anything else.
bucket_exists() {
  local profile="$1" region="$2" bucket="$3" account="$4" err="${WORK_DIR}/head-bucket.err"
  if aws s3api head-bucket --bucket "$bucket" --expected-bucket-owner "$account" \
    --profile "$profile" --region "$region" >/dev/null 2>"$err"; then
    return 0
  fi
  if grep -Eq '\(404\)|Not Found|NoSuchBucket' "$err"; then
    return 1
  fi
  if grep -Eq '\(403\)|Forbidden|AccessDenied' "$err"; then
    die "bucket ${bucket}: access denied. Bucket names are global: it may belong to another account (pick another --stack-prefix), or profile '${profile}' may lack s3:ListBucket"
  fi
  die "cannot check bucket ${bucket}: $(tr '\n' ' ' <"$err")"
}

# Creates the bucket when missing; (re)applies encryption and the public access block either way.
ensure_artifact_bucket() {
  local profile="$1" region="$2" bucket="$3" account="$4"
  local aws_args=(--bucket "$bucket" --expected-bucket-owner "$account" --profile "$profile" --region "$region")
  if bucket_exists "$profile" "$region" "$bucket" "$account"; then
    log_info "reusing s3://${bucket}"
  else
    local create=(aws s3api create-bucket --bucket "$bucket" --profile "$profile" --region "$region")
    # us-east-1 is the one region that rejects an explicit LocationConstraint.
    if [[ "$region" != "us-east-1" ]]; then
      create+=(--create-bucket-configuration "LocationConstraint=${region}")
    fi
    "${create[@]}" >/dev/null
    log_info "created s3://${bucket}"
  fi
  aws s3api put-public-access-block "${aws_args[@]}" --public-access-block-configuration \
    BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true
  aws s3api put-bucket-encryption "${aws_args[@]}" --server-side-encryption-configuration \
    '{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}'
}

# Deletes every object version and delete marker (1000 per call), then the bucket.
empty_and_delete_bucket() {
  local profile="$1" region="$2" bucket="$3" account="$4"
  local listing="${WORK_DIR}/versions.json" batch="${WORK_DIR}/delete.json" count errors removed=0
  local aws_args=(--bucket "$bucket" --expected-bucket-owner "$account" --profile "$profile" --region "$region")
  if ! bucket_exists "$profile" "$region" "$bucket" "$account"; then
    log_info "no bucket s3://${bucket}: nothing to delete"
    return 0
  fi
  while :; do
    aws s3api list-object-versions "${aws_args[@]}" --max-items 1000 --output json >"$listing"
    count="$(python3 "$JSON_TOOL" version-batch --out "$batch" <"$listing")"
    ((count > 0)) || break
    # shellcheck disable=SC2016  # backticks are a JMESPath literal, not a shell expansion
    errors="$(aws s3api delete-objects "${aws_args[@]}" --delete "file://${batch}" \
      --query 'length(Errors || `[]`)' --output text)"
    [[ "$errors" == "0" ]] || die "could not delete ${errors} object version(s) from s3://${bucket}"
    removed=$((removed + count))
  done
  aws s3api delete-bucket "${aws_args[@]}"
  log_info "deleted s3://${bucket} (${removed} object version(s) removed first)"
}

# ---------------------------------------------------------------------------------------------------------------------
# Build and package
# ---------------------------------------------------------------------------------------------------------------------

# True when a requirements file lists anything besides blank lines and comments.
has_requirements() {
  local file="$1"
  [[ -f "$file" ]] && grep -Eqv '^[[:space:]]*(#.*)?$' "$file"
}

# Cross-installs wheels for the Lambda runtime (Python and CPU), never for the machine running the build;
# arguments after the first two go to pip.
install_requirements() {
  local requirements="$1" target="$2" pip_cmd unpinned
  shift 2
  if ! has_requirements "$requirements"; then
    log_info "no third-party requirements in ${requirements#"${REPO_ROOT}/"}: nothing to install"
    return 0
  fi
  unpinned="$(grep -Ev '^[[:space:]]*(#|-|$)' "$requirements" | grep -v '==' || true)"
  if [[ -n "$unpinned" ]]; then
    log_warn "unpinned requirement(s) in ${requirements}: ${unpinned//$'\n'/ } (pin with == for repeatable builds)"
  fi
  # PIP lets a caller pick the pip to run (e.g. "python3.12 -m pip"); tests use it to record the command line.
  read -r -a pip_cmd <<<"${PIP:-python3 -m pip}"
  "${pip_cmd[@]}" install --requirement "$requirements" --target "$target" \
    --platform "$LAMBDA_PLATFORM" --implementation cp --python-version "$LAMBDA_PYTHON_VERSION" \
    --only-binary=:all: --no-compile --disable-pip-version-check --no-input --quiet ${@+"$@"}
  # Console scripts embed this machine's interpreter path and Lambda never runs them.
  rm -rf "${target:?}/bin"
}

# Stages code + dependencies, zips them reproducibly and packages both templates of one side.
build_side() {
  local side="$1" bucket="$2" profile="$3" region="$4" bundle_powertools="${5:-false}"
  local side_dir="${REPO_ROOT}/${side}" build_dir="${REPO_ROOT}/build/${side}"
  local stage_dir="${REPO_ROOT}/build/${side}/stage" zip_name="${side}-code.zip"
  local template sam_args=()
  for template in "${side}" "vpc-${side}"; do
    [[ -f "${side_dir}/${template}.yaml" ]] || die "template ${side}/${template}.yaml not found"
  done
  [[ -d "${side_dir}/src" ]] || die "function code ${side}/src/ not found"
  if [[ -n "$profile" ]]; then
    sam_args+=(--profile "$profile")
  fi
  if [[ -n "$region" ]]; then
    sam_args+=(--region "$region")
  fi

  rm -rf "$build_dir"
  mkdir -p "$stage_dir"
  install_requirements "${side_dir}/src/requirements.txt" "$stage_dir"
  if [[ "$bundle_powertools" == "true" ]]; then
    # For regions without the public layer: the functions then run with pPowertoolsLayerArn=None. --no-deps keeps
    # out botocore (aws-xray-sdk requires it): a copy in the zip would shadow the runtime's and mismatch its boto3.
    install_requirements "$POWERTOOLS_REQUIREMENTS" "$stage_dir" --no-deps
  fi
  python3 "$BUILD_TOOL" stage --src "${side_dir}/src" --dest "$stage_dir"
  python3 "$BUILD_TOOL" zip --src "$stage_dir" --out "${build_dir}/${zip_name}"
  # Build copies of the templates point CodeUri at the zip; the vpc- template's relative
  # reference to its nested template still resolves because both copies sit side by side.
  python3 "$BUILD_TOOL" templates --side-dir "$side_dir" --out "$build_dir" --code-uri "$zip_name"

  for template in "${side}" "vpc-${side}"; do
    # sam package ends by advising `sam deploy ... --stack-name <YOUR STACK NAME>`: advice for running sam by hand,
    # dropped here (deploy-all.sh deploys itself; docs/deploy.md shows the separate deploys). pipefail keeps sam's status.
    sam package --template-file "${build_dir}/${template}.yaml" \
      --output-template-file "${side_dir}/${template}-deploy.yaml" \
      --s3-bucket "$bucket" --s3-prefix "$side" \
      --config-file "$SAM_CONFIG_FILE" ${sam_args[@]+"${sam_args[@]}"} |
      sed -e '/^Execute the following command to deploy the packaged template$/d' \
        -e '/--stack-name <YOUR STACK NAME>$/d'
    python3 "$BUILD_TOOL" check-packaged "${side_dir}/${template}-deploy.yaml"
    log_info "packaged ${side}/${template}-deploy.yaml"
  done
}

# Usage of build-backend.sh and build-client.sh: build_usage <side> <role, e.g. "API provider">.
build_usage() {
  local side="$1" role="$2"
  cat <<USAGE
Usage: $(basename "$0") [--profile PROFILE] [--region REGION] [--bundle-powertools] <s3-bucket>

Build and package the ${role} (${side}) for deployment.
Writes ${side}/${side}-deploy.yaml and ${side}/vpc-${side}-deploy.yaml; the code zip and the nested
template are uploaded to <s3-bucket>, which must be in the region you deploy to.

Options:
  --profile PROFILE   AWS CLI profile for the upload (default: the CLI's default credentials)
  --region REGION     region of the bucket (default: the profile's region)
  --bundle-powertools put Powertools (pinned in requirements-powertools.txt) into the code zip, for a
                      deploy with pPowertoolsLayerArn=None where the public layer is not published
  -h, --help          show this help

Environment:
  PIP                 pip command to run (default: "python3 -m pip")
USAGE
}

# Shared main of build-backend.sh and build-client.sh (each defines usage() with build_usage).
build_main() {
  local side="$1" profile="" region="" bundle_powertools="false" positional=()
  shift
  while (($#)); do
    case "$1" in
      -h | --help) usage; exit 0 ;;
      --profile) require_option_value "$1" "${2-}"; profile="$2"; shift 2 ;;
      --profile=*) profile="${1#*=}"; shift ;;
      --region) require_option_value "$1" "${2-}"; region="$2"; shift 2 ;;
      --region=*) region="${1#*=}"; shift ;;
      --bundle-powertools) bundle_powertools="true"; shift ;;
      -*) usage_error "unknown option: $1" ;;
      *) positional+=("$1"); shift ;;
    esac
  done
  ((${#positional[@]} == 1)) || usage_error "expected exactly one argument: the S3 bucket for artifacts"
  validate_bucket_name "${positional[0]}"
  [[ -z "$region" ]] || validate_region "$region"

  init_script
  require_commands sam python3
  [[ -z "$profile" ]] || require_profiles "$profile"
  printf '%sBuilding %s%s\n' "$BOLD" "$side" "$RESET"
  build_side "$side" "${positional[0]}" "$profile" "$region" "$bundle_powertools"
}
