"""kubectl's log records (klog) in its stderr, told apart from the text meant for people."""

from __future__ import annotations

import re

# `E1202 03:31:53.123456   12345 file.go:42] message`
KLOG_PREFIX = re.compile(r"^[EWIF]\d{4} [\d:.]+\s+\d+ [\w.-]+:\d+\] ", re.MULTILINE)


def strip_prefixes(text: str) -> str:
    """`text` with the klog header removed from every record line."""
    return KLOG_PREFIX.sub("", text)


def is_record(line: str) -> bool:
    """True for a klog record line (its header, not its message, decides)."""
    return KLOG_PREFIX.match(line) is not None
