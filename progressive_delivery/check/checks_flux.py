"""Flux objects: Kustomizations, HelmReleases and sources refer to things that exist."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .access import mapping, mappings, text
from .model import Findings, KubeObject
from .tree import normalise
from .view import StackView

CHART_SOURCE_KINDS = ("HelmRepository", "GitRepository", "Bucket")
CHART_REF_KINDS = ("OCIRepository", "HelmChart", "ExternalArtifact")
KUSTOMIZATION_SOURCE_KINDS = ("GitRepository", "OCIRepository", "Bucket", "ExternalArtifact")


def _dependency_names(obj: KubeObject) -> list[tuple[str, str]]:
    result = []
    for dep in mappings(obj.spec, "dependsOn"):
        if text(dep, "name"):
            result.append((text(dep, "namespace", default=obj.namespace), text(dep, "name")))
    return result


def _cycles(nodes: dict[tuple[str, str], KubeObject],
            edges: Callable[[KubeObject], Iterable[tuple[str, str]]]) -> list[list[tuple[str, str]]]:
    """Dependency cycles among nodes (each reported once, starting at its smallest member)."""
    found: list[list[tuple[str, str]]] = []
    state: dict[tuple[str, str], int] = {}
    stack: list[tuple[str, str]] = []

    def visit(key: tuple[str, str]) -> None:
        state[key] = 1
        stack.append(key)
        for dep in edges(nodes[key]):
            if dep not in nodes:
                continue
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):]
                start = cycle.index(min(cycle))
                cycle = cycle[start:] + cycle[:start]
                if cycle not in found:
                    found.append(cycle)
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[key] = 2

    for key in sorted(nodes):
        if key not in state:
            visit(key)
    return found


def _source(view: StackView, owner: KubeObject, ref: dict, allowed: tuple[str, ...], field: str,
            out: Findings) -> KubeObject | None:
    kind, name = text(ref, "kind"), text(ref, "name")
    namespace = text(ref, "namespace", default=owner.namespace)
    if kind not in allowed:
        out.add(owner, f"{field}.kind '{kind}' is not one of {', '.join(allowed)}; fix the kind")
        return None
    found = view.get(kind, namespace, name)
    if found is None:
        out.add(owner, f"{field} refers to {kind} {namespace}/{name}, which neither the tree nor the program "
                       f"creates; fix the name or add the {kind}")
    return found


def check_kustomizations(view: StackView, out: Findings) -> None:
    nodes = {(k.namespace, k.name): k for k in view.flux_kustomizations()}
    for _key, kustomization in sorted(nodes.items()):
        if kustomization.applied_by == "program" or view.is_invalid(kustomization):
            continue
        spec = kustomization.spec
        source = _source(view, kustomization, mapping(spec, "sourceRef"), KUSTOMIZATION_SOURCE_KINDS,
                         "sourceRef", out)
        if source is not None and (source.namespace, source.name) != ("flux-system", "flux-system"):
            out.add(kustomization, f"sourceRef {source.kind} {source.namespace}/{source.name} is not the "
                                   "repository this tree is published to (GitRepository flux-system/flux-system); "
                                   "its content cannot be checked here")
        path = text(spec, "path", default=".")
        rel = normalise(path)
        if rel.startswith("..") or not (view.tree.root / rel).is_dir():
            out.add(kustomization, f"path '{path}' does not exist in the tree; paths are relative to the "
                                   "repository root (the platform directory), e.g. ./apps/<stack>")
        for dep in _dependency_names(kustomization):
            if dep not in nodes:
                known = ", ".join(f"{ns}/{n}" for ns, n in sorted(nodes))
                out.add(kustomization, f"dependsOn {dep[0]}/{dep[1]} is not a Flux Kustomization of this stack "
                                       f"(known: {known}); fix the name")
        target = text(spec, "targetNamespace")
        if target and not view.namespace_exists(target):
            out.add(kustomization, f"targetNamespace '{target}' is not created by the tree or the program; "
                                   "add the Namespace or fix the name")
        for check in mappings(spec, "healthChecks"):
            kind, name = text(check, "kind"), text(check, "name")
            if kind and name and kind != "HelmChart":
                namespace = text(check, "namespace", default=kustomization.namespace)
                if view.get(kind, namespace, name) is None:
                    out.add(kustomization, f"healthChecks entry {kind} {namespace}/{name} is not in the tree; "
                                           "fix the entry")
    for cycle in _cycles(nodes, _dependency_names):
        first = nodes[cycle[0]]
        chain = " -> ".join(f"{ns}/{n}" for ns, n in cycle + [cycle[0]])
        out.add(first, f"dependsOn cycle {chain}: none of these Kustomizations will ever be applied; "
                       "break the cycle")


def check_helm_releases(view: StackView, out: Findings) -> None:
    nodes = {(r.namespace, r.name): r for r in view.of_kind("HelmRelease")}
    for _key, release in sorted(nodes.items()):
        if view.is_invalid(release):
            continue
        spec = release.spec
        chart_spec = mapping(spec, "chart").get("spec")
        if isinstance(chart_spec, dict):
            _source(view, release, mapping(chart_spec, "sourceRef"), CHART_SOURCE_KINDS,
                    "chart.spec.sourceRef", out)
        elif isinstance(spec.get("chartRef"), dict):
            _source(view, release, spec["chartRef"], CHART_REF_KINDS, "chartRef", out)
        else:
            out.add(release, "has neither chart.spec nor chartRef; set one to name the chart")
        for dep in _dependency_names(release):
            if dep not in nodes:
                known = ", ".join(f"{ns}/{n}" for ns, n in sorted(nodes))
                out.add(release, f"dependsOn {dep[0]}/{dep[1]} is not a HelmRelease of this stack "
                                 f"(known: {known}); fix the name")
        for item in mappings(spec, "valuesFrom"):
            if item.get("optional"):
                continue
            kind, name = text(item, "kind"), text(item, "name")
            if view.get(kind, release.namespace, name) is None:
                out.add(release, f"valuesFrom {kind} {release.namespace}/{name} is created neither by the tree "
                                 "nor by the program; fix the name (the program creates Secret "
                                 "flux-system/grafana-admin) or mark it optional")
        target = text(spec, "targetNamespace")
        create = mapping(spec, "install").get("createNamespace") is True
        if target and not create and not view.namespace_exists(target):
            out.add(release, f"targetNamespace '{target}' does not exist; add the Namespace to the tree or set "
                             "install.createNamespace: true")
        storage = text(spec, "storageNamespace")
        if storage and not view.namespace_exists(storage):
            out.add(release, f"storageNamespace '{storage}' does not exist; add the Namespace or drop the field")
    for cycle in _cycles(nodes, _dependency_names):
        chain = " -> ".join(f"{ns}/{n}" for ns, n in cycle + [cycle[0]])
        out.add(nodes[cycle[0]], f"dependsOn cycle {chain}: these releases will never install; break the cycle")


def check_sources(view: StackView, out: Findings) -> None:
    for source in view.tree_subjects("GitRepository", "HelmRepository", "OCIRepository", "Bucket"):
        for field in ("secretRef", "certSecretRef", "proxySecretRef"):
            name = text(source.spec, field, "name")
            if name and view.get("Secret", source.namespace, name) is None:
                out.add(source, f"{field} names Secret {source.namespace}/{name}, which neither the tree "
                                "nor the program creates; fix the name")
