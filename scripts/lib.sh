# shellcheck shell=bash
# Shared helpers for the top-level scripts still in bash (build, invoke). Sourced, never run.
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
# Pinned so every sam call ignores a stray samconfig.toml in the caller's directory.
readonly SAM_CONFIG_FILE="${REPO_ROOT}/samconfig.toml"
# shellcheck disable=SC2034  # used by the scripts that source this file
readonly DEFAULT_STACK_PREFIX="private-api" BACKEND_SIDE="api-backend" CLIENT_SIDE="api-client"
# Lambda target of every function: wheels are cross-installed for it, never for the build host.
readonly LAMBDA_PYTHON_VERSION="3.14"
readonly LAMBDA_PLATFORM="manylinux2014_aarch64"
readonly POWERTOOLS_REQUIREMENTS="${REPO_ROOT}/requirements-powertools.txt"

WORK_DIR=""
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

# ---------------------------------------------------------------------------------------------------------------------
# Process set-up
# ---------------------------------------------------------------------------------------------------------------------

# One scratch directory per run, removed on exit.
on_exit() {
  if [[ -n "$WORK_DIR" && -d "$WORK_DIR" ]]; then
    rm -rf "$WORK_DIR"
  fi
}

init_script() {
  init_colors
  WORK_DIR="$(mktemp -d "${TMPDIR:-/tmp}/private-api.XXXXXX")"
  trap on_exit EXIT
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

client_stack_name() {
  printf '%s-client\n' "$1"
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
