"""check_platform: the checker's stages, in order, for every cluster of the tree.

    load      the tree's artifact files, the clusters to check (stacks or a cluster path), their schemas
    build     each Flux Kustomization the way kustomize-controller builds it (build/)
    render    each HelmRelease with Helm's engine (render/)
    validate  every object against the cluster's schemas (validate/)
    rules     cross-object checks (rules/)
    report    findings, what was not checked, the budget, and with network the pins (online.py)
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

from ..project import cache_directory
from .access import YAML_LOADER
from .blocked import set_aside
from .budget import compute
from .build.flux import build_cluster
from .build.kustomize import Kustomizer, materialize
from .load.targets import Target, stack_targets, tree_target
from .load.tree import SourceTree, is_under, load_tree
from .model import Findings, InputError
from .online import verify
from .render.charts import ChartSources, archive_directory
from .render.repository import Network
from .render.stage import add_runtime_objects, render_cluster
from .report import STAGES, Report
from .rules import run_rules
from .validate.catalog import Catalog
from .validate.schemas import Validator, core_schemas
from .validate.stage import validate_cluster
from .view import ClusterView


def read_crds(directory: Path) -> list[tuple[dict, str]]:
    """(CRD, file) of every CustomResourceDefinition in a directory of YAML files; InputError otherwise."""
    if not directory.is_dir():
        raise InputError(f"{directory}: no such CRD directory; pass --crds with a directory of CRD YAML files")
    found = []
    for path in sorted(directory.glob("*.y*ml")):
        try:
            documents = list(yaml.load_all(path.read_text(encoding="utf-8"), Loader=YAML_LOADER))
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"{path}: cannot be read ({error})") from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = f" line {mark.line + 1}" if mark is not None else ""
            raise InputError(f"{path}:{line} is not valid YAML ({getattr(error, 'problem', error)}); fix or "
                             "remove it") from None
        found += [(d, path.name) for d in documents
                  if isinstance(d, dict) and d.get("kind") == "CustomResourceDefinition"]
    return found


def check_platform(platform_dir: Path, stacks: Sequence[str] | None = None, crds_dir: Path | None = None,
                   project_root: Path | None = None, *, cluster_path: str | None = None,
                   kube_version: str | None = None, charts_dir: Path | None = None,
                   online: bool | None = None) -> Report:
    """Check a Flux tree for the given stacks (default: every Pulumi.<stack>.yaml of the project), or, with
    `cluster_path`, as the Flux repository bootstrapped at that path.

    `crds_dir` adds CRDs to the vendored schemas; `charts_dir` (default $PD_CHARTS_DIR) holds chart
    archives; `online` False keeps the check off the network (default: on unless PD_OFFLINE=1).
    Raises InputError when an input cannot be read.
    """
    return run(platform_dir, stacks, crds_dir, project_root, cluster_path=cluster_path, kube_version=kube_version,
               charts_dir=charts_dir, online=online)[0]


def run(platform_dir: Path, stacks: Sequence[str] | None = None, crds_dir: Path | None = None,
        project_root: Path | None = None, *, cluster_path: str | None = None, kube_version: str | None = None,
        charts_dir: Path | None = None, online: bool | None = None) -> tuple[Report, list[ClusterView]]:
    """check_platform, also returning each cluster's view (every object it would hold, as checked)."""
    from ..config import PROJECT_ROOT

    timings = dict.fromkeys(STAGES, 0.0)
    start = time.perf_counter()
    platform_dir = Path(platform_dir)
    if not platform_dir.is_dir():
        raise InputError(f"{platform_dir}: no such platform directory; pass --platform DIR (the Flux tree)")
    extra = read_crds(Path(crds_dir)) if crds_dir is not None else []
    targets = ([tree_target(platform_dir, cluster_path, kube_version)] if cluster_path else
               stack_targets(platform_dir, stacks, project_root or PROJECT_ROOT))
    tree = load_tree(platform_dir)
    _require_files(platform_dir, tree, targets)
    network = Network() if online is None else Network(enabled=online)
    if online is False:
        network.off("offline by request")
    sources = ChartSources(archive_directory(charts_dir), cache_directory("charts"), network, platform_dir)
    with tempfile.TemporaryDirectory(prefix="pd-check-") as folder:
        work = Path(folder)
        artifact = materialize(platform_dir, tree.files, work / "artifact")
        views = [_view(target, tree, extra) for target in targets]
        kustomizer = Kustomizer(work)
        timings["load"] = time.perf_counter() - start

        def build(view: ClusterView) -> None:
            build_cluster(view, kustomizer, artifact, work)

        def render(view: ClusterView) -> None:
            render_cluster(view, sources, work)
            add_runtime_objects(view)

        stages = (("build", build, True), ("render", render, False), ("validate", validate_cluster, False),
                  ("rules", run_rules, False))
        for stage, step, overlapped in stages:
            began = time.perf_counter()
            if overlapped:                      # builds wait on kubectl: let the clusters' builds overlap
                with ThreadPoolExecutor(max_workers=len(views)) as pool:
                    list(pool.map(step, views))
            else:
                for view in views:
                    step(view)
            timings[stage] = time.perf_counter() - began
    began = time.perf_counter()
    pin_findings, pin_notes = verify(views, sources, {t.name: t.flux_version for t in targets})
    timings["pins"] = time.perf_counter() - began
    warnings = list(pin_notes)
    if tree.skipped:
        warnings.append(f"left out as Flux's artifact leaves them out (symbolic links and other entries that are "
                        f"not regular files; no build reads them): {', '.join(tree.skipped)}; commit the files "
                        "themselves if a build needs them")
    report = Report(stacks=[t.name for t in targets], timings=timings, warnings=warnings)
    for view in views:
        set_aside(view)
        report.findings += view.findings.items
        report.notices[view.target.name] = list(dict.fromkeys(view.notices))
        report.budgets[view.target.name] = compute(view)
    report.findings += pin_findings
    return report, views


def _require_files(platform_dir: Path, tree: SourceTree, targets: Sequence[Target]) -> None:
    """InputError when a cluster's directory holds no file of the artifact: there is nothing to check."""
    for target in targets:
        if not any(is_under(rel, target.cluster_path) for rel in tree.files):
            where = "it" if target.cluster_path == "." else f"{target.cluster_path} in it"
            raise InputError(f"{platform_dir}: nothing to check: {where} holds no file Flux would sync (empty, or "
                             "every file is ignored); pass the directory of a Flux tree")


def _view(target: Target, tree: SourceTree, extra: list[tuple[dict, str]]) -> ClusterView:
    core_schemas(target.minor)                   # an InputError now when the Kubernetes minor has no schemas
    catalog = Catalog()
    catalog.add_crds(extra)
    return ClusterView(target, tree, Validator(target.minor, catalog), Findings(target.name))
