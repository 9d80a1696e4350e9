"""Flux's post-build variable substitution language, emulated.

kustomize-controller v1.9.4 substitutes with github.com/fluxcd/pkg/envsubst v1.7.0 (a fork of
drone/envsubst). This module reproduces its scanner, parser and functions, so that it accepts,
rejects and expands exactly what Flux does (its upstream test cases are kept in
tests/test_check_envsubst.py): at top level, text, `${...}` expressions and `$$` escaping `$`
(`$${var}` is `${var}`); inside, `${var}`, `${#var}`, `${var^}`, `${var^^}`, `${var,}`, `${var,,}`,
`${var:offset[:length]}`, `${var#pat}`, `${var##pat}`, `${var%pat}`, `${var%%pat}`, `${var/pat/rep}`
(also `//`, `/#`, `/%`) and the defaults `${var=word}`, `${var:=word}`, `${var:-word}`,
`${var:?word}`, `${var:+word}` (all of which give `word` when the value is empty); arguments nest
expressions, `\\/` and `\\\\` escape `/` and `\\`; lengths and substrings count UTF-8 bytes, as Go does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .shellglob import glob_match

# Scanner modes and escape sets (envsubst/parse/scan.go).
IDENT, LBRACK, RBRACK, ESCAPE = 1, 2, 4, 8
DOLLAR, BACKSLASH = 1, 2
EOF, T_IDENT, T_LBRACK, T_RBRACK, T_ILLEGAL = "eof", "ident", "lbrack", "rbrack", "illegal"
DEFAULT_OPERATORS = frozenset({"-", "+", "=", "?", ":-", ":+", ":=", ":?"})
_ATOI = re.compile(r"^[+-]?[0-9]+$")

Accept = Callable[[str, int], bool]


class SubstitutionError(Exception):
    """The text holds an expression Flux's parser rejects (the message is envsubst's own)."""


class VariableNotSet(SubstitutionError):
    """Strict mode: a variable without a value and without a default."""


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Func:
    param: str
    name: str = ""
    args: tuple[Node, ...] = ()


@dataclass(frozen=True)
class Sequence:
    nodes: tuple[Node, ...]


Node = Text | Func | Sequence


def _ident(r: str, i: int) -> bool:
    return r.isalpha() or r.isdigit() or r == "_"


def _any(r: str, i: int) -> bool:
    return True


ACCEPT: dict[str, Accept] = {
    "ident": _ident,
    "colon": lambda r, i: r == ":",
    "one_hash": lambda r, i: r == "#" and i == 1,
    "not_closing": lambda r, i: r != "}",
    "hash_func": lambda r, i: r == "#" and i < 3,
    "percent_func": lambda r, i: r == "%" and i < 3,
    "default_func": lambda r, i: (i == 1 and r == ":") or (i == 2 and r in "=-?+"),
    "replace_func": lambda r, i: (i == 1 and r == "/") or (i == 2 and r in "/#%"),
    "one_equal": lambda r, i: i == 1 and r == "=",
    "one_colon": lambda r, i: i == 1 and r == ":",
    "reject_colon_close": lambda r, i: r not in ":}",
    "slash": lambda r, i: r == "/",
    "not_slash": lambda r, i: r != "/",
    "casing_func": lambda r, i: r in ",^" and i < 3,
}


class _Scanner:
    """envsubst's scanner: reads characters under a mode, removing escape characters as it goes."""

    def __init__(self, text: str):
        self.buf, self.pos, self.start, self.width = text, 0, 0, 0
        self.mode, self.escapes = 0, 0
        self.accept: Accept = _any

    def read(self) -> str:
        if self.pos >= len(self.buf) or self.buf[self.pos] == "\0":     # Go's eof rune is 0
            self.width = 0
            return EOF
        self.width = 1
        self.pos += 1
        return self.buf[self.pos - 1]

    def unread(self) -> None:
        self.pos -= self.width

    def skip(self) -> None:
        self.buf = self.buf[:self.pos - 1] + self.buf[self.pos:]

    def peek(self) -> str:
        r = self.read()
        self.unread()
        return r

    def string(self) -> str:
        return self.buf[self.start:self.pos]

    def scan(self) -> str:
        self.start = self.pos
        r = self.read()
        if r == EOF:
            return EOF
        if self._lbrack(r):
            return T_LBRACK
        if self.mode & RBRACK and r == "}":
            return T_RBRACK
        if self._ident(r):
            return T_IDENT
        return T_ILLEGAL

    def _ident(self, r: str) -> bool:
        if not self.mode & IDENT:
            return False
        if self._escaped(r):
            self.skip()
        elif not self.accept(r, self.pos - self.start):
            return False
        while True:
            r = self.read()
            if r == EOF:
                self.unread()
                break
            if self._lbrack(r):
                self.unread()
                self.unread()
                break
            if self._escaped(r):
                self.skip()
                continue
            if not self.accept(r, self.pos - self.start):
                self.unread()
                break
        return True

    def _lbrack(self, r: str) -> bool:
        if not self.mode & LBRACK or r != "$":
            return False
        if self.read() == "{":
            return True
        self.unread()
        return False

    def _escaped(self, r: str) -> bool:
        if not self.mode & ESCAPE:
            return False
        if r == "$" and self.escapes & DOLLAR and self.peek() == "$":
            return True
        return r == "\\" and bool(self.escapes & BACKSLASH) and self.peek() in ("/", "\\")


class _Parser:
    """envsubst's parser (envsubst/parse/parse.go), building the same tree of Text and Func nodes."""

    def __init__(self, text: str):
        self.s = _Scanner(text)

    def parse(self) -> Node:
        nodes: list[Node] = []
        while True:
            self.s.accept, self.s.mode, self.s.escapes = _any, IDENT | LBRACK | ESCAPE, DOLLAR
            token = self.s.scan()
            if token == T_IDENT:
                nodes.append(Text(self.s.string()))
            elif token == T_LBRACK:
                nodes.append(self.func())
            elif token == EOF:
                break
            else:
                raise SubstitutionError("bad substitution")
        if not nodes:
            return Text("")
        return nodes[0] if len(nodes) == 1 else Sequence(tuple(nodes))

    def scan_as(self, accept: str, mode: int) -> str:
        self.s.accept, self.s.mode = ACCEPT[accept], mode
        return self.s.scan()

    def func(self) -> Func:
        self.s.escapes = DOLLAR | BACKSLASH
        if self.s.peek() == "#":
            return self.length()
        if self.scan_as("ident", IDENT) != T_IDENT:
            raise SubstitutionError("unable to parse variable name")
        name = self.s.string()
        following = self.s.peek()
        if following == ":":
            self.s.read()
            after = self.s.peek()
            self.s.unread()
            return self.default(name) if after in ("=", "-", "?", "+") else self.substring(name)
        if following == "=":
            return self.default(name)
        if following in (",", "^"):
            operator = self.operator(name, "casing_func")
            self.close()
            return operator
        if following == "/":
            return self.replace(name)
        if following in ("#", "%"):
            operator = self.operator(name, "hash_func" if following == "#" else "percent_func")
            node = Func(name, operator.name, (self.param("not_closing", IDENT),))
            self.close()
            return node
        if self.scan_as("ident", RBRACK) != T_RBRACK:
            raise SubstitutionError("missing closing brace")
        return Func(name)

    def operator(self, name: str, accept: str, error: str = "bad substitution") -> Func:
        if self.scan_as(accept, IDENT) != T_IDENT:
            raise SubstitutionError(error)
        return Func(name, self.s.string())

    def param(self, accept: str, mode: int) -> Node:
        token = self.scan_as(accept, mode | LBRACK)
        if token == T_LBRACK:
            return self.func()
        if token in (T_IDENT, T_RBRACK):
            return Text(self.s.string())
        raise SubstitutionError("unable to parse substitution within function")

    def close(self) -> None:
        self.s.mode = RBRACK
        if self.s.scan() != T_RBRACK:
            raise SubstitutionError("bad substitution")

    def length(self) -> Func:
        operator = self.operator("", "one_hash")
        if self.scan_as("ident", IDENT) != T_IDENT:
            raise SubstitutionError("bad substitution")
        node = Func(self.s.string(), operator.name)
        self.close()
        return node

    def substring(self, name: str) -> Func:
        operator = self.operator(name, "one_colon")
        args = [self.param("reject_colon_close", IDENT)]
        token = self.scan_as("colon", IDENT | RBRACK)
        if token == T_RBRACK:
            return Func(name, operator.name, tuple(args))
        if token != T_IDENT:
            raise SubstitutionError("bad substitution")
        args.append(self.param("not_closing", IDENT))
        self.close()
        return Func(name, operator.name, tuple(args))

    def replace(self, name: str) -> Func:
        operator = self.operator(name, "replace_func")
        args = [self.param("not_slash", IDENT | ESCAPE)]
        if self.scan_as("slash", IDENT) != T_IDENT:
            raise SubstitutionError("bad substitution")
        if self.s.peek() != "}":
            args.append(self.param("not_closing", IDENT | ESCAPE))
        self.close()
        return Func(name, operator.name, tuple(args))

    def default(self, name: str) -> Func:
        accept = "one_equal" if self.s.peek() == "=" else "default_func"
        operator = self.operator(name, accept, "unable to parse default function")
        args = []
        while self.s.peek() != "}":
            args.append(self.param("not_closing", IDENT))
        self.close()
        return Func(name, operator.name, tuple(args))


def parse(text: str) -> Node:
    """The parse tree of a text; SubstitutionError with envsubst's message when it does not parse."""
    return _Parser(text).parse()


@dataclass
class Substitution:
    """The substituted text, with the variables it used and those it used without a value."""

    text: str
    used: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def substitute(text: str, values: Mapping[str, str], strict: bool = False) -> Substitution:
    """Substitute `values` into `text` as Flux does (non-strict: an unset variable is empty)."""
    result = Substitution("")

    def lookup(name: str, operator: str) -> str:
        result.used.append(name)
        if name not in values and operator not in DEFAULT_OPERATORS:
            if strict:
                raise VariableNotSet(f'variable not set (strict mode): "{name}"')
            result.missing.append(name)
        return values.get(name, "")

    result.text = evaluate(parse(text), lookup)
    return result


def evaluate(node: Node, lookup: Callable[[str, str], str]) -> str:
    if isinstance(node, Text):
        return node.value
    if isinstance(node, Sequence):
        return "".join(evaluate(n, lookup) for n in node.nodes)
    args = [evaluate(a, lookup) for a in node.args]
    return function(node.name, len(args))(lookup(node.param, node.name), args)


def function(name: str, count: int) -> Callable[[str, list[str]], str]:
    """The string function of an operator (envsubst/template.go lookupFunc)."""
    if name == "#" and count == 0:
        return lambda s, a: str(len(s.encode()))
    return _FUNCTIONS.get(name, _default)


def _default(s: str, args: list[str]) -> str:
    return "".join(args) if not s and args else s


def _substring(s: str, args: list[str]) -> str:
    data = s.encode()
    if not args or not _ATOI.match(args[0]):
        return s
    pos = int(args[0])
    if pos < 0:
        pos = max(len(data) + pos, 0)
    if len(args) == 1:
        return data[pos:].decode(errors="replace") if pos < len(data) else ""
    if not _ATOI.match(args[1]):
        return s
    end = pos + int(args[1])
    if end >= len(data):
        return data[pos:].decode(errors="replace") if pos < len(data) else ""
    return data[pos:end].decode(errors="replace")


def _trim_shortest(s: str, pattern: str) -> str:
    shortest = ""
    for end in range(len(s), 0, -1):
        try:
            if glob_match(pattern, s[:end]):
                shortest = s[:end]
        except ValueError:
            return s
    return s[len(shortest):] if shortest else s


def _trim_longest(s: str, pattern: str) -> str:
    for end in range(len(s), 0, -1):
        try:
            if glob_match(pattern, s[:end]):
                return s[end:]
        except ValueError:
            return s
    return s


def _reversed(trim: Callable[[str, str], str]) -> Callable[[str, list[str]], str]:
    return lambda s, a: trim(s[::-1], a[0][::-1])[::-1] if a else s


def _replace_prefix(s: str, a: list[str]) -> str:
    return s.replace(a[0], a[1], 1) if len(a) == 2 and s.startswith(a[0]) else s


def _replace_suffix(s: str, a: list[str]) -> str:
    return s[:len(s) - len(a[0])] + a[1] if len(a) == 2 and s.endswith(a[0]) else s


_FUNCTIONS: dict[str, Callable[[str, list[str]], str]] = {
    ",": lambda s, a: s[:1].lower() + s[1:],
    ",,": lambda s, a: s.lower(),
    "^": lambda s, a: s[:1].upper() + s[1:],
    "^^": lambda s, a: s.upper(),
    "#": lambda s, a: _trim_shortest(s, a[0]) if a else s,
    "##": lambda s, a: _trim_longest(s, a[0]) if a else s,
    "%": _reversed(_trim_shortest),
    "%%": _reversed(_trim_longest),
    ":": _substring,
    "/#": _replace_prefix,
    "/%": _replace_suffix,
    "/": lambda s, a: s.replace(a[0], a[1] if len(a) > 1 else "", 1) if a else s,
    "//": lambda s, a: s.replace(a[0], a[1] if len(a) > 1 else "") if a else s,
}
