"""A scripted HTTPS server on an ephemeral 127.0.0.1 port, for tests whose code under test speaks real HTTPS."""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Iterator

import trustme

from tests.unit.client.support import ScriptedHTTPSServer


@contextlib.contextmanager
def running_https(tls_ca: trustme.CA) -> Iterator[ScriptedHTTPSServer]:
    """Serve in a thread with a certificate from `tls_ca` for 127.0.0.1 and localhost; shut down and close on exit."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    server = ScriptedHTTPSServer(context)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
