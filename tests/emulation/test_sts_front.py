"""moto-backed identities and the STS front that enforces trust policies moto's AssumeRole ignores."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
import urllib3
from botocore.exceptions import ClientError

from emulation.accounts.moto_identity import MotoIdentity
from emulation.gateway.pipeline import ApiDeployment, Endpoint
from emulation.gateway.server import Gateway
from emulation.gateway.sigv4 import SigningCredentials
from emulation.gateway.tls import TlsMaterial
from emulation.sts.front import StsFront
from tests.emulation.helpers import API_ID, CONSUMER, OTHER, PROVIDER, REGION, account_client, call, sign

ACCESS_ROLE = f"arn:aws:iam::{PROVIDER}:role/api-access-role"
UNTRUSTING_ROLE = f"arn:aws:iam::{PROVIDER}:role/untrusting-role"
CLIENT_ROLE = f"arn:aws:iam::{CONSUMER}:role/direct-client-role"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
CLIENT_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"},
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{PROVIDER}:role/*"},
    ],
}


def _trust(principal: str) -> str:
    return json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]})


@dataclass(frozen=True)
class World:
    """Two emulated accounts: the consumer's client role session and IAM user, the provider's roles."""

    client: SigningCredentials
    user: SigningCredentials
    user_arn: str


def _session(creds: dict[str, Any]) -> SigningCredentials:
    return SigningCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


@pytest.fixture(scope="module")
def world(moto_url: str) -> World:
    """Create both accounts' IAM state in moto and a session for the consumer's client role."""
    consumer_iam = account_client("iam", CONSUMER, moto_url)
    consumer_iam.create_role(RoleName="direct-client-role", AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    consumer_iam.put_role_policy(
        RoleName="direct-client-role", PolicyName="client", PolicyDocument=json.dumps(CLIENT_POLICY)
    )
    managed = consumer_iam.create_policy(
        PolicyName="read-logs",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"}]}
        ),
    )
    consumer_iam.attach_role_policy(RoleName="direct-client-role", PolicyArn=managed["Policy"]["Arn"])
    consumer_iam.create_user(UserName="no-policy-user")
    key = consumer_iam.create_access_key(UserName="no-policy-user")["AccessKey"]
    provider_iam = account_client("iam", PROVIDER, moto_url)
    provider_iam.create_role(
        RoleName="api-access-role", AssumeRolePolicyDocument=_trust(f"arn:aws:iam::{CONSUMER}:root")
    )
    provider_iam.put_role_policy(
        RoleName="api-access-role", PolicyName="invoke", PolicyDocument=json.dumps(CLIENT_POLICY)
    )
    provider_iam.create_role(RoleName="untrusting-role", AssumeRolePolicyDocument=_trust(OTHER))
    # Lambda gives the function its role's session; here the consumer account asks moto's STS directly.
    session = account_client("sts", CONSUMER, moto_url).assume_role(RoleArn=CLIENT_ROLE, RoleSessionName="fn")
    return World(
        client=_session(session["Credentials"]),
        user=SigningCredentials(key["AccessKeyId"], key["SecretAccessKey"]),
        user_arn=f"arn:aws:iam::{CONSUMER}:user/no-policy-user",
    )


@pytest.fixture(scope="module")
def identity() -> MotoIdentity:
    """The emulation's view of moto, with the consumer in an organization."""
    return MotoIdentity(org_ids={CONSUMER: "o-consumer"})


@pytest.fixture
def front(moto_url: str, identity: MotoIdentity) -> Iterator[StsFront]:
    """A running STS front in front of moto."""
    with StsFront(upstream=moto_url, callbacks=identity.callbacks(), trust_policy=identity.trust_policy) as running:
        yield running


def _sts(front: StsFront, creds: SigningCredentials) -> Any:
    return boto3.client(
        "sts",
        region_name=REGION,
        endpoint_url=front.url,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
    )


def test_moto_identity_session_key_resolves_to_role_session_in_its_account(
    world: World, identity: MotoIdentity
) -> None:
    # GIVEN credentials moto's AssumeRole issued for the consumer's client role
    # WHEN the key is resolved
    principal = identity.principal(world.client.access_key)
    # THEN it is that role's session in the consumer account, with the role's full ARN and org
    assert principal is not None
    assert (principal.arn, principal.account, principal.role_arn, principal.org_id) == (
        f"arn:aws:sts::{CONSUMER}:assumed-role/direct-client-role/fn",
        CONSUMER,
        CLIENT_ROLE,
        "o-consumer",
    )
    assert principal.user_id is not None
    assert principal.user_id.startswith("AROA")
    assert principal.user_id.endswith(":fn")


def test_moto_identity_credentials_return_secret_and_session_token(world: World, identity: MotoIdentity) -> None:
    # GIVEN a session key WHEN its credentials are looked up THEN the secret and token are the ones STS issued
    creds = identity.credentials(world.client.access_key)
    assert creds is not None
    assert (creds.secret_key, creds.token) == (world.client.secret_key, world.client.token)
    assert creds.expires_at is not None


def test_moto_identity_user_key_resolves_to_iam_user(world: World, identity: MotoIdentity) -> None:
    # GIVEN an IAM user's long-term key WHEN resolved THEN it is the user, without a session token
    principal = identity.principal(world.user.access_key)
    creds = identity.credentials(world.user.access_key)
    assert principal is not None
    assert creds is not None
    assert (principal.arn, principal.account, principal.is_assumed_role, creds.token) == (
        world.user_arn,
        CONSUMER,
        False,
        None,
    )


def test_moto_identity_unknown_key_resolves_to_nothing(world: World, identity: MotoIdentity) -> None:
    # GIVEN a key moto never issued WHEN resolved THEN neither credentials nor a principal exist
    assert (identity.credentials("ASIANEVERISSUED0000"), identity.principal("ASIANEVERISSUED0000")) == (None, None)


def test_moto_identity_policies_are_the_roles_inline_and_managed(world: World, identity: MotoIdentity) -> None:
    # GIVEN the client role with one inline and one managed policy WHEN its session's policies are read
    principal = identity.principal(world.client.access_key)
    assert principal is not None
    policies = identity.identity_policies(principal)
    # THEN both documents come back as dicts
    actions = sorted(s["Action"] for p in policies for s in p["Statement"])
    assert actions == ["execute-api:Invoke", "logs:Get*", "sts:AssumeRole"]


def test_moto_identity_trust_policy_is_read_from_the_role(world: World, identity: MotoIdentity) -> None:
    # GIVEN the provider's access role WHEN its trust policy is read THEN it names the consumer account
    trust = identity.trust_policy(ACCESS_ROLE)
    assert trust is not None
    assert trust["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{CONSUMER}:root"}
    assert identity.trust_policy(f"arn:aws:iam::{PROVIDER}:role/missing") is None


def test_sts_front_trusted_assume_role_returns_credentials_of_the_provider_role(
    world: World, front: StsFront, identity: MotoIdentity
) -> None:
    # GIVEN the consumer's session and a provider role that trusts the consumer account
    # WHEN it assumes the role through the front
    answer = _sts(front, world.client).assume_role(RoleArn=ACCESS_ROLE, RoleSessionName="client")
    # THEN moto's answer comes back, and the new key belongs to the provider account's role session
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{PROVIDER}:assumed-role/api-access-role/client"
    principal = identity.principal(answer["Credentials"]["AccessKeyId"])
    assert principal is not None
    assert (principal.account, principal.role_arn) == (PROVIDER, ACCESS_ROLE)


def test_sts_front_untrusted_assume_role_is_access_denied(world: World, front: StsFront) -> None:
    # GIVEN a provider role whose trust policy names another account
    # WHEN the consumer's session tries to assume it
    with pytest.raises(ClientError) as caught:
        _sts(front, world.client).assume_role(RoleArn=UNTRUSTING_ROLE, RoleSessionName="client")
    # THEN STS's AccessDenied comes back with its wording
    error = caught.value.response
    assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (403, "AccessDenied")
    assert error["Error"]["Message"] == (
        f"User: arn:aws:sts::{CONSUMER}:assumed-role/direct-client-role/fn is not authorized to perform: "
        f"sts:AssumeRole on resource: {UNTRUSTING_ROLE}"
    )


def test_sts_front_caller_without_identity_allow_is_access_denied(world: World, front: StsFront) -> None:
    # GIVEN a consumer IAM user with no policies, from the trusted account
    # WHEN it assumes the trusting role THEN cross-account needs its own Allow too: refused
    with pytest.raises(ClientError) as caught:
        _sts(front, world.user).assume_role(RoleArn=ACCESS_ROLE, RoleSessionName="user")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


def test_sts_front_get_caller_identity_passes_through(world: World, front: StsFront) -> None:
    # GIVEN the consumer's session WHEN it asks who it is through the front THEN moto answers as that session
    answer = _sts(front, world.client).get_caller_identity()
    assert (answer["Account"], answer["Arn"]) == (
        CONSUMER,
        f"arn:aws:sts::{CONSUMER}:assumed-role/direct-client-role/fn",
    )


def test_sts_front_wrong_secret_is_signature_does_not_match(world: World, front: StsFront) -> None:
    # GIVEN the session's key with a wrong secret WHEN used THEN STS's SignatureDoesNotMatch comes back
    bad = SigningCredentials(world.client.access_key, "wrong", world.client.token)
    with pytest.raises(ClientError) as caught:
        _sts(front, bad).get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_sts_front_unknown_key_is_invalid_client_token_id(front: StsFront) -> None:
    # GIVEN a key nobody issued WHEN used THEN STS's InvalidClientTokenId comes back
    with pytest.raises(ClientError) as caught:
        _sts(front, SigningCredentials("AKIANOBODY000000000", "x")).get_caller_identity()
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == (
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    )


def test_sts_front_unsigned_call_is_missing_authentication_token(front: StsFront) -> None:
    # GIVEN a form POST without a signature WHEN sent THEN STS's XML error names the missing token
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    response = urllib3.request(
        "POST", front.url + "/", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status == 403
    assert b"<Code>MissingAuthenticationToken</Code>" in response.data


def test_sts_front_counts_calls_by_action(world: World, front: StsFront) -> None:
    # GIVEN two identity calls and one refused AssumeRole
    client = _sts(front, world.client)
    client.get_caller_identity()
    client.get_caller_identity()
    with pytest.raises(ClientError):
        client.assume_role(RoleArn=UNTRUSTING_ROLE, RoleSessionName="counted")
    # WHEN the counter is read THEN every call is counted under its action
    assert front.calls == {"GetCallerIdentity": 2, "AssumeRole": 1}


def test_sts_front_signature_is_checked_for_service_sts(world: World, front: StsFront) -> None:
    # GIVEN a request signed for execute-api instead of sts WHEN sent to the front THEN it is refused
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    signed = sign(method="POST", url=front.url + "/", creds=world.client, body=body, headers=headers)
    response = urllib3.request("POST", front.url + "/", body=body, headers=signed)
    assert response.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in response.data


def test_sts_front_stop_leaves_nothing_listening(moto_url: str, identity: MotoIdentity) -> None:
    # GIVEN a front that ran WHEN it has stopped THEN its port accepts no connections
    with StsFront(upstream=moto_url, callbacks=identity.callbacks(), trust_policy=identity.trust_policy) as running:
        port = int(running.url.rsplit(":", 1)[1])
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def _whoami(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps(event["requestContext"]["identity"])}


def test_gateway_with_moto_identities_admits_direct_and_assumed_role_clients(
    world: World, front: StsFront, tls: TlsMaterial
) -> None:
    # GIVEN the gateway using moto's keys and policies, with a policy that lists only the consumer's client role
    identity = MotoIdentity(org_ids={CONSUMER: "o-consumer"})
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": CLIENT_ROLE},
                "Action": "execute-api:Invoke",
                "Resource": "execute-api:/*",
            }
        ],
    }
    deployment = ApiDeployment(
        api_id=API_ID,
        account=PROVIDER,
        region=REGION,
        stage="Prod",
        openapi={"paths": {"/items": {"get": {}}}},
        resource_policy=policy,
        handler=_whoami,
    )
    assumed = _sts(front, world.client).assume_role(RoleArn=ACCESS_ROLE, RoleSessionName="client")
    provider_session = _session(assumed["Credentials"])
    manager = urllib3.PoolManager(ca_certs=str(tls.ca_bundle), retries=False)
    with Gateway(
        endpoints=[Endpoint("vpce-0moto", "vpc-0moto")], apis=[deployment], callbacks=identity.callbacks(), tls=tls
    ) as gateway:
        # WHEN the direct client (cross-account, listed) and the assume-role client (same account) call
        direct = call(manager, gateway.url("vpce-0moto"), creds=world.client)
        via_role = call(manager, gateway.url("vpce-0moto"), creds=provider_session)
        # AND the user with no policies calls
        user = call(manager, gateway.url("vpce-0moto"), creds=world.user)
    manager.clear()
    # THEN both clients get in, each seen as its own account, and the policy-less user is refused
    assert (direct.status, direct.json()["accountId"], direct.json()["principalOrgId"]) == (200, CONSUMER, "o-consumer")
    assert (via_role.status, via_role.json()["accountId"]) == (200, PROVIDER)
    assert user.status == 403
    assert user.json()["Message"].startswith(f"User: {world.user_arn} is not authorized")
