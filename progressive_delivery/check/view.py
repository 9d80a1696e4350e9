"""One cluster's view of the tree: every object it would hold, indexed, with what each stage learnt."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .access import mapping, mappings, sequence
from .load.provided import PROGRAM_FILE
from .load.targets import Target
from .load.tree import SourceTree
from .model import Findings, KubeObject
from .validate.catalog import Catalog
from .validate.schemas import Validator

# Where the program's objects are made, for messages.
PROGRAM_SOURCE = "progressive_delivery/flux.py, platform_inputs.py"
FLUX_KUSTOMIZE = "kustomize.toolkit.fluxcd.io"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")


@dataclass
class ClusterView:
    """Objects of one cluster by kind/namespace/name; objects that failed their schema are kept apart."""

    target: Target
    tree: SourceTree
    validator: Validator
    findings: Findings
    objects: list[KubeObject] = field(default_factory=list)
    invalid: set[int] = field(default_factory=set)          # ids of objects that failed schema validation
    encrypted: set[int] = field(default_factory=set)        # ids of objects Flux decrypts: not validated
    reachable: set[str] = field(default_factory=set)        # tree files this cluster's builds read
    notices: list[str] = field(default_factory=list)        # what was not checked, and why (one line each)
    unrendered: dict[str, str] = field(default_factory=dict)  # HelmRelease ns/name -> target namespace
    failed: dict[str, str] = field(default_factory=dict)      # Kustomization ns/name Flux fails -> why
    _index: dict[tuple[str, str, str], KubeObject] = field(default_factory=dict)

    @property
    def catalog(self) -> Catalog:
        return self.validator.catalog

    def add(self, obj: KubeObject) -> KubeObject | None:
        """Add an object; return the tree object already there under the same key, if any."""
        previous = self._index.get(obj.key)
        if previous is not None and not previous.from_tree:
            self.objects.remove(previous)          # the tree declares what the cluster provides: it wins
            if previous.path == PROGRAM_FILE and obj.from_tree:
                self.findings.add(obj, f"is also created by the Pulumi program ({PROGRAM_SOURCE}); one owner per "
                                       "object: remove it from the tree")
            previous = None
        if previous is None:
            self._index[obj.key] = obj
            self.objects.append(obj)
        return previous

    def get(self, kind: str, namespace: str, name: str) -> KubeObject | None:
        return self._index.get((kind, namespace, name))

    def exists(self, kind: str, namespace: str, name: str) -> bool:
        return (kind, namespace, name) in self._index

    def all_of(self, *kinds: str) -> Iterator[KubeObject]:
        """Every object of some kinds (all objects without kinds), valid or not."""
        return (o for o in self.objects if not kinds or o.kind in kinds)

    def valid(self, *kinds: str) -> Iterator[KubeObject]:
        """Objects of some kinds that passed schema validation: the ones rules read."""
        return (o for o in self.all_of(*kinds) if id(o) not in self.invalid)

    def from_tree(self, *kinds: str) -> Iterator[KubeObject]:
        """Valid objects the tree applies or renders (not those the cluster or program provide)."""
        return (o for o in self.valid(*kinds) if o.from_tree)

    def is_valid(self, obj: KubeObject) -> bool:
        return id(obj) not in self.invalid

    def namespace_exists(self, name: str) -> bool:
        return self.exists("Namespace", "", name)

    def flux_kustomizations(self) -> Iterator[KubeObject]:
        return (o for o in self.objects if o.kind == "Kustomization" and o.group == FLUX_KUSTOMIZE)

    def unrendered_namespaces(self) -> set[str]:
        """Namespaces where a chart that could not be rendered may create objects."""
        return set(self.unrendered.values())


def pod_template(obj: KubeObject) -> dict[str, Any] | None:
    """The pod template of a workload, or None for other kinds."""
    if obj.kind in WORKLOAD_KINDS:
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
        key, operator = str(expression.get("key", "")), expression.get("operator")
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
