"""Chart version pins: constraints source-controller cannot parse, and repositories that will not say."""

from __future__ import annotations

import shutil

import pytest
from chart_trees import demo_tree, index, oci_tree

from progressive_delivery.check.pipeline import run

LATEST = ("chart.spec.version 'latest' is not a semver version or range (improper constraint: 'latest'), so "
          "source-controller cannot pick the chart's version; pin a version (1.2.3) or a range (1.2.x, "
          ">=1.2.0 <2.0.0)")


@pytest.fixture
def online(tmp_path, monkeypatch):
    """Online checks against loopback servers only, with an empty cache and no vendored sources to verify."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PD_CHARTS_DIR", raising=False)
    monkeypatch.setattr("progressive_delivery.check.online.vendored_data", lambda: {"sources": {}})


def messages(report) -> list[tuple[str, str, str]]:
    return [(f.path, f"{f.kind}/{f.namespace}/{f.name}", f.message) for f in report.findings]


def test_an_invalid_chart_version_is_a_finding_not_the_nearest_chart(tmp_path, demo_chart):
    report, [view] = run(demo_tree(tmp_path / "tree", "https://charts.example.com", "latest"),
                         cluster_path="clusters/demo", charts_dir=demo_chart)
    assert messages(report) == [("clusters/demo/release.yaml", "HelmRelease/flux-system/demo", LATEST)]
    assert view.get("Service", "web", "web-demo") is None
    assert not [n for n in report.notices["clusters/demo"] if "instead" in n], report.notices


def test_an_invalid_chart_version_online_is_one_finding(tmp_path, demo_chart, loopback, online):
    repository = tmp_path / "repository"
    shutil.copytree(demo_chart, repository)
    url = loopback.http(repository)
    index(repository, url)
    report, _ = run(demo_tree(tmp_path / "tree", url, "latest"), cluster_path="clusters/demo", online=True)
    assert messages(report) == [("clusters/demo/release.yaml", "HelmRelease/flux-system/demo", LATEST)]


def test_an_oci_registry_matches_a_tag_as_written_first(tmp_path, demo_chart, loopback, online):
    """source-controller looks for a tag named as the version before it parses it as a range."""
    url = loopback.oci(demo_chart, "charts")
    report, _ = run(oci_tree(tmp_path / "tree", url, "latest"), cluster_path="clusters/demo", online=True)
    assert messages(report) == [("clusters/demo/release.yaml", "HelmRelease/flux-system/demo",
                                 f"chart demo latest does not exist in {url}/demo (newest: 0.2.0, 0.1.0); pin one "
                                 "that does")]


def test_an_invalid_oci_repository_semver_names_the_source(tmp_path, demo_chart):
    report, _ = run(oci_tree(tmp_path / "tree", "oci://registry.example.com/charts", "semver:next", "OCIRepository"),
                    cluster_path="clusters/demo", charts_dir=demo_chart)
    [(_, what, message)] = messages(report)
    assert what == "HelmRelease/flux-system/demo"
    assert message.startswith("OCIRepository flux-system/demo spec.ref.semver 'next' is not a semver version or range")


@pytest.mark.parametrize("mode, source, reason", [
    ("401", "http", "HTTP 401, access denied"),
    ("403", "http", "HTTP 403, access denied"),
    ("403", "oci", "HTTP 403, access denied"),
    ("truncated-tags", "oci", "the reply was cut short or malformed (IncompleteRead)"),
    ("bad-json-tags", "oci", "the reply is not JSON"),
    ("bad-json-token", "oci", "the reply is not JSON"),
])
def test_a_repository_that_will_not_say_is_a_note_not_a_finding(tmp_path, loopback, online, mode, source, reason):
    host = loopback.faulty(mode)
    if source == "http":
        root = demo_tree(tmp_path / "tree", f"http://{host}/charts", "0.1.0")
    else:
        root = oci_tree(tmp_path / "tree", f"oci://{host}/charts", ">=0.1.0")
    report, _ = run(root, cluster_path="clusters/demo", online=True)
    assert report.ok, report.format()
    [note] = [w for w in report.warnings if "not verified online" in w]
    assert note.startswith("HelmRelease flux-system/demo: chart demo ") and reason in note, note


def test_an_upstream_file_behind_a_login_is_a_note(tmp_path, loopback, online, monkeypatch, demo_chart):
    host = loopback.faulty("403")
    url = f"http://{host}/crds.yaml"
    monkeypatch.setattr("progressive_delivery.check.online.vendored_data",
                        lambda: {"sources": {"crds.yaml": {"upstream": "here", "url": url}}})
    report, _ = run(demo_tree(tmp_path / "tree", f"http://{host}/charts", "0.1.0"),
                    cluster_path="clusters/demo", charts_dir=demo_chart, online=True)
    assert report.ok, report.format()
    assert [w for w in report.warnings if w.startswith(url)] == [
        f"{url} not verified online ({url}: HTTP 403, access denied (a private repository?))"]
