"""Flux post-build variable substitution, as kustomize-controller performs it.

Flux runs its fork of drone/envsubst over the YAML of each built object:
`${var}` and the bash forms `${var:=default}`, `${var=default}`,
`${var:-default}` (a default applies when the value is empty or unset),
`${#var}`, `${var^}`, `${var^^}`, `${var,}`, `${var,,}`, `${var:pos[:len]}`,
`${var#pat}`, `${var##pat}`, `${var%pat}`, `${var%%pat}` and
`${var/pat/rep}` (`//`, `/#`, `/%`). `$$` is an escape for `$`, so
`$${var}` yields `${var}`; a bare `$var` is left alone. A variable that is
not defined becomes the empty string (an error with Flux's
StrictPostBuildSubstitutions feature gate); this module reports such
variables so the checker can flag them either way. `${var-default}` is not
supported by the parser and is a substitution error.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

VARIABLE_NAME = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
_IDENT = re.compile(r"[^\W]+", re.UNICODE)
DEFAULT_OPS = {"=", ":=", ":-", ":?", ":+"}


class SubstitutionError(Exception):
    """The text holds an expression Flux cannot parse."""


@dataclass
class Substitution:
    """Result of substituting one text."""

    text: str
    missing: list[str] = field(default_factory=list)   # variables used without a value or default
    used: list[str] = field(default_factory=list)      # every variable referenced


class _Parser:
    def __init__(self, text: str, values: Mapping[str, str]):
        self.text = text
        self.pos = 0
        self.values = values
        self.result = Substitution("")

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def run(self) -> Substitution:
        self.result.text = self.sequence(top=True)
        return self.result

    def sequence(self, top: bool, stop: str = "") -> str:
        """Text and expressions up to the end (top level) or an unmatched `}`."""
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "$" and self.peek(1) == "$":
                out.append("$")
                self.pos += 2
            elif char == "$" and self.peek(1) == "{":
                start = self.pos
                self.pos += 2
                if not top:
                    out.append(self.expression())
                    continue
                try:
                    out.append(self.expression())
                except SubstitutionError as error:
                    raise self.located(error, start) from None
            elif not top and char == "\\" and self.peek(1) in ("/", "\\"):
                out.append(self.peek(1))
                self.pos += 2
            elif not top and (char == "}" or (stop and char in stop)):
                break
            else:
                out.append(char)
                self.pos += 1
        return "".join(out)

    def located(self, error: SubstitutionError, start: int) -> SubstitutionError:
        """The error of the top-level expression at `start`, quoting the expression as written."""
        line = self.text[start:].split("\n", 1)[0]
        shown = line if len(line) <= 60 else line[:57] + "..."
        if "}" not in line:
            return SubstitutionError(f"unclosed ${{ in '{shown}' (no '}}' on that line)")
        return SubstitutionError(f"{error} in '{shown}'")

    def expect_close(self) -> None:
        if self.peek() != "}":
            raise SubstitutionError(f"bad substitution near '{self.text[max(0, self.pos - 20):self.pos + 20]}'")
        self.pos += 1

    def name(self) -> str:
        match = _IDENT.match(self.text, self.pos)
        if not match:
            raise SubstitutionError(f"unable to parse variable name near '{self.text[self.pos:self.pos + 20]}'")
        self.pos = match.end()
        return match.group(0)

    def lookup(self, name: str, op: str) -> str:
        self.result.used.append(name)
        if name in self.values:
            return self.values[name]
        if op not in DEFAULT_OPS:
            self.result.missing.append(name)
        return ""

    def expression(self) -> str:
        if self.peek() == "#":
            self.pos += 1
            name = self.name()
            self.expect_close()
            return str(len(self.lookup(name, "#")))
        name = self.name()
        char = self.peek()
        if char == "}":
            self.pos += 1
            return self.lookup(name, "")
        if char == ":" and self.peek(1) in ("=", "-", "?", "+"):
            op = ":" + self.peek(1)
            self.pos += 2
            return self.default(name, op)
        if char == "=":
            self.pos += 1
            return self.default(name, "=")
        if char == ":":
            self.pos += 1
            return self.substring(name)
        if char in (",", "^"):
            op = char
            self.pos += 1
            if self.peek() == char:
                op += char
                self.pos += 1
            self.expect_close()
            value = self.lookup(name, op)
            if not value:
                return value
            return {",": value[:1].lower() + value[1:], ",,": value.lower(),
                    "^": value[:1].upper() + value[1:], "^^": value.upper()}[op]
        if char in ("#", "%"):
            op = char
            self.pos += 1
            if self.peek() == char:
                op += char
                self.pos += 1
            pattern = self.sequence(top=False)
            self.expect_close()
            return _remove(self.lookup(name, op), op, pattern)
        if char == "/":
            self.pos += 1
            op = "/"
            if self.peek() in ("/", "#", "%"):
                op += self.peek()
                self.pos += 1
            pattern = self.sequence(top=False, stop="/")
            replacement = ""
            if self.peek() == "/":
                self.pos += 1
                replacement = self.sequence(top=False)
            self.expect_close()
            return _replace(self.lookup(name, op), op, pattern, replacement)
        raise SubstitutionError(f"bad substitution '${{{name}{char}...': Flux supports ${{{name}}}, "
                                f"${{{name}:=default}} or ${{{name}:-default}}")

    def default(self, name: str, op: str) -> str:
        fallback = self.sequence(top=False)
        self.expect_close()
        value = self.lookup(name, op)
        return value if value else fallback

    def substring(self, name: str) -> str:
        offset = self.sequence(top=False, stop=":")
        length = None
        if self.peek() == ":":
            self.pos += 1
            length = self.sequence(top=False)
        self.expect_close()
        value = self.lookup(name, ":")
        try:
            start = int(offset)
            if length is None:
                return value[start:]
            return value[start:start + int(length)]
        except ValueError:
            raise SubstitutionError(f"bad substring offset in ${{{name}:{offset}}}") from None


def _pattern(pattern: str) -> str:
    return fnmatch.translate(pattern)[4:-3] if pattern else ""


def _remove(value: str, op: str, pattern: str) -> str:
    regex = _pattern(pattern)
    if op in ("#", "##"):
        ends = range(len(value) + 1) if op == "#" else range(len(value), -1, -1)
        for end in ends:
            if re.fullmatch(regex, value[:end], re.S):
                return value[end:]
        return value
    starts = range(len(value), -1, -1) if op == "%" else range(len(value) + 1)
    for start in starts:
        if re.fullmatch(regex, value[start:], re.S):
            return value[:start]
    return value


def _replace(value: str, op: str, pattern: str, replacement: str) -> str:
    if op == "/#":
        return replacement + value[len(pattern):] if value.startswith(pattern) else value
    if op == "/%":
        return value[:len(value) - len(pattern)] + replacement if value.endswith(pattern) else value
    if not pattern:
        return value
    return value.replace(pattern, replacement, 1 if op == "/" else -1)


def substitute(text: str, values: Mapping[str, str]) -> Substitution:
    """Substitute `values` into `text` as Flux does; raise SubstitutionError on bad syntax."""
    return _Parser(text, values).run()


def invalid_names(values: Mapping[str, str]) -> list[str]:
    """Variable names Flux rejects (it fails the whole substitution for them)."""
    return sorted(name for name in values if not VARIABLE_NAME.match(name))
