"""moto as the accounts' AWS: one ThreadedMotoServer on 127.0.0.1, and administrator clients of any account onto it."""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

import boto3
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from emulation.accounts import moto_atomic, moto_isolation
from emulation.gateway.sigv4 import SigningCredentials

__all__ = ["MotoServer"]


class MotoServer:
    """A started moto server (IAM, STS, DynamoDB of every account); `stop()` closes its socket."""

    def __init__(self, region: str) -> None:
        # moto's server logs every request through werkzeug at INFO; the access log is the record here.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_atomic.install()  # conditional writes atomic, as DynamoDB's are
        self.region = region
        self._boto = boto3.session.Session()
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto_isolation.hold(self)  # an in-process mock_aws can no longer wipe this deployment
        try:
            self._server.start()
        except BaseException:
            moto_isolation.release(self)
            raise
        # werkzeug writes headers and body separately: without TCP_NODELAY every moto answer waits ~40 ms for a
        # delayed ACK. Accepted sockets inherit the option from the listener on Linux.
        listener = getattr(getattr(self._server, "_server", None), "socket", None)
        if listener is not None:
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        host, self.port = self._server.get_host_and_port()
        self.url = f"http://{host}:{self.port}"

    def stop(self) -> None:
        """Stop serving and close the listening socket; mock_aws resets moto as usual again."""
        moto_isolation.release(self)
        self._server.stop()
        # ThreadedMotoServer.stop() leaves its listening socket open.
        server = getattr(self._server, "_server", None)
        if server is not None:
            server.server_close()
        with self._lock:
            self._clients.clear()

    def client(self, service: str, account: str) -> Any:
        """A boto3 client acting as an administrator of `account` (setup and inspection)."""
        key = (service, account)
        with self._lock:
            cached = self._clients.get(key)
        if cached is not None:
            return cached
        # boto3-stubs type client() for literal service names only; this helper serves any service.
        client = self._boto.client(  # type: ignore[call-overload]
            service,
            region_name=self.region,
            endpoint_url=self.url,
            aws_access_key_id="AKIAEMULATIONSETUP00",
            aws_secret_access_key="emulation-setup",  # noqa: S106 - moto does not check it  # nosec B106
            config=Config(retries={"max_attempts": 1}),
        )

        def in_account(request: AWSRequest, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign", in_account)
        with self._lock:
            return self._clients.setdefault(key, client)

    def role_credentials(self, role_arn: str, session_name: str) -> SigningCredentials:
        """Temporary credentials of a role (no trust check: what Lambda gets for its execution role)."""
        account = role_arn.split(":")[4]
        answer = self.client("sts", account).assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])
        creds = answer["Credentials"]
        return SigningCredentials(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
