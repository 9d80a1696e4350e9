"""Ports on 127.0.0.1 for the servers tests start, and waiting for those servers to listen."""

from __future__ import annotations

import socket
import subprocess
import time


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
