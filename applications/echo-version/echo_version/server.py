"""The listening server and its lifecycle: start, serve, drain on SIGTERM/SIGINT, stop."""

from __future__ import annotations

import signal
import socket
import sys
import threading
from http.server import ThreadingHTTPServer
from types import FrameType

from echo_version.accesslog import JsonLog
from echo_version.handler import Handler
from echo_version.service import Service
from echo_version.settings import Settings

POLL_INTERVAL_SECONDS = 0.1
QUIET_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class EchoServer(ThreadingHTTPServer):
    """One thread per connection; handler threads never block interpreter exit."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.service = service
        super().__init__(address, Handler)

    def handle_error(self, request: object, client_address: tuple[str, int]) -> None:
        """Log an unexpected error of one connection as one line (clients going away are normal)."""
        error = sys.exc_info()[1]
        if not isinstance(error, QUIET_ERRORS):
            self.service.log.event("connection_error", level="error", client=client_address[0],
                                   error=repr(error))


def run(settings: Settings, log: JsonLog | None = None) -> int:
    """Serve until SIGTERM or SIGINT, then drain; returns the process exit code."""
    log = log or JsonLog(settings.access_log)
    service = Service.create(settings, log)
    try:
        server = EchoServer((settings.host, settings.port), service)
    except OSError as error:
        log.event("listen_failed", level="error", host=settings.host, port=settings.port,
                  error=f"cannot listen on {settings.host}:{settings.port}: {error.strerror or error}; "
                        "choose another --host/--port")
        return 1

    def shut_down(signal_name: str) -> None:
        log.event("shutting_down", signal=signal_name, in_flight=service.lifecycle.in_flight)
        server.shutdown()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        if service.lifecycle.begin_shutdown():
            threading.Thread(target=shut_down, args=(signal.Signals(signum).name,), daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.event("started", host=settings.host, port=server.server_address[1], version=settings.app_version,
              environment=settings.environment, hostname=settings.hostname,
              fault_error_rate=settings.fault_error_rate, fault_delay_seconds=settings.fault_delay_seconds)
    try:
        server.serve_forever(poll_interval=POLL_INTERVAL_SECONDS)
    finally:
        server.server_close()  # stop accepting connections
    unfinished = service.lifecycle.wait_idle(settings.shutdown_timeout_seconds)
    log.event("stopped", level="warning" if unfinished else "info", unfinished_requests=unfinished)
    return 0
