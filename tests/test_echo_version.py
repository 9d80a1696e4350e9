"""echo-version: every endpoint and the fault settings, against the real service on a loopback port."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator

import pytest
from echo_harness import VERSION, Server, metric_value, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("echo"), env={"POD_NAME": "echo-version-abc12"})
    yield running
    assert running.stop() == 0


# --- /version --------------------------------------------------------------------------------

def test_version_is_json_by_default(server):
    status, headers, body = server.get("/version", {"User-Agent": "python-test"})
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert headers["X-App-Version"] == VERSION
    assert json.loads(body) == {"version": VERSION, "environment": "staging", "hostname": "echo-version-abc12"}


@pytest.mark.parametrize("headers", [
    {"Accept": "text/plain"},
    {"Accept": "application/json;q=0.5, text/plain"},
    {"Accept": "text/*, application/json;q=0.9"},
    {"User-Agent": "curl/8.5.0", "Accept": "*/*"},
    {"User-Agent": "curl/8.5.0"},
])
def test_version_is_plain_text_for_text_clients_and_curl(server, headers):
    status, response_headers, body = server.get("/version", headers)
    assert status == 200
    assert response_headers["Content-Type"].startswith("text/plain")
    assert body == f"{VERSION}\n".encode()


@pytest.mark.parametrize("headers", [
    {"Accept": "application/json"},
    {"Accept": "text/plain;q=0.2, application/json"},
    {"User-Agent": "curl/8.5.0", "Accept": "application/json"},
    {"User-Agent": "Mozilla/5.0", "Accept": "*/*"},
])
def test_version_is_json_when_json_is_preferred(server, headers):
    status, _, body = server.get("/version", headers)
    assert status == 200
    assert json.loads(body)["version"] == VERSION


def test_head_answers_headers_without_body(server):
    status, headers, body = server.get("/version", {"Accept": "application/json"}, method="HEAD")
    assert status == 200 and body == b""
    assert int(headers["Content-Length"]) > 0


def test_connection_is_kept_alive_across_requests(server):
    conn = server.connection()
    try:
        for _ in range(20):
            conn.request("GET", "/version", headers={"Accept": "text/plain"})
            response = conn.getresponse()
            assert response.read() == f"{VERSION}\n".encode()
            assert response.getheader("Connection") is None
        assert conn.sock is not None  # still the first connection
    finally:
        conn.close()


# --- probes, metrics, errors -------------------------------------------------------------------

def test_probes_answer(server):
    assert server.get("/healthz")[::2] == (200, b'{"status":"ok"}\n')
    assert server.get("/readyz")[::2] == (200, b'{"status":"ready"}\n')


def test_metrics_count_requests_and_carry_the_version(server):
    def scrape() -> str:
        status, headers, body = server.get("/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        return body.decode()

    labels = {"path": "/version", "method": "GET", "code": "200"}
    before = scrape()
    for _ in range(3):
        server.get("/version")
    server.get("/status/503")
    after = scrape()
    assert metric_value(after, "echo_version_http_requests_total", labels) == \
        metric_value(before, "echo_version_http_requests_total", labels) + 3
    assert metric_value(after, "echo_version_http_requests_total",
                        {"path": "/status/{code}", "code": "503"}) >= 1
    assert metric_value(after, "echo_version_http_request_duration_seconds_count",
                        {"path": "/version", "method": "GET"}) >= 3
    assert metric_value(after, "echo_version_build_info", {"version": VERSION, "environment": "staging"}) == 1
    assert metric_value(after, "echo_version_fault_error_rate") == 0
    assert "_created" not in after


def test_metrics_are_gzipped_on_request(server):
    status, headers, body = server.get("/metrics", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert b"echo_version_build_info" in gzip.decompress(body)


def test_unknown_path_is_json_404(server):
    status, headers, body = server.get("/nope?x=1")
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"error": "not found", "path": "/nope"}


def test_other_methods_are_refused(server):
    status, headers, body = server.get("/version", method="POST")
    assert status == 405 and headers["Allow"] == "GET, HEAD"
    assert "POST" in json.loads(body)["error"]


# --- fault endpoints -----------------------------------------------------------------------

@pytest.mark.parametrize("code", [200, 201, 204, 205, 302, 404, 418, 500, 503, 599])
def test_status_answers_the_requested_code(server, code):
    status, headers, body = server.get(f"/status/{code}")
    assert status == code
    if code in (204, 205):
        assert body == b""
        assert headers.get("Content-Length") == ("0" if code == 205 else None)
    else:
        assert json.loads(body)["code"] == code


@pytest.mark.parametrize("value", ["99", "100", "199", "600", "1000", "abc", "-1", "2e2", "", "%35%30%30"])
def test_status_refuses_invalid_codes(server, value):
    status, _, body = server.get(f"/status/{value}")
    assert status == 400
    assert "error" in json.loads(body)


def test_delay_waits_a_fraction_of_a_second(server):
    started = time.monotonic()
    status, _, body = server.get("/delay/0.3")
    elapsed = time.monotonic() - started
    assert status == 200 and json.loads(body) == {"delay_seconds": 0.3}
    assert 0.3 <= elapsed < 2.0


@pytest.mark.parametrize("value", ["30.5", "31", "-0.1", "nan", "inf", "abc", "1_0"])
def test_delay_refuses_values_out_of_bounds(server, value):
    started = time.monotonic()
    status, _, body = server.get(f"/delay/{value}")
    assert status == 400 and "0 to 30" in json.loads(body)["error"]
    assert time.monotonic() - started < 1.0


# --- configured faults -----------------------------------------------------------------------

def test_configured_error_rate_is_observed_on_version_only(make_server):
    server = make_server("--fault-seed", "7", env={"FAULT_ERROR_RATE": "0.3"})
    conn = server.connection()
    codes = []
    try:
        for _ in range(600):
            conn.request("GET", "/version")
            response = conn.getresponse()
            response.read()
            codes.append(response.status)
    finally:
        conn.close()
    assert set(codes) == {200, 500}
    # Seeded, so the count is fixed; the bounds are wide enough to hold for any seed.
    assert 0.22 <= codes.count(500) / len(codes) <= 0.38
    for path in ["/healthz", "/readyz", "/metrics", "/status/200"]:
        assert all(server.get(path)[0] == 200 for _ in range(30)), path
    metrics = server.get("/metrics")[2].decode()
    assert metric_value(metrics, "echo_version_fault_error_rate") == 0.3
    assert metric_value(metrics, "echo_version_http_requests_total",
                        {"path": "/version", "code": "500"}) == codes.count(500)


def test_configured_latency_is_added_to_version_only(make_server):
    server = make_server(env={"FAULT_DELAY_SECONDS": "0.25"})

    def timed(path: str) -> float:
        started = time.monotonic()
        assert server.get(path)[0] == 200
        return time.monotonic() - started

    assert min(timed("/version") for _ in range(3)) >= 0.25
    assert min(timed("/healthz") for _ in range(3)) < 0.25


def test_flags_override_environment(make_server):
    server = make_server("--fault-error-rate", "0", "--app-version", "9.9.9",
                         env={"FAULT_ERROR_RATE": "1", "APP_VERSION": "1.0.0"})
    assert all(server.get("/version", {"Accept": "text/plain"})[::2] == (200, b"9.9.9\n") for _ in range(20))


def test_error_rate_of_one_fails_every_version_request(make_server):
    server = make_server(env={"FAULT_ERROR_RATE": "1"})
    status, _, body = server.get("/version")
    assert status == 500 and json.loads(body) == {"error": "injected fault", "version": VERSION}
    assert server.get("/readyz")[0] == 200
