"""Throughput and latency of echo-version on loopback.

Starts the service as a subprocess on a free 127.0.0.1 port, runs a fixed number of
keep-alive clients (threads with http.client) against one path for a fixed time, prints
requests per second and latency percentiles, then stops the service by its pid.

    python benchmarks/echo_benchmark.py                      # 16 clients, 10 s, /version
    python benchmarks/echo_benchmark.py --concurrency 32 --duration 5 --access-log
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent.parent / "applications" / "echo-version"
START_TIMEOUT_SECONDS = 10.0
MAX_DURATION_SECONDS = 120.0


@dataclass
class ClientResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    unexpected_status: int = 0


@dataclass
class Report:
    path: str
    concurrency: int
    duration_seconds: float
    access_log: bool
    requests: int
    errors: int
    unexpected_status: int
    requests_per_second: float
    latency_ms: dict[str, float]
    service_cpu_us_per_request: float | None = None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_service(port: int, access_log: bool, *extra_args: str) -> subprocess.Popen:
    """Start echo-version on 127.0.0.1:port with `extra_args`; returns once /readyz answers."""
    env = dict(os.environ, PYTHONPATH=str(APP_DIR), APP_VERSION="0.0.0-bench", APP_ENVIRONMENT="bench")
    for name in ("FAULT_ERROR_RATE", "FAULT_DELAY_SECONDS"):
        env.pop(name, None)
    command = [sys.executable, "-m", "echo_version", "--host", "127.0.0.1", "--port", str(port), *extra_args]
    if not access_log:
        command.append("--quiet")
    process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"echo-version exited with code {process.returncode} before answering")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                conn.close()
                return process
        except OSError:
            time.sleep(0.05)
    stop_service(process)
    raise SystemExit(f"echo-version did not become ready within {START_TIMEOUT_SECONDS:g}s")


def stop_service(process: subprocess.Popen) -> int:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        return process.wait(timeout=5)


def client(port: int, path: str, start: threading.Barrier, stop_at: list[float], result: ClientResult,
           keep_alive: bool = True) -> None:
    """Requests back to back until the deadline, on one kept-alive connection or a new one for each."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Accept": "application/json", "User-Agent": "echo-benchmark"}
    start.wait()
    clock = time.perf_counter
    while clock() < stop_at[0]:
        began = clock()
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            result.errors += 1
            conn.close()
            continue
        result.latencies.append(clock() - began)
        if response.status != 200:
            result.unexpected_status += 1
        if not keep_alive:
            conn.close()
    conn.close()


def percentile(sorted_values: list[float], share: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(share * len(sorted_values)) - 1))
    return sorted_values[index]


def run(port: int, path: str, concurrency: int, duration: float, access_log: bool, warmup: float) -> Report:
    results = [ClientResult() for _ in range(concurrency)]
    start = threading.Barrier(concurrency + 1)
    stop_at = [float("inf")]
    threads = [threading.Thread(target=client, args=(port, path, start, stop_at, r), daemon=True)
               for r in results]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + warmup + duration
    start.wait()
    # Requests answered during the warm-up are dropped.
    time.sleep(warmup)
    warm_counts = [len(r.latencies) for r in results]
    began = time.perf_counter()
    for thread in threads:
        thread.join(timeout=duration + 30)
    elapsed = time.perf_counter() - began
    latencies = sorted(x for r, skip in zip(results, warm_counts, strict=False) for x in r.latencies[skip:])
    ms = {name: round(value * 1000, 3) for name, value in [
        ("p50", percentile(latencies, 0.50)), ("p90", percentile(latencies, 0.90)),
        ("p99", percentile(latencies, 0.99)), ("max", latencies[-1] if latencies else float("nan")),
        ("mean", statistics.fmean(latencies) if latencies else float("nan"))]}
    return Report(path=path, concurrency=concurrency, duration_seconds=round(elapsed, 2), access_log=access_log,
                  requests=len(latencies), errors=sum(r.errors for r in results),
                  unexpected_status=sum(r.unexpected_status for r in results),
                  requests_per_second=round(len(latencies) / elapsed, 1), latency_ms=ms)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive clients (default 16)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured (default 10)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds run before measuring (default 1)")
    parser.add_argument("--path", default="/version", help="path requested (default /version)")
    parser.add_argument("--access-log", action="store_true", help="keep access logs on (written to /dev/null)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 512 or not 0 < args.duration <= MAX_DURATION_SECONDS or args.warmup < 0:
        parser.error(f"use 1..512 clients, a duration up to {MAX_DURATION_SECONDS:g}s and a warm-up >= 0")
    port = free_port()
    process = start_service(port, args.access_log)
    try:
        cpu_before = cpu_seconds(process.pid)
        report = run(port, args.path, args.concurrency, args.duration, args.access_log, args.warmup)
        cpu_after = cpu_seconds(process.pid)
    finally:
        exit_code = stop_service(process)
    if cpu_before is not None and cpu_after is not None and report.requests:
        # The warm-up requests used CPU too; count them in by scaling with the measured rate.
        total = report.requests_per_second * (args.duration + args.warmup)
        report.service_cpu_us_per_request = round((cpu_after - cpu_before) / total * 1e6, 1)
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(f"{report.path}: {report.concurrency} keep-alive clients for {report.duration_seconds}s "
              f"(access log {'on' if report.access_log else 'off'})")
        print(f"  {report.requests} requests, {report.requests_per_second} req/s, "
              f"{report.errors} errors, {report.unexpected_status} non-200")
        print("  latency ms: " + ", ".join(f"{k} {v}" for k, v in report.latency_ms.items()))
        if report.service_cpu_us_per_request is not None:
            print(f"  service CPU per request: {report.service_cpu_us_per_request} us")
        print(f"  service exited with {exit_code}")
    return 0 if report.errors == 0 and exit_code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
