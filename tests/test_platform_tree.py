"""Properties of the Flux tree in platform/ that its design depends on.

Each stack's tree is built the way Flux builds it (`kubectl kustomize` of every
path a Flux Kustomization of clusters/<stack> points at) and the tests assert
what the first run and every release rely on: the app's dependency chain holds
what a canary needs and never Grafana; every HelmRelease survives a slow first
install; dependency checks do not cost a requeue per new commit; no dashboard
is downloaded before Grafana starts; every object has one owner.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml

from progressive_delivery.check.budget import parse_duration
from progressive_delivery.contract import APP_NAMESPACE, FLUX_NAMESPACE

PLATFORM = Path(__file__).resolve().parent.parent / "platform"
STACKS = sorted(p.name for p in (PLATFORM / "clusters").iterdir() if p.is_dir())
CANARY_NEEDS = {"istio-base", "istiod", "istio-ingressgateway", "flagger", "flagger-loadtester", "prometheus"}

pytestmark = pytest.mark.skipif(shutil.which("kubectl") is None,
                                reason="kubectl is not installed: the tree cannot be built (kubectl kustomize)")


@dataclass
class FluxKustomization:
    """A Flux Kustomization of a cluster and the objects its path builds to."""

    name: str
    spec: dict[str, Any]
    objects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def depends_on(self) -> list[dict[str, Any]]:
        return list(self.spec.get("dependsOn") or [])


def _build(path: Path) -> list[dict[str, Any]]:
    result = subprocess.run(["kubectl", "kustomize", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"kubectl kustomize {path} failed: {result.stderr.strip()}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if isinstance(doc, dict)]


@cache
def _stack(stack: str) -> dict[str, FluxKustomization]:
    stack_tree = {}
    for doc in _build(PLATFORM / "clusters" / stack):
        assert doc["kind"] == "Kustomization", f"clusters/{stack} holds a {doc['kind']}: only Flux Kustomizations"
        kustomization = FluxKustomization(doc["metadata"]["name"], doc["spec"])
        kustomization.objects = _build(PLATFORM / doc["spec"]["path"])
        stack_tree[kustomization.name] = kustomization
    return stack_tree


def _closure(tree: dict[str, FluxKustomization], start: str) -> set[str]:
    """`start` and every Kustomization it depends on, directly or not."""
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(dep["name"] for dep in tree[name].depends_on)
    return seen


def _of_kind(tree: dict[str, FluxKustomization], kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(k.name, o) for k in tree.values() for o in k.objects if o["kind"] == kind]


def _owner(tree: dict[str, FluxKustomization], kind: str, name: str) -> str:
    owners = [k for k, o in _of_kind(tree, kind) if o["metadata"]["name"] == name]
    assert len(owners) == 1, f"{kind} {name} is applied by {owners}, expected exactly one Kustomization"
    return owners[0]


def _app_kustomization(tree: dict[str, FluxKustomization]) -> str:
    return _owner(tree, "Canary", _of_kind(tree, "Canary")[0][1]["metadata"]["name"])


@pytest.mark.parametrize("stack", STACKS)
def test_the_apps_chain_holds_what_a_canary_needs_and_never_grafana(stack):
    tree = _stack(stack)
    chain = _closure(tree, _app_kustomization(tree))
    releases_in_chain = {o["metadata"]["name"] for k, o in _of_kind(tree, "HelmRelease") if k in chain}
    assert releases_in_chain >= CANARY_NEEDS, f"missing from the app's chain: {CANARY_NEEDS - releases_in_chain}"
    grafana = _owner(tree, "HelmRelease", "grafana")
    assert grafana not in chain, f"{stack}: the app's chain {sorted(chain)} includes Grafana's Kustomization"
    dependents = [k.name for k in tree.values() if grafana in _closure(tree, k.name) - {k.name}]
    assert not dependents, f"{stack}: {dependents} depend on Grafana's Kustomization {grafana}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_flux_kustomization_waits_with_a_timeout_and_a_retry(stack):
    for kustomization in _stack(stack).values():
        spec = kustomization.spec
        assert spec.get("wait") is True, f"{kustomization.name}: wait must be true (flux-system waits on it)"
        for key in ("timeout", "retryInterval", "interval"):
            assert parse_duration(spec.get(key)), f"{kustomization.name}: {key} must be a duration"


@pytest.mark.parametrize("stack", STACKS)
def test_every_helm_release_survives_a_slow_first_install(stack):
    releases = _of_kind(_stack(stack), "HelmRelease")
    assert {o["metadata"]["name"] for _, o in releases} >= CANARY_NEEDS | {"grafana"}
    for _, release in releases:
        spec, name = release["spec"], release["metadata"]["name"]
        assert (parse_duration(spec.get("timeout")) or 0) >= 600, f"{name}: timeout below 10m (default 5m)"
        install, upgrade = spec.get("install") or {}, spec.get("upgrade") or {}
        assert "strategy" not in install and "strategy" not in upgrade, f"{name}: remediation, not retry, strategy"
        assert install.get("remediation", {}).get("retries", 0) < 0, f"{name}: install must retry until it succeeds"
        assert upgrade.get("remediation", {}).get("retries", 0) > 0, f"{name}: failed upgrades must be retried"
        assert upgrade["remediation"].get("strategy", "rollback") == "rollback", f"{name}: upgrades roll back"


READY_CASES = [
    ("never applied", {"status": {"observedGeneration": 1, "conditions": [
        {"type": "Ready", "status": "Unknown", "reason": "Progressing"}]}}, False),
    ("reconciling a new revision", {"status": {"observedGeneration": 1, "lastAppliedRevision": "main@sha1:a",
                                               "conditions": [{"type": "Ready", "status": "Unknown"}]}}, True),
    ("ready", {"status": {"observedGeneration": 1, "lastAppliedRevision": "main@sha1:a",
                          "conditions": [{"type": "Ready", "status": "True"}]}}, True),
    ("failed", {"status": {"observedGeneration": 1, "lastAppliedRevision": "main@sha1:a",
                           "conditions": [{"type": "Ready", "status": "False"}]}}, False),
    ("spec not yet seen", {"status": {"observedGeneration": 0, "lastAppliedRevision": "main@sha1:a",
                                      "conditions": [{"type": "Ready", "status": "True"}]}}, False),
]


@pytest.mark.parametrize("stack", STACKS)
def test_dependencies_never_wait_for_the_same_revision(stack):
    """Every dependsOn entry carries a readyExpr, so kustomize-controller skips its built-in check
    (dependency Ready at the revision being applied), which costs one 30s requeue per level."""
    tree = _stack(stack)
    entries = [(k.name, dep) for k in tree.values() for dep in k.depends_on]
    assert entries, f"{stack}: no dependsOn at all"
    environment = celpy.Environment()
    for name, dep in entries:
        expression = dep.get("readyExpr")
        assert expression, f"{name}: dependsOn {dep['name']} has no readyExpr"
        assert "Revision ==" not in expression and "'True'" not in expression, (
            f"{name}: a readyExpr comparing revisions or requiring Ready=True waits like the built-in check")
        program = environment.program(environment.compile(expression))
        for case, status, expected in READY_CASES:
            dependency = {"metadata": {"name": dep["name"], "generation": 1}, **status}
            result = program.evaluate({"dep": celpy.json_to_cel(dependency), "self": celpy.json_to_cel({})})
            assert bool(result) is expected, f"{name}: readyExpr of {dep['name']} is {result} when {case}"


@pytest.mark.parametrize("stack", STACKS)
def test_grafana_downloads_nothing_before_it_starts(stack):
    (_, grafana), = [r for r in _of_kind(_stack(stack), "HelmRelease") if r[1]["metadata"]["name"] == "grafana"]
    values = grafana["spec"].get("values") or {}
    # The chart's `dashboards` value adds an init container running `set -euf` and `curl -f`.
    assert "dashboards" not in values and "dashboardProviders" not in values
    sidecar = values["sidecar"]["dashboards"]
    assert sidecar["enabled"] is True
    assert sidecar["skipReload"] is True, "without skipReload the sidecar sends Grafana's admin login with downloads"


def _dashboards(stack: str) -> dict[str, str]:
    """Data of every ConfigMap Grafana's sidecar loads, by key."""
    data: dict[str, str] = {}
    for _, config_map in _of_kind(_stack(stack), "ConfigMap"):
        if "grafana_dashboard" in (config_map["metadata"].get("labels") or {}):
            data.update(config_map["data"])
    return data


@pytest.mark.parametrize("stack", STACKS)
def test_third_party_dashboards_follow_the_pinned_istio_release(stack):
    tree = _stack(stack)
    versions = {o["spec"]["chart"]["spec"]["version"] for _, o in _of_kind(tree, "HelmRelease")
                if o["spec"]["chart"]["spec"]["sourceRef"]["name"] == "istio"}
    assert len(versions) == 1, f"Istio charts at several versions: {versions}"
    (version,) = versions
    urls = {key: value for key, value in _dashboards(stack).items() if key.endswith(".url")}
    assert urls, "no third-party dashboard"
    for key, url in urls.items():
        match = re.fullmatch(r"https://raw\.githubusercontent\.com/istio/istio/(?P<tag>[^/]+)/manifests/addons/"
                             r"dashboards/[\w.-]+\.json", url)
        assert match, f"{key}: {url} is not one of Istio's dashboards"
        assert match["tag"] == version, f"{key}: {url} is not at the Istio release the charts install ({version})"


@pytest.mark.parametrize("stack", STACKS)
def test_the_canary_dashboard_queries_the_canary(stack):
    tree = _stack(stack)
    (_, canary), = _of_kind(tree, "Canary")
    namespace, target = canary["metadata"]["namespace"], canary["spec"]["targetRef"]["name"]
    (_, grafana), = [r for r in _of_kind(tree, "HelmRelease") if r[1]["metadata"]["name"] == "grafana"]
    sources = grafana["spec"]["values"]["datasources"]["datasources.yaml"]["datasources"]
    uids = {source["uid"] for source in sources}
    dashboards = [json.loads(text) for key, text in _dashboards(stack).items() if key.endswith(".json")]
    (dashboard,) = [d for d in dashboards if target in d.get("title", "")]
    queries = [(panel, t["expr"]) for panel in dashboard["panels"] for t in panel["targets"]]
    titles = {panel["title"] for panel in dashboard["panels"]}
    assert titles == {"Request rate", "Success rate", "p99 latency", "Canary weight"}
    for panel, expr in queries:
        assert panel["datasource"]["uid"] in uids, f"{panel['title']}: unknown data source"
        assert f'namespace="{namespace}"' in expr, f"{panel['title']}: {expr}"
    workloads = {w for _, expr in queries for w in re.findall(r'(?:destination_workload|workload)="([^"]+)"', expr)}
    assert workloads == {target, f"{target}-primary"}
    metrics = {m for _, expr in queries for m in re.findall(r"\b(istio_\w+|flagger_\w+)\{", expr)}
    templates = " ".join(o["spec"]["query"] for _, o in _of_kind(tree, "MetricTemplate"))
    assert metrics == {"istio_requests_total", "istio_request_duration_milliseconds_bucket",
                       "flagger_canary_weight"}
    assert all(m in templates for m in metrics if m.startswith("istio_")), "the analysis reads other metrics"


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_has_one_owner(stack):
    seen: dict[tuple[str, str, str], str] = {}
    for kustomization in _stack(stack).values():
        for obj in kustomization.objects:
            key = (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            assert key not in seen, f"{key} is applied by both {seen[key]} and {kustomization.name}"
            seen[key] = kustomization.name
    assert ("Namespace", "", APP_NAMESPACE) not in seen, "the program owns the application namespace"
    assert ("Namespace", "", FLUX_NAMESPACE) not in seen, "the program installs Flux and owns flux-system"
