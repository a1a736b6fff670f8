"""deploy-all.sh: build, deploy and connect both sides of the private API in two accounts.

Provider (letting in the consumer stack's current role and endpoint, or nobody) -> consumer pointed at the provider's
API -> provider updated to let the consumer in, when that changed -> check that the live stage serves the new resource
policy. Safe to re-run: the consumer is unchanged, the provider gets one new API deployment. --mtls adds the
certificate path (mtls.py); --domain the private custom domain name shared through AWS RAM (private_domain.py): the
consumer accepts the share before its deploy, and the last step calls the API through the domain.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from workflow import build, mtls, private_domain, quotas, sam, stacks
from workflow.aws import caller_account, client, error_text, require_profiles, resolve_region
from workflow.buckets import artifact_bucket_name, ensure_artifact_bucket
from workflow.invoke import CERTIFICATE_OUTPUT, DIRECT_OUTPUT, invoke_client
from workflow.options import (
    BACKEND_SIDE,
    CLIENT_SIDE,
    DEFAULT_POWERTOOLS_LAYER,
    DEFAULT_STACK_PREFIX,
    backend_stack_name,
    client_stack_name,
    parse,
    validate_powertools_layer,
    validate_region,
    validate_stack_prefix,
)
from workflow.output import EXIT_USAGE, Fatal, Output, Steps, UsageError, run

__all__ = ["Grants", "Settings", "main", "parse_settings", "usage"]

TOTAL_STEPS = 8
# With --mtls, a ninth step checks the certificate path end to end.
MTLS_TOTAL_STEPS = 9
# How long step 9 waits for both target groups to report healthy (tests set it low), and between looks.
DEFAULT_HEALTH_WAIT = "600"
HEALTH_POLL_SECONDS = 15
CERTIFICATE_PAYLOAD = b'{"method": "GET", "path": "/"}'
# With --domain, two more steps: accept the provider's RAM share (before the consumer deploy) and verify the domain.
DOMAIN_EXTRA_STEPS = 2
# How long the domain check waits for the association to carry calls (AWS: up to 15 minutes, plus margin), and between
# invocations; how long the share acceptance waits for the domain to show among the consumer's shared resources.
DEFAULT_DOMAIN_WAIT = "1200"
DOMAIN_POLL_SECONDS = 30
DEFAULT_SHARE_WAIT = "300"
SHARE_POLL_SECONDS = 10
DOMAIN_PAYLOAD = b'{"method": "GET", "path": "/"}'
NO_LAYER = "None"
# IAM is eventually consistent: AWS::ApiGateway::Account can reject a role created moments earlier in the same stack
# with this reason. deploy_stack retries that failure once, after DEPLOY_RETRY_DELAY_SECONDS (tests set 0).
IAM_PROPAGATION_REASON = "The role ARN does not have required permissions set to API Gateway"
DEFAULT_RETRY_DELAY = "60"
DEPLOY_ATTEMPTS = 2
# Statuses in which the consumer stack's outputs are those of a finished deploy.
_COMPLETE = (
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
)
_PREFIX_LIST = re.compile(r"pl-[0-9a-f]+")
QUOTAS_TOOL = sam.REPO_ROOT / "workflow" / "quotas.py"


def retry_delay_setting() -> str:
    """DEPLOY_RETRY_DELAY_SECONDS as given (checked where it is used, like the script did)."""
    return os.environ.get("DEPLOY_RETRY_DELAY_SECONDS") or DEFAULT_RETRY_DELAY


def health_wait_setting() -> str:
    """DEPLOY_MTLS_HEALTH_WAIT_SECONDS as given (checked where it is used)."""
    return os.environ.get("DEPLOY_MTLS_HEALTH_WAIT_SECONDS") or DEFAULT_HEALTH_WAIT


def domain_wait_setting() -> str:
    """DEPLOY_DOMAIN_WAIT_SECONDS as given (checked where it is used)."""
    return os.environ.get("DEPLOY_DOMAIN_WAIT_SECONDS") or DEFAULT_DOMAIN_WAIT


def share_wait_setting() -> str:
    """DEPLOY_SHARE_WAIT_SECONDS as given (checked where it is used)."""
    return os.environ.get("DEPLOY_SHARE_WAIT_SECONDS") or DEFAULT_SHARE_WAIT


def _seconds(name: str, value: str) -> int:
    if not value.isdigit():
        raise Fatal(f"{name} must be a whole number of seconds, got '{value}'")
    return int(value)


def usage() -> str:
    """The help text."""
    delay = retry_delay_setting()
    return f"""\
Usage: deploy-all.sh [options] <consumer-profile> <provider-profile>

Build, deploy and connect both sides of the private API:
  provider account (profile 2): stack <prefix>-backend from {BACKEND_SIDE}/vpc-{BACKEND_SIDE}.yaml
  consumer account (profile 1): stack <prefix>-client  from {CLIENT_SIDE}/vpc-{CLIENT_SIDE}.yaml

Options:
  --region REGION       region for both accounts (default: the profiles' region, which must match)
  --stack-prefix NAME   prefix of stack and bucket names (default: {DEFAULT_STACK_PREFIX})
  --bundle-powertools   put Powertools into the code zips and deploy without the layer (regions where
                        Powertools publishes no layer parameter; see docs/regions-and-powertools.md)
  --powertools-layer V  SSM parameter name or layer version ARN of the Powertools layer
                        (default: {DEFAULT_POWERTOOLS_LAYER})
  -h, --help            show this help

Certificate (mTLS) access path, off unless --mtls (docs/mtls.md):
  --mtls                        also deploy the certificate path: provider NLB -> ALB (mutual TLS) -> API under
                                /mtls, endpoint service for the consumer, consumer certificate client
  --mtls-ca-bundle PATH         PEM file of the CA certificates that issue client certificates (required)
  --mtls-crl PATH               PEM certificate revocation list of that CA (optional)
  --mtls-server-cert-arn ARN    ACM certificate of the ALB for the DNS name, in the region (required)
  --mtls-dns-name NAME          DNS name the consumer calls, e.g. api.example.internal (required)
  --mtls-client-secret-arn ARN  consumer secret with the client certificate and key, JSON keys certificate,
                                privateKey (required)
  --mtls-allowed-clients TEXT   'tenant:SUBJECT-DN;tenant:SUBJECT-DN' the API admits, e.g.
                                'orders:CN=orders,O=Example' (required; write a ';' inside a DN as '\\;')
  --mtls-log-bucket NAME        provider S3 bucket for the ALB's connection and access logs (optional; its policy
                                must let Elastic Load Balancing write to prefix mtls/)
  --mtls-acceptance-required    the provider must accept the consumer's endpoint connection (printed, not run)
  --mtls-no-hosted-zone         the consumer VPC already resolves the DNS name to the endpoint: create no zone
  --mtls-no-secrets-endpoint    the consumer VPC already has a Secrets Manager endpoint with private DNS, or
                                other workloads there use Secrets Manager (the new one admits one secret only)
  The CA bundle and CRL go to the provider's artifact bucket under {mtls.KEY_PREFIX}/.

Private custom domain name, off unless --domain (docs/private-domain.md):
  --domain NAME                 also deploy a private custom domain name for the API, shared with the consumer
                                through AWS RAM; the clients then call https://NAME/<base path>
  --certificate-arn ARN         ACM certificate of the provider account, in the region, covering NAME (required)
  --base-path PATH              base path mapped to the API's stage (default: {private_domain.DEFAULT_BASE_PATH};
                                None maps the root)
  --share-principals LIST       account ids, organization or OU ARNs to share the domain with, comma-separated
                                (default: the consumer account, or None when both profiles are one
                                account; None: no RAM share)
  --domain-no-hosted-zone       the consumer VPC already resolves NAME to its execute-api endpoint: create no zone

Artifacts go to one bucket per account, <prefix>-artifacts-<account>-<region>, created if missing.

Environment:
  DEPLOY_RETRY_DELAY_SECONDS ({delay}) before the one retry of a deploy that failed while IAM propagated.
  DEPLOY_MTLS_HEALTH_WAIT_SECONDS ({health_wait_setting()}) how long --mtls waits for healthy load balancer targets.
  DEPLOY_SHARE_WAIT_SECONDS ({share_wait_setting()}) how long --domain waits for the accepted share to list the domain.
  DEPLOY_DOMAIN_WAIT_SECONDS ({domain_wait_setting()}) how long --domain retries the client through the domain.
"""


@dataclass(frozen=True)
class Settings:
    """A valid command line."""

    consumer: str
    provider: str
    region_flag: str
    prefix: str
    bundle_powertools: bool
    powertools_layer: str
    mtls: mtls.MtlsSettings = field(default_factory=mtls.MtlsSettings)
    domain: private_domain.DomainSettings = field(default_factory=private_domain.DomainSettings)


def parse_settings(argv: Sequence[str]) -> Settings:
    """The command line, validated in the script's order; any problem is a UsageError."""
    parsed = parse(
        argv,
        values=("--region", "--stack-prefix", "--powertools-layer", *mtls.VALUES, *private_domain.VALUES),
        flags=("--bundle-powertools", *mtls.FLAGS, *private_domain.FLAGS),
    )
    if len(parsed.positional) != 2:
        raise UsageError("expected two arguments: <consumer-profile> <provider-profile>")
    prefix = validate_stack_prefix(parsed.value("--stack-prefix", DEFAULT_STACK_PREFIX))
    region_flag = parsed.value("--region")
    if region_flag:
        validate_region(region_flag)
    bundle = "--bundle-powertools" in parsed.flags
    layer = parsed.value("--powertools-layer")
    if bundle:
        if layer:
            raise UsageError("pass either --bundle-powertools or --powertools-layer, not both")
        layer = NO_LAYER
    elif layer:
        validate_powertools_layer(layer)
    else:
        layer = DEFAULT_POWERTOOLS_LAYER
    certificate_path = mtls.parse_mtls(parsed)
    domain = private_domain.parse_domain(parsed)
    consumer, provider = parsed.positional
    return Settings(consumer, provider, region_flag, prefix, bundle, layer, certificate_path, domain)


@dataclass
class Grants:
    """Who the provider lets in (pTrustedPrincipals, pAPIAccessList, pAllowedVPCEndpoints); closed by default."""

    principals: str = "Nobody"
    access: str = "None"
    endpoints: str = "None"

    def parameters(self) -> list[str]:
        """The three as sam deploy parameter overrides."""
        return [
            f"pTrustedPrincipals={self.principals}",
            f"pAPIAccessList={self.access}",
            f"pAllowedVPCEndpoints={self.endpoints}",
        ]


@dataclass
class Provider:
    """What the consumer needs from the provider stack's outputs."""

    host: str
    role: str
    api_id: str
    stage: str
    # The certificate path's endpoint service (--mtls only).
    service_id: str = ""
    service_name: str = ""
    # The private custom domain (--domain only): its ARN and the RAM share ("" when none).
    domain_arn: str = ""
    share_arn: str = ""


@dataclass
class Consumer:
    """What the provider needs from the consumer stack's outputs."""

    endpoint: str
    role: str
    # The certificate path (--mtls only): the endpoint to the provider's service and the client function.
    mtls_endpoint: str = ""
    certificate_client: str = ""
    # The client that calls through the domain (--domain: every IAM client does; the direct one is checked).
    direct_client: str = ""


@dataclass
class Side:
    """One account's part of the run."""

    profile: str
    account: str
    stack: str
    bucket: str = ""


class Deployment:
    """One run of deploy-all: the settings, the region and both accounts, and what each step hands to the next."""

    def __init__(self, out: Output, settings: Settings, region: str, consumer: Side, provider: Side) -> None:
        self.out = out
        self.settings = settings
        self.region = region
        self.consumer = consumer
        self.provider = provider
        self.layer = f"pPowertoolsLayerArn={settings.powertools_layer}"
        self.trust_keys: mtls.TrustKeys | None = None

    def client(self, side: Side, service: str) -> Any:
        """A client of one account in the run's region."""
        return client(side.profile, self.region, service)

    def template(self, side: str) -> Any:
        """The packaged vpc- template of a side."""
        return sam.REPO_ROOT / side / f"vpc-{side}-deploy.yaml"

    # ----------------------------------------------------------------------------------------------------- deploying
    def deploy_stack(self, side: Side, source: str, parameters: list[str]) -> None:
        """sam deploy; on failure print the failed events' reasons and stop, except IAM propagation: retried once."""
        delay = retry_delay_setting()
        if not delay.isdigit():
            raise Fatal(f"DEPLOY_RETRY_DELAY_SECONDS must be a whole number of seconds, got '{delay}'")
        cfn = self.client(side, "cloudformation")
        for attempt in range(1, DEPLOY_ATTEMPTS + 1):
            started = time.time()
            status = stacks.require_deployable_stack(cfn, side.stack, side.profile, self.region)
            self.out.flush()
            if (
                sam.deploy(
                    self.template(source),
                    side.stack,
                    bucket=side.bucket,
                    s3_prefix=source,
                    profile=side.profile,
                    region=self.region,
                    parameters=parameters,
                )
                == 0
            ):
                return
            reasons = stacks.print_failed_events(self.out, cfn, side.stack, started - stacks.EVENT_CLOCK_SLACK_SECONDS)
            if attempt == DEPLOY_ATTEMPTS or not any(IAM_PROPAGATION_REASON in line for line in reasons):
                break
            self.out.warn(
                f"stack {side.stack} failed while IAM propagates a new role ('{IAM_PROPAGATION_REASON}'): IAM is "
                f"eventually consistent, so deploying once more in {delay}s"
            )
            if status == stacks.NO_STACK and stacks.stack_status(cfn, side.stack) == "ROLLBACK_COMPLETE":
                stacks.delete_failed_create(self.out, cfn, side.stack)
            time.sleep(int(delay))
        raise Fatal(f"sam deploy of stack {side.stack} failed (reasons above)")

    def dynamodb_prefix_list(self) -> str:
        """The AWS-managed DynamoDB prefix list of the region: the backend function's only egress, which
        CloudFormation cannot look up, so the template takes it as a parameter."""
        name = f"com.amazonaws.{self.region}.dynamodb"
        found = self.client(self.provider, "ec2").describe_managed_prefix_lists(
            Filters=[{"Name": "prefix-list-name", "Values": [name]}]
        )["PrefixLists"]
        ident = str(found[0]["PrefixListId"]) if found else "None"
        if not _PREFIX_LIST.fullmatch(ident):
            raise Fatal(f"no AWS-managed prefix list {name} in {self.region} (got '{ident}')")
        return ident

    def consumer_grants(self) -> Grants:
        """The grants for the consumer stack's CURRENT outputs when it exists complete, else the closed ones. Every
        provider deploy names all three: sam deploy would resubmit (UsePreviousValue) a role or endpoint of a
        consumer stack deleted since."""
        stack = self.consumer.stack
        cfn = self.client(self.consumer, "cloudformation")
        status = stacks.stack_status(cfn, stack)
        if status not in _COMPLETE:
            shown = "not deployed" if status == stacks.NO_STACK else status
            self.out.info(f"consumer stack {stack}: {shown}, so the API accepts nobody until step 7")
            return Grants()
        outputs = stacks.stack_outputs(cfn, stack)
        role = stacks.optional_output(outputs, "DirectAuthClientRole")
        endpoint = stacks.optional_output(outputs, "APIGatewayEndpointID")
        if not role or not endpoint:
            self.out.info(
                f"consumer stack {stack} lacks DirectAuthClientRole or APIGatewayEndpointID, so the API accepts "
                "nobody until step 7"
            )
            return Grants()
        self.out.info(f"consumer stack {stack} exists: allowing its current role {role} through endpoint {endpoint}")
        return Grants(self.consumer.account, role, endpoint)

    def deploy_provider(self, grants: Grants) -> Provider:
        """Provider stack with the looked-up prefix list and the grants; then its outputs for the next steps."""
        prefix_list = self.dynamodb_prefix_list()
        certificate_path = mtls.provider_parameters(self.settings.mtls, self.trust_keys, self.consumer.account)
        domain = private_domain.provider_parameters(self.settings.domain, self.consumer.account, self.provider.account)
        self.deploy_stack(
            self.provider,
            BACKEND_SIDE,
            [f"pDynamoDBPrefixListID={prefix_list}", *grants.parameters(), self.layer, *certificate_path, *domain],
        )
        stack = self.provider.stack
        outputs = stacks.stack_outputs(self.client(self.provider, "cloudformation"), stack)
        provider = Provider(
            host=stacks.required_output(outputs, "APIGatewayFQDN", stack),
            role=stacks.required_output(outputs, "APIAccessRole", stack),
            api_id=stacks.required_output(outputs, "APIGatewayID", stack),
            stage=stacks.optional_output(outputs, "APIStageName") or "Prod",
        )
        self.out.info(f"API host {provider.host}, stage {provider.stage}, access role {provider.role}")
        if self.settings.mtls.enabled:
            ec2 = self.client(self.provider, "ec2")
            provider.service_id, provider.service_name = mtls.endpoint_service_name(ec2, outputs, stack)
            self.out.info(f"certificate path: endpoint service {provider.service_name}")
        if self.settings.domain.enabled:
            provider.domain_arn = stacks.required_output(outputs, "PrivateDomainNameArn", stack)
            provider.share_arn = stacks.optional_output(outputs, "PrivateDomainShareArn")
            self.out.info(f"private domain {provider.domain_arn}, RAM share {provider.share_arn or '(none)'}")
        return provider

    def accept_domain_share(self, provider: Provider) -> None:
        """The consumer accepts the provider's RAM share of the domain (within 12 hours of the share, else the
        provider must share again), then waits until the domain is listed as shared with it: the association the
        consumer stack creates needs that."""
        if self.consumer.account == self.provider.account:
            self.out.info("one account: the domain is the consumer's own, no RAM share to accept")
            return
        if not provider.share_arn:
            self.out.info(
                f"the provider stack shares no domain ({private_domain.SHARE_PRINCIPALS} None): expecting another "
                f"share of {provider.domain_arn} with account {self.consumer.account}"
            )
        ram = self.client(self.consumer, "ram")
        found = private_domain.accept_share(self.out, ram, provider.share_arn) if provider.share_arn else None
        wait = _seconds("DEPLOY_SHARE_WAIT_SECONDS", share_wait_setting())
        deadline = time.monotonic() + wait
        while not private_domain.shared_domain_listed(ram, provider.domain_arn):
            if time.monotonic() >= deadline:
                raise Fatal(
                    f"after {wait}s the consumer account {self.consumer.account} still does not see "
                    f"{provider.domain_arn} among the resources shared with it (aws ram list-resources "
                    f"--resource-owner OTHER-ACCOUNTS --resource-type {private_domain.RAM_RESOURCE_TYPE} --profile "
                    f"{self.consumer.profile}); check "
                    f"pPrivateDomainSharePrincipals on stack {self.provider.stack}"
                )
            time.sleep(min(SHARE_POLL_SECONDS, wait))
            if found == "" and provider.share_arn:
                # No invitation yet need not mean an organization's share: RAM takes minutes to associate a principal.
                found = private_domain.accept_share(self.out, ram, provider.share_arn, quiet_when_none=True)
        self.out.info(f"the consumer account sees {provider.domain_arn} as shared with it")

    def deploy_consumer(self, provider: Provider) -> Consumer:
        """Consumer stack pointed at the provider's API; then the ids the provider must allow."""
        self.deploy_stack(
            self.consumer,
            CLIENT_SIDE,
            [
                f"pAPIHost={provider.host}",
                f"pAPIPrefix=/{provider.stage}",
                f"pAPIAccountID={self.provider.account}",
                f"pAPIRoleARN={provider.role}",
                self.layer,
                *mtls.consumer_parameters(self.settings.mtls, provider.service_name),
                *private_domain.consumer_parameters(self.settings.domain, provider.domain_arn),
            ],
        )
        stack = self.consumer.stack
        outputs = stacks.stack_outputs(self.client(self.consumer, "cloudformation"), stack)
        consumer = Consumer(
            endpoint=stacks.required_output(outputs, "APIGatewayEndpointID", stack),
            role=stacks.required_output(outputs, "DirectAuthClientRole", stack),
            direct_client=stacks.optional_output(outputs, DIRECT_OUTPUT),
        )
        self.out.info(f"endpoint {consumer.endpoint}, client role {consumer.role}")
        if self.settings.mtls.enabled:
            consumer.mtls_endpoint = stacks.required_output(outputs, "MtlsServiceEndpointID", stack)
            consumer.certificate_client = stacks.required_output(outputs, CERTIFICATE_OUTPUT, stack)
            self.out.info(f"certificate path: endpoint {consumer.mtls_endpoint}, client {consumer.certificate_client}")
        return consumer

    def authorize_consumer(self, deployed: Grants, consumer: Consumer) -> None:
        """Deploy the provider letting the consumer in, unless step 5 already did: another deploy would only make
        another API deployment (AlwaysDeploy)."""
        wanted = Grants(self.consumer.account, consumer.role, consumer.endpoint)
        if wanted == deployed:
            self.out.info(
                f"consumer already authorized: {consumer.role} through {consumer.endpoint} unchanged since step 5, "
                "no second deploy"
            )
            return
        self.deploy_stack(self.provider, BACKEND_SIDE, [*wanted.parameters(), self.layer])

    def verify_live_stage(self, provider: Provider, consumer: Consumer) -> None:
        """The stage must serve a deployment made after the policy changed; AlwaysDeploy on the API makes that so."""
        apigateway = self.client(self.provider, "apigateway")
        stack, api = self.provider.stack, provider.api_id
        policy = str(apigateway.get_rest_api(restApiId=api).get("policy", ""))
        if consumer.endpoint not in policy:
            raise Fatal(
                f"the resource policy of API {api} does not mention endpoint {consumer.endpoint}; check "
                f"pAllowedVPCEndpoints on stack {stack}"
            )
        self.out.info(f"resource policy of {api} allows endpoint {consumer.endpoint}")
        deployment_id = apigateway.get_stage(restApiId=api, stageName=provider.stage)["deploymentId"]
        deployed: datetime = apigateway.get_deployment(restApiId=api, deploymentId=deployment_id)["createdDate"]
        described = self.client(self.provider, "cloudformation").describe_stacks(StackName=stack)["Stacks"][0]
        changed: datetime = described.get("LastUpdatedTime") or described["CreationTime"]
        if deployed < changed:
            print(
                f"stage deployment {_iso(deployed)} is older than the stack change {_iso(changed)}",
                file=self.out.stderr,
            )
            raise Fatal(
                f"stage {provider.stage} still serves deployment {deployment_id}, made before the policy change, so "
                "the old policy is live. The API needs 'AlwaysDeploy: true' in the template; meanwhile: aws "
                f"apigateway create-deployment --rest-api-id {api} --stage-name {provider.stage} --profile "
                f"{self.provider.profile} --region {self.region}"
            )
        self.out.info(f"stage deployment {_iso(deployed)} is not older than the change {_iso(changed)}")

    def verify_certificate_path(self, provider: Provider, consumer: Consumer) -> None:
        """Step 9 (--mtls): the consumer's connection is accepted, every load balancer target is healthy, and the
        certificate client gets a 2xx for GET /."""
        state = mtls.endpoint_state(self.client(self.consumer, "ec2"), consumer.mtls_endpoint)
        self.out.info(f"endpoint connection {consumer.mtls_endpoint} -> {provider.service_id}: {state or 'not seen'}")
        if state == "pendingAcceptance":
            accept = (
                f"aws ec2 accept-vpc-endpoint-connections --service-id {provider.service_id} --vpc-endpoint-ids "
                f"{consumer.mtls_endpoint} --profile {self.provider.profile} --region {self.region}"
            )
            if not self.settings.mtls.acceptance_required:
                raise Fatal(f"endpoint connection {consumer.mtls_endpoint} awaits acceptance, unexpectedly; {accept}")
            # Asked for: accepting is the provider's decision, so it is printed, not run; nothing to verify before.
            self.out.warn(
                f"the certificate path is deployed but not verified: the provider must accept the consumer's endpoint "
                f"connection (--mtls-acceptance-required). Run: {accept}; then {sam.REPO_ROOT}/invoke.sh "
                f"{self.settings.consumer} --region {self.region} --stack-prefix {self.settings.prefix}"
            )
            return
        if state != "available":
            raise Fatal(
                f"endpoint connection {consumer.mtls_endpoint} is '{state or 'absent'}', not available; see "
                f"./diagnose.sh {self.settings.consumer} {self.settings.provider}"
            )
        self.wait_for_healthy_targets(provider.service_id)
        if not invoke_client(
            self.out,
            self.consumer.profile,
            self.region,
            label=CERTIFICATE_OUTPUT,
            function_name=consumer.certificate_client,
            payload=CERTIFICATE_PAYLOAD,
        ):
            raise Fatal(
                f"the certificate client did not get a 2xx answer (above); run ./diagnose.sh {self.settings.consumer} "
                f"{self.settings.provider}"
            )

    def verify_domain_path(self, provider: Provider, consumer: Consumer) -> None:
        """Last step (--domain): the consumer's association is listed, then the direct client, which calls through the
        domain, is invoked until it gets a 2xx (an association carries calls after up to ~15 minutes)."""
        domain = self.settings.domain
        apigateway = self.client(self.consumer, "apigateway")
        if not private_domain.association_listed(apigateway, provider.domain_arn, consumer.endpoint):
            raise Fatal(
                f"the consumer account has no access association of endpoint {consumer.endpoint} with "
                f"{provider.domain_arn} (output PrivateDomainAccessAssociationArn of stack {self.consumer.stack}); "
                f"see ./diagnose.sh {self.settings.consumer} {self.settings.provider}"
            )
        self.out.info(f"access association {consumer.endpoint} -> {provider.domain_arn} exists")
        if not consumer.direct_client:
            raise Fatal(f"stack {self.consumer.stack} has no {DIRECT_OUTPUT} output to call {domain.url()} with")
        wait = _seconds("DEPLOY_DOMAIN_WAIT_SECONDS", domain_wait_setting())
        deadline = time.monotonic() + wait
        attempt = 0
        while True:
            attempt += 1
            self.out.info(f"calling {domain.url()}/ through {DIRECT_OUTPUT} (attempt {attempt})")
            if invoke_client(
                self.out,
                self.consumer.profile,
                self.region,
                label=DIRECT_OUTPUT,
                function_name=consumer.direct_client,
                payload=DOMAIN_PAYLOAD,
            ):
                self.out.info(f"the private domain answers: {domain.url()}")
                return
            if time.monotonic() >= deadline:
                raise Fatal(
                    f"after {wait}s {DIRECT_OUTPUT} still gets no 2xx through {domain.url()} (last answer above); run "
                    f"./diagnose.sh {self.settings.consumer} {self.settings.provider}"
                )
            # A new association refuses calls (403) until API Gateway has set it up: keep asking, show each answer.
            time.sleep(min(DOMAIN_POLL_SECONDS, wait))

    def wait_for_healthy_targets(self, service_id: str) -> None:
        """Poll both target groups until every target is healthy; stop naming the others after the wait."""
        wait = health_wait_setting()
        if not wait.isdigit():
            raise Fatal(f"DEPLOY_MTLS_HEALTH_WAIT_SECONDS must be a whole number of seconds, got '{wait}'")
        ec2, elbv2 = self.client(self.provider, "ec2"), self.client(self.provider, "elbv2")
        deadline = time.monotonic() + int(wait)
        while True:
            health = mtls.load_balancer_health(ec2, elbv2, service_id)
            waiting = mtls.unhealthy(health)
            if health and not waiting:
                self.out.info(f"{len(health)} load balancer target(s) healthy")
                return
            if time.monotonic() >= deadline:
                for target in waiting:
                    print(
                        f"  {target.target} in {target.target_group}: {target.state} {target.reason}".rstrip(),
                        file=self.out.stderr,
                    )
                shown = "no targets registered" if not health else f"{len(waiting)} target(s) not healthy (above)"
                raise Fatal(f"after {wait}s: {shown}; see docs/mtls.md, Troubleshooting")
            time.sleep(min(HEALTH_POLL_SECONDS, int(wait)))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------------------- preflight
def check_quotas(out: Output, region: str, consumer: Side, provider: Side) -> None:
    """Size quotas (docs/quotas.md) of what the run will send, measured before any bucket or stack is touched."""
    argv = [
        "deploy-all",
        "--backend-stack",
        provider.stack,
        "--client-stack",
        consumer.stack,
        "--provider-account",
        provider.account,
        "--consumer-account",
        consumer.account,
        "--region",
        region,
    ]
    # The report comes back on stdout, indented here like every detail; reasons go straight to stderr.
    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        try:
            status = quotas.main(argv)
        except SystemExit as refused:  # argparse's answer to an argument it rejects
            status = refused.code if isinstance(refused.code, int) else EXIT_USAGE
    for line in report.getvalue().splitlines():
        if line:
            out.info(line)
    if status == EXIT_USAGE:
        raise Fatal(f"the quota check could not run ({QUOTAS_TOOL} exited 2, reason above)")
    if status != 0:
        raise Fatal("a size quota would be exceeded (reasons above); nothing was deployed. See docs/quotas.md")


def check_powertools_layer(out: Output, layer: str, profile: str, region: str) -> None:
    """Stop before any stack operation when the functions' Powertools layer cannot exist in the region."""
    fix = (
        f"rerun with --bundle-powertools (Powertools goes into the code zips), or with --powertools-layer <ARN of a "
        f"Powertools layer published in {region}>; see docs/regions-and-powertools.md"
    )
    if layer == NO_LAYER:
        out.info("Powertools: bundled into the code zips, no layer")
        return
    if layer.startswith("arn:"):
        layer_region = layer.split(":")[3]
        # Lambda attaches only layers of the function's own region.
        if layer_region != region:
            raise Fatal(f"Powertools layer {layer} is in {layer_region}, not {region}; {fix}")
        out.info(f"Powertools layer {layer}")
        return
    try:
        value = client(profile, region, "ssm").get_parameter(Name=layer)["Parameter"]["Value"]
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code == "ParameterNotFound":
            raise Fatal(
                f"SSM parameter {layer} does not exist in {region} (Powertools publishes its layer parameters only "
                f"in the regions of its release workflow); {fix}"
            ) from error
        if "AccessDenied" in code or "not authorized" in str(error):
            raise Fatal(
                f"cannot check SSM parameter {layer} in {region}: access denied for profile '{profile}' "
                "(CloudFormation reads it with the deploying credentials, which need ssm:GetParameters): "
                f"{error_text(error)}"
            ) from error
        raise Fatal(f"cannot check SSM parameter {layer} in {region}: {error_text(error)}") from error
    except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as error:
        raise Fatal(
            f"could not connect to SSM in {region} to check parameter {layer} (network, proxy, or a region not "
            f"enabled for the account): {error_text(error)}"
        ) from error
    except BotoCoreError as error:
        raise Fatal(f"cannot check SSM parameter {layer} in {region}: {error_text(error)}") from error
    out.info(f"Powertools layer {value} (SSM parameter {layer})")


def preflight(out: Output, settings: Settings) -> Deployment:
    """Step 1: tools, profiles, one region, both accounts, the size quotas and the Powertools layer."""
    sam.require_commands(["sam"])
    require_profiles([settings.consumer, settings.provider])
    region = resolve_region(settings.region_flag, [settings.consumer, settings.provider])
    consumer = Side(settings.consumer, caller_account(settings.consumer, region), client_stack_name(settings.prefix))
    provider = Side(settings.provider, caller_account(settings.provider, region), backend_stack_name(settings.prefix))
    out.info(f"consumer '{consumer.profile}': account {consumer.account}, stack {consumer.stack}")
    out.info(f"provider '{provider.profile}': account {provider.account}, stack {provider.stack}")
    out.info(f"region {region}")
    check_quotas(out, region, consumer, provider)
    check_powertools_layer(out, settings.powertools_layer, provider.profile, region)
    mtls.check_regions(settings.mtls, region)
    private_domain.check_regions(settings.domain, region, provider.account)
    if settings.domain.enabled:
        private_domain.check_certificate(out, client(provider.profile, region, "acm"), settings.domain)
    if consumer.account == provider.account:
        out.warn(
            f"both profiles are account {consumer.account}: this works, but same-account IAM evaluation differs "
            "from the cross-account case this kit demonstrates (see docs/provider.md, Who gets in)"
        )
    return Deployment(out, settings, region, consumer, provider)


def build_side(out: Output, deployment: Deployment, side: str, account: Side) -> None:
    """Build and package one side into its account's bucket, as build-backend.sh / build-client.sh do."""
    out.heading(f"Building {side}")
    build.build_side(
        out,
        side,
        root=sam.REPO_ROOT,
        bucket=account.bucket,
        profile=account.profile,
        region=deployment.region,
        bundle_powertools=deployment.settings.bundle_powertools,
    )


def deploy_all(out: Output, settings: Settings) -> int:
    """The eight steps (nine with --mtls, two more with --domain)."""
    certificate_path, domain = settings.mtls.enabled, settings.domain.enabled
    total = MTLS_TOTAL_STEPS if certificate_path else TOTAL_STEPS
    steps = Steps(out, total + (DOMAIN_EXTRA_STEPS if domain else 0))
    steps.start("Preflight: tools, credentials, region")
    run_ = preflight(out, settings)
    consumer, provider = run_.consumer, run_.provider

    steps.start("Artifact buckets")
    provider.bucket = artifact_bucket_name(settings.prefix, provider.account, run_.region)
    consumer.bucket = artifact_bucket_name(settings.prefix, consumer.account, run_.region)
    for side in (provider, consumer):
        ensure_artifact_bucket(
            out, run_.client(side, "s3"), side.bucket, account=side.account, region=run_.region, profile=side.profile
        )
    if certificate_path:
        s3 = run_.client(provider, "s3")
        run_.trust_keys = mtls.upload_trust_files(out, s3, provider.bucket, provider.account, settings.mtls)

    steps.start(f"Build and package {BACKEND_SIDE}")
    build_side(out, run_, BACKEND_SIDE, provider)
    steps.start(f"Build and package {CLIENT_SIDE}")
    build_side(out, run_, CLIENT_SIDE, consumer)

    steps.start(f"Deploy provider stack {provider.stack} (account {provider.account})")
    grants = run_.consumer_grants()
    api = run_.deploy_provider(grants)

    if domain:
        steps.start(f"Accept the provider's share of {settings.domain.name} (account {consumer.account})")
        run_.accept_domain_share(api)

    steps.start(f"Deploy consumer stack {consumer.stack} (account {consumer.account})")
    endpoint = run_.deploy_consumer(api)

    steps.start(f"Authorize the consumer on {provider.stack}")
    run_.authorize_consumer(grants, endpoint)

    steps.start("Verify the live stage serves the new policy")
    run_.verify_live_stage(api, endpoint)

    if certificate_path:
        steps.start("Verify the certificate path (endpoint connection, target health, certificate client)")
        run_.verify_certificate_path(api, endpoint)

    if domain:
        steps.start(f"Verify the private domain {settings.domain.url()} (association, client call)")
        run_.verify_domain_path(api, endpoint)

    out.done()
    out.info(f"API: https://{api.host}/{api.stage} (private: reachable through endpoint {endpoint.endpoint})")
    if domain:
        out.info(f"private domain: {settings.domain.url()} (through endpoint {endpoint.endpoint})")
    out.info(
        f"next: {sam.REPO_ROOT}/invoke.sh {settings.consumer} --region {run_.region} --stack-prefix {settings.prefix}"
    )
    return 0


def main(argv: Sequence[str]) -> int:
    """deploy-all.sh's command line; 0 done, 1 failed (the step named), 2 usage error."""
    out = Output()
    return run(out, usage, lambda: deploy_all(out, parse_settings(argv)))
