"""Structured logs: one JSON object per line on stdout."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, TextIO


class JsonLog:
    """Writes one JSON line per event; access lines can be switched off."""

    def __init__(self, access_log: bool = True, stream: TextIO | None = None) -> None:
        self.access_log = access_log
        self._stream = stream if stream is not None else sys.stdout

    def event(self, event: str, level: str = "info", **fields: Any) -> None:
        """Write one event line (startup, shutdown, errors)."""
        record = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                  "level": level, "event": event, **fields}
        line = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        try:  # one thread (the event loop) writes, so a line is never interleaved with another
            self._stream.write(line)
            self._stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stdout must not take the service down

    def access(self, method: str, path: str, status: int, duration_seconds: float, size: int,
               client: str, user_agent: str | None) -> None:
        """Write one access line, unless access logs are off."""
        if self.access_log:
            self.event("request", method=method, path=path, status=status,
                       duration_ms=round(duration_seconds * 1000, 3), bytes=size,
                       client=client, user_agent=user_agent)
