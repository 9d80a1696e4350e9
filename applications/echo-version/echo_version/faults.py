"""Fault injection: configured errors and latency for /version, and the on-demand fault endpoints."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from echo_version.settings import MAX_DELAY_SECONDS


class FaultRequestError(ValueError):
    """A /status or /delay path parameter is invalid; the message says what is accepted."""


@dataclass
class Faults:
    """The configured faults of a bad release: a share of failed requests and added latency."""

    error_rate: float = 0.0
    delay_seconds: float = 0.0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def should_fail(self) -> bool:
        """Draw whether this request fails; never draws when the rate is 0 or 1."""
        if self.error_rate <= 0.0:
            return False
        if self.error_rate >= 1.0:
            return True
        return self._rng.random() < self.error_rate


def parse_status_code(text: str) -> int:
    """The status code requested by /status/{code}: a final status, 200 to 599.

    Informational statuses (1xx) are refused because a client reads them as interim
    answers and would keep waiting for the real one."""
    if not (text.isascii() and text.isdigit()) or not 100 <= int(text) <= 599:
        raise FaultRequestError(f"status code {text!r} is not a number from 100 to 599")
    code = int(text)
    if code < 200:
        raise FaultRequestError(f"status code {code} is informational (1xx) and cannot be a final "
                                "response; use 200 to 599")
    return code


def parse_delay(text: str) -> float:
    """The seconds requested by /delay/{seconds}: a number from 0 to MAX_DELAY_SECONDS."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or not 0.0 <= seconds <= MAX_DELAY_SECONDS or not text.isascii() or "_" in text:
        raise FaultRequestError(f"delay {text!r} is not a number of seconds from 0 to {MAX_DELAY_SECONDS:g}")
    return seconds
