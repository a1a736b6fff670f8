#!/usr/bin/env bash
# Deploys the provider (API) and the consumer (client) stacks into two accounts and wires them together:
# provider (letting in the consumer stack's current role and endpoint, or nobody) -> consumer pointed at the
# provider's API -> provider updated to let the consumer in, when that changed -> check that the live stage serves
# the new resource policy. Safe to re-run: the consumer is unchanged, the provider gets one new API deployment.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly SCRIPT_DIR
# Without -x ShellCheck cannot follow this (SC1091); tests/scripts runs it with -x, which checks lib.sh too.
# shellcheck source=scripts/lib.sh disable=SC1091
source "${SCRIPT_DIR}/scripts/lib.sh"

readonly TOTAL_STEPS=8
readonly BACKEND_TEMPLATE="${REPO_ROOT}/${BACKEND_SIDE}/vpc-${BACKEND_SIDE}-deploy.yaml"
readonly CLIENT_TEMPLATE="${REPO_ROOT}/${CLIENT_SIDE}/vpc-${CLIENT_SIDE}-deploy.yaml"

# Values read from one stack's outputs and passed to the next stack.
API_HOST="" API_ROLE="" API_ID="" API_STAGE="" ENDPOINT_ID="" CLIENT_ROLE=""
# Who the provider lets in (pTrustedPrincipals, pAPIAccessList, pAllowedVPCEndpoints) as deployed in step 5.
GRANT_PRINCIPALS="Nobody" GRANT_ACCESS="None" GRANT_ENDPOINTS="None"
# pPowertoolsLayerArn of both stacks, always sent: sam deploy would otherwise keep a previous run's value.
POWERTOOLS_LAYER="$DEFAULT_POWERTOOLS_LAYER"

usage() {
  cat <<USAGE
Usage: $(basename "$0") [options] <consumer-profile> <provider-profile>

Build, deploy and connect both sides of the private API:
  provider account (profile 2): stack <prefix>-backend from ${BACKEND_SIDE}/vpc-${BACKEND_SIDE}.yaml
  consumer account (profile 1): stack <prefix>-client  from ${CLIENT_SIDE}/vpc-${CLIENT_SIDE}.yaml

Options:
  --region REGION       region for both accounts (default: the profiles' region, which must match)
  --stack-prefix NAME   prefix of stack and bucket names (default: ${DEFAULT_STACK_PREFIX})
  --bundle-powertools   put Powertools into the code zips and deploy without the layer (regions where
                        Powertools publishes no layer parameter; see docs/regions-and-powertools.md)
  --powertools-layer V  SSM parameter name or layer version ARN of the Powertools layer
                        (default: ${DEFAULT_POWERTOOLS_LAYER})
  -h, --help            show this help

Artifacts go to one bucket per account, <prefix>-artifacts-<account>-<region>, created if missing.

Environment:
  DEPLOY_RETRY_DELAY_SECONDS (${DEPLOY_RETRY_DELAY}) before the one retry of a deploy that failed while IAM propagated.
USAGE
}

# The backend function's security group allows HTTPS only to DynamoDB's AWS-managed prefix list, whose id
# differs per region and which CloudFormation cannot look up, so the template takes it as a parameter.
dynamodb_prefix_list() {
  local profile="$1" region="$2" id
  id="$(aws ec2 describe-managed-prefix-lists --profile "$profile" --region "$region" \
    --filters "Name=prefix-list-name,Values=com.amazonaws.${region}.dynamodb" \
    --query 'PrefixLists[0].PrefixListId' --output text)"
  [[ "$id" =~ ^pl-[0-9a-f]+$ ]] || die "no AWS-managed prefix list com.amazonaws.${region}.dynamodb in ${region} (got '${id}')"
  printf '%s\n' "$id"
}

# The GRANT_* values from the consumer stack's CURRENT outputs when it exists in a complete state, else the closed
# values. Every provider deploy names all three: sam deploy would resubmit (UsePreviousValue) a role or endpoint
# of a consumer stack deleted since.
read_consumer_grants() {
  local profile="$1" region="$2" stack="$3" account="$4" outputs="${WORK_DIR}/consumer-current.json"
  local status role endpoint
  GRANT_PRINCIPALS="Nobody" GRANT_ACCESS="None" GRANT_ENDPOINTS="None"
  status="$(stack_status "$profile" "$region" "$stack")"
  case "$status" in
    CREATE_COMPLETE | UPDATE_COMPLETE | UPDATE_ROLLBACK_COMPLETE | IMPORT_COMPLETE | IMPORT_ROLLBACK_COMPLETE) ;;
    *)
      log_info "consumer stack ${stack}: ${status/#NONE/not deployed}, so the API accepts nobody until step 7"
      return 0
      ;;
  esac
  fetch_stack_outputs "$profile" "$region" "$stack" "$outputs"
  role="$(stack_output_optional "$outputs" DirectAuthClientRole)"
  endpoint="$(stack_output_optional "$outputs" APIGatewayEndpointID)"
  if [[ -z "$role" || -z "$endpoint" ]]; then
    log_info "consumer stack ${stack} lacks DirectAuthClientRole or APIGatewayEndpointID, so the API accepts nobody until step 7"
    return 0
  fi
  GRANT_PRINCIPALS="$account" GRANT_ACCESS="$role" GRANT_ENDPOINTS="$endpoint"
  log_info "consumer stack ${stack} exists: allowing its current role ${role} through endpoint ${endpoint}"
}

# Provider stack with the looked-up prefix list and the GRANT_* values, then its outputs for the next steps.
deploy_provider() {
  local profile="$1" region="$2" stack="$3" bucket="$4" outputs="${WORK_DIR}/provider-outputs.json" prefix_list
  prefix_list="$(dynamodb_prefix_list "$profile" "$region")"
  deploy_stack "$profile" "$region" "$stack" "$BACKEND_TEMPLATE" "$bucket" "$BACKEND_SIDE" \
    "pDynamoDBPrefixListID=${prefix_list}" "pTrustedPrincipals=${GRANT_PRINCIPALS}" \
    "pAPIAccessList=${GRANT_ACCESS}" "pAllowedVPCEndpoints=${GRANT_ENDPOINTS}" "pPowertoolsLayerArn=${POWERTOOLS_LAYER}"
  fetch_stack_outputs "$profile" "$region" "$stack" "$outputs"
  API_HOST="$(stack_output "$outputs" APIGatewayFQDN "$stack")"
  API_ROLE="$(stack_output "$outputs" APIAccessRole "$stack")"
  API_ID="$(stack_output "$outputs" APIGatewayID "$stack")"
  API_STAGE="$(stack_output_optional "$outputs" APIStageName)"
  API_STAGE="${API_STAGE:-Prod}"
  log_info "API host ${API_HOST}, stage ${API_STAGE}, access role ${API_ROLE}"
}

# Consumer stack pointed at the provider's API, then the ids the provider must allow.
deploy_consumer() {
  local profile="$1" region="$2" stack="$3" bucket="$4" provider_account="$5"
  local outputs="${WORK_DIR}/consumer-outputs.json"
  deploy_stack "$profile" "$region" "$stack" "$CLIENT_TEMPLATE" "$bucket" "$CLIENT_SIDE" \
    "pAPIHost=${API_HOST}" "pAPIPrefix=/${API_STAGE}" "pAPIAccountID=${provider_account}" "pAPIRoleARN=${API_ROLE}" \
    "pPowertoolsLayerArn=${POWERTOOLS_LAYER}"
  fetch_stack_outputs "$profile" "$region" "$stack" "$outputs"
  ENDPOINT_ID="$(stack_output "$outputs" APIGatewayEndpointID "$stack")"
  CLIENT_ROLE="$(stack_output "$outputs" DirectAuthClientRole "$stack")"
  log_info "endpoint ${ENDPOINT_ID}, client role ${CLIENT_ROLE}"
}

# Step 5 already deployed the provider with these values unless step 6 changed them (new consumer, endpoint or
# role); deploying again then would only make another API deployment (AlwaysDeploy).
authorize_consumer() {
  local profile="$1" region="$2" stack="$3" bucket="$4" consumer_account="$5"
  if [[ "$GRANT_PRINCIPALS" == "$consumer_account" && "$GRANT_ACCESS" == "$CLIENT_ROLE" &&
    "$GRANT_ENDPOINTS" == "$ENDPOINT_ID" ]]; then
    log_info "consumer already authorized: ${CLIENT_ROLE} through ${ENDPOINT_ID} unchanged since step 5, no second deploy"
    return 0
  fi
  deploy_stack "$profile" "$region" "$stack" "$BACKEND_TEMPLATE" "$bucket" "$BACKEND_SIDE" \
    "pTrustedPrincipals=${consumer_account}" "pAPIAccessList=${CLIENT_ROLE}" "pAllowedVPCEndpoints=${ENDPOINT_ID}" \
    "pPowertoolsLayerArn=${POWERTOOLS_LAYER}"
}

# The stage must serve a deployment made after the policy changed; AlwaysDeploy on the API makes that so.
verify_live_stage() {
  local profile="$1" region="$2" stack="$3"
  local aws_args=(--profile "$profile" --region "$region") policy deployment_id deployed times changed created
  policy="$(aws apigateway get-rest-api --rest-api-id "$API_ID" "${aws_args[@]}" --query policy --output text)"
  if [[ "$policy" != *"$ENDPOINT_ID"* ]]; then
    die "the resource policy of API ${API_ID} does not mention endpoint ${ENDPOINT_ID}; check pAllowedVPCEndpoints on stack ${stack}"
  fi
  log_info "resource policy of ${API_ID} allows endpoint ${ENDPOINT_ID}"
  deployment_id="$(aws apigateway get-stage --rest-api-id "$API_ID" --stage-name "$API_STAGE" "${aws_args[@]}" \
    --query deploymentId --output text)"
  deployed="$(aws apigateway get-deployment --rest-api-id "$API_ID" --deployment-id "$deployment_id" \
    "${aws_args[@]}" --query createdDate --output text)"
  times="$(aws cloudformation describe-stacks --stack-name "$stack" "${aws_args[@]}" \
    --query 'Stacks[0].[LastUpdatedTime,CreationTime]' --output text)"
  read -r changed created <<<"$times"
  if [[ -z "$changed" || "$changed" == "None" ]]; then
    changed="$created"
  fi
  if ! python3 "$JSON_TOOL" not-older --deployed "$deployed" --changed "$changed"; then
    die "stage ${API_STAGE} still serves deployment ${deployment_id}, made before the policy change, so the old policy is live. The API needs 'AlwaysDeploy: true' in the template; meanwhile: aws apigateway create-deployment --rest-api-id ${API_ID} --stage-name ${API_STAGE} --profile ${profile} --region ${region}"
  fi
}

main() {
  local region_flag="" prefix="${DEFAULT_STACK_PREFIX}" layer_flag="" build_flags=() positional=()
  while (($#)); do
    case "$1" in
      -h | --help) usage; exit 0 ;;
      --region) require_option_value "$1" "${2-}"; region_flag="$2"; shift 2 ;;
      --region=*) region_flag="${1#*=}"; shift ;;
      --stack-prefix) require_option_value "$1" "${2-}"; prefix="$2"; shift 2 ;;
      --stack-prefix=*) prefix="${1#*=}"; shift ;;
      --bundle-powertools) build_flags+=(--bundle-powertools); shift ;;
      --powertools-layer) require_option_value "$1" "${2-}"; layer_flag="$2"; shift 2 ;;
      --powertools-layer=*) layer_flag="${1#*=}"; shift ;;
      -*) usage_error "unknown option: $1" ;;
      *) positional+=("$1"); shift ;;
    esac
  done
  ((${#positional[@]} == 2)) || usage_error "expected two arguments: <consumer-profile> <provider-profile>"
  validate_stack_prefix "$prefix"
  [[ -z "$region_flag" ]] || validate_region "$region_flag"
  if ((${#build_flags[@]})); then
    [[ -z "$layer_flag" ]] || usage_error "pass either --bundle-powertools or --powertools-layer, not both"
    POWERTOOLS_LAYER="None"
  elif [[ -n "$layer_flag" ]]; then
    validate_powertools_layer "$layer_flag"
    POWERTOOLS_LAYER="$layer_flag"
  fi
  local consumer="${positional[0]}" provider="${positional[1]}"
  local backend_stack client_stack
  backend_stack="$(backend_stack_name "$prefix")"
  client_stack="$(client_stack_name "$prefix")"

  init_script
  log_step 1 "$TOTAL_STEPS" "Preflight: tools, credentials, region"
  require_commands aws sam python3
  local region consumer_account provider_account
  require_profiles "$consumer" "$provider"
  region="$(resolve_region "$region_flag" "$consumer" "$provider")"
  consumer_account="$(caller_account "$consumer" "$region")"
  provider_account="$(caller_account "$provider" "$region")"
  log_info "consumer '${consumer}': account ${consumer_account}, stack ${client_stack}"
  log_info "provider '${provider}': account ${provider_account}, stack ${backend_stack}"
  log_info "region ${region}"
  check_deploy_all_quotas "$backend_stack" "$client_stack" "$provider_account" "$consumer_account" "$region"
  check_powertools_layer "$POWERTOOLS_LAYER" "$provider" "$region"
  if [[ "$consumer_account" == "$provider_account" ]]; then
    log_warn "both profiles are account ${consumer_account}: this works, but same-account IAM evaluation differs from the cross-account case this kit demonstrates (see docs/provider.md, Who gets in)"
  fi

  log_step 2 "$TOTAL_STEPS" "Artifact buckets"
  local provider_bucket consumer_bucket
  provider_bucket="$(artifact_bucket_name "$prefix" "$provider_account" "$region")"
  consumer_bucket="$(artifact_bucket_name "$prefix" "$consumer_account" "$region")"
  ensure_artifact_bucket "$provider" "$region" "$provider_bucket" "$provider_account"
  ensure_artifact_bucket "$consumer" "$region" "$consumer_bucket" "$consumer_account"

  log_step 3 "$TOTAL_STEPS" "Build and package ${BACKEND_SIDE}"
  "${SCRIPT_DIR}/build-backend.sh" --profile "$provider" --region "$region" ${build_flags[@]+"${build_flags[@]}"} \
    "$provider_bucket"

  log_step 4 "$TOTAL_STEPS" "Build and package ${CLIENT_SIDE}"
  "${SCRIPT_DIR}/build-client.sh" --profile "$consumer" --region "$region" ${build_flags[@]+"${build_flags[@]}"} \
    "$consumer_bucket"

  log_step 5 "$TOTAL_STEPS" "Deploy provider stack ${backend_stack} (account ${provider_account})"
  read_consumer_grants "$consumer" "$region" "$client_stack" "$consumer_account"
  deploy_provider "$provider" "$region" "$backend_stack" "$provider_bucket"

  log_step 6 "$TOTAL_STEPS" "Deploy consumer stack ${client_stack} (account ${consumer_account})"
  deploy_consumer "$consumer" "$region" "$client_stack" "$consumer_bucket" "$provider_account"

  log_step 7 "$TOTAL_STEPS" "Authorize the consumer on ${backend_stack}"
  authorize_consumer "$provider" "$region" "$backend_stack" "$provider_bucket" "$consumer_account"

  log_step 8 "$TOTAL_STEPS" "Verify the live stage serves the new policy"
  verify_live_stage "$provider" "$region" "$backend_stack"

  log_done
  log_info "API: https://${API_HOST}/${API_STAGE} (private: reachable through endpoint ${ENDPOINT_ID})"
  log_info "next: ${SCRIPT_DIR}/invoke.sh ${consumer} --region ${region} --stack-prefix ${prefix}"
}

main "$@"
