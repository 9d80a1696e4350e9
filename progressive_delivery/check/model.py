"""What every stage of the checker passes on: objects with their origin, findings, input errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .access import string_map

PROGRAM = "program"          # applied_by of objects the Pulumi program (or flux bootstrap) creates
CLUSTER = "cluster"          # applied_by of objects every cluster has


class InputError(Exception):
    """The tree, its settings or another input cannot be read; the message says what to fix."""


@dataclass(frozen=True)
class Finding:
    """One problem in one cluster's view of the tree."""

    stack: str
    path: str
    kind: str
    namespace: str
    name: str
    message: str
    applied_by: str = field(default="", compare=False)     # the Kustomization that applies the object

    def line(self) -> str:
        return f"{self.path}: {self.kind}/{self.namespace or '-'}/{self.name}: {self.message}"


@dataclass
class KubeObject:
    """One object Flux applies, a chart renders or the program creates, and where it comes from."""

    body: dict[str, Any]
    path: str                    # file of the tree that defines it (for rendered objects: the HelmRelease's)
    applied_by: str              # "namespace/name" of the Flux Kustomization, PROGRAM or CLUSTER
    rendered_by: str = ""        # "namespace/name" of the HelmRelease whose chart renders it

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion") or "")

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind") or "")

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.body.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace") or "")

    @property
    def labels(self) -> dict[str, str]:
        return string_map(self.metadata, "labels")

    @property
    def spec(self) -> dict[str, Any]:
        spec = self.body.get("spec")
        return spec if isinstance(spec, dict) else {}

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    @property
    def from_tree(self) -> bool:
        """Applied from the tree (directly or rendered from its HelmReleases), not provided."""
        return self.applied_by not in (PROGRAM, CLUSTER)

    def describe(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


@dataclass
class Findings:
    """Findings of one cluster, de-duplicated and in order."""

    stack: str
    items: list[Finding] = field(default_factory=list)

    def add(self, obj: KubeObject | None, message: str, path: str | None = None,
            kind: str = "", namespace: str = "", name: str = "") -> None:
        if obj is not None and obj.rendered_by:
            message = f"{message} (rendered by HelmRelease {obj.rendered_by})"
        finding = Finding(
            stack=self.stack,
            path=path if path is not None else (obj.path if obj else ""),
            kind=obj.kind if obj else kind,
            namespace=obj.namespace if obj else namespace,
            name=obj.name if obj else name,
            message=message,
            applied_by=obj.applied_by if obj else "",
        )
        if finding not in self.items:
            self.items.append(finding)
