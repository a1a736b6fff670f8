"""Relays from the Docker bridge's gateway address to the emulation's 127.0.0.1 listeners.

Containers reach the host only on the bridge gateway; the emulation listens on loopback. A relay copies bytes both
ways, so TLS (the API's) stays end to end between the client in the container and the emulated endpoint. The STS
front speaks plain HTTP, which the client accepts only from loopback, so its relay terminates TLS itself with a
certificate for the Region's STS name that the container trusts.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from types import TracebackType

__all__ = ["Relay"]

_CHUNK = 65536


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(_CHUNK):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    target: tuple[str, int]
    wrap: Callable[[socket.socket], socket.socket] | None


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        inbound: socket.socket = self.request
        if self.server.wrap is not None:
            try:
                inbound = self.server.wrap(inbound)
            except (OSError, ssl.SSLError):
                return
        with socket.create_connection(self.server.target, timeout=30) as outbound:
            outbound.settimeout(None)
            back = threading.Thread(target=_pump, args=(outbound, inbound), daemon=True)
            back.start()
            _pump(inbound, outbound)
            back.join()


class Relay:
    """Listens on `host` (an ephemeral port) and relays each connection to 127.0.0.1:`target_port`."""

    def __init__(self, host: str, target_port: int, *, tls: ssl.SSLContext | None = None) -> None:
        self._server = _Server((host, 0), _Handler)
        self._server.target = ("127.0.0.1", target_port)
        self._server.wrap = None if tls is None else (lambda sock: tls.wrap_socket(sock, server_side=True))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        """The port the relay listens on."""
        return int(self._server.server_address[1])

    def __enter__(self) -> Relay:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
