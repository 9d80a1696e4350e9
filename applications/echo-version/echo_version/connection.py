"""One client connection: reads each request within the limits, answers it in one write.

HTTP/1.1 is parsed and framed by h11; this module adds the deadlines h11 leaves to its user:
a kept-alive connection may wait `keepalive_timeout_seconds` for the first byte of its next
request, and from then (or from being accepted) has `header_timeout_seconds` in total to send
the request line and headers, however the bytes trickle in.

The socket is read only while a request is awaited, and h11 holds at most `max_header_bytes`
of it, so a connection costs a few kilobytes whatever its client sends."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Iterable

import h11

from echo_version.handler import METHODS, OTHER_ROUTE, Request, Response, answer, error, reason_phrase
from echo_version.service import Service

READ_SIZE = 16 * 1024
# After its last answer a connection reads and drops what the client still sends, for at most
# this long: closing with unread bytes would reset the connection and could discard the answer.
LINGER_SECONDS = 2.0
BODYLESS = frozenset({204, 304})
# Statuses that carry no content but, unlike BODYLESS ones, are framed by `Content-Length: 0`.
EMPTY = frozenset({205})
QUIET_ERRORS = (ConnectionError, TimeoutError)


class Closed(Exception):
    """The connection ends; `reason` is the label counted in the metrics."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Connection:
    """Serves the requests of one connection, one at a time, until either side closes it."""

    def __init__(self, service: Service, sock: socket.socket, client: str, accepted_at: float) -> None:
        self.service = service
        self.limits = service.settings.limits
        self.sock = sock
        self.client = client
        self.accepted_at = accepted_at
        self.loop = asyncio.get_running_loop()
        self.http = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_header_bytes)

    async def serve(self) -> None:
        """Answer requests until the client leaves or a limit, an answer or the shutdown ends the connection."""
        reason = "shutdown"
        try:
            self.sock.setblocking(False)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each answer is one write: send it now
            reason = await self._serve_requests()
            if reason == "answered":
                await self._linger()
        except Closed as closed:
            reason = closed.reason
        except QUIET_ERRORS:
            reason = "client"
        except Exception as problem:  # a bug must end this connection only, and be seen
            reason = "error"
            self.service.log.event("connection_error", level="error", client=self.client, error=repr(problem))
        finally:
            self.sock.close()
            self.service.metrics.connection_closed(reason)

    async def _serve_requests(self) -> str:
        first = True
        while True:
            try:
                event = await self._next_request(first)
            except h11.RemoteProtocolError as problem:
                if self.http.trailing_data[1]:
                    return "client"  # it left in the middle of a request: nobody to answer
                await self._send(self._protocol_error(problem), None, time.perf_counter(), close=True)
                return "answered"
            if isinstance(event, h11.ConnectionClosed):
                return "client"
            assert isinstance(event, h11.Request)
            first = False
            started = time.perf_counter()
            request = Request(event.method.decode("latin-1"), event.target.decode("latin-1"),
                              _headers(event.headers))
            # A request body is never read: close after answering rather than misread it as the next request.
            has_body = not isinstance(self.http.next_event(), h11.EndOfMessage)
            lifecycle = self.service.lifecycle
            lifecycle.enter()  # in flight until its answer is written: the shutdown waits for that
            try:
                if event.http_version in (b"1.0", b"1.1"):
                    response = await answer(self.service, request)
                else:
                    response = error(505, "HTTP version not supported; use HTTP/1.1", close=True)
                await self._send(response, request, started, response.close or has_body or lifecycle.draining)
            finally:
                lifecycle.leave()
            if self.http.our_state is h11.MUST_CLOSE:
                return "answered"
            self.http.start_next_cycle()
            await asyncio.sleep(0)  # a client that asks again at once must not keep the others waiting

    async def _next_request(self, first: bool) -> h11.Request | h11.ConnectionClosed:
        """The next request's head. A kept-alive connection waits at most the keep-alive timeout for
        its first byte; from then (or from being accepted) the whole head must arrive within the
        header timeout, however slowly its bytes come."""
        event = self.http.next_event()
        if event is not h11.NEED_DATA:
            return self._head(event)  # it came along with the previous request
        started = self.accepted_at
        if not first:
            if not self.http.trailing_data[0]:
                await self._receive(self.limits.keepalive_timeout_seconds, "keepalive_timeout")
            started = self.loop.time()
            event = self.http.next_event()
        deadline = started + self.limits.header_timeout_seconds
        while event is h11.NEED_DATA:
            await self._receive(deadline - self.loop.time(), "header_timeout")
            event = self.http.next_event()
        return self._head(event)

    @staticmethod
    def _head(event: h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]) -> h11.Request | h11.ConnectionClosed:
        assert isinstance(event, h11.Request | h11.ConnectionClosed), event
        return event

    async def _receive(self, seconds: float, reason: str) -> None:
        """Read what has arrived, waiting at most `seconds` for it; `reason` names the timeout.

        Reads no more than the request head may still take, so h11 holds at most max_header_bytes + 1
        bytes and refuses a head of more than max_header_bytes even when it arrives whole."""
        size = max(1, min(READ_SIZE, self.limits.max_header_bytes + 1 - len(self.http.trailing_data[0])))
        try:
            data = self.sock.recv(size)  # usually there already: no timer needed
        except BlockingIOError:
            if seconds <= 0:
                raise Closed(reason) from None
            try:
                async with asyncio.timeout(seconds):
                    data = await self.loop.sock_recv(self.sock, size)
            except TimeoutError:
                raise Closed(reason) from None
        self.http.receive_data(data)

    async def _write(self, payload: bytes) -> None:
        """Send all of `payload`, waiting at most the send timeout for a client that reads slowly."""
        try:
            sent = self.sock.send(payload)
        except BlockingIOError:
            sent = 0
        if sent < len(payload):
            try:
                async with asyncio.timeout(self.limits.send_timeout_seconds):
                    await self.loop.sock_sendall(self.sock, memoryview(payload)[sent:])
            except TimeoutError:
                raise Closed("send_timeout") from None

    async def _linger(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_WR)
            async with asyncio.timeout(LINGER_SECONDS):
                while await self.loop.sock_recv(self.sock, READ_SIZE):
                    pass
        except (OSError, TimeoutError):
            pass  # gone or still talking: close either way

    def _protocol_error(self, problem: h11.RemoteProtocolError) -> Response:
        """A malformed or oversized request head: 400, 414 (no line end yet) or 431 (headers)."""
        status = problem.error_status_hint
        if status == 431 and b"\n" not in self.http.trailing_data[0]:
            return error(414, "request line too long", close=True)
        if status == 431:
            return error(431, f"request headers larger than {self.limits.max_header_bytes} bytes", close=True)
        return error(status, f"bad request: {problem}", close=True)

    async def _send(self, response: Response, request: Request | None, started: float, close: bool) -> None:
        """Write status line, headers and body with one write, then record metrics and the access log.

        `request` is None when the request could not be read; `started` is when its head was."""
        service = self.service
        method = request.method if request else ""
        headers = [("Date", service.date_header()), ("Server", "echo-version"),
                   ("X-App-Version", service.settings.app_version), ("Cache-Control", "no-store")]
        bodyless = response.status in BODYLESS
        empty = response.status in EMPTY
        if empty:
            headers.append(("Content-Length", "0"))
        elif not bodyless:
            headers += [("Content-Type", response.content_type), ("Content-Length", str(len(response.body)))]
        headers += response.headers
        if close:
            headers.append(("Connection", "close"))
        payload = self.http.send(h11.Response(status_code=response.status, headers=headers,
                                              reason=reason_phrase(response.status))) or b""
        if not (bodyless or empty) and method != "HEAD":
            payload += self.http.send(h11.Data(data=response.body)) or b""
        payload += self.http.send(h11.EndOfMessage()) or b""
        await self._write(payload)
        elapsed = time.perf_counter() - started
        method_label = method if method in METHODS else OTHER_ROUTE
        service.metrics.observe(response.route, method_label, response.status, elapsed)
        log = service.log
        if log.access_log:
            log.access(method_label, request.target if request else "", response.status, elapsed, len(payload),
                       self.client, request.headers.get("user-agent") if request else None)


def _headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header names in lower case; repeated headers joined with commas, as HTTP allows."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1")
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers
