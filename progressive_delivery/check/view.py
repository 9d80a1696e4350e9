"""One stack's view of the platform: every object Flux would apply, plus what the program provides."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .access import mapping, mappings, sequence
from .model import KubeObject
from .schemas import Validator
from .tree import SourceTree

FLUX_KUSTOMIZE = "kustomize.toolkit.fluxcd.io"


@dataclass
class StackView:
    """Objects of one stack, indexed by kind/namespace/name."""

    stack: str
    values: dict[str, str]
    branch: str
    tree: SourceTree
    validator: Validator
    app_version: str = ""                                   # tag of the first image the program pushes
    objects: list[KubeObject] = field(default_factory=list)
    reachable: set[str] = field(default_factory=set)        # source files this stack's builds read
    invalid: set[int] = field(default_factory=set)          # ids of objects that failed schema validation
    _index: dict[tuple[str, str, str], KubeObject] = field(default_factory=dict)

    def add(self, obj: KubeObject) -> KubeObject | None:
        """Add an object; return the object already there under the same key, if any."""
        previous = self._index.get(obj.key)
        if previous is not None and previous.applied_by in ("program", "cluster"):
            # The tree may declare what the program creates too (e.g. the applications namespace).
            self.objects.remove(previous)
            previous = None
        if previous is None:
            self._index[obj.key] = obj
            self.objects.append(obj)
        return previous

    def get(self, kind: str, namespace: str, name: str) -> KubeObject | None:
        return self._index.get((kind, namespace, name))

    def of_kind(self, *kinds: str) -> Iterator[KubeObject]:
        return (o for o in self.objects if o.kind in kinds)

    def subjects(self, *kinds: str) -> Iterator[KubeObject]:
        """Objects of some kinds to check (those that failed schema validation are reported already)."""
        return (o for o in self.of_kind(*kinds) if id(o) not in self.invalid)

    def tree_subjects(self, *kinds: str) -> Iterator[KubeObject]:
        """tree_objects() without those that failed schema validation."""
        return (o for o in self.tree_objects(*kinds) if id(o) not in self.invalid)

    def tree_objects(self, *kinds: str) -> Iterator[KubeObject]:
        """Objects applied from the tree (not program-provided), optionally of some kinds."""
        return (o for o in self.objects
                if o.applied_by not in ("program", "cluster") and (not kinds or o.kind in kinds))

    def namespace_exists(self, name: str) -> bool:
        return self.get("Namespace", "", name) is not None

    def flux_kustomizations(self) -> Iterator[KubeObject]:
        return (o for o in self.objects if o.kind == "Kustomization" and o.group == FLUX_KUSTOMIZE)

    def is_invalid(self, obj: KubeObject) -> bool:
        return id(obj) in self.invalid


def pod_template(obj: KubeObject) -> dict[str, Any] | None:
    """The pod template of a workload (Deployment, StatefulSet, DaemonSet, Job), or None."""
    if obj.kind in ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"):
        return mapping(obj.spec, "template")
    if obj.kind == "CronJob":
        return mapping(obj.spec, "jobTemplate", "spec", "template")
    return None


def containers(template: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for key in ("initContainers", "containers") for c in mappings(template, "spec", key)]


def selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels and matchExpressions) against labels."""
    for key, value in mapping(selector, "matchLabels").items():
        if labels.get(key) != str(value):
            return False
    for expression in mappings(selector, "matchExpressions"):
        key, operator = expression.get("key"), expression.get("operator")
        values = [str(v) for v in sequence(expression, "values")]
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True
