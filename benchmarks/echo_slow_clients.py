"""echo-version under thousands of slow clients: its threads, memory and /version latency.

Starts the service on a free 127.0.0.1 port and opens --sockets connections that send a request
head one byte every --byte-interval seconds and never finish it (a socket the service closes is
opened again, so as many are held all the time). Meanwhile it asks for /version back to back on
a kept-alive connection and on a new connection per request, and samples the service's threads,
resident memory and open descriptors from /proc. It prints the figures, checks them against the
bounds given, and stops the service by its pid. Linux only (/proc).

    python benchmarks/echo_slow_clients.py                   # 2000 sockets for 20 s
    python benchmarks/echo_slow_clients.py --sockets 3000 --duration 30 --json

Each slow socket is a file descriptor here and in the service: the benchmark raises its own soft
open-files limit (up to the hard limit) when --sockets needs it, and the service, started from
here, inherits that limit.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import selectors
import socket
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from echo_benchmark import APP_DIR, ClientResult, client, free_port, percentile, start_service, stop_service

sys.path.insert(0, str(APP_DIR))
from echo_version.server import fit_descriptor_limit  # noqa: E402  (the service's own rule, for this process)

SLOW_PREFIX = b"GET /version HTTP/1.1\r\nHost: bench\r\nX-Slow: "
SAMPLE_SECONDS = 0.25


@dataclass
class SlowStats:
    opened: int = 0
    closed_by_service: int = 0
    lifetimes: list[float] = field(default_factory=list)
    held_min: int | None = None


@dataclass
class Report:
    sockets: int
    duration_seconds: float
    byte_interval_seconds: float
    slow_sockets_held_min: int
    slow_sockets_opened: int
    closed_by_service: int
    longest_slow_socket_seconds: float | None
    threads_max: int
    rss_mib_before: float
    rss_mib_max: float
    descriptors_max: int
    version_requests: int
    version_errors: int
    version_ms: dict[str, float]
    closed_by_reason: dict[str, float]
    failures: list[str]


class SlowClients(threading.Thread):
    """Holds `count` connections that trickle an unfinished request head; reopens those the service closes."""

    def __init__(self, port: int, count: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.port, self.count, self.interval = port, count, interval
        self.stats = SlowStats()
        self.stop_at = float("inf")
        self.ready = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._due: collections.deque[tuple[float, socket.socket]] = collections.deque()
        self._opened_at: dict[socket.socket, float] = {}

    def _open(self, now: float, phase: float) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        sock.sendall(SLOW_PREFIX)
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ)
        self._opened_at[sock] = now
        self._due.append((now + phase, sock))
        self.stats.opened += 1

    def _closed(self, sock: socket.socket, now: float) -> None:
        """The service closed `sock` (end of file, or a reset): record how long it lived, open another."""
        if sock not in self._opened_at:
            return
        self.stats.lifetimes.append(now - self._opened_at.pop(sock))
        self.stats.closed_by_service += 1
        self._selector.unregister(sock)
        sock.close()
        if now < self.stop_at:
            self._open(now, self.interval)

    def run(self) -> None:
        for index in range(self.count):
            self._open(time.monotonic(), self.interval * index / self.count)
        self.ready.set()
        while (now := time.monotonic()) < self.stop_at:
            for key, _ in self._selector.select(timeout=0.02):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    data = sock.recv(4096)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._closed(sock, now)
            while self._due and self._due[0][0] <= now:
                _, sock = self._due.popleft()
                if sock not in self._opened_at:
                    continue  # closed since it was queued
                try:
                    sock.send(b"x")
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError:
                    self._closed(sock, now)
                    continue
                self._due.append((now + self.interval, sock))
            held = len(self._opened_at)
            self.stats.held_min = held if self.stats.held_min is None else min(self.stats.held_min, held)
        for sock in list(self._opened_at):
            sock.close()


def sample(pid: int) -> tuple[int, float, int]:
    """Threads, resident memory in MiB and open descriptors of a process, from /proc."""
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return (int(status["Threads"]), int(status["VmRSS"].split()[0]) / 1024,
            len(os.listdir(f"/proc/{pid}/fd")))


def closed_by_reason(port: int) -> dict[str, float]:
    """The service's echo_version_connections_closed_total, by reason."""
    from prometheus_client.parser import text_string_to_metric_families

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    return {s.labels["reason"]: s.value for family in text_string_to_metric_families(text)
            for s in family.samples if s.name == "echo_version_connections_closed_total"}


def measure(args: argparse.Namespace, port: int, pid: int) -> Report:
    _, rss_before, _ = sample(pid)
    slow = SlowClients(port, args.sockets, args.byte_interval)
    slow.start()
    if not slow.ready.wait(timeout=60):
        raise SystemExit(f"could not open {args.sockets} slow sockets within 60 s")
    probes = [ClientResult(), ClientResult()]
    start = threading.Barrier(len(probes) + 1)
    stop_at = [time.perf_counter() + args.duration]
    slow.stop_at = time.monotonic() + args.duration
    threads = [threading.Thread(target=client, args=(port, "/version", start, stop_at, result, keep_alive), daemon=True)
               for keep_alive, result in zip((True, False), probes, strict=True)]
    for thread in threads:
        thread.start()
    start.wait()
    samples = []
    while time.perf_counter() < stop_at[0]:
        samples.append(sample(pid))
        time.sleep(SAMPLE_SECONDS)
    for thread in [*threads, slow]:
        thread.join(timeout=30)
    latencies = sorted(x for p in probes for x in p.latencies)
    ms = {name: round(value * 1000, 3) for name, value in [
        ("p50", percentile(latencies, 0.50)), ("p99", percentile(latencies, 0.99)),
        ("max", latencies[-1] if latencies else float("nan"))]}
    return Report(
        sockets=args.sockets, duration_seconds=args.duration, byte_interval_seconds=args.byte_interval,
        slow_sockets_held_min=slow.stats.held_min or 0, slow_sockets_opened=slow.stats.opened,
        closed_by_service=slow.stats.closed_by_service,
        longest_slow_socket_seconds=round(max(slow.stats.lifetimes), 2) if slow.stats.lifetimes else None,
        threads_max=max(s[0] for s in samples), rss_mib_before=round(rss_before, 1),
        rss_mib_max=round(max(s[1] for s in samples), 1), descriptors_max=max(s[2] for s in samples),
        version_requests=len(latencies), version_errors=sum(p.errors + p.unexpected_status for p in probes),
        version_ms=ms, closed_by_reason=closed_by_reason(port), failures=[])


def check(report: Report, args: argparse.Namespace) -> list[str]:
    """The bounds the run must stay within."""
    failures = []
    if report.threads_max > args.max_threads:
        failures.append(f"threads reached {report.threads_max}, above {args.max_threads}")
    if report.rss_mib_max > args.max_rss_mib:
        failures.append(f"resident memory reached {report.rss_mib_max} MiB, above {args.max_rss_mib:g} MiB")
    if not report.version_ms["p99"] <= args.max_p99_ms:
        failures.append(f"/version p99 {report.version_ms['p99']} ms, above {args.max_p99_ms:g} ms")
    if report.version_errors:
        failures.append(f"{report.version_errors} /version requests failed")
    if report.slow_sockets_held_min < args.sockets * 0.95:
        failures.append(f"only {report.slow_sockets_held_min} of {args.sockets} slow sockets were held at one time")
    longest = report.longest_slow_socket_seconds
    if args.header_timeout < args.duration and (longest is None or longest > args.header_timeout + 2):
        failures.append(f"a slow socket lived {longest} s; the header deadline is {args.header_timeout:g} s")
    return failures


def summary(report: Report, open_files_limit: int) -> list[str]:
    return [
        f"{report.sockets} slow sockets (a byte every {report.byte_interval_seconds:g} s) for "
        f"{report.duration_seconds:g} s; open-files limit {open_files_limit}",
        f"  held at least {report.slow_sockets_held_min}; opened {report.slow_sockets_opened}, closed by the "
        f"service {report.closed_by_service}, longest lived {report.longest_slow_socket_seconds} s",
        f"  service: threads max {report.threads_max}, RSS {report.rss_mib_before} MiB before, "
        f"{report.rss_mib_max} MiB max, descriptors max {report.descriptors_max}",
        f"  /version: {report.version_requests} requests, {report.version_errors} failed, latency ms: "
        + ", ".join(f"{k} {v}" for k, v in report.version_ms.items()),
        "  connections closed by reason: " + ", ".join(f"{k} {v:g}" for k, v in report.closed_by_reason.items()),
        "  " + ("; ".join(report.failures) if report.failures else "within bounds"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sockets", type=int, default=2000, help="slow sockets held (default 2000)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds measured (default 20)")
    parser.add_argument("--byte-interval", type=float, default=1.0,
                        help="seconds between two bytes of one slow socket (default 1)")
    parser.add_argument("--header-timeout", type=float, default=10.0,
                        help="the service's --header-timeout (default 10, its own default)")
    parser.add_argument("--max-threads", type=int, default=4, help="bound on the service's threads (default 4)")
    parser.add_argument("--max-rss-mib", type=float, default=64.0, help="bound on its resident memory (default 64)")
    parser.add_argument("--max-p99-ms", type=float, default=100.0, help="bound on /version p99 (default 100 ms)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.sockets <= 20000 or not 0 < args.duration <= 300 or args.byte_interval <= 0:
        parser.error("use 1..20000 sockets, a duration up to 300 s and a positive byte interval")
    fits, limit = fit_descriptor_limit(args.sockets)  # raises this process's soft limit if it must
    if fits < args.sockets:
        parser.error(f"the hard open-files limit ({limit}) is too low for {args.sockets} sockets")
    port = free_port()
    process = start_service(port, False, "--header-timeout", str(args.header_timeout))
    try:
        report = measure(args, port, process.pid)
    finally:
        exit_code = stop_service(process)
    report.failures = check(report, args) + ([] if exit_code == 0 else [f"the service exited with {exit_code}"])
    print(json.dumps(asdict(report), indent=2) if args.json else "\n".join(summary(report, limit)))
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
