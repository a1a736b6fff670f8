"""The recorded sam served from the test process, so each `sam` call costs a bare Python start instead of a boto3
import (seconds per call on a busy machine; a deploy-all run makes seven).

`sam` on PATH becomes a standard-library client (`install_client`) that posts its argv and environment to a
`SamService` in this process; the service runs tests/workflow/recorded_sam.py's `main` with that environment and
sends back its exit status and output. The calls are the same, recorded the same; only the process boundary moved.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import threading
import traceback
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.workflow import recorded_sam

# One sam call at a time: each runs with its caller's environment in place of this process's.
_LOCK = threading.Lock()

CLIENT = """#!{python} -IS
# The recorded sam's client (tests/workflow/sam_service.py): standard library only, so it starts fast.
import json, os, sys, urllib.request
request = urllib.request.Request(
    {url!r}, data=json.dumps({{"argv": sys.argv[1:], "env": dict(os.environ)}}).encode(), method="POST"
)
with urllib.request.urlopen(request, timeout=300) as answer:
    result = json.loads(answer.read())
sys.stdout.write(result["stdout"])
sys.stderr.write(result["stderr"])
sys.exit(result["status"])
"""


def run_recorded_sam(argv: list[str], env: dict[str, str]) -> dict[str, Any]:
    """recorded_sam.main(argv) as if in a process with this environment: its status and output."""
    out, err = io.StringIO(), io.StringIO()
    with _LOCK:
        saved = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    status = recorded_sam.main(argv)
                except Exception:
                    traceback.print_exc()
                    status = 1
        finally:
            os.environ.clear()
            os.environ.update(saved)
    return {"status": status, "stdout": out.getvalue(), "stderr": err.getvalue()}


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps(run_recorded_sam(request["argv"], request["env"])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the recorded sam keeps its own log."""


@contextlib.contextmanager
def running_sam_service() -> Iterator[str]:
    """The service on an ephemeral 127.0.0.1 port; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def install_client(bin_dir: Path, url: str, python: str) -> None:
    """Replace the kit's `sam` with the client of the service at url."""
    path = bin_dir / "sam"
    path.write_text(CLIENT.format(python=python, url=url))
    path.chmod(0o755)
