"""Small helpers for text shown to people and for the addresses it names."""

from __future__ import annotations

import urllib.parse

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def clip(text: str, width: int) -> str:
    """`text` cut to `width` characters, the cut marked with an ellipsis."""
    return text if len(text) <= width else text[:width - 1] + "…"


def is_loopback_url(url: str) -> bool:
    """True when `url` names this machine (a local registry, a test stand-in)."""
    return urllib.parse.urlsplit(url).hostname in LOOPBACK_HOSTS
