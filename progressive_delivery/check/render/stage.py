"""Render stage: every HelmRelease of a cluster becomes the objects its chart renders.

The chart is the one the release names (chart.spec with a HelmRepository, HTTP or OCI, or a chart
directory of this repository; chartRef to an OCIRepository or HelmChart), at the version its
constraint picks (charts.py). A release whose chart is not at hand is listed, with what was not
checked because of it; a release helm-controller could not install is a finding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..access import mapping, text
from ..load.provided import controller_objects
from ..load.tree import normalise
from ..model import InputError, KubeObject
from ..semver_range import RangeError, parse_range
from ..view import ClusterView, containers, pod_template
from .charts import ChartRef, ChartSources, Located
from .helm import Rendered, RenderError, chart_crds, release_namespace, render
from .values import ValuesError, merge, release_values, values_files


def chart_ref(release: KubeObject, view: ClusterView) -> ChartRef | str:
    """The chart a HelmRelease installs, or why it cannot be known."""
    spec = release.spec
    chart_spec, owner, field = mapping(spec, "chart", "spec"), release, "chart.spec.version"
    if not chart_spec and isinstance(spec.get("chartRef"), dict):
        ref = mapping(spec, "chartRef")
        kind, name = text(ref, "kind"), text(ref, "name")
        source = view.get(kind, text(ref, "namespace", default=release.namespace), name)
        if source is None:
            return f"its chartRef {kind} {name} does not exist"
        if kind != "HelmChart":
            return _oci_chart(source)
        chart_spec, owner, field = source.spec, source, f"{source.describe()} spec.version"
    ref = mapping(chart_spec, "sourceRef")
    kind, name = text(ref, "kind"), text(ref, "name")
    source = view.get(kind, text(ref, "namespace", default=owner.namespace), name)
    if source is None:
        return f"its chart source {kind} {name} does not exist"
    chart, version = text(chart_spec, "chart"), text(chart_spec, "version", default="*")
    if kind == "HelmRepository":
        url = text(source.spec, "url")
        if text(source.spec, "type") == "oci" or url.startswith("oci://"):
            # A registry's tags are matched as written before the constraint is parsed
            # (oci_chart_repository.go:246-254): a constraint that does not parse may still name a tag.
            return ChartRef(chart, version, f"{url.rstrip('/')}/{chart}", oci=True, tag=not _parses(version),
                            insecure=source.spec.get("insecure") is True, version_field=field)
        return ChartRef(chart, version, url, version_field=field)
    root = view.target.sync_object("GitRepository")
    if kind == "GitRepository" and (source.namespace, source.name) == (root.namespace, root.name):
        path = normalise(chart)
        if path.startswith("..") or not (view.tree.root / path / "Chart.yaml").is_file():
            return f"its chart path {chart} holds no Chart.yaml in this repository"
        return ChartRef(path.rsplit("/", 1)[-1], version, "", tree_path=path)
    return f"its chart comes from {kind} {source.namespace}/{source.name}, which is not this repository"


def _oci_chart(source: KubeObject) -> ChartRef:
    """The chart of an OCIRepository: ref.semver picks among the tags, else ref.tag (default `latest`) is
    taken as written (fluxcd/source-controller@v1.9.1:internal/controller/ocirepository_controller.go:883-897;
    a ref.digest is not followed)."""
    url, semver = text(source.spec, "url"), text(source.spec, "ref", "semver")
    return ChartRef(url.rstrip("/").rsplit("/", 1)[-1], semver or text(source.spec, "ref", "tag") or "latest", url,
                    oci=True, insecure=source.spec.get("insecure") is True, tag=not semver,
                    version_field=f"{source.describe()} spec.ref.semver")


def _parses(constraint: str) -> bool:
    try:
        parse_range(constraint)
    except RangeError:
        return False
    return True


@dataclass
class _Job:
    release: KubeObject
    chart: Any
    key: str                      # digest of the chart archive ("" for a chart directory)
    values: dict[str, Any]
    located: Located
    rendered: Rendered | None = None

    @property
    def reads_api_versions(self) -> bool:
        return any("APIVersions" in t.get("data", "") for t in self.chart.templates)


def render_cluster(view: ClusterView, sources: ChartSources, workdir: Path) -> None:
    """Add the rendered objects of every valid HelmRelease to the view."""
    releases = [r for r in view.from_tree("HelmRelease")]
    if not releases:
        return
    try:
        import helm_python
    except (ImportError, OSError) as error:          # not installed, or its native library does not load here
        for release in releases:
            _skip(view, release, f"Helm's engine (helm-python-sdk) is not available: {error}")
        return
    view.catalog.add_crds((o.body, o.path) for o in view.from_tree("CustomResourceDefinition"))
    jobs = [job for release in releases if (job := _prepare(view, sources, release, helm_python))]
    view.catalog.add_crds((crd, _by(job)) for job in jobs if text(job.release.spec, "install", "crds") != "Skip"
                          for crd in chart_crds(job.chart, job.key))
    # Charts that look at .Capabilities.APIVersions render last, once the CRDs other charts render are known.
    ordered = sorted(jobs, key=lambda job: job.reads_api_versions)
    for job in ordered:
        _render(view, job, view.catalog.api_versions(), workdir)
        if job.rendered is not None:
            view.catalog.add_crds((body, _by(job)) for body in job.rendered.objects)
    for job in jobs:
        if job.rendered is not None:
            _add(view, job)


def _by(job: _Job) -> str:
    return f"HelmRelease {job.release.namespace}/{job.release.name}"


def _prepare(view: ClusterView, sources: ChartSources, release: KubeObject, helm: Any) -> _Job | None:
    try:
        values = release_values(release, view.get)
    except ValuesError as error:
        _fail(view, release, f"{error}; helm-controller fails this release (create it or mark it optional)")
        return None
    ref = chart_ref(release, view)
    if isinstance(ref, str):
        _skip(view, release, ref)
        return None
    problem = ref.problem()
    if problem:
        _fail(view, release, problem)
        return None
    located = sources.locate(ref)
    if located is None:
        where = "online" if sources.network.enabled else "offline: no archive in --charts/$PD_CHARTS_DIR or the cache"
        _skip(view, release, f"chart {ref.name} {ref.constraint} is not available ({where})")
        return None
    try:
        chart = helm.Chart.load(located.directory) if located.directory else helm.Chart.load_archive(located.data)
        files = {f.get("name"): f.get("data", "") for f in chart.files} if not ref.tree_path else {}
        values = merge(values_files(release, files, view.tree if ref.tree_path else None), values)
    except helm.HelmError as error:
        if located.archive is not None:
            raise InputError(f"{located.archive}: not a readable chart archive ({' '.join(str(error).split())}); "
                             f"replace it with the chart's archive (helm pull) or remove it") from None
        _fail(view, release, f"chart {ref.name} {located.version} ({located.where}) cannot be loaded: {error}")
        return None
    except ValuesError as error:
        _fail(view, release, str(error))
        return None
    if not located.exact:
        view.notices.append(f"HelmRelease {release.namespace}/{release.name}: chart {ref.name} {ref.constraint} is "
                            f"not available offline; rendered {located.version} from {located.where} instead")
    key = hashlib.sha256(located.data).hexdigest() if located.data else ""
    return _Job(release, chart, key, values, located)


def _render(view: ClusterView, job: _Job, api_versions: list[str], workdir: Path) -> None:
    release = job.release
    try:
        job.rendered = render(release, job.chart, job.key, job.values, view.target.kube_version, api_versions,
                              view.validator.is_namespaced, workdir)
    except RenderError as error:
        _fail(view, release, f"chart {job.chart.name} {job.chart.version}: {error}")


def _add(view: ClusterView, job: _Job) -> None:
    release, rendered = job.release, job.rendered
    assert rendered is not None
    for warning in dict.fromkeys(rendered.warnings):
        if warning.startswith("warning:"):
            view.findings.add(release, f"Helm {warning} (chart {job.chart.name} {job.chart.version}); fix the value")
    by = f"{release.namespace}/{release.name}"
    for body in rendered.objects:
        obj = KubeObject(body, release.path, release.applied_by, rendered_by=by)
        previous = view.add(obj)
        if previous is not None:
            other = f"HelmRelease {previous.rendered_by}" if previous.rendered_by else \
                f"Kustomization {previous.applied_by}"
            view.findings.add(obj, f"is also applied by {other} (from {previous.path}); keep one")


def _fail(view: ClusterView, release: KubeObject, finding: str) -> None:
    """A release helm-controller fails: the finding, and the release recorded as not rendered."""
    view.findings.add(release, finding)
    view.unrendered[f"{release.namespace}/{release.name}"] = release_namespace(release)


def _skip(view: ClusterView, release: KubeObject, why: str) -> None:
    namespace = release_namespace(release)
    view.unrendered[f"{release.namespace}/{release.name}"] = namespace
    view.notices.append(f"HelmRelease {release.namespace}/{release.name} not rendered: {why}; skipped: schema checks "
                        f"of what it installs and references to Services or pods in namespace {namespace}")


def add_runtime_objects(view: ClusterView) -> None:
    """The ConfigMaps controllers create in every namespace, once the tree and its charts are known (Istio's
    when a Deployment runs istiod's pilot image)."""
    istio = any("/pilot:" in text(c, "image") or text(c, "image").endswith("/pilot")
                for d in view.valid("Deployment") for c in containers(pod_template(d) or {}))
    for obj in controller_objects(sorted({n.name for n in view.all_of("Namespace")}), istio):
        if not view.exists(obj.kind, obj.namespace, obj.name):
            view.add(obj)
