"""Runs echo-version for tests: `python -m echo_version` on a free loopback port, stopped by its pid."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from loopback import free_port

APP_DIR = Path(__file__).resolve().parent.parent / "applications" / "echo-version"
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))

from echo_version.settings import LIMIT_OPTIONS  # noqa: E402 (importable once APP_DIR is on the path)

VERSION = "1.2.3-rc.1"
START_TIMEOUT_SECONDS = 10.0
# Settings read from the environment, dropped so that the caller's own cannot leak in.
APP_VARIABLES = {"APP_VERSION", "APP_ENVIRONMENT", "FAULT_ERROR_RATE", "FAULT_DELAY_SECONDS", "FAULT_SEED",
                 "SHUTDOWN_TIMEOUT_SECONDS", "POD_NAME", *(option.env for option in LIMIT_OPTIONS)}


def app_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(APP_DIR), os.environ.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


@dataclass
class Server:
    process: subprocess.Popen
    port: int
    log_path: Path

    def connection(self, timeout: float = 5.0) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(self, path: str, headers: Mapping[str, str] | None = None,
            method: str = "GET") -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = self.connection()
        try:
            conn.request(method, path, headers=dict(headers or {}))
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def log_events(self) -> list[dict]:
        return [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
            raise


def start_server(tmp_path: Path, *args: str, env: Mapping[str, str] | None = None) -> Server:
    """Start `python -m echo_version` on a free loopback port and wait until /healthz answers."""
    port = free_port()
    log_path = tmp_path / f"server-{port}.log"
    with log_path.open("wb") as log, open(os.devnull, "rb") as devnull:
        process = subprocess.Popen(
            [sys.executable, "-m", "echo_version", "--host", "127.0.0.1", "--port", str(port), *args],
            env=app_env({"APP_VERSION": VERSION, "APP_ENVIRONMENT": "staging", **(env or {})}),
            stdin=devnull, stdout=log, stderr=subprocess.STDOUT)
    server = Server(process, port, log_path)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited with {process.returncode}: {log_path.read_text()}")
        try:
            if server.get("/healthz")[0] == 200:
                return server
        except OSError:
            time.sleep(0.05)
    server.stop(signal.SIGKILL)
    raise AssertionError(f"server did not answer within {START_TIMEOUT_SECONDS}s: {log_path.read_text()}")


def servers(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """The body of a `make_server` fixture: starts servers on demand, kills those still running after the test."""
    started: list[Server] = []

    def make(*args: str, env: Mapping[str, str] | None = None) -> Server:
        started.append(start_server(tmp_path, *args, env=env))
        return started[-1]

    yield make
    for server in started:
        if server.process.poll() is None:
            server.stop(signal.SIGKILL)


def metric_value(text: str, name: str, labels: Mapping[str, str] | None = None) -> float:
    """The value of one sample in the Prometheus text format, 0 when absent."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                return sample.value
    return 0.0


def raw_exchange(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes and read until the service closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    return answer
