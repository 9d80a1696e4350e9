"""The render stage: release names, values, where charts come from, and Helm's own rendering."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from chart_trees import demo_tree, index, oci_tree
from conftest import write_tree

from progressive_delivery.check.model import InputError, KubeObject
from progressive_delivery.check.pipeline import run
from progressive_delivery.check.render.charts import ChartRef, ChartSources, nearest
from progressive_delivery.check.render.helm import release_name, shorten
from progressive_delivery.check.render.repository import Network
from progressive_delivery.check.render.values import ValuesError, release_values, values_files


@pytest.mark.parametrize("name, short", [
    # fluxcd/helm-controller@v1.6.3:internal/release/name_test.go TestShortName
    ("release-name", "release-name"),
    ("release-name-with-very-long-name-which-is-longer-than-53-characters",
     "release-name-with-very-long-name-which-i-788ca0d0d7b0"),
    ("another-release-name-with-very-long-name-which-is-longer-than-53-characters",
     "another-release-name-with-very-long-name-7e72150d5a36"),
    ("", ""),
])
def test_release_names_are_shortened_as_helm_controller_does(name, short):
    assert shorten(name) == short and len(shorten(name)) <= 53


def release(spec: dict, name: str = "web", namespace: str = "apps") -> KubeObject:
    return KubeObject({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                       "metadata": {"name": name, "namespace": namespace}, "spec": spec}, "r.yaml", "x")


def test_release_name_rules():
    assert release_name(release({"releaseName": "given", "targetNamespace": "t"})) == "given"
    assert release_name(release({"targetNamespace": "team"})) == "team-web"
    assert release_name(release({})) == "web"


def test_values_compose_in_flux_order():
    objects = {
        ("ConfigMap", "base"): KubeObject(
            {"kind": "ConfigMap", "data": {"values.yaml": "a: 1\nnested: {x: 1, y: 1}\n"}}, "-", "x"),
        ("Secret", "creds"): KubeObject({"kind": "Secret", "stringData": {"password": "s3cret,with=commas"}}, "-", "x"),
        ("ConfigMap", "port"): KubeObject({"kind": "ConfigMap", "data": {"port": "8080"}}, "-", "x"),
    }
    spec = {"values": {"nested": {"y": 2}, "b": 3},
            "valuesFrom": [{"kind": "ConfigMap", "name": "base"},
                           {"kind": "Secret", "name": "creds", "valuesKey": "password", "targetPath": "auth.password",
                            "literal": True},
                           {"kind": "ConfigMap", "name": "port", "valuesKey": "port", "targetPath": "service.port"},
                           {"kind": "Secret", "name": "absent", "optional": True}]}
    values = release_values(release(spec), lambda kind, ns, name: objects.get((kind, name)))
    assert values == {"a": 1, "nested": {"x": 1, "y": 2}, "b": 3, "auth": {"password": "s3cret,with=commas"},
                      "service": {"port": 8080}}
    with pytest.raises(ValuesError, match="valuesFrom ConfigMap apps/base has no key 'other.yaml'"):
        release_values(release({"valuesFrom": [{"kind": "ConfigMap", "name": "base", "valuesKey": "other.yaml"}]}),
                       lambda kind, ns, name: objects.get((kind, name)))


def test_nearest_version():
    versions = ["1.30.2", "1.31.0+a8d70121", "1.32.0", "2.0.0"]
    assert nearest(versions, "1.31.1") == "1.31.0+a8d70121"
    assert nearest(versions, ">=3.0.0") == "2.0.0" and nearest([], "1.0.0") is None


def test_a_chart_from_the_archive_directory_is_rendered(tmp_path, demo_chart):
    root = demo_tree(tmp_path / "tree", "https://charts.example.com", "0.1.0")
    report, [view] = run(root, cluster_path="clusters/demo", charts_dir=demo_chart)
    assert report.ok, report.format()
    service = view.get("Service", "web", "web-demo")
    assert service.rendered_by == "flux-system/demo" and service.body["spec"]["ports"][0]["port"] == 8080
    assert service.labels["helm.toolkit.fluxcd.io/name"] == "demo"
    assert view.get("Pod", "web", "web-demo-test-connection") is None       # test hooks are not installed


def test_the_nearest_version_is_rendered_and_said_so(tmp_path, demo_chart):
    report, [view] = run(demo_tree(tmp_path / "tree", "https://charts.example.com", "0.1.5"),
                         cluster_path="clusters/demo", charts_dir=demo_chart)
    assert report.ok
    assert report.notices["clusters/demo"] == [
        f"HelmRelease flux-system/demo: chart demo 0.1.5 is not available offline; rendered 0.1.0 from {demo_chart} "
        "instead"]


def test_no_chart_at_all_says_what_was_skipped(tmp_path, no_charts):
    report, [view] = run(demo_tree(tmp_path / "tree", "https://charts.example.com", "0.1.0"),
                         cluster_path="clusters/demo")
    assert report.ok and view.get("Service", "web", "web-demo") is None
    assert any(n.startswith("HelmRelease flux-system/demo not rendered: chart demo 0.1.0 is not available") and
               "skipped: schema checks of what it installs and references to Services or pods in namespace web" in n
               for n in report.notices["clusters/demo"])


def test_a_chart_directory_that_does_not_exist_is_an_input_error(tmp_path, monkeypatch):
    root = demo_tree(tmp_path / "tree", "https://charts.example.com", "0.1.0")
    with pytest.raises(InputError, match="^--charts /nonexistent: no such chart directory"):
        run(root, cluster_path="clusters/demo", charts_dir=Path("/nonexistent"))
    monkeypatch.setenv("PD_CHARTS_DIR", str(tmp_path / "absent"))
    with pytest.raises(InputError, match=r"^\$PD_CHARTS_DIR .*/absent: no such chart directory"):
        run(root, cluster_path="clusters/demo")


def test_a_corrupt_archive_is_an_input_error_naming_the_file(tmp_path, no_charts):
    (tmp_path / "charts").mkdir()
    (tmp_path / "charts" / "demo-0.1.0.tgz").write_bytes(b"not a gzip file")
    root = demo_tree(tmp_path / "tree", "https://charts.example.com", "0.1.0")
    with pytest.raises(InputError) as raised:
        run(root, cluster_path="clusters/demo", charts_dir=tmp_path / "charts")
    assert str(raised.value).startswith(f"{tmp_path / 'charts' / 'demo-0.1.0.tgz'}: not a readable chart archive (")
    assert "\n" not in str(raised.value)


def test_a_value_that_fails_a_template_is_a_finding(tmp_path, demo_chart):
    root = demo_tree(tmp_path / "tree", "https://charts.example.com", "0.1.0", "    serviceAccount: none\n")
    report, _ = run(root, cluster_path="clusters/demo", charts_dir=demo_chart)
    [finding] = report.findings
    assert finding.kind == "HelmRelease" and finding.message.startswith("chart demo 0.1.0: the chart fails to render")


def test_online_the_chart_is_pulled_cached_with_its_digest_and_reused_offline(tmp_path, demo_chart, loopback,
                                                                            monkeypatch):
    repository = tmp_path / "repository"
    shutil.copytree(demo_chart, repository)
    url = loopback.http(repository)
    index(repository, url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PD_CHARTS_DIR", raising=False)
    root = demo_tree(tmp_path / "tree", url, ">=0.1.0 <0.2.0")
    report, [view] = run(root, cluster_path="clusters/demo", online=True)
    assert report.ok and view.get("Service", "web", "web-demo") is not None, report.format()
    cached = list((tmp_path / "cache" / "progressive-delivery" / "charts").glob("*/demo-0.1.0.tgz"))
    assert len(cached) == 1
    assert cached[0].with_name("demo-0.1.0.tgz.sha256").read_text().strip() == hashlib.sha256(
        cached[0].read_bytes()).hexdigest()
    report, [view] = run(root, cluster_path="clusters/demo", online=False)
    assert view.get("Service", "web", "web-demo") is not None and not report.notices["clusters/demo"]
    cached[0].write_bytes(b"tampered")                     # a cache entry that does not match its digest is unused
    report, [view] = run(root, cluster_path="clusters/demo", online=False)
    assert view.get("Service", "web", "web-demo") is None


def test_online_pins_are_verified_against_the_repository(tmp_path, demo_chart, loopback, monkeypatch):
    repository = tmp_path / "repository"
    shutil.copytree(demo_chart, repository)
    url = loopback.http(repository)
    index(repository, url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    crd_source = {"sources": {"crds.yaml": {"upstream": "here", "url": f"{url}/crds-that-moved.yaml"}}}
    monkeypatch.setattr("progressive_delivery.check.online.vendored_data", lambda: crd_source)
    report, _ = run(demo_tree(tmp_path / "tree", url, "0.3.0"), cluster_path="clusters/demo", online=True)
    assert sorted((f.path, f.message) for f in report.findings) == [
        ("clusters/demo/release.yaml", f"chart demo 0.3.0 does not exist in {url} (newest: 0.2.0, 0.1.0); pin one "
                                       "that does"),
        ("progressive_delivery/check/validate/crd-schemas.json",
         f"{url}/crds-that-moved.yaml no longer exists; regenerate the schemas from the pinned releases")]


def test_offline_the_pins_step_says_it_was_skipped(tmp_path, demo_chart):
    report, _ = run(demo_tree(tmp_path / "tree", "https://charts.example.com", "0.1.0"),
                    cluster_path="clusters/demo", charts_dir=demo_chart, online=False)
    assert report.warnings == ["pins not verified online (offline by request); run with network before publishing"]


def test_chart_sources_prefer_the_exact_version(tmp_path, demo_chart):
    sources = ChartSources(demo_chart, None, Network(enabled=False))
    found = sources.locate(ChartRef("demo", "0.2.0", "https://charts.example.com"))
    assert (found.version, found.exact) == ("0.2.0", True)
    found = sources.locate(ChartRef("demo", "~0.1", "https://charts.example.com"))
    assert (found.version, found.exact) == ("0.1.0", True)
    assert sources.locate(ChartRef("other", "1.0.0", "https://charts.example.com")) is None


@pytest.mark.parametrize("source", ["HelmRepository", "OCIRepository"])
def test_online_charts_come_from_oci_registries(tmp_path, demo_chart, loopback, monkeypatch, source):
    """A HelmRepository of type oci, or an OCIRepository chartRef: tags listed and the chart layer pulled
    behind the registry's anonymous token."""
    url = loopback.oci(demo_chart, "charts")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr("progressive_delivery.check.online.vendored_data", lambda: {"sources": {}})
    oci_tree(tmp_path / "tree", url, "0.2.0", source)
    report, [view] = run(tmp_path / "tree", cluster_path="clusters/demo", online=True)
    assert report.ok and not report.warnings, report.format()
    assert view.get("Service", "web", "web-demo") is not None
    assert not report.notices["clusters/demo"], report.notices


@pytest.mark.parametrize("values_file, outcome", [
    ("service:\n  port: 9090\n", 9090),                       # read from the repository root, merged in
    ("service: [port: 9090\n", "chart.spec.valuesFiles charts/demo/values-prod.yaml is not valid YAML (line 2:"),
    (None, "chart.spec.valuesFiles names charts/demo/values-prod.yaml, which this repository's artifact does not hold"),
])
def test_values_files_of_a_chart_in_the_tree(tmp_path, values_file, outcome):
    """source-controller reads them relative to the repository root; one it cannot read fails the release."""
    import helm_python

    root = write_tree(tmp_path / "tree", {"clusters/demo/release.yaml": (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: demo\n  namespace: flux-system\n"
        "spec:\n  interval: 1h\n  targetNamespace: web\n  chart:\n    spec:\n      chart: ./charts/demo\n"
        "      sourceRef:\n        kind: GitRepository\n        name: flux-system\n"
        "      valuesFiles: [charts/demo/values.yaml, charts/demo/values-prod.yaml]\n---\n"
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: web\n")})
    (root / "charts").mkdir()
    helm_python.Chart.create("demo", root / "charts")
    if values_file is not None:
        (root / "charts" / "demo" / "values-prod.yaml").write_text(values_file)
    report, [view] = run(root, cluster_path="clusters/demo", online=False)
    if isinstance(outcome, int):
        assert report.ok, report.format()
        assert view.get("Service", "web", "web-demo").body["spec"]["ports"][0]["port"] == outcome
    else:
        [finding] = report.findings
        assert (finding.path, finding.kind, finding.name) == ("clusters/demo/release.yaml", "HelmRelease", "demo")
        assert finding.message.startswith(outcome) and "so helm-controller fails this release; fix the" in \
            finding.message


def test_values_files_of_a_packaged_chart_are_its_own_files():
    files = {"values-prod.yaml": "service: {port: 9090}\n", "broken.yaml": "a: [b\n"}
    assert values_files(release({"chart": {"spec": {"valuesFiles": ["values.yaml", "values-prod.yaml"]}}}), files,
                        None) == {"service": {"port": 9090}}
    with pytest.raises(ValuesError, match=r"^chart.spec.valuesFiles broken.yaml is not valid YAML \(line 2: "):
        values_files(release({"chart": {"spec": {"valuesFiles": ["broken.yaml"]}}}), files, None)
