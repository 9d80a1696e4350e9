"""Data the checker works with: objects of the tree, findings, the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class InputError(Exception):
    """The tree or its settings cannot be read; the message tells the user what to fix."""


@dataclass(frozen=True)
class Finding:
    """One problem found in one stack's view of the tree."""

    stack: str
    path: str
    kind: str
    namespace: str
    name: str
    message: str

    def line(self) -> str:
        return f"{self.path}: {self.kind}/{self.namespace or '-'}/{self.name}: {self.message}"


@dataclass
class KubeObject:
    """One object Flux applies (or the program creates), with where it comes from."""

    body: dict[str, Any]
    path: str                    # file in the tree that defines it, relative to the platform dir
    applied_by: str              # Flux Kustomization (namespace/name) that applies it, or "program"

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion", ""))

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", ""))

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.body.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    @property
    def labels(self) -> dict[str, str]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> dict[str, str]:
        annotations = self.metadata.get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.body.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)


@dataclass
class Report:
    """Findings for every stack checked, plus warnings and optional budget lines."""

    stacks: list[str]
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    budgets: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def for_stack(self, stack: str) -> list[Finding]:
        return [f for f in self.findings if f.stack == stack]

    def format(self, budget: bool = False) -> str:
        """One header line per stack, then one finding a line."""
        lines = [f"warning: {w}" for w in self.warnings]
        for stack in self.stacks:
            found = self.for_stack(stack)
            status = "ok" if not found else f"{len(found)} finding{'s' if len(found) != 1 else ''}"
            lines.append(f"== stack {stack}: {status}")
            lines.extend(f.line() for f in found)
            if budget and stack in self.budgets:
                lines.extend(self.budgets[stack])
        return "\n".join(lines)


class Findings:
    """Collects findings for one stack, de-duplicated and in order."""

    def __init__(self, stack: str):
        self.stack = stack
        self.items: list[Finding] = []
        self._seen: set[Finding] = set()

    def add(self, obj: KubeObject | None, message: str, path: str | None = None,
            kind: str = "", namespace: str = "", name: str = "") -> None:
        finding = Finding(
            stack=self.stack,
            path=path if path is not None else (obj.path if obj else ""),
            kind=obj.kind if obj else kind,
            namespace=obj.namespace if obj else namespace,
            name=obj.name if obj else name,
            message=message,
        )
        if finding not in self._seen:
            self._seen.add(finding)
            self.items.append(finding)
