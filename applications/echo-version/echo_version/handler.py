"""Requests and answers: routing and the endpoints, independent of how bytes reach the client."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus

from echo_version.faults import FaultRequestError, parse_delay, parse_status_code
from echo_version.negotiation import prefers_text
from echo_version.service import Service, json_body

JSON_TYPE = "application/json"
TEXT_TYPE = "text/plain; charset=utf-8"
STATUS_PREFIX = "/status/"
DELAY_PREFIX = "/delay/"
# Route templates used as the `path` metric label, so its values stay few.
OTHER_ROUTE = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
READ_METHODS = frozenset({"GET", "HEAD"})


def reason_phrase(code: int) -> str:
    """The standard reason phrase of a status code, or a generic one for unassigned codes."""
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Unknown Status"


@dataclass(frozen=True)
class Request:
    """One request's head: method, target and headers (names in lower case)."""

    method: str
    target: str
    headers: Mapping[str, str]

    @property
    def path(self) -> str:
        return self.target.partition("?")[0]


@dataclass(frozen=True)
class Response:
    """One answer; `route` is the metric label, `close` ends the connection after it."""

    status: int
    body: bytes
    route: str = OTHER_ROUTE
    content_type: str = JSON_TYPE
    headers: tuple[tuple[str, str], ...] = ()
    close: bool = False


def error(status: int, message: str, route: str = OTHER_ROUTE, close: bool = False,
          headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """A JSON error answer."""
    return Response(status, json_body({"error": message}), route, headers=headers, close=close)


async def answer(service: Service, request: Request) -> Response:
    """Route a request to its endpoint; unknown methods, paths and parameters get JSON errors."""
    path = request.path
    if request.method not in METHODS:
        return error(501, f"method {request.method} is not implemented; use GET or HEAD", close=True)
    known = path in ROUTES or path.startswith((STATUS_PREFIX, DELAY_PREFIX))
    if not known:
        return Response(404, json_body({"error": "not found", "path": path}), close=request.method not in READ_METHODS)
    if request.method not in READ_METHODS:
        return error(405, f"method {request.method} not allowed; use GET or HEAD", close=True,
                     headers=(("Allow", "GET, HEAD"),))
    endpoint = ROUTES.get(path)
    if endpoint is not None:
        return await endpoint(service, request)
    if path.startswith(STATUS_PREFIX):
        return _status(path[len(STATUS_PREFIX):])
    return await _delay(path[len(DELAY_PREFIX):])


async def _version(service: Service, request: Request) -> Response:
    faults = service.faults
    if faults.delay_seconds:
        await asyncio.sleep(faults.delay_seconds)
    if faults.should_fail():
        body = json_body({"error": "injected fault", "version": service.settings.app_version})
        return Response(500, body, "/version")
    if prefers_text(request.headers.get("accept"), request.headers.get("user-agent")):
        return Response(200, service.version_text, "/version", TEXT_TYPE)
    return Response(200, service.version_json, "/version")


async def _index(service: Service, request: Request) -> Response:
    body = json_body({"service": "echo-version", "version": service.settings.app_version,
                      "endpoints": ["/version", "/healthz", "/readyz", "/metrics",
                                    "/status/{code}", "/delay/{seconds}"]})
    return Response(200, body, "/")


async def _healthz(service: Service, request: Request) -> Response:
    return Response(200, b'{"status":"ok"}\n', "/healthz")


async def _readyz(service: Service, request: Request) -> Response:
    if service.lifecycle.ready:
        return Response(200, b'{"status":"ready"}\n', "/readyz")
    return Response(503, b'{"status":"shutting down"}\n', "/readyz")


async def _metrics(service: Service, request: Request) -> Response:
    body, content_type, encoding = service.metrics.exposition(request.headers.get("accept"),
                                                              request.headers.get("accept-encoding"))
    headers = (("Content-Encoding", encoding),) if encoding else ()
    return Response(200, body, "/metrics", content_type, headers)


def _status(value: str) -> Response:
    route = STATUS_PREFIX + "{code}"
    try:
        code = parse_status_code(value)
    except FaultRequestError as problem:
        return error(400, str(problem), route)
    return Response(code, json_body({"code": code, "description": reason_phrase(code)}), route)


async def _delay(value: str) -> Response:
    route = DELAY_PREFIX + "{seconds}"
    try:
        seconds = parse_delay(value)
    except FaultRequestError as problem:
        return error(400, str(problem), route)
    await asyncio.sleep(seconds)  # waits without holding a thread: many delays cost little
    return Response(200, json_body({"delay_seconds": seconds}), route)


Endpoint = Callable[[Service, Request], Awaitable[Response]]
ROUTES: Mapping[str, Endpoint] = {
    "/": _index,
    "/version": _version,
    "/healthz": _healthz,
    "/readyz": _readyz,
    "/metrics": _metrics,
}
