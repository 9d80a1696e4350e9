"""Readiness and in-flight request tracking for graceful shutdown."""

from __future__ import annotations

import threading
import time


class Lifecycle:
    """Ready until shutdown begins; counts in-flight requests so shutdown can wait for them."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._in_flight = 0
        self._draining = False

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
        with self._condition:
            first = not self._draining
            self._draining = True
            return first

    def enter(self) -> None:
        with self._condition:
            self._in_flight += 1

    def leave(self) -> None:
        with self._condition:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._condition.notify_all()

    def wait_idle(self, timeout_seconds: float) -> int:
        """Wait until no request is in flight or the timeout passes; returns how many remain."""
        deadline = time.monotonic() + timeout_seconds
        with self._condition:
            while self._in_flight > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            return self._in_flight
