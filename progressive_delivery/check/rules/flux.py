"""Flux objects refer to things the cluster has: sources, dependencies, namespaces, Secrets."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ..access import mapping, mappings, text
from ..model import KubeObject
from ..readyexpr import compile_problem, unchecked
from ..view import FLUX_KUSTOMIZE, ClusterView
from .registry import rule
from .secrets import missing_secret, secret_exists

CHART_SOURCE_KINDS = ("HelmRepository", "GitRepository", "Bucket")
CHART_REF_KINDS = ("OCIRepository", "HelmChart", "ExternalArtifact")
KUSTOMIZATION_SOURCE_KINDS = ("GitRepository", "OCIRepository", "Bucket", "ExternalArtifact")

Key = tuple[str, str]


def dependencies(obj: KubeObject) -> list[Key]:
    """(namespace, name) of each dependsOn entry; the namespace defaults to the object's own."""
    return [(text(d, "namespace", default=obj.namespace), text(d, "name"))
            for d in mappings(obj.spec, "dependsOn") if text(d, "name")]


def cycles(nodes: dict[Key, KubeObject], edges: Callable[[KubeObject], Iterable[Key]]) -> list[list[Key]]:
    """Dependency cycles among nodes, each once, starting at its smallest member."""
    found: list[list[Key]] = []
    state: dict[Key, int] = {}
    stack: list[Key] = []

    def visit(key: Key) -> None:
        state[key] = 1
        stack.append(key)
        for dep in edges(nodes[key]):
            if dep in nodes and state.get(dep) == 1:
                cycle = stack[stack.index(dep):]
                start = cycle.index(min(cycle))
                if cycle[start:] + cycle[:start] not in found:
                    found.append(cycle[start:] + cycle[:start])
            elif dep in nodes and dep not in state:
                visit(dep)
        stack.pop()
        state[key] = 2

    for key in sorted(nodes):
        if key not in state:
            visit(key)
    return found


def _source(view: ClusterView, owner: KubeObject, ref: dict, allowed: tuple[str, ...], field: str) -> None:
    kind, name = text(ref, "kind"), text(ref, "name")
    namespace = text(ref, "namespace", default=owner.namespace)
    if kind not in allowed:
        view.findings.add(owner, f"{field}.kind '{kind}' is not one of {', '.join(allowed)}; fix the kind")
    elif not view.exists(kind, namespace, name):
        view.findings.add(owner, f"{field} refers to {kind} {namespace}/{name}, which the cluster does not have; "
                                 f"fix the name or add the {kind}")


def _dependency_rule(view: ClusterView, kind: str, nodes: dict[Key, KubeObject]) -> None:
    """dependsOn of the valid nodes names nodes that exist (valid or not: an invalid one has its own finding)."""
    for _key, obj in sorted(nodes.items()):
        if not view.is_valid(obj):
            continue
        for dep in dependencies(obj):
            if dep not in nodes:
                known = ", ".join(f"{ns}/{n}" for ns, n in sorted(nodes)) or "none"
                view.findings.add(obj, f"dependsOn {dep[0]}/{dep[1]} is not a {kind} of this cluster (known: {known}); "
                                       "fix the name (or its namespace)")
    for cycle in cycles(nodes, dependencies):
        chain = " -> ".join(f"{ns}/{n}" for ns, n in cycle + [cycle[0]])
        view.findings.add(nodes[cycle[0]], f"dependsOn cycle {chain}: none of these is ever applied; break the cycle")


@rule("Flux Kustomizations")
def kustomizations(view: ClusterView) -> None:
    nodes = {(k.namespace, k.name): k for k in view.flux_kustomizations()}
    for kustomization in (k for k in nodes.values() if k.from_tree and view.is_valid(k)):
        spec = kustomization.spec
        _source(view, kustomization, mapping(spec, "sourceRef"), KUSTOMIZATION_SOURCE_KINDS, "sourceRef")
        target = text(spec, "targetNamespace")
        if target and not view.namespace_exists(target):
            view.findings.add(kustomization, f"targetNamespace '{target}' is created neither by the tree nor by the "
                                             "cluster; add the Namespace or fix the name")
        for check in mappings(spec, "healthChecks"):
            kind, name = text(check, "kind"), text(check, "name")
            namespace = text(check, "namespace", default=kustomization.namespace)
            if kind and name and not view.exists(kind, namespace, name):
                view.findings.add(kustomization, f"healthChecks entry {kind} {namespace}/{name} is not in the "
                                                 "cluster; fix the entry")
    _dependency_rule(view, "Flux Kustomization", nodes)


@rule("HelmReleases")
def helm_releases(view: ClusterView) -> None:
    nodes = {(r.namespace, r.name): r for r in view.all_of("HelmRelease") if r.from_tree}
    for release in (r for r in nodes.values() if view.is_valid(r)):
        spec = release.spec
        if isinstance(spec.get("chart"), dict):
            _source(view, release, mapping(spec, "chart", "spec", "sourceRef"), CHART_SOURCE_KINDS,
                    "chart.spec.sourceRef")
        elif isinstance(spec.get("chartRef"), dict):
            _source(view, release, mapping(spec, "chartRef"), CHART_REF_KINDS, "chartRef")
        else:
            view.findings.add(release, "has neither chart nor chartRef; set one to name the chart")
        target = text(spec, "targetNamespace")
        if target and mapping(spec, "install").get("createNamespace") is not True and not view.namespace_exists(target):
            view.findings.add(release, f"targetNamespace '{target}' does not exist; add the Namespace to the tree or "
                                       "set install.createNamespace: true")
        storage = text(spec, "storageNamespace")
        if storage and not view.namespace_exists(storage):
            view.findings.add(release, f"storageNamespace '{storage}' does not exist; add the Namespace or drop it")
    _dependency_rule(view, "HelmRelease", nodes)


@rule("dependsOn readyExpr compiles")
def ready_expressions(view: ClusterView) -> None:
    """kustomize-controller and helm-controller (v1.6.3 helmrelease_controller.go:245-253, 662-680) compile each
    readyExpr the same way; one that does not compile stalls the object for good (readyexpr.py)."""
    owners = [o for o in view.from_tree("Kustomization", "HelmRelease")
              if o.kind == "HelmRelease" or o.group == FLUX_KUSTOMIZE]
    for owner in owners:
        for dep in mappings(owner.spec, "dependsOn"):
            expression = text(dep, "readyExpr")
            name = f"{text(dep, 'namespace', default=owner.namespace)}/{text(dep, 'name')}"
            if not expression:
                continue
            if unchecked(expression):
                view.notices.append(f"{owner.describe()}: the readyExpr of dependsOn {name} uses CEL's optional "
                                    "syntax, which cel-python does not parse: not checked")
            elif problem := compile_problem(expression):
                view.findings.add(owner, f"dependsOn {name} readyExpr '{' '.join(expression.split())}' does not "
                                         f"compile: {problem}; Flux stalls this {owner.kind} for good, so neither it "
                                         "nor anything depending on it is ever applied; fix the expression")


@rule("Flux source credentials")
def source_secrets(view: ClusterView) -> None:
    for source in view.from_tree("GitRepository", "HelmRepository", "OCIRepository", "Bucket", "ImageRepository"):
        for field in ("secretRef", "certSecretRef", "proxySecretRef"):
            name = text(source.spec, field, "name")
            if name and not secret_exists(view, source.namespace, name):
                missing_secret(view, source, f"{field} names", source.namespace, name)
