"""Reading raw setting values: typed getters that collect every problem instead of stopping at the first."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import names
from .project import PROJECT


def key(name: str) -> str:
    return f"{PROJECT}:{name}"


class SettingReader:
    """Reads raw values, collecting problems instead of stopping at the first."""

    def __init__(self, stack: str, raw: Mapping[str, Any], defaults: Mapping[str, Any]):
        self.stack = stack
        self.raw = raw
        self.defaults = defaults
        self.problems: list[str] = []
        self.tainted: set[str] = set()

    def fail(self, name: str, message: str) -> None:
        self.problems.append(f"{key(name)}: {message}")
        self.tainted.add(name)

    def given(self, name: str) -> bool:
        return name in self.raw and self.raw[name] not in (None, "")

    def value(self, name: str) -> Any:
        if self.given(name):
            return self.raw[name]
        default = self.defaults.get(name)
        return default(self.stack) if callable(default) else default

    def text(self, name: str, check: Callable[[str], str | None] | None = None) -> str:
        value = self.value(name)
        if value is None:
            self.fail(name, f"is required; set it with `pulumi config set {key(name)} <value>`")
            return ""
        value = str(value)
        problem = check(value) if check is not None and name not in self.tainted else None
        if problem:
            self.fail(name, f"'{value}' is not valid: {problem}")
        return value

    def optional_text(self, name: str, check: Callable[[str], str | None] | None) -> str | None:
        return self.text(name, check) if self.value(name) is not None else None

    def choice(self, name: str, choices: Sequence[str]) -> str:
        value = self.text(name)
        if value and value not in choices and name not in self.tainted:
            self.fail(name, f"'{value}' is not one of {', '.join(choices)}")
        return value

    def integer(self, name: str, minimum: int, maximum: int, hint: str) -> int:
        value = self.value(name)
        if value is None:
            self.fail(name, f"is required: {hint}; set it with `pulumi config set {key(name)} <number>`")
            return minimum
        text = str(value)
        if not re.fullmatch(r"-?[0-9]+", text):
            self.fail(name, f"'{value}' is not a whole number: {hint}")
            return minimum
        number = int(text)
        if not minimum <= number <= maximum:
            self.fail(name, f"{number} is out of range: {hint}")
        return number

    def string_map(self, name: str) -> tuple[tuple[str, str], ...]:
        value = self.value(name)
        if value is None:
            return ()
        if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
            self.fail(name, "must be a mapping of names to text values "
                            f"(`pulumi config set --path '{key(name)}.<name>' <value>`)")
            return ()
        return tuple(sorted((k, str(v)) for k, v in value.items()))

    def refuse(self, names_: Sequence[str], reason: str) -> None:
        for name in names_:
            if self.given(name):
                self.fail(name, f"{reason}; remove it (`pulumi config rm {key(name)}`)")

    def check_hygiene(self) -> None:
        """No control characters, and no leading or trailing whitespace, in any text value."""
        for name, value in self.raw.items():
            if problem := names.hygiene_problem(value):
                self.fail(name, f"{problem}; write the value on one line without surrounding spaces")
