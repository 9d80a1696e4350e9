"""Semantic version ranges as Flux's ImagePolicy `policy.semver.range` reads them.

Flux evaluates ranges with the Masterminds semver constraint syntax. This
module understands the forms such ranges usually take: comparisons
(`=`, `!=`, `>`, `>=`, `<`, `<=`, and a bare version meaning `=`), tilde
(`~1.2.3`: >=1.2.3 <1.3.0) and caret (`^1.2.3`: >=1.2.3 <2.0.0; `^0.2.3`:
<0.3.0) ranges, wildcards (`*`, `x`, `1.2.x`) and partial versions
(`>=1.2` is `>=1.2.0`), joined by `,` or spaces (all must hold) and `||`
(one group must hold). As in Masterminds v3, a version with a pre-release
tag only satisfies a group that mentions a pre-release itself (so
`>=0.0.0-0` admits release candidates and `>=0.0.0` does not). Hyphen
ranges (`1.2 - 1.4`) are not supported and raise RangeError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import semver

_TERM = re.compile(r"^(?P<op>!=|>=|<=|=>|=<|>|<|=|~>|~|\^)?\s*v?(?P<version>[0-9xX*][0-9A-Za-z.*+-]*)$")
_WILDCARDS = ("x", "X", "*")


class RangeError(ValueError):
    """The range text is not a constraint this module understands."""


@dataclass(frozen=True)
class _Comparison:
    op: str
    version: semver.Version

    def allows(self, version: semver.Version) -> bool:
        order = version.compare(self.version)
        return {"=": order == 0, "!=": order != 0, ">": order > 0, ">=": order >= 0, "<": order < 0,
                "<=": order <= 0}[self.op]


@dataclass(frozen=True)
class _Group:
    comparisons: tuple[_Comparison, ...]

    @property
    def mentions_prerelease(self) -> bool:
        return any(c.version.prerelease for c in self.comparisons)

    def allows(self, version: semver.Version) -> bool:
        if version.prerelease and not self.mentions_prerelease:
            return False
        return all(c.allows(version) for c in self.comparisons)


@dataclass(frozen=True)
class Range:
    """A parsed range: any of its groups must allow the version."""

    text: str
    groups: tuple[_Group, ...]

    def allows(self, tag: str) -> bool:
        """Whether a tag is a semantic version inside the range (a non-version tag never is)."""
        version = parse_version(tag)
        return version is not None and any(g.allows(version) for g in self.groups)


def parse_version(tag: str) -> semver.Version | None:
    """A tag as a semantic version (a leading `v` and a missing minor or patch are allowed), or None."""
    text = tag[1:] if tag[:1] in ("v", "V") else tag
    try:
        return semver.Version.parse(text, optional_minor_and_patch=True)
    except (ValueError, TypeError):
        return None


def parse_range(text: str) -> Range:
    """Parse a range; RangeError names the part that is not understood."""
    groups = []
    for alternative in str(text).split("||"):
        terms = _terms(alternative)
        if not terms:
            raise RangeError(f"empty alternative in '{text}'")
        comparisons: list[_Comparison] = []
        for term in terms:
            comparisons += _comparisons(term, text)
        groups.append(_Group(tuple(comparisons)))
    return Range(str(text), tuple(groups))


def _terms(alternative: str) -> list[str]:
    """Split an alternative at commas and spaces, keeping an operator with the version after it."""
    tokens = [t for t in re.split(r"[,\s]+", alternative.strip()) if t]
    terms: list[str] = []
    for token in tokens:
        if terms and re.fullmatch(r"!=|>=|<=|=>|=<|>|<|=|~>|~|\^", terms[-1]):
            terms[-1] += token
        elif token == "-":
            raise RangeError("hyphen ranges such as '1.2 - 1.4' are not supported; write '>=1.2, <=1.4'")
        else:
            terms.append(token)
    return terms


def _comparisons(term: str, text: str) -> list[_Comparison]:
    match = _TERM.match(term)
    if not match:
        raise RangeError(f"'{term}' in '{text}' is not a version constraint")
    op = {"=>": ">=", "=<": "<=", "~>": "~", None: "="}.get(match.group("op"), match.group("op"))
    core, _, suffix = match.group("version").partition("-")
    if "+" in core:
        core, _, build = core.partition("+")
        suffix = f"{suffix}+{build}" if suffix else f"+{build}"
    parts = core.split(".")
    if len(parts) > 3 or not all(p.isdigit() or p in _WILDCARDS for p in parts):
        raise RangeError(f"'{term}' in '{text}' is not a version constraint")
    given = [int(p) for p in parts if p.isdigit()]
    wild = len(given) < len(parts) or len(parts) < 3
    if any(p in _WILDCARDS for p in parts[:len(given)]) or any(p.isdigit() for p in parts[len(given):]):
        raise RangeError(f"'{term}' in '{text}': a wildcard must end the version")
    full = given + [0] * (3 - len(given))
    prerelease = suffix.split("+")[0] if suffix and not suffix.startswith("+") else None
    low = semver.Version(*full, prerelease=prerelease)

    def upper(position: int) -> semver.Version:
        bumped = full[:position] + [full[position] + 1] + [0] * (2 - position)
        return semver.Version(*bumped)

    if not given:                                   # *, x: any release
        return [_Comparison(">=", semver.Version(0, 0, 0))]
    if op == "~":                                   # ~1.2.3 and ~1.2: <1.3.0; ~1: <2.0.0
        return [_Comparison(">=", low), _Comparison("<", upper(0 if len(given) == 1 else 1))]
    if op == "^":                                   # the first non-zero part stays the same
        position = next((i for i, n in enumerate(given) if n != 0), len(given) - 1)
        return [_Comparison(">=", low), _Comparison("<", upper(min(position, 2)))]
    if wild and op in ("=", "!="):                  # 1.2 / 1.2.x: the whole 1.2 line
        span = [_Comparison(">=", low), _Comparison("<", upper(len(given) - 1))]
        if op == "=":
            return span
        raise RangeError(f"'{term}' in '{text}': != with a partial version is not supported")
    if wild and op == ">":                          # >1.2 means >=1.3.0
        return [_Comparison(">=", upper(len(given) - 1))]
    if wild and op == "<=":                         # <=1.2 means <1.3.0
        return [_Comparison("<", upper(len(given) - 1))]
    return [_Comparison(op, low)]
