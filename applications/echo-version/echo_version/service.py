"""The state shared by every request: settings, faults, metrics, logs, lifecycle, fixed bodies."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from email.utils import formatdate

from echo_version.accesslog import JsonLog
from echo_version.faults import Faults
from echo_version.lifecycle import Lifecycle
from echo_version.metrics import Metrics
from echo_version.settings import Settings


def json_body(document: object) -> bytes:
    """A compact JSON document followed by a newline."""
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


@dataclass
class Service:
    """One running service; the request handler reads everything it needs from here."""

    settings: Settings
    log: JsonLog
    lifecycle: Lifecycle
    faults: Faults
    metrics: Metrics
    version_json: bytes
    version_text: bytes
    _date: tuple[int, str] = field(default=(0, ""), repr=False)

    @classmethod
    def create(cls, settings: Settings, log: JsonLog) -> Service:
        lifecycle = Lifecycle()
        return cls(
            settings=settings,
            log=log,
            lifecycle=lifecycle,
            faults=Faults(settings.fault_error_rate, settings.fault_delay_seconds, settings.fault_seed),
            metrics=Metrics(settings, lambda: lifecycle.in_flight, lambda: lifecycle.connections),
            version_json=json_body({"version": settings.app_version, "environment": settings.environment,
                                    "hostname": settings.hostname}),
            version_text=f"{settings.app_version}\n".encode(),
        )

    def date_header(self) -> str:
        """The HTTP Date value, formatted at most once a second."""
        now = int(time.time())
        second, text = self._date
        if second != now:
            text = formatdate(now, usegmt=True)
            self._date = (now, text)
        return text
