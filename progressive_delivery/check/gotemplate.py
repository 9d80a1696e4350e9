"""Field references of an ImageUpdateAutomation commit message template (a Go text/template).

The template sees image.toolkit.fluxcd.io/v1's TemplateData: `.AutomationObject`
(Name, Namespace), `.Changed` (an update result: field FileChanges, methods
Changes and Objects) and `.Values` (a string map). Go checks field names only
when the template runs, in the controller; this module walks the actions of
the template (range/with/if/else/end, variables, pipelines) and reports every
field chain that names something the data does not have. It does not
evaluate functions; a chain it cannot type is not reported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

# Types of the template data: a struct (fields), a map (key, element), a list (element), or a string.
Type = Union["Struct", "Map", "List", str, None]


@dataclass(frozen=True)
class Struct:
    name: str
    fields: tuple[tuple[str, Type], ...]

    def field(self, name: str) -> Type | None:
        for key, value in self.fields:
            if key == name:
                return value
        raise KeyError(name)


@dataclass(frozen=True)
class Map:
    key: Type
    element: Type


@dataclass(frozen=True)
class List:
    element: Type


CHANGE = Struct("Change", (("OldValue", "string"), ("NewValue", "string"), ("Setter", "string")))
OBJECT_ID = Struct("ObjectIdentifier", (("Name", "string"), ("Namespace", "string"), ("APIVersion", "string"),
                                        ("Kind", "string")))
OBJECT_CHANGES = Map(OBJECT_ID, List(CHANGE))
RESULT = Struct("Result", (("FileChanges", Map("string", OBJECT_CHANGES)), ("Changes", List(CHANGE)),
                           ("Objects", OBJECT_CHANGES)))
AUTOMATION = Struct("AutomationObject", (("Name", "string"), ("Namespace", "string")))
TEMPLATE_DATA = Struct("TemplateData", (("AutomationObject", AUTOMATION), ("Changed", RESULT),
                                        ("Values", Map("string", "string"))))

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.S)
_COMMENT = re.compile(r"^/\*.*\*/$", re.S)
_TOKEN = re.compile(r'"(?:\\.|[^"\\])*"|`[^`]*`|\'(?:\\.|[^\'\\])*\'|:=|=|\||\(|\)|,|'
                    r'\$[A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*|\.(?:[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)?|[^\s|(),=]+')


def _follow(start: Type, names: list[str], chain: str, problems: list[str]) -> Type:
    current = start
    for _index, name in enumerate(names):
        if isinstance(current, Struct):
            try:
                current = current.field(name)
            except KeyError:
                if current is TEMPLATE_DATA and name == "Updated":
                    problems.append(f"'{chain}': .Updated was removed in image.toolkit.fluxcd.io/v1; use .Changed "
                                    "(e.g. range .Changed.Changes)")
                else:
                    known = ", ".join(k for k, _ in current.fields)
                    problems.append(f"'{chain}': {current.name} has no field {name} (it has {known})")
                return None
        elif isinstance(current, Map) and current.key == "string":
            current = current.element
        elif current is None:
            return None
        else:
            kind = "a list" if isinstance(current, List) else (
                "a map keyed by objects" if isinstance(current, Map) else "a string")
            problems.append(f"'{chain}': .{name} cannot be read from {kind}; use range or index")
            return None
    return current


def template_problems(text: str) -> list[str]:
    """Problems with the field references of a commit message template ([] when fine)."""
    problems: list[str] = []
    # Each block: (dot type, saved variables, dot type outside the block for else)
    blocks: list[tuple[str, Type, dict[str, Type], Type]] = []
    dot: Type = TEMPLATE_DATA
    variables: dict[str, Type] = {"$": TEMPLATE_DATA}

    def evaluate(token: str) -> Type:
        if token.startswith("$"):
            head, *rest = token.split(".")
            if head not in variables:
                problems.append(f"'{token}': variable {head} is not defined")
                return None
            return _follow(variables[head], rest, token, problems)
        if token == ".":
            return dot
        return _follow(dot, token[1:].split("."), token, problems)

    def pipeline(tokens: list[str]) -> Type:
        """Check every field chain in a pipeline; return the type of a pipeline that is a single chain."""
        result: Type = None
        chains = [t for t in tokens if t.startswith(".") or t.startswith("$")]
        for token in chains:
            result = evaluate(token)
        if len(tokens) == 1 and chains:
            return result
        return None

    for match in _ACTION.finditer(text):
        action = match.group(1).strip()
        if not action or _COMMENT.match(action):
            continue
        tokens = _TOKEN.findall(action)
        if not tokens:
            continue
        keyword = tokens[0]
        if keyword in ("range", "with", "if", "define", "block"):
            rest = tokens[1:]
            names: list[str] = []
            if ":=" in rest or "=" in rest:
                split = rest.index(":=") if ":=" in rest else rest.index("=")
                names = [t for t in rest[:split] if t.startswith("$")]
                rest = rest[split + 1:]
            saved = dict(variables)
            if keyword in ("define", "block"):
                blocks.append((keyword, dot, saved, dot))
                dot = None
                continue
            kind = pipeline(rest)
            outer = dot
            if keyword == "range":
                key: Type = None
                element: Type = None
                if isinstance(kind, Map):
                    key, element = kind.key, kind.element
                elif isinstance(kind, List):
                    key, element = "int", kind.element
                if len(names) == 2:
                    variables[names[0]], variables[names[1]] = key, element
                elif len(names) == 1:
                    variables[names[0]] = element
                blocks.append((keyword, outer, saved, outer))
                dot = element
            elif keyword == "with":
                for name in names:
                    variables[name] = kind
                blocks.append((keyword, outer, saved, outer))
                dot = kind
            else:
                blocks.append((keyword, outer, saved, outer))
        elif keyword == "else":
            if not blocks:
                problems.append("'else' without an opening if/range/with")
                continue
            kw, outer, saved, _ = blocks[-1]
            dot = outer
            rest = tokens[1:]
            if rest and rest[0] in ("if", "with"):
                kind = pipeline(rest[1:])
                if rest[0] == "with":
                    dot = kind
        elif keyword == "end":
            if not blocks:
                problems.append("'end' without an opening if/range/with")
                continue
            _, outer, saved, _ = blocks.pop()
            dot, variables = outer, saved
        elif keyword in ("template",):
            pipeline(tokens[2:])
        else:
            rest = tokens
            if len(tokens) > 2 and tokens[0].startswith("$") and tokens[1] in (":=", "="):
                variables[tokens[0]] = pipeline(tokens[2:])
                continue
            pipeline(rest)
    if blocks:
        problems.append(f"{len(blocks)} block(s) not closed with {{{{ end }}}}")
    if text.count("{{") != text.count("}}"):
        problems.append("unbalanced '{{' and '}}'")
    return problems
