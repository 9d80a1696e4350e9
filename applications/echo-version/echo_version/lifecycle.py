"""Readiness, open connections and in-flight requests, for probes, metrics and graceful shutdown.

Used from the event loop's thread only, so plain counters need no lock."""

from __future__ import annotations

import asyncio


class Lifecycle:
    """Ready until shutdown begins; counts in-flight requests so shutdown can wait for them."""

    def __init__(self) -> None:
        self.connections = 0
        self._in_flight = 0
        self._draining = False
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def ready(self) -> bool:
        return not self._draining

    @property
    def draining(self) -> bool:
        return self._draining

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def begin_shutdown(self) -> bool:
        """Mark the service not ready; True the first time only."""
        first = not self._draining
        self._draining = True
        return first

    def enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    async def wait_idle(self, timeout_seconds: float) -> int:
        """Wait until no request is in flight or the timeout passes; returns how many remain."""
        try:
            async with asyncio.timeout(timeout_seconds):
                await self._idle.wait()
        except TimeoutError:
            pass
        return self._in_flight
