"""A scripted HTTPS server on an ephemeral 127.0.0.1 port, for tests whose code under test speaks real HTTPS."""

from __future__ import annotations

import contextlib
import socketserver
import ssl
import threading
from collections.abc import Iterator

import trustme

from tests.unit.client.support import ScriptedHTTPSServer

# serve_forever notices shutdown() only between polls, so each server's exit waited up to a whole interval: at 0.05 s
# that was ~50 ms per test (measured: 55.6 ms per start/stop), most of the client unit tests' waiting. A 5 ms poll
# costs a few hundred idle wake-ups a second while a server runs.
SHUTDOWN_POLL_SECONDS = 0.005


@contextlib.contextmanager
def serving(server: socketserver.BaseServer) -> Iterator[None]:
    """Run `server` in a daemon thread; shut it down and close it on exit."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL_SECONDS}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def running_https(tls_ca: trustme.CA) -> Iterator[ScriptedHTTPSServer]:
    """Serve in a thread with a certificate from `tls_ca` for 127.0.0.1 and localhost; shut down and close on exit."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = ScriptedHTTPSServer(context)
    with serving(server):
        yield server
