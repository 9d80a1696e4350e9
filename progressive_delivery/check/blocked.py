"""Findings that only follow from a Kustomization Flux fails, set aside as notes.

kustomize-controller applies a Kustomization only once each dependsOn entry is ready: Ready at the
source's revision, or its readyExpr true (fluxcd/kustomize-controller@v1.9.4:internal/controller/
kustomization_controller.go:244-264, 551-630). One whose dependency fails (or waits itself) is never
applied, the dependency being Ready False with nothing applied yet. What is found in the objects of
such a Kustomization is a note until the failing one is fixed, so that one's finding, the root cause,
stands alone.
"""

from __future__ import annotations

from .access import mappings, text
from .model import KubeObject
from .readyexpr import holds
from .view import ClusterView

# A dependency that fails or waits, as a readyExpr sees it on a new cluster: Ready False, never applied.
_NOT_READY = {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "False"}]}


def waiting_on(view: ClusterView) -> dict[str, str]:
    """Kustomization ns/name -> the failing Kustomization it waits for, directly or down its dependsOn chain
    (failing ones themselves left out: their own findings are root causes)."""
    nodes = {f"{k.namespace}/{k.name}": k for k in view.flux_kustomizations()}

    def root(key: str, seen: frozenset[str]) -> str:
        node = nodes.get(key)
        if node is None or key in seen:
            return ""
        for dep in mappings(node.spec, "dependsOn"):
            name = f"{text(dep, 'namespace', default=node.namespace)}/{text(dep, 'name')}"
            cause = name if name in view.failed else root(name, seen | {key})
            if cause and not _passes(text(dep, "readyExpr"), node, nodes.get(name)):
                return cause
        return ""

    return {key: cause for key in nodes if key not in view.failed and (cause := root(key, frozenset()))}


def set_aside(view: ClusterView) -> None:
    """Turn the findings on objects of Kustomizations that wait for a failing one into notes."""
    waiting = waiting_on(view)
    kept = []
    for finding in view.findings.items:
        cause = waiting.get(finding.applied_by)
        if cause:
            view.notices.append(f"held back while Kustomization {cause} fails (Kustomization {finding.applied_by} "
                                f"waits for it), so not a finding yet: {finding.line()}")
        else:
            kept.append(finding)
    view.findings.items = kept


def _passes(expression: str, node: KubeObject, dependency: KubeObject | None) -> bool:
    """Whether a readyExpr lets the Kustomization go on although its dependency is not ready."""
    if not expression or dependency is None:
        return False
    return holds(expression, node.body, {**dependency.body, "status": _NOT_READY}) is True
