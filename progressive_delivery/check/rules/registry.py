"""The rule registry: a rule is a function of a cluster view, registered with @rule.

    @rule("Canary targets")
    def canary_targets(view: ClusterView) -> None:
        for canary in view.valid("Canary"):
            ...
            view.findings.add(canary, "what is wrong; what to change")

Rules only read objects that passed schema validation (view.valid, view.from_tree) and read their
fields through access.py; an exception in a rule is a bug and propagates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..view import ClusterView

Check = Callable[[ClusterView], None]


@dataclass(frozen=True)
class Rule:
    name: str
    check: Check


# Filled when the rule modules are imported (rules/__init__.py imports them all), then only read.
RULES: list[Rule] = []


def rule(name: str) -> Callable[[Check], Check]:
    """Register a rule under a name."""
    def register(check: Check) -> Check:
        RULES.append(Rule(name, check))
        return check
    return register
