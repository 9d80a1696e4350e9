"""The listening server and its lifecycle: start, accept within the connection cap, drain on SIGTERM/SIGINT, stop.

One thread runs everything: an asyncio event loop. A connection costs a few kilobytes of
memory rather than a thread, so slow clients cannot exhaust threads, and `max_connections`
bounds the memory all connections together can hold."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import resource
import signal
import socket

from echo_version.accesslog import JsonLog
from echo_version.connection import Connection
from echo_version.service import Service
from echo_version.settings import Settings

LISTEN_BACKLOG = 1024
# File descriptors besides client connections: standard streams, the listener, the event loop's
# selector and wake-up pipe, files read for the process metrics.
RESERVED_DESCRIPTORS = 32
# After running out of descriptors or memory while accepting, wait this long before trying again.
ACCEPT_RETRY_SECONDS = 0.1
RESOURCE_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


def fit_descriptor_limit(max_connections: int) -> tuple[int, int]:
    """Raise the soft open-files limit toward what `max_connections` needs (up to the hard limit).

    Returns the connection cap that fits in the limit, and that limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + RESERVED_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft == resource.RLIM_INFINITY:
        return max_connections, soft
    return max(1, min(max_connections, soft - RESERVED_DESCRIPTORS)), soft


def open_listener(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
    listener.setblocking(False)
    return listener


class EchoServer:
    """Accepts connections while fewer than `max_connections` are open and serves each in a task."""

    def __init__(self, service: Service, listener: socket.socket) -> None:
        self.service = service
        self.listener = listener
        self.slots = asyncio.Semaphore(service.settings.limits.max_connections)
        self.tasks: set[asyncio.Task[None]] = set()

    async def accept(self) -> None:
        """Accept until cancelled; at the cap, new connections wait in the listen backlog."""
        loop = asyncio.get_running_loop()
        reported = False
        while True:
            await self.slots.acquire()
            try:
                sock, address = await loop.sock_accept(self.listener)
            except OSError as problem:
                self.slots.release()
                if problem.errno not in RESOURCE_ERRORS:
                    continue  # the client gave up before it was accepted
                if not reported:
                    self.service.log.event("accept_failed", level="warning", error=str(problem))
                    reported = True
                await asyncio.sleep(ACCEPT_RETRY_SECONDS)
                continue
            except BaseException:
                self.slots.release()
                raise
            task = asyncio.create_task(self._serve(sock, str(address[0]), loop.time()))
            self.tasks.add(task)
            task.add_done_callback(self._finished)

    async def _serve(self, sock: socket.socket, client: str, accepted_at: float) -> None:
        lifecycle = self.service.lifecycle
        lifecycle.connections += 1
        try:
            await Connection(self.service, sock, client, accepted_at).serve()
        finally:
            lifecycle.connections -= 1

    def _finished(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.slots.release()

    async def close_connections(self) -> None:
        """End every connection still open and wait until their tasks are done."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def serve(settings: Settings, log: JsonLog) -> int:
    """Serve until SIGTERM or SIGINT, then drain; returns the process exit code."""
    max_connections, descriptors = fit_descriptor_limit(settings.limits.max_connections)
    if max_connections < settings.limits.max_connections:
        log.event("max_connections_lowered", level="warning", max_connections=max_connections,
                  open_files_limit=descriptors,
                  message="the open-files limit (ulimit -n) allows fewer connections than MAX_CONNECTIONS")
        settings = dataclasses.replace(
            settings, limits=dataclasses.replace(settings.limits, max_connections=max_connections))
    try:
        listener = open_listener(settings.host, settings.port)
    except OSError as problem:
        log.event("listen_failed", level="error", host=settings.host, port=settings.port,
                  error=f"cannot listen on {settings.host}:{settings.port}: {problem.strerror or problem}; "
                        "choose another --host/--port")
        return 1
    service = Service.create(settings, log)
    server = EchoServer(service, listener)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    received: list[str] = []

    def on_signal(signum: signal.Signals) -> None:
        if service.lifecycle.begin_shutdown():
            received.append(signum.name)
            stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
    limits = settings.limits
    log.event("started", host=settings.host, port=listener.getsockname()[1], version=settings.app_version,
              environment=settings.environment, hostname=settings.hostname,
              fault_error_rate=settings.fault_error_rate, fault_delay_seconds=settings.fault_delay_seconds,
              max_connections=limits.max_connections, header_timeout_seconds=limits.header_timeout_seconds,
              keepalive_timeout_seconds=limits.keepalive_timeout_seconds)
    accepting = asyncio.create_task(server.accept())
    await stop.wait()
    log.event("shutting_down", signal=received[0], in_flight=service.lifecycle.in_flight)
    accepting.cancel()
    await asyncio.gather(accepting, return_exceptions=True)
    listener.close()  # new connections are refused from now on
    unfinished = await service.lifecycle.wait_idle(settings.shutdown_timeout_seconds)
    await server.close_connections()
    log.event("stopped", level="warning" if unfinished else "info", unfinished_requests=unfinished)
    return 0


def run(settings: Settings, log: JsonLog | None = None) -> int:
    """Run the service in a new event loop; returns the process exit code."""
    return asyncio.run(serve(settings, log or JsonLog(settings.access_log)))
