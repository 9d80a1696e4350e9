"""echo-version's connection handling against the real service on a loopback port: malformed and
oversized requests, the connection cap, the header, keep-alive and send deadlines, many slow
sockets on one thread, and shutdown with connections still open."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from echo_harness import Server, app_env, metric_value, raw_exchange, start_server

SLOW_HEAD = b"GET /version HTTP/1.1\r\nHost: x\r\n"
HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("echo"))
    yield running
    assert running.stop() == 0


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Short deadlines, so that each can be seen to pass; tests compare its counters before and after."""
    running = start_server(tmp_path_factory.mktemp("echo"), "--header-timeout", "0.5", "--keepalive-timeout", "0.4",
                           "--send-timeout", "0.5")
    yield running
    assert running.stop() == 0


def closed_count(server: Server, reason: str) -> float:
    return metric_value(server.get("/metrics")[2].decode(), "echo_version_connections_closed_total",
                        {"reason": reason})


def read_answer(sock: socket.socket) -> bytes:
    """One answer with a Content-Length body, read from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed before an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
    length = int(lengths[0])
    while len(body) < length:
        body += sock.recv(4096)
    return head


def seconds_until_closed(sock: socket.socket, limit: float, trickle: float | None = None) -> float:
    """How long until the service closes `sock`; sends one more byte every `trickle` seconds meanwhile."""
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < limit:
        readable, _, _ = select.select([sock], [], [], trickle or 0.05)
        try:
            if readable and not sock.recv(4096):
                return elapsed
            if trickle:
                sock.send(b"x")
        except (ConnectionResetError, BrokenPipeError):
            return time.monotonic() - started
    raise AssertionError(f"still open after {limit} s")


@pytest.mark.parametrize(("request_bytes", "status"), [
    (b"GARBAGE\r\n\r\n", 400),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET /version HTTP/1.1\r\n\r\n", 400),  # HTTP/1.1 requires a Host header
    (b"GET /version HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431),
    (b"GET /version HTTP/2.0\r\nHost: x\r\n\r\n", 505),
    (b"BREW /version HTTP/1.1\r\nHost: x\r\n\r\n", 501),
])
def test_malformed_requests_get_json_errors(server, request_bytes, status):
    head, _, body = raw_exchange(server.port, request_bytes).decode().partition("\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ") and "Connection: close" in head
    assert "error" in json.loads(body)
    # The answer is logged before the connection is closed.
    events = server.log_events()
    assert not [e for e in events if e["level"] == "error"]
    assert [e["status"] for e in events if e["event"] == "request"][-1] == status


@pytest.mark.parametrize("kept_alive", [False, True])
def test_header_deadline_closes_a_slow_socket_however_often_it_sends(strict_server, kept_alive):
    before = closed_count(strict_server, "header_timeout")
    with socket.create_connection(("127.0.0.1", strict_server.port), timeout=5) as sock:
        if kept_alive:  # the deadline starts with the first byte of the next request, not before
            sock.sendall(HEALTHZ)
            assert read_answer(sock).startswith(b"HTTP/1.1 200 ")
            time.sleep(0.3)
        sock.sendall(SLOW_HEAD)
        # A byte every 0.1 s would defeat any per-read timeout; the deadline is for the whole head.
        elapsed = seconds_until_closed(sock, limit=5, trickle=0.1)
    assert 0.4 <= elapsed <= 2.5
    assert closed_count(strict_server, "header_timeout") == before + 1


def test_idle_keepalive_connection_is_closed_and_a_busy_one_is_not(strict_server):
    server = strict_server
    before = closed_count(server, "keepalive_timeout")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for _ in range(4):  # 0.75 s in all, never idle for 0.4 s
            sock.sendall(HEALTHZ)
            assert read_answer(sock).startswith(b"HTTP/1.1 200 ")
            time.sleep(0.25)
        elapsed = seconds_until_closed(sock, limit=5) + 0.25
    assert 0.3 <= elapsed <= 2.5
    assert closed_count(server, "keepalive_timeout") == before + 1


def test_connections_beyond_the_cap_wait_until_one_closes(make_server):
    server = make_server("--max-connections", "3", "--header-timeout", "30")
    holders = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(3)]
    for holder in holders:
        holder.sendall(SLOW_HEAD)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as waiting:
        waiting.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        waiting.settimeout(0.8)
        with pytest.raises(TimeoutError):
            waiting.recv(4096)  # not accepted while three connections are open
        holders.pop().close()
        waiting.settimeout(5)
        assert read_answer(waiting).startswith(b"HTTP/1.1 200 ")
    for holder in holders:
        holder.close()
    metrics = server.get("/metrics")[2].decode()
    assert metric_value(metrics, "echo_version_connections_limit") == 3


def test_send_deadline_closes_a_client_that_does_not_read(strict_server):
    server = strict_server
    before = closed_count(server, "send_timeout")
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", server.port))
        sock.settimeout(5)
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 2000)  # and never read the answers
        deadline = time.monotonic() + 10
        while closed_count(server, "send_timeout") < before + 1:
            assert time.monotonic() < deadline, "the connection was not closed by the send deadline"
            time.sleep(0.1)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads threads from /proc (Linux)")
def test_many_slow_sockets_cost_no_thread_and_version_still_answers(server):
    slow = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(500)]
    try:
        for sock in slow:
            sock.sendall(SLOW_HEAD)
        started = time.monotonic()
        assert server.get("/version")[0] == 200
        assert time.monotonic() - started < 1.0
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        assert "Threads:\t1\n" in status
        metrics = server.get("/metrics")[2].decode()
        assert metric_value(metrics, "echo_version_connections_open") >= 500
    finally:
        for sock in slow:
            sock.close()


def test_shutdown_does_not_wait_for_idle_or_slow_connections(make_server):
    server = make_server()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as idle, \
            socket.create_connection(("127.0.0.1", server.port), timeout=5) as slow:
        idle.sendall(HEALTHZ)
        read_answer(idle)
        slow.sendall(SLOW_HEAD)
        started = time.monotonic()
        assert server.stop() == 0
        assert time.monotonic() - started < 3.0
        assert idle.recv(4096) == b"" and slow.recv(4096) == b""
    events = server.log_events()
    assert events[-1]["event"] == "stopped" and events[-1]["unfinished_requests"] == 0


def test_connection_cap_fits_the_open_files_limit():
    script = ("import json, resource\n"
              "from echo_version.server import fit_descriptor_limit, RESERVED_DESCRIPTORS\n"
              "resource.setrlimit(resource.RLIMIT_NOFILE, (64, 100))\n"
              "print(json.dumps([fit_descriptor_limit(4096), fit_descriptor_limit(10), RESERVED_DESCRIPTORS,\n"
              "                  resource.getrlimit(resource.RLIMIT_NOFILE)]))\n")
    result = subprocess.run([sys.executable, "-c", script], env=app_env(), capture_output=True, text=True,
                            timeout=20, check=True)
    lowered, kept, reserved, limit = json.loads(result.stdout)
    # The soft limit is raised to the hard one; the cap is lowered to what fits under it, or kept.
    assert limit == [100, 100]
    assert lowered == [100 - reserved, 100] and kept == [10, 100]


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_a_second_signal_does_not_cut_the_drain_short(make_server):
    server = make_server()
    conn = server.connection()
    conn.request("GET", "/delay/1")
    time.sleep(0.3)
    os.kill(server.process.pid, signal.SIGTERM)
    time.sleep(0.1)
    os.kill(server.process.pid, signal.SIGINT)
    response = conn.getresponse()
    assert response.status == 200 and response.getheader("Connection") == "close"
    assert server.process.wait(timeout=5) == 0
