"""Loopback servers for tests: free ports on 127.0.0.1, waiting for a server to listen, and a quiet HTTP
handler with one way to answer."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    """A TCP port of 127.0.0.1 that is free now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_listening(port: int, process: subprocess.Popen, timeout: float = 10.0) -> bool:
    """True once 127.0.0.1:`port` accepts connections; False when `process` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class QuietHandler(BaseHTTPRequestHandler):
    """An HTTP handler that logs nothing and answers whole replies."""

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None,
              length: int | None = None) -> None:
        """Status, headers, Content-Length (`length` to announce another one) and body."""
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        self.end_headers()
        self.wfile.write(body)

    def reply_json(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        self.reply(status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})


def bearer_challenge(port: int) -> str:
    """The WWW-Authenticate header of a registry on 127.0.0.1:`port` whose token endpoint is /token."""
    return f'Bearer realm="http://127.0.0.1:{port}/token",service="test"'


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """`handler` served on a free 127.0.0.1 port from a thread of this process; shut down on exit."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
