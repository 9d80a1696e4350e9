"""Semantic version constraints as Flux reads them (ImagePolicy ranges, chart versions).

Flux v2.9.4's controllers evaluate constraints with github.com/Masterminds/semver/v3 v3.5.0. This
module reproduces that library's version parsing (lenient: `v1`, `1.2`, leading zeros) and
constraint rules (constraints.go: `=`, `!=`, `>`, `>=`, `<`, `<=`, `~`, `~>`, `^`, wildcards
`x`/`X`/`*` and partial versions, `a - b` ranges, `,`/space for "and", `||` for "or"), including its
pre-release rule: a pre-release version only satisfies an "and" group that mentions a pre-release.
The upstream test cases are kept in tests/test_check_semver_range.py (from Masterminds/semver@71f2b39,
the master commit after v3.4.0 that the mirror holds; v3.5.0 is not mirrored).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_CV = (r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?"
       r"(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?")
_OPS = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^"
_CONSTRAINT = re.compile(rf"^\s*({_OPS})\s*({_CV})\s*$")
_RANGE = re.compile(rf"\s*({_CV})\s+-\s+({_CV})\s*")
_FIND = re.compile(rf"({_OPS})\s*({_CV})")
_VALID = re.compile(rf"^(\s*({_OPS})\s*({_CV})\s*)((?:\s+|,\s*)({_OPS})\s*({_CV})\s*)*$")
_LOOSE = re.compile(r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?"
                    r"(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$")
_ALLOWED = re.compile(r"^[0-9A-Za-z-]+$")
_MAX_UINT64 = 2**64 - 1


class RangeError(ValueError):
    """A constraint or version Masterminds semver rejects."""


@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: str = ""
    metadata: str = ""

    def __str__(self) -> str:
        return (f"{self.major}.{self.minor}.{self.patch}" + (f"-{self.pre}" if self.pre else "")
                + (f"+{self.metadata}" if self.metadata else ""))

    def compare(self, other: Version) -> int:
        for mine, theirs in ((self.major, other.major), (self.minor, other.minor), (self.patch, other.patch)):
            if mine != theirs:
                return 1 if mine > theirs else -1
        if not self.pre and not other.pre:
            return 0
        if not self.pre:
            return 1
        if not other.pre:
            return -1
        return _compare_prerelease(self.pre, other.pre)


def parse_version(text: str) -> Version:
    """NewVersion with coercion (the default): `v` prefix, missing parts and leading zeros allowed."""
    match = _LOOSE.match(text)
    if not match:
        raise RangeError(f"invalid semantic version: '{text}'")
    numbers = [int(match[1]), int((match[2] or ".0")[1:]), int((match[3] or ".0")[1:])]
    if any(n > _MAX_UINT64 for n in numbers):
        raise RangeError(f"error parsing version segment: '{text}'")
    pre, metadata = match[5] or "", match[8] or ""
    for part in pre.split(".") if pre else []:
        if not part or (part.isdigit() and len(part) > 1 and part[0] == "0") or not _ALLOWED.match(part):
            raise RangeError(f"invalid prerelease string in '{text}'")
    if metadata and not all(p and _ALLOWED.match(p) for p in metadata.split(".")):
        raise RangeError(f"invalid metadata string in '{text}'")
    return Version(numbers[0], numbers[1], numbers[2], pre, metadata)


def maybe_version(text: str) -> Version | None:
    try:
        return parse_version(text)
    except RangeError:
        return None


def _compare_prerelease(mine: str, theirs: str) -> int:
    left, right = mine.split("."), theirs.split(".")
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else ""
        b = right[i] if i < len(right) else ""
        order = _compare_part(a, b)
        if order:
            return order
    return 0


def _compare_part(a: str, b: str) -> int:
    if a == b:
        return 0
    if not a:
        return -1
    if not b:
        return 1
    numeric_a, numeric_b = a.isdigit() and a.isascii(), b.isdigit() and b.isascii()
    if not numeric_a and not numeric_b:
        return 1 if a > b else -1
    if not numeric_b:
        return -1
    if not numeric_a:
        return 1
    return 1 if int(a) > int(b) else -1


@dataclass(frozen=True)
class _Constraint:
    op: str
    version: Version
    dirty: bool = False
    minor_dirty: bool = False
    patch_dirty: bool = False

    def check(self, v: Version, include_pre: bool) -> bool:
        if v.pre and not include_pre:
            return False
        return _OPERATIONS[self.op](v, self)


def _not_equal(v: Version, c: _Constraint) -> bool:
    if c.dirty:
        if c.version.major != v.major:
            return True
        if c.version.minor != v.minor and not c.minor_dirty:
            return True
        if c.minor_dirty:
            return False
        if c.version.patch != v.patch and not c.patch_dirty:
            return True
        if c.patch_dirty:
            if v.pre or c.version.pre:
                return _compare_prerelease(v.pre, c.version.pre) != 0
            return False
    return v.compare(c.version) != 0


def _greater(v: Version, c: _Constraint) -> bool:
    if not c.dirty:
        return v.compare(c.version) == 1
    if v.major != c.version.major:
        return v.major > c.version.major
    if c.minor_dirty:
        return False
    if c.patch_dirty:
        return v.minor > c.version.minor
    return v.compare(c.version) == 1


def _less_equal(v: Version, c: _Constraint) -> bool:
    if not c.dirty:
        return v.compare(c.version) <= 0
    if v.major > c.version.major:
        return False
    return not (v.major == c.version.major and v.minor > c.version.minor and not c.minor_dirty)


def _tilde(v: Version, c: _Constraint) -> bool:
    if v.compare(c.version) < 0:
        return False
    con = c.version
    if (con.major, con.minor, con.patch) == (0, 0, 0) and not c.minor_dirty and not c.patch_dirty:
        return True
    if v.major != con.major:
        return False
    return not (v.minor != con.minor and not c.minor_dirty)


def _tilde_or_equal(v: Version, c: _Constraint) -> bool:
    return _tilde(v, c) if c.dirty else v.compare(c.version) == 0


def _caret(v: Version, c: _Constraint) -> bool:
    con = c.version
    if v.compare(con) < 0:
        return False
    if con.major > 0 or c.minor_dirty:
        return v.major == con.major
    if v.major > 0:
        return False
    if con.minor > 0 or c.patch_dirty:
        return v.minor == con.minor
    if v.minor > 0:
        return False
    return con.patch == v.patch


_OPERATIONS: dict[str, Callable[[Version, _Constraint], bool]] = {
    "": _tilde_or_equal, "=": _tilde_or_equal, "!=": _not_equal, ">": _greater,
    "<": lambda v, c: v.compare(c.version) < 0, ">=": lambda v, c: v.compare(c.version) >= 0,
    "=>": lambda v, c: v.compare(c.version) >= 0, "<=": _less_equal, "=<": _less_equal, "~": _tilde,
    "~>": _tilde, "^": _caret,
}


def _is_x(part: str) -> bool:
    return part in ("x", "*", "X")


def _parse_constraint(text: str) -> _Constraint:
    match = _CONSTRAINT.match(text)
    if not match:
        raise RangeError(f"improper constraint: '{text}'")
    op, major, minor, patch, pre_part = match[1], match[3], match[4] or "", match[5] or "", match[6] or ""
    dirty = minor_dirty = patch_dirty = False
    version = match[2]
    if _is_x(major):
        version, dirty = f"0.0.0{pre_part}", True
    elif _is_x(minor[1:]) or not minor:
        version, dirty, minor_dirty = f"{major}.0.0{pre_part}", True, True
    elif _is_x(patch[1:]) or not patch:
        version, dirty, patch_dirty = f"{major}{minor}.0{pre_part}", True, True
    try:
        parsed = parse_version(version)
    except RangeError:
        raise RangeError(f"improper constraint: '{text}'") from None
    return _Constraint(op, parsed, dirty, minor_dirty, patch_dirty)


@dataclass(frozen=True)
class Range:
    """A parsed constraint: any of its "or" groups must allow the version."""

    text: str
    groups: tuple[tuple[_Constraint, ...], ...]

    def allows(self, version: str | Version) -> bool:
        parsed = maybe_version(version) if isinstance(version, str) else version
        if parsed is None:
            return False
        for group in self.groups:
            include_pre = any(c.version.pre for c in group)
            if all(c.check(parsed, include_pre) for c in group):
                return True
        return False


def _rewrite_ranges(text: str) -> str:
    for match in _RANGE.finditer(text):
        text = text.replace(match[0], f">= {match[1]}, <= {match[11]} ", 1)
    return text


def parse_range(text: str) -> Range:
    """NewConstraint; RangeError (with Masterminds' wording) when it does not parse."""
    rewritten = _rewrite_ranges(str(text))
    groups = []
    for alternative in rewritten.split("||"):
        if not _VALID.match(alternative):
            raise RangeError(f"improper constraint: '{alternative}'")
        parts = [m[0] for m in _FIND.finditer(alternative)] or [alternative]
        groups.append(tuple(_parse_constraint(p) for p in parts))
    return Range(str(text), tuple(groups))


def best(versions: list[str], constraint: str) -> str | None:
    """The highest of `versions` the constraint allows (as Flux picks a chart version), or None."""
    allowed = parse_range(constraint)
    candidates = [(v, parsed) for v in versions if (parsed := maybe_version(v)) and allowed.allows(parsed)]
    if not candidates:
        return None
    top = candidates[0]
    for candidate in candidates[1:]:
        if candidate[1].compare(top[1]) > 0:
            top = candidate
    return top[0]
