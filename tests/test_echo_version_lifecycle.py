"""echo-version: settings validation and graceful shutdown, against the real service on a loopback port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from echo_harness import app_env

from echo_version.faults import FaultRequestError, parse_delay, parse_status_code
from echo_version.negotiation import prefers_text
from echo_version.settings import SettingsError, load_settings

# --- settings --------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "env", "named"), [
    ([], {"FAULT_ERROR_RATE": "1.5"}, "FAULT_ERROR_RATE='1.5'"),
    ([], {"FAULT_ERROR_RATE": "lots"}, "FAULT_ERROR_RATE='lots'"),
    ([], {"FAULT_DELAY_SECONDS": "31"}, "FAULT_DELAY_SECONDS='31'"),
    ([], {"FAULT_DELAY_SECONDS": "-1"}, "FAULT_DELAY_SECONDS='-1'"),
    ([], {"APP_VERSION": "1.0 beta"}, "APP_VERSION='1.0 beta'"),
    ([], {"FAULT_SEED": "x"}, "FAULT_SEED='x'"),
    (["--fault-error-rate", "2"], {}, "--fault-error-rate='2'"),
    (["--port", "70000"], {}, "--port='70000'"),
    (["--shutdown-timeout", "-5"], {}, "--shutdown-timeout='-5'"),
    ([], {"MAX_CONNECTIONS": "0"}, "MAX_CONNECTIONS='0'"),
])
def test_invalid_settings_exit_2_naming_the_setting(args, env, named):
    result = subprocess.run([sys.executable, "-m", "echo_version", *args], env=app_env(env),
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert named in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_port_in_use_exits_1_with_a_message():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "echo_version", "--host", "127.0.0.1", "--port", str(port)],
            env=app_env(), capture_output=True, text=True, timeout=20)
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stdout
    assert "Traceback" not in result.stderr + result.stdout


def test_check_validates_and_prints_settings():
    result = subprocess.run([sys.executable, "-m", "echo_version", "--check"],
                            env=app_env({"APP_VERSION": "0.2.0", "FAULT_ERROR_RATE": "0.5"}),
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 0
    printed = json.loads(result.stdout)
    assert printed["app_version"] == "0.2.0" and printed["fault_error_rate"] == 0.5


def test_settings_defaults_and_blank_values():
    settings = load_settings([], {"FAULT_ERROR_RATE": " ", "APP_VERSION": "", "POD_NAME": "pod-1"})
    assert (settings.port, settings.host, settings.fault_error_rate) == (8080, "0.0.0.0", 0.0)
    assert settings.app_version == "0.0.0-dev" and settings.hostname == "pod-1"
    limits = settings.limits
    assert (limits.max_connections, limits.max_header_bytes) == (4096, 8192)
    assert (limits.header_timeout_seconds, limits.keepalive_timeout_seconds, limits.send_timeout_seconds) == \
        (10.0, 60.0, 10.0)
    flags = load_settings(["--max-connections", "10", "--header-timeout", "2.5"], {"MAX_CONNECTIONS": "99"})
    assert (flags.limits.max_connections, flags.limits.header_timeout_seconds) == (10, 2.5)


def test_settings_collect_every_problem():
    with pytest.raises(SettingsError) as error:
        load_settings(["--port", "x"], {"FAULT_ERROR_RATE": "2", "FAULT_DELAY_SECONDS": "inf"})
    assert [p.split("=")[0] for p in error.value.problems] == ["--port", "FAULT_ERROR_RATE", "FAULT_DELAY_SECONDS"]


def test_limits_out_of_range_are_named():
    with pytest.raises(SettingsError) as error:
        load_settings(["--max-header-bytes", "100", "--send-timeout", "nan"],
                      {"MAX_CONNECTIONS": "1.5", "HEADER_TIMEOUT_SECONDS": "soon", "KEEPALIVE_TIMEOUT_SECONDS": "0"})
    assert error.value.problems == [
        "MAX_CONNECTIONS='1.5': must be a whole number from 1 to 1000000",
        "--max-header-bytes='100': must be a whole number from 1024 to 1048576",
        "HEADER_TIMEOUT_SECONDS='soon': must be a number from 0.1 to 600",
        "KEEPALIVE_TIMEOUT_SECONDS='0': must be a number from 0.1 to 3600",
        "--send-timeout='nan': must be a number from 0.1 to 600",
    ]


@pytest.mark.parametrize(("accept", "agent", "text"), [
    (None, None, False),
    (None, "curl/7.88.1", True),
    ("*/*", "curl/7.88.1", True),
    ("application/json", "curl/7.88.1", False),
    ("text/plain", None, True),
    ("text/html, */*;q=0.1", None, False),
    ("application/json;q=0, text/plain;q=0.1", None, True),
    ("text/plain;q=bogus, application/json", None, False),
])
def test_negotiation(accept, agent, text):
    assert prefers_text(accept, agent) is text


def test_fault_parameter_parsing():
    assert parse_status_code("599") == 599 and parse_delay("0.25") == 0.25 and parse_delay("30") == 30.0
    for bad in ["100", "600", "x", "５００", "²⁰⁰"]:
        with pytest.raises(FaultRequestError):
            parse_status_code(bad)
    for bad in ["30.01", "-1", "nan", "１"]:
        with pytest.raises(FaultRequestError):
            parse_delay(bad)


# --- shutdown ----------------------------------------------------------------------------------

def test_sigterm_drains_in_flight_requests_and_exits_0(make_server):
    server = make_server()
    probe = server.connection()
    probe.request("GET", "/readyz")
    assert probe.getresponse().read() == b'{"status":"ready"}\n'

    result: dict[str, object] = {}

    def slow_request() -> None:
        started = time.monotonic()
        result["status"], _, result["body"] = server.get("/delay/1.0")
        result["elapsed"] = time.monotonic() - started

    worker = threading.Thread(target=slow_request)
    worker.start()
    time.sleep(0.3)  # the slow request is in flight
    os.kill(server.process.pid, signal.SIGTERM)
    # Readiness turns false, seen on a connection opened before the signal.
    deadline = time.monotonic() + 2.0
    while True:
        probe.request("GET", "/readyz")
        response = probe.getresponse()
        answer = (response.status, response.read())
        if answer[0] == 503 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert answer == (503, b'{"status":"shutting down"}\n')
    assert response.getheader("Connection") == "close"
    probe.close()
    # New connections are refused while the in-flight request is still running.
    while time.monotonic() < deadline:
        try:
            server.get("/healthz")
        except OSError:
            break
        time.sleep(0.02)
    else:
        pytest.fail("the server still accepts connections 2s after SIGTERM")
    assert worker.is_alive() and "status" not in result
    worker.join(timeout=5)
    assert result["status"] == 200 and result["elapsed"] >= 1.0
    assert server.process.wait(timeout=5) == 0
    events = server.log_events()
    names = [e["event"] for e in events]
    assert names[0] == "started" and names[-1] == "stopped" and events[-1]["unfinished_requests"] == 0
    drained = events[names.index("shutting_down"):]
    assert any(e.get("path") == "/delay/1.0" and e["status"] == 200 for e in drained)


def test_sigint_stops_an_idle_server_quickly(make_server):
    server = make_server("--quiet")
    server.get("/version")
    started = time.monotonic()
    assert server.stop(signal.SIGINT) == 0
    # Far below the 25s drain bound: nothing was in flight.
    assert time.monotonic() - started < 4.0
    assert [e["event"] for e in server.log_events()] == ["started", "shutting_down", "stopped"]


def test_shutdown_timeout_bounds_the_drain(make_server):
    server = make_server("--shutdown-timeout", "0.3")
    worker = threading.Thread(target=lambda: pytest.raises(OSError, server.get, "/delay/5"), daemon=True)
    worker.start()
    time.sleep(0.3)
    started = time.monotonic()
    assert server.stop() == 0
    # Well under the 5s request: the drain gave up after its 0.3s bound (slack for a loaded machine).
    assert time.monotonic() - started < 4.0
    assert server.log_events()[-1]["unfinished_requests"] == 1


def test_access_log_lines_are_json(make_server):
    server = make_server()
    server.get("/version", {"User-Agent": "tester/1"})
    server.stop()
    requests = [e for e in server.log_events() if e["event"] == "request"]
    assert any(e["path"] == "/version" and e["status"] == 200 and e["user_agent"] == "tester/1"
               and e["method"] == "GET" and e["duration_ms"] >= 0 for e in requests)
