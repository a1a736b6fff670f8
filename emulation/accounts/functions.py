"""The deployed Lambda functions: how a rendered function runs (Lambda's environment, a DNS view) and its sandboxes.

One `Functions` per running deployment: the backend's pool, and one pool per client configuration (kind, site, via,
extra environment), each with its own warm sandboxes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from cfnrender.stacks import FunctionView
from client.names import ClientKind
from emulation.gateway.sigv4 import SigningCredentials
from emulation.lambdas.sandbox import FunctionPool, FunctionSpec

__all__ = ["BACKEND", "ClientKey", "Functions", "lambda_environment", "warm"]

BACKEND = "backend"
# (kind, site, via, sorted extra environment): one function configuration, with its own sandboxes.
ClientKey = tuple[ClientKind, str, str | None, tuple[tuple[str, str], ...]]
RoleCredentials = Callable[[str, str], SigningCredentials]


def lambda_environment(
    function: FunctionView, credentials: SigningCredentials, region: str, extra: Mapping[str, str]
) -> dict[str, str]:
    """What Lambda puts in a sandbox's environment, plus the emulation's stand-ins for AWS endpoints."""
    reserved = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "_HANDLER": function.handler,
        "LAMBDA_TASK_ROOT": str(function.code_dir),
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": function.log_group,
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_SESSION_TOKEN": credentials.token or "",
    }
    offline = {
        # Never read the developer's AWS files or the instance metadata service; no X-Ray daemon offline.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    return {**function.environment, **reserved, **offline, **extra}


def warm(pools: Iterable[FunctionPool], count: int = 1) -> None:
    """Start `count` sandboxes per pool, the pools in parallel (each sandbox takes a second or so of imports)."""
    threads = [
        threading.Thread(target=pool.warm, args=(count,), name=f"warm-{pool.spec.name}", daemon=True) for pool in pools
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


class Functions:
    """The sandbox pools of one running deployment: the backend's and one per client configuration."""

    def __init__(
        self,
        backend: FunctionView,
        *,
        region: str,
        role_credentials: RoleCredentials,
        dynamodb_url: str,
        max_concurrency: int,
    ) -> None:
        self._region = region
        self._role_credentials = role_credentials
        self._max_concurrency = max_concurrency
        self._lock = threading.Lock()
        self._clients: dict[ClientKey, FunctionPool] = {}
        # Where backend sandboxes reach DynamoDB, read when one starts (moto, or a proxy put in front of it).
        self.backend_dynamodb = dynamodb_url
        self.backend = self._backend_pool(backend)

    def spec(
        self, function: FunctionView, extra: Callable[[], Mapping[str, str]], dns: Callable[[], Mapping[str, int]]
    ) -> FunctionSpec:
        """How to run one rendered function in a sandbox: its code, limits, Lambda-like environment and DNS view."""

        def environment() -> dict[str, str]:
            values = extra()
            credentials = self._role_credentials(function.role_arn, function.name)
            return lambda_environment(function, credentials, self._region, values)

        return FunctionSpec(
            name=function.name,
            arn=function.arn,
            handler=function.handler,
            code_dir=function.code_dir,
            timeout=function.timeout,
            memory_mb=function.memory_mb,
            log_group=function.log_group,
            environment=environment,
            dns=dns,
        )

    def _backend_pool(self, function: FunctionView) -> FunctionPool:
        # DynamoDB is moto; the backend signs with its own role's credentials, in the provider account.
        spec = self.spec(function, lambda: {"AWS_ENDPOINT_URL_DYNAMODB": self.backend_dynamodb}, lambda: {})
        return FunctionPool(spec, max_concurrency=self._max_concurrency)

    def replace_backend(self, function: FunctionView) -> None:
        """A new backend function configuration: new sandboxes from now on, the previous ones stopped."""
        previous, self.backend = self.backend, self._backend_pool(function)
        previous.stop()

    def invoke_backend(self, event: dict[str, Any], context: Any) -> Any:
        """The gateway's integration: the current backend's handler."""
        return self.backend.handler()(event, context)

    def client(self, key: ClientKey, spec: Callable[[], FunctionSpec]) -> FunctionPool:
        """The pool of one client configuration, created from `spec()` on first use."""
        with self._lock:
            pool = self._clients.get(key)
            if pool is not None:
                return pool
        pool = FunctionPool(spec(), max_concurrency=self._max_concurrency)
        with self._lock:
            return self._clients.setdefault(key, pool)

    def logs(self, kind: str, site: str) -> list[str]:
        """Log lines of the backend or of one site's client function (every configuration of it) so far."""
        if kind == BACKEND:
            return self.backend.logs
        with self._lock:
            pools = [p for k, p in self._clients.items() if k[0] == kind and k[1] == site]
        return [line for pool in pools for line in pool.logs]

    def recycle(self, kind: str | None, site: str) -> None:
        """Next invocation is a cold start: of every function (kind None), the backend, or one site's client."""
        with self._lock:
            clients = [p for k, p in self._clients.items() if kind is None or (k[0] == kind and k[1] == site)]
        backend = [self.backend] if kind in (None, BACKEND) else []
        for pool in [*clients, *backend]:
            pool.recycle()

    def drop_clients(self) -> None:
        """Forget every client pool (a new function configuration: the next invocations are cold starts)."""
        with self._lock:
            pools = [*self._clients.values()]
            self._clients.clear()
        for pool in pools:
            pool.stop()

    def stop(self) -> None:
        """Stop every sandbox, in parallel: each takes a moment to tear its interpreter down."""
        with self._lock:
            pools = [*self._clients.values(), self.backend]
            self._clients.clear()
        stopping = [threading.Thread(target=pool.stop, daemon=True) for pool in pools]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()
