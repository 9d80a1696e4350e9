"""Shell patterns of post-build substitution (`${var#pat}`, `${var%%pat}`), as envsubst matches them.

fluxcd/pkg@envsubst/v1.7.0:envsubst/path/match.go is Go's path.Match changed so that a trailing `*`
matches the rest of the string and a `*` before more pattern may cross `/`: `*`, `?`, `[...]`
(`^` negates) and `\\` escapes; a malformed pattern is a ValueError.
"""

from __future__ import annotations


def glob_match(pattern: str, name: str) -> bool:
    """envsubst/path.Match: a shell glob where `*` matches any run of characters (also `/`);
    ValueError for a malformed pattern."""
    while pattern:
        star, chunk, pattern = _scan_chunk(pattern)
        if star and not chunk:
            return True
        rest = _match_chunk(chunk, name)
        if rest is not None and (not rest or pattern):
            name = rest
            continue
        if star:
            for i in range(len(name)):
                rest = _match_chunk(chunk, name[i + 1:])
                if rest is not None:
                    if not pattern and rest:
                        continue
                    name = rest
                    break
            else:
                return False
            continue
        return False
    return not name


def _scan_chunk(pattern: str) -> tuple[bool, str, str]:
    star = pattern.startswith("*")
    pattern = pattern.lstrip("*")
    in_range, i = False, 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            i += 1
        elif char == "[":
            in_range = True
        elif char == "]":
            in_range = False
        elif char == "*" and not in_range:
            break
        i += 1
    return star, pattern[:i], pattern[i:]


def _match_chunk(chunk: str, s: str) -> str | None:
    """The rest of `s` after `chunk` matched its start, or None."""
    while chunk:
        if not s:
            return None
        if chunk[0] == "[":
            char, s, chunk = s[0], s[1:], chunk[1:]
            negated = chunk.startswith("^")
            chunk = chunk[1:] if negated else chunk
            matched, ranges = False, 0
            while not (chunk.startswith("]") and ranges > 0):
                low, chunk = _escaped_char(chunk)
                high = low
                if chunk.startswith("-"):
                    high, chunk = _escaped_char(chunk[1:])
                matched = matched or low <= char <= high
                ranges += 1
            chunk = chunk[1:]
            if matched == negated:
                return None
        elif chunk[0] == "?":
            s, chunk = s[1:], chunk[1:]
        else:
            if chunk[0] == "\\":
                chunk = chunk[1:]
                if not chunk:
                    raise ValueError("syntax error in pattern")
            if chunk[0] != s[0]:
                return None
            s, chunk = s[1:], chunk[1:]
    return s


def _escaped_char(chunk: str) -> tuple[str, str]:
    if not chunk or chunk[0] in "-]":
        raise ValueError("syntax error in pattern")
    if chunk[0] == "\\":
        chunk = chunk[1:]
        if not chunk:
            raise ValueError("syntax error in pattern")
    if len(chunk) < 2:
        raise ValueError("syntax error in pattern")
    return chunk[0], chunk[1:]
