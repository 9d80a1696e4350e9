"""Content negotiation for /version: JSON by default, plain text for curl or text/plain clients."""

from __future__ import annotations

from functools import lru_cache

TEXT = "text/plain"
JSON = "application/json"


def _quality(media_ranges: list[tuple[str, float]], media_type: str) -> float:
    """The q-value the Accept header gives `media_type`: the most specific matching range wins."""
    major = media_type.split("/", 1)[0] + "/*"
    best_specificity, best_q = -1, 0.0
    for media_range, q in media_ranges:
        specificity = 2 if media_range == media_type else 1 if media_range == major else \
            0 if media_range == "*/*" else -1
        if specificity > best_specificity:
            best_specificity, best_q = specificity, q
    return best_q


def _parse_accept(accept: str) -> list[tuple[str, float]]:
    """Media ranges of an Accept header with their q-values (1 when absent, 0 when malformed)."""
    ranges = []
    for item in accept.split(","):
        media_range, *params = (part.strip() for part in item.split(";"))
        if not media_range:
            continue
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        ranges.append((media_range.lower(), q))
    return ranges


@lru_cache(maxsize=512)
def _prefers_text(accept: str, is_curl: bool) -> bool:
    ranges = _parse_accept(accept)
    if not ranges:
        return is_curl
    text_q, json_q = _quality(ranges, TEXT), _quality(ranges, JSON)
    if text_q == json_q:
        return is_curl
    return text_q > json_q


def prefers_text(accept: str | None, user_agent: str | None) -> bool:
    """True when the answer should be plain text: the client ranks text/plain above
    application/json, or ranks them equally (or sends no Accept) and is curl."""
    is_curl = (user_agent or "").lower().startswith("curl/")
    return _prefers_text((accept or "").strip(), is_curl)
