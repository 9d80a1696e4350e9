"""Report stage: findings per cluster, what was not checked, the budget, and how long each stage took."""

from __future__ import annotations

from dataclasses import dataclass, field

from .budget import Budget
from .model import Finding

STAGES = ("load", "build", "render", "validate", "rules", "pins")


@dataclass
class Report:
    """The outcome of a check: `ok` when no cluster has a finding."""

    stacks: list[str]
    findings: list[Finding] = field(default_factory=list)
    notices: dict[str, list[str]] = field(default_factory=dict)    # per cluster: what was not checked, and why
    warnings: list[str] = field(default_factory=list)             # run-wide lines (e.g. pins not verified)
    budgets: dict[str, Budget] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)       # seconds per stage

    @property
    def ok(self) -> bool:
        return not self.findings

    def for_stack(self, stack: str) -> list[Finding]:
        return [f for f in self.findings if f.stack == stack]

    def format(self, budget: bool = False) -> str:
        """A header line per cluster, then a finding a line, then what was not checked (`note:` lines)."""
        lines = [f"note: {w}" for w in self.warnings]
        for stack in self.stacks:
            found = self.for_stack(stack)
            status = "ok" if not found else f"{len(found)} finding{'s' if len(found) != 1 else ''}"
            lines.append(f"== stack {stack}: {status}")
            lines += [f.line() for f in found]
            lines += [f"note: {n}" for n in self.notices.get(stack, [])]
            if budget and stack in self.budgets:
                lines += self.budgets[stack].lines()
        return "\n".join(lines)
