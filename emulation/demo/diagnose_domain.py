"""The private custom domain path in diagnose's demo world: what `deploy-all.sh --domain` adds to both accounts.

The provider gets the domain (DomainNameV2 with its policy), its base path mapping and the RAM share; the consumer
gets the accepted invitation, the domain in its shared resources, a domain name access association for its
execute-api endpoint and a private hosted zone (moto's Route 53) aliasing the name to the endpoint.

moto 5.2.5 implements none of the domain's API calls diagnose reads (GetDomainName with domainNameId, its base path
mappings, the access associations) nor RAM's principals, invitations and shared resources ("Not yet implemented"),
so `DomainGaps` answers them from what the world recorded, per account, the way AWS's API reference shapes them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

from cfnrender.render import Rendered

__all__ = [
    "DOMAIN_ARN",
    "DOMAIN_ID",
    "DOMAIN_NAME",
    "SHARE_ARN",
    "DomainGaps",
    "association_arn",
    "consumer_parameters",
    "provider_parameters",
]

DOMAIN_NAME = "orders.example.com"
DOMAIN_ID = "abc123def4"
PROVIDER_ACCOUNT = "111111111111"
DOMAIN_ARN = f"arn:aws:apigateway:us-east-1:{PROVIDER_ACCOUNT}:/domainnames/{DOMAIN_NAME}+{DOMAIN_ID}"
SHARE_ARN = f"arn:aws:ram:us-east-1:{PROVIDER_ACCOUNT}:resource-share/0a1b2c3d-private-domain"
CERTIFICATE_ARN = f"arn:aws:acm:us-east-1:{PROVIDER_ACCOUNT}:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
BASE_PATH = "v1"
_INVITATION = f"arn:aws:ram:us-east-1:{PROVIDER_ACCOUNT}:resource-share-invitation/0a1b2c3d-invitation"
_ASSOCIATION_PREFIX = f"arn:aws:apigateway:us-east-1:{{account}}:/domainnameaccessassociations/domainname/{DOMAIN_NAME}"


def provider_parameters(consumer: str) -> dict[str, str]:
    """What deploy-all.sh --domain passes the provider stack."""
    return {
        "pEnablePrivateDomain": "Yes",
        "pPrivateDomainName": DOMAIN_NAME,
        "pPrivateDomainCertificateArn": CERTIFICATE_ARN,
        "pPrivateDomainBasePath": BASE_PATH,
        "pPrivateDomainSharePrincipals": consumer,
    }


def consumer_parameters() -> dict[str, str]:
    """What deploy-all.sh --domain passes the consumer stack (the provider's PrivateDomainNameArn output)."""
    return {
        "pPrivateDomainName": DOMAIN_NAME,
        "pPrivateDomainNameArn": DOMAIN_ARN,
        "pPrivateDomainBasePath": BASE_PATH,
        "pCreatePrivateDomainHostedZone": "Yes",
    }


def association_arn(account: str, endpoint_id: str) -> str:
    """The ARN of an endpoint's access association to the domain (the shape of AWS's association examples)."""
    return f"{_ASSOCIATION_PREFIX.format(account=account)}+{DOMAIN_ID}/vpcesource/{endpoint_id}"


def _response(status: int) -> AWSResponse:
    return AWSResponse("", status, HTTPHeaders(), None)


def _answer(body: dict[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
    return _response(200), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}


def _not_found(message: str) -> tuple[AWSResponse, dict[str, Any]]:
    error = {"Code": "NotFoundException", "Message": message}
    return _response(404), {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 404}}


@dataclass
class DomainGaps:
    """The domain's state in both accounts, answered where moto has nothing (see the module docstring)."""

    provider: str = PROVIDER_ACCOUNT
    consumer: str = ""
    domain: dict[str, Any] | None = None  # GetDomainName's answer in the provider account
    mappings: list[dict[str, str]] = field(default_factory=list)  # GetBasePathMappings items
    principals: list[str] = field(default_factory=list)  # the share's principals (ListPrincipals)
    invitation: str | None = None  # the consumer's invitation status; None: no invitation (an organization's share)
    shared: bool = False  # ListResources OTHER-ACCOUNTS in the consumer lists the domain
    associations: list[dict[str, str]] = field(default_factory=list)  # every association (owner account inside)

    def install(self, session: Any, account: str) -> None:
        """Answer the domain's calls on every client of this session, as seen from `account`."""
        session.events.register("before-parameter-build.api-gateway", _remember)
        session.events.register("before-parameter-build.ram", _remember)
        answers: dict[str, Callable[[str, Mapping[str, Any]], tuple[AWSResponse, dict[str, Any]]]] = {
            "api-gateway.GetDomainName": self._domain,
            "api-gateway.GetBasePathMappings": self._mappings,
            "api-gateway.GetDomainNameAccessAssociations": self._associations,
            "ram.ListPrincipals": self._principals,
            "ram.GetResourceShareInvitations": self._invitations,
            "ram.ListResources": self._resources,
        }
        for name, answer in answers.items():
            session.events.register(f"before-call.{name}", _answering(account, answer))

    def deploy(self, backend: Rendered, consumer: str) -> None:
        """The provider stack's domain resources as CloudFormation creates them."""
        props = backend.resources["PrivateDomainName"]["Properties"]
        self.consumer = consumer
        self.domain = {
            "domainName": DOMAIN_NAME,
            "domainNameId": DOMAIN_ID,
            "domainNameArn": DOMAIN_ARN,
            "certificateArn": props["CertificateArn"],
            "endpointConfiguration": {"types": list(props["EndpointConfiguration"]["Types"])},
            "domainNameStatus": "AVAILABLE",
            "securityPolicy": props["SecurityPolicy"],
            # As the template writes it (which form API Gateway returns is listed in docs/private-domain.md).
            "policy": json.dumps(props["Policy"]),
        }
        mapping = backend.resources["PrivateDomainBasePathMapping"]["Properties"]
        stage = backend.resources["BackendApiStage"]["Properties"]["StageName"]
        self.mappings = [
            {"basePath": mapping.get("BasePath", "(none)"), "restApiId": mapping["RestApiId"], "stage": stage}
        ]
        share = backend.resources.get("PrivateDomainShare")
        self.principals = list(share["Properties"]["Principals"]) if share else []

    def accept(self, endpoint_id: str) -> None:
        """The consumer's side: the invitation accepted, the domain listed, the stack's association created."""
        self.invitation, self.shared = "ACCEPTED", True
        self.associations.append(
            {
                "owner": self.consumer,
                "domainNameAccessAssociationArn": association_arn(self.consumer, endpoint_id),
                "domainNameArn": DOMAIN_ARN,
                "accessAssociationSourceType": "VPCE",
                "accessAssociationSource": endpoint_id,
            }
        )

    def set_policy(self, policy: Mapping[str, Any]) -> None:
        """The domain's policy replaced (apigateway update-domain-name outside the stack)."""
        if self.domain is not None:
            self.domain["policy"] = json.dumps(policy)

    # ------------------------------------------------------------------------------------------------ answers
    def _domain(self, account: str, params: Mapping[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        found = self.domain
        if account != self.provider or found is None or params.get("domainName") != found["domainName"]:
            return _not_found(f"Invalid domain name identifier specified: {params.get('domainName')}")
        if params.get("domainNameId", found["domainNameId"]) != found["domainNameId"]:
            return _not_found("Invalid domain name identifier specified")
        return _answer(dict(found))

    def _mappings(self, account: str, params: Mapping[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        if account != self.provider or self.domain is None or params.get("domainName") != DOMAIN_NAME:
            return _not_found("Invalid domain name identifier specified")
        return _answer({"items": [dict(m) for m in self.mappings]})

    def _associations(self, account: str, params: Mapping[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        owner = params.get("resourceOwner", "SELF")
        if owner == "SELF":
            items = [a for a in self.associations if a["owner"] == account]
        else:  # OTHER_ACCOUNTS: other accounts' associations with this account's domains
            items = [a for a in self.associations if a["owner"] != account and account == self.provider]
        return _answer({"items": [{k: v for k, v in a.items() if k != "owner"} for a in items]})

    def _principals(self, account: str, params: Mapping[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        wanted = params.get("resourceShareArns") or [SHARE_ARN]
        if account != self.provider or SHARE_ARN not in wanted:
            return _answer({"principals": []})
        return _answer({"principals": [{"id": p, "resourceShareArn": SHARE_ARN} for p in self.principals]})

    def _invitations(self, account: str, params: Mapping[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        wanted = params.get("resourceShareArns") or [SHARE_ARN]
        if account != self.consumer or self.invitation is None or SHARE_ARN not in wanted:
            return _answer({"resourceShareInvitations": []})
        invitation = {
            "resourceShareInvitationArn": _INVITATION,
            "resourceShareArn": SHARE_ARN,
            "senderAccountId": self.provider,
            "receiverAccountId": self.consumer,
            "status": self.invitation,
        }
        return _answer({"resourceShareInvitations": [invitation]})

    def _resources(self, account: str, params: Mapping[str, Any]) -> tuple[AWSResponse, dict[str, Any]]:
        listed = account == self.consumer and self.shared and params.get("resourceOwner") == "OTHER-ACCOUNTS"
        resource = {"arn": DOMAIN_ARN, "type": "apigateway:Domainnames", "resourceShareArn": SHARE_ARN}
        return _answer({"resources": [resource] if listed else []})


def _remember(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
    """Keep the call's own parameters for the answer (before-call only sees the serialized request)."""
    context["domain_gap_params"] = dict(params)


def _answering(
    account: str, answer: Callable[[str, Mapping[str, Any]], tuple[AWSResponse, dict[str, Any]]]
) -> Callable[..., tuple[AWSResponse, dict[str, Any]]]:
    def handler(context: Mapping[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return answer(account, context.get("domain_gap_params") or {})

    return handler
