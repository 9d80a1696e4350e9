"""HTTP request handling: routing, the endpoints, and writing each response in one piece."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING

from echo_version.faults import FaultRequestError, parse_delay, parse_status_code
from echo_version.negotiation import prefers_text
from echo_version.service import Service, json_body

if TYPE_CHECKING:
    from echo_version.server import EchoServer

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
STATUS_PREFIX = "/status/"
DELAY_PREFIX = "/delay/"
# Route templates used as the `path` metric label, so its values stay few.
OTHER_ROUTE = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
BODYLESS = frozenset({204, 304})


def reason_phrase(code: int) -> str:
    """The standard reason phrase of a status code, or a generic one for unassigned codes."""
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown Status"


class Handler(BaseHTTPRequestHandler):
    """Answers the requests of one connection (kept alive between requests)."""

    protocol_version = "HTTP/1.1"
    server_version = "echo-version"
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = 60  # seconds an idle kept-alive connection may hold a thread
    server: EchoServer
    _started = 0.0

    # --- request entry points -------------------------------------------------------------

    def parse_request(self) -> bool:
        self._started = time.perf_counter()
        return super().parse_request()

    def do_GET(self) -> None:
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        self._dispatch(head=True)

    def do_POST(self) -> None:
        self._method_not_allowed()

    do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_POST

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed or unsupported requests get a JSON error and the connection is closed."""
        self.close_connection = True
        if not self._started:
            self._started = time.perf_counter()
        self._send(code, json_body({"error": message or reason_phrase(code)}), JSON_TYPE, OTHER_ROUTE)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base-class signature
        """Connection notices of the base class (such as an idle keep-alive connection timing out)."""
        self.server.service.log.event("connection", client=self.client_address[0], message=format % args)

    # --- routing --------------------------------------------------------------------------

    def _dispatch(self, head: bool) -> None:
        service = self.server.service
        service.lifecycle.enter()
        try:
            if self.headers.get("Content-Length", "0") != "0" or "Transfer-Encoding" in self.headers:
                self.close_connection = True  # the unread request body would corrupt the next request
            path = self.path.partition("?")[0]
            endpoint = ROUTES.get(path)
            if endpoint is not None:
                endpoint(self, service, path, head)
            elif path.startswith(STATUS_PREFIX):
                self._status(path[len(STATUS_PREFIX):], head)
            elif path.startswith(DELAY_PREFIX):
                self._delay(path[len(DELAY_PREFIX):], head)
            else:
                self._send(404, json_body({"error": "not found", "path": path}), JSON_TYPE, OTHER_ROUTE, head=head)
        finally:
            service.lifecycle.leave()

    def _method_not_allowed(self) -> None:
        self.close_connection = True
        path = self.path.partition("?")[0]
        known = path in ROUTES or path.startswith((STATUS_PREFIX, DELAY_PREFIX))
        if not known:
            self._send(404, json_body({"error": "not found", "path": path}), JSON_TYPE, OTHER_ROUTE)
            return
        self._send(405, json_body({"error": f"method {self.command} not allowed; use GET or HEAD"}),
                   JSON_TYPE, OTHER_ROUTE, headers=[("Allow", "GET, HEAD")])

    # --- endpoints ------------------------------------------------------------------------

    def _version(self, service: Service, path: str, head: bool) -> None:
        faults = service.faults
        if faults.delay_seconds:
            time.sleep(faults.delay_seconds)
        if faults.should_fail():
            body = json_body({"error": "injected fault", "version": service.settings.app_version})
            self._send(500, body, JSON_TYPE, path, head=head)
        elif prefers_text(self.headers.get("Accept"), self.headers.get("User-Agent")):
            self._send(200, service.version_text, TEXT_TYPE, path, head=head)
        else:
            self._send(200, service.version_json, JSON_TYPE, path, head=head)

    def _index(self, service: Service, path: str, head: bool) -> None:
        body = json_body({"service": "echo-version", "version": service.settings.app_version,
                          "endpoints": ["/version", "/healthz", "/readyz", "/metrics",
                                        "/status/{code}", "/delay/{seconds}"]})
        self._send(200, body, JSON_TYPE, path, head=head)

    def _healthz(self, service: Service, path: str, head: bool) -> None:
        self._send(200, b'{"status":"ok"}\n', JSON_TYPE, path, head=head)

    def _readyz(self, service: Service, path: str, head: bool) -> None:
        if service.lifecycle.ready:
            self._send(200, b'{"status":"ready"}\n', JSON_TYPE, path, head=head)
        else:
            self._send(503, b'{"status":"shutting down"}\n', JSON_TYPE, path, head=head)

    def _metrics(self, service: Service, path: str, head: bool) -> None:
        body, content_type, encoding = service.metrics.exposition(self.headers.get("Accept"),
                                                                  self.headers.get("Accept-Encoding"))
        headers = [("Content-Encoding", encoding)] if encoding else []
        self._send(200, body, content_type, path, headers=headers, head=head)

    def _status(self, value: str, head: bool) -> None:
        route = STATUS_PREFIX + "{code}"
        try:
            code = parse_status_code(value)
        except FaultRequestError as error:
            self._send(400, json_body({"error": str(error)}), JSON_TYPE, route, head=head)
            return
        self._send(code, json_body({"code": code, "description": reason_phrase(code)}), JSON_TYPE, route,
                   head=head)

    def _delay(self, value: str, head: bool) -> None:
        route = DELAY_PREFIX + "{seconds}"
        try:
            seconds = parse_delay(value)
        except FaultRequestError as error:
            self._send(400, json_body({"error": str(error)}), JSON_TYPE, route, head=head)
            return
        time.sleep(seconds)
        self._send(200, json_body({"delay_seconds": seconds}), JSON_TYPE, route, head=head)

    # --- response -------------------------------------------------------------------------

    def _send(self, code: int, body: bytes, content_type: str, route: str,
              headers: Iterable[tuple[str, str]] = (), head: bool = False) -> None:
        """Write status line, headers and body with one write, then record metrics and the access log."""
        service = self.server.service
        if service.lifecycle.draining:
            self.close_connection = True  # clients reconnect to a replica that is not shutting down
        lines = [f"HTTP/1.1 {code} {reason_phrase(code)}",
                 f"Date: {service.date_header()}",
                 "Server: echo-version",
                 f"X-App-Version: {service.settings.app_version}",
                 "Cache-Control: no-store"]
        bodyless = code in BODYLESS
        if not bodyless:
            lines.append(f"Content-Type: {content_type}")
            lines.append(f"Content-Length: {len(body)}")
        lines.extend(f"{name}: {value}" for name, value in headers)
        if self.close_connection:
            lines.append("Connection: close")
        elif self.request_version == "HTTP/1.0":
            lines.append("Connection: keep-alive")
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if not (head or bodyless):
            payload += body
        self.wfile.write(payload)
        elapsed = time.perf_counter() - self._started
        method = self.command if self.command in METHODS else OTHER_ROUTE
        service.metrics.observe(route, method, code, elapsed)
        if service.log.access_log:
            # A request rejected while its request line is parsed has no path or headers yet.
            headers = getattr(self, "headers", None)
            service.log.access(method, getattr(self, "path", ""), code, elapsed, len(payload),
                               self.client_address[0], headers.get("User-Agent") if headers else None)
        self._started = 0.0


Endpoint = Callable[[Handler, Service, str, bool], None]
ROUTES: dict[str, Endpoint] = {
    "/": Handler._index,
    "/version": Handler._version,
    "/healthz": Handler._healthz,
    "/readyz": Handler._readyz,
    "/metrics": Handler._metrics,
}
