"""Rendering one HelmRelease with Helm's own engine, as helm-controller v1.6.3 installs it.

Release name: spec.releaseName, else `[<targetNamespace>-]<name>` (api/v2/helmrelease_types.go
GetReleaseName), shortened past 53 characters to its first 40 characters, `-` and the first 12 hex
digits of its SHA-256 (internal/release/name.go ShortenName); namespace: spec.targetNamespace, else
the HelmRelease's (GetReleaseNamespace). Capabilities: the cluster's Kubernetes version and the API
groups its CRDs serve. The chart's kubeVersion constraint and values.schema.json are enforced as
Helm's install does; CRDs of the chart's crds/ directory are installed unless spec.install.crds is
Skip (internal/action/install.go, crds.go); test hooks are left out (they only run on `helm test`);
objects without a namespace land in the release namespace; post-renderers (kustomize patches and
images) run, then spec.commonMetadata and helm-controller's origin labels
(internal/postrender/build.go) are set.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..access import YAML_LOADER, mapping, mappings, sequence, string_map, text
from ..build.kustomize import run_kustomize
from ..cache import ContentCache
from ..model import KubeObject
from ..semver_range import RangeError, parse_range

MAX_RELEASE_NAME = 53
ORIGIN_LABELS = ("helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace")
TEST_HOOKS = {"test", "test-success", "test-failure"}


def release_name(release: KubeObject) -> str:
    spec = release.spec
    if text(spec, "releaseName"):
        return text(spec, "releaseName")
    if text(spec, "targetNamespace"):
        return f"{text(spec, 'targetNamespace')}-{release.name}"
    return release.name


def shorten(name: str) -> str:
    """helm-controller's ShortenName."""
    if len(name) <= MAX_RELEASE_NAME:
        return name
    return name[:MAX_RELEASE_NAME - 13] + "-" + hashlib.sha256(name.encode()).hexdigest()[:12]


def release_namespace(release: KubeObject) -> str:
    return text(release.spec, "targetNamespace", default=release.namespace)


class RenderError(Exception):
    """helm-controller could not install this release; the message says why."""


@dataclass
class Rendered:
    """What a chart renders for a release: objects (CRDs included), and Helm's warnings."""

    objects: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _captured_stderr() -> Iterator[list[str]]:
    """Helm's Go code warns on file descriptor 2: catch those lines instead of printing them."""
    lines: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield lines
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines += [line.split(" ", 2)[-1] for line in sink.read().decode(errors="replace").splitlines()
                      if line.strip()]


_RENDERS: ContentCache[tuple[list[dict[str, Any]], list[str]] | RenderError] = ContentCache(64)
_CRDS: ContentCache[list[dict[str, Any]]] = ContentCache(64)


def _template_objects(chart: Any, chart_key: str, values: dict[str, Any],
                      options: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The objects Helm's engine renders, and its warnings (shared by identical renders: never modify them)."""
    key = hashlib.sha256(json.dumps([chart_key, values, options], sort_keys=True, default=str).encode()).hexdigest()
    cached = _RENDERS.get(key) if chart_key else None
    if cached is None:
        cached = _run_engine(chart, values, options)
        if chart_key:
            _RENDERS.put(key, cached)
    if isinstance(cached, RenderError):
        raise cached
    return cached


def _run_engine(chart: Any, values: dict[str, Any],
                options: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]] | RenderError:
    import helm_python
    from helm_python import _native

    try:
        with _captured_stderr() as warnings:
            # The render options accept kube_version and api_versions, which Chart.render() does not pass.
            output = json.loads(_native.call_string("helm_render", chart._raw(), json.dumps(values),
                                                    json.dumps(options)))
        objects = [doc for template, manifest in sorted(output.items()) if not template.endswith("NOTES.txt")
                   for doc in _documents(manifest) if not _is_test_hook(doc)]
    except helm_python.HelmValuesError as error:
        return RenderError("values do not meet the chart's values.schema.json: " + " ".join(str(error).split()))
    except helm_python.HelmError as error:
        return RenderError(f"the chart fails to render: {' '.join(str(error).split())}")
    except RenderError as error:
        return error
    return objects, warnings


def chart_crds(chart: Any, chart_key: str) -> list[dict[str, Any]]:
    """The CRDs of the chart's crds/ directories, its own and its subcharts' (shared: never modify them)."""
    cached = _CRDS.get(chart_key) if chart_key else None
    if cached is None:
        cached = [doc for crd in chart.crds for doc in _documents(crd.get("data", ""))]
        if chart_key:
            _CRDS.put(chart_key, cached)
    return cached


def render(release: KubeObject, chart: Any, chart_key: str, values: dict[str, Any], kube_version: str,
           api_versions: list[str], is_namespaced: Any, workdir: Path) -> Rendered:
    """The objects `chart` (a loaded helm_python Chart; `chart_key` a digest of it, "" for no caching)
    renders for `release`; RenderError when helm-controller would fail to install it."""
    import helm_python

    constraint = str(chart.metadata.get("kubeVersion") or "")
    if constraint:
        try:
            compatible = parse_range(constraint).allows(kube_version)
        except RangeError:
            compatible = True
        if not compatible:
            raise RenderError(f"the chart requires kubeVersion {constraint}, which Kubernetes {kube_version} is not")
    name, namespace = shorten(release_name(release)), release_namespace(release)
    try:
        helm_python.validate_release_name(name)
    except helm_python.HelmError as error:
        raise RenderError(f"release name '{name}' is not valid ({error}); set spec.releaseName") from None
    options = {"name": name, "namespace": namespace, "revision": 1, "is_install": True,
               "kube_version": f"v{kube_version}", "api_versions": api_versions}
    objects, warnings = _template_objects(chart, chart_key, values, options)
    result = Rendered(warnings=list(warnings))
    if text(release.spec, "install", "crds", default="Create") != "Skip":
        objects = chart_crds(chart, chart_key) + objects
    for renderer in mappings(release.spec, "postRenderers"):
        if isinstance(renderer.get("kustomize"), dict):
            objects = _kustomize([_in_namespace(o, namespace, is_namespaced) for o in objects],
                                 renderer["kustomize"], workdir)
    labels = {**string_map(release.spec, "commonMetadata", "labels"),
              ORIGIN_LABELS[0]: release.name, ORIGIN_LABELS[1]: release.namespace}
    annotations = string_map(release.spec, "commonMetadata", "annotations")
    for body in objects:
        body = _in_namespace(body, namespace, is_namespaced)
        metadata = body["metadata"]
        metadata["labels"] = {**mapping(metadata, "labels"), **labels}
        if annotations:
            metadata["annotations"] = {**mapping(metadata, "annotations"), **annotations}
        result.objects.append(body)
    return result


def _in_namespace(body: dict[str, Any], namespace: str, is_namespaced: Any) -> dict[str, Any]:
    """A copy of the object with its own metadata, in the release namespace when it has none."""
    metadata = dict(mapping(body, "metadata"))
    if not metadata.get("namespace") and is_namespaced(str(body.get("apiVersion", "")), str(body.get("kind", ""))):
        metadata["namespace"] = namespace
    return {**body, "metadata": metadata}


def _documents(manifest: str) -> list[dict[str, Any]]:
    try:
        return [d for d in yaml.load_all(manifest, Loader=YAML_LOADER) if isinstance(d, dict) and d.get("kind")]
    except yaml.YAMLError as error:
        raise RenderError(f"the chart renders YAML that does not parse ({getattr(error, 'problem', error)})") from None


def _is_test_hook(body: dict[str, Any]) -> bool:
    hooks = str(mapping(body, "metadata", "annotations").get("helm.sh/hook", ""))
    return bool(hooks) and {h.strip() for h in hooks.split(",")} <= TEST_HOOKS


def _kustomize(objects: list[dict[str, Any]], spec: dict[str, Any], workdir: Path) -> list[dict[str, Any]]:
    """A kustomize post-renderer: the rendered objects with its patches and images applied."""
    with tempfile.TemporaryDirectory(dir=workdir) as folder:
        Path(folder, "rendered.yaml").write_text(yaml.safe_dump_all(objects), encoding="utf-8")
        patches = [{k: p[k] for k in ("patch", "target") if k in p} for p in mappings(spec, "patches")]
        kustomization = {"resources": ["rendered.yaml"], "patches": patches, "images": list(sequence(spec, "images"))}
        Path(folder, "kustomization.yaml").write_text(json.dumps(kustomization), encoding="utf-8")
        output, error = run_kustomize(Path(folder), Path(folder))
        if error:
            raise RenderError(f"postRenderers fail: {error}")
        return [d for d in yaml.load_all(output, Loader=YAML_LOADER) if isinstance(d, dict)]
