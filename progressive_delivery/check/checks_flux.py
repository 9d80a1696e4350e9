"""Flux objects: Kustomizations, HelmReleases and sources refer to things that exist."""

from __future__ import annotations

from typing import Callable, Iterable, Optional

from .model import Findings, KubeObject
from .tree import normalise
from .view import StackView

CHART_SOURCE_KINDS = ("HelmRepository", "GitRepository", "Bucket")
CHART_REF_KINDS = ("OCIRepository", "HelmChart", "ExternalArtifact")
KUSTOMIZATION_SOURCE_KINDS = ("GitRepository", "OCIRepository", "Bucket", "ExternalArtifact")


def _dependency_names(obj: KubeObject) -> list[tuple[str, str]]:
    result = []
    for dep in obj.spec.get("dependsOn") or []:
        if isinstance(dep, dict) and dep.get("name"):
            result.append((str(dep.get("namespace") or obj.namespace), str(dep["name"])))
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
            out: Findings) -> Optional[KubeObject]:
    kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
    namespace = str(ref.get("namespace") or owner.namespace)
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
    for key, kustomization in sorted(nodes.items()):
        if kustomization.applied_by == "program":
            continue
        spec = kustomization.spec
        source = _source(view, kustomization, spec.get("sourceRef") or {}, KUSTOMIZATION_SOURCE_KINDS,
                         "sourceRef", out)
        if source is not None and (source.namespace, source.name) != ("flux-system", "flux-system"):
            out.add(kustomization, f"sourceRef {source.kind} {source.namespace}/{source.name} is not the "
                                   "repository this tree is published to (GitRepository flux-system/flux-system); "
                                   "its content cannot be checked here")
        path = str(spec.get("path") or ".")
        rel = normalise(path)
        if rel.startswith("..") or not (view.tree.root / rel).is_dir():
            out.add(kustomization, f"path '{path}' does not exist in the tree; paths are relative to the "
                                   "repository root (the platform directory), e.g. ./apps/<stack>")
        for dep in _dependency_names(kustomization):
            if dep not in nodes:
                known = ", ".join(f"{ns}/{n}" for ns, n in sorted(nodes))
                out.add(kustomization, f"dependsOn {dep[0]}/{dep[1]} is not a Flux Kustomization of this stack "
                                       f"(known: {known}); fix the name")
        target = spec.get("targetNamespace")
        if target and not view.namespace_exists(str(target)):
            out.add(kustomization, f"targetNamespace '{target}' is not created by the tree or the program; "
                                   "add the Namespace or fix the name")
        for check in spec.get("healthChecks") or []:
            if isinstance(check, dict) and check.get("kind") and check.get("name"):
                namespace = str(check.get("namespace") or kustomization.namespace)
                if view.get(str(check["kind"]), namespace, str(check["name"])) is None and check["kind"] not in (
                        "HelmChart",):
                    out.add(kustomization, f"healthChecks entry {check['kind']} {namespace}/{check['name']} "
                                           "is not in the tree; fix the entry")
    for cycle in _cycles(nodes, _dependency_names):
        first = nodes[cycle[0]]
        chain = " -> ".join(f"{ns}/{n}" for ns, n in cycle + [cycle[0]])
        out.add(first, f"dependsOn cycle {chain}: none of these Kustomizations will ever be applied; "
                       "break the cycle")


def check_helm_releases(view: StackView, out: Findings) -> None:
    nodes = {(r.namespace, r.name): r for r in view.of_kind("HelmRelease")}
    for key, release in sorted(nodes.items()):
        spec = release.spec
        chart_spec = (spec.get("chart") or {}).get("spec")
        if isinstance(chart_spec, dict):
            _source(view, release, chart_spec.get("sourceRef") or {}, CHART_SOURCE_KINDS,
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
        for item in spec.get("valuesFrom") or []:
            if not isinstance(item, dict) or item.get("optional"):
                continue
            kind, name = str(item.get("kind", "")), str(item.get("name", ""))
            if view.get(kind, release.namespace, name) is None:
                out.add(release, f"valuesFrom {kind} {release.namespace}/{name} is created neither by the tree "
                                 "nor by the program; fix the name (the program creates Secret "
                                 "flux-system/grafana-admin) or mark it optional")
        target = spec.get("targetNamespace")
        create = ((spec.get("install") or {}).get("createNamespace")) is True
        if target and not create and not view.namespace_exists(str(target)):
            out.add(release, f"targetNamespace '{target}' does not exist; add the Namespace to the tree or set "
                             "install.createNamespace: true")
        storage = spec.get("storageNamespace")
        if storage and not view.namespace_exists(str(storage)):
            out.add(release, f"storageNamespace '{storage}' does not exist; add the Namespace or drop the field")
    for cycle in _cycles(nodes, _dependency_names):
        chain = " -> ".join(f"{ns}/{n}" for ns, n in cycle + [cycle[0]])
        out.add(nodes[cycle[0]], f"dependsOn cycle {chain}: these releases will never install; break the cycle")


def check_sources(view: StackView, out: Findings) -> None:
    for source in view.tree_objects("GitRepository", "HelmRepository", "OCIRepository", "Bucket"):
        for field in ("secretRef", "certSecretRef", "proxySecretRef"):
            ref = source.spec.get(field)
            if isinstance(ref, dict) and ref.get("name") and view.get("Secret", source.namespace,
                                                                     str(ref["name"])) is None:
                out.add(source, f"{field} names Secret {source.namespace}/{ref['name']}, which neither the tree "
                                "nor the program creates; fix the name")


def run(view: StackView, out: Findings) -> None:
    check_kustomizations(view, out)
    check_helm_releases(view, out)
    check_sources(view, out)
