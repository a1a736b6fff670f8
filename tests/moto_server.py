"""moto's server on an ephemeral 127.0.0.1 port, for tests whose code under test speaks real HTTP to AWS APIs."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from moto.server import ThreadedMotoServer


@contextlib.contextmanager
def running_moto() -> Iterator[str]:
    """Start moto's server in this process (it shares moto's backends) and yield its http://127.0.0.1:port URL."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        # ThreadedMotoServer.stop() leaves the socket open; close it so nothing listens after the tests.
        server._server.server_close()  # type: ignore[union-attr]
