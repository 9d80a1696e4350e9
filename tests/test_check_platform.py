"""The checker on the project's tree: both stacks clean, the command line, and input it cannot read."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest
from conftest import PROJECT_ROOT, CheckTree, check_platform_source, run_check

from progressive_delivery.check import Finding, InputError, Report, check_platform
from progressive_delivery.check.build.kustomize import materialize
from progressive_delivery.config import available_stacks


def test_real_tree_is_clean_and_every_release_rendered(check_charts):
    report = check_platform(check_platform_source())
    assert report.stacks == available_stacks() and len(report.stacks) >= 2
    assert report.ok, report.format()
    for stack in report.stacks:
        assert not [n for n in report.notices[stack] if "not rendered" in n], report.notices[stack]


def test_fresh_clone_still_validates_custom_resources(no_charts, check_tree: CheckTree):
    """Without chart archives or network every HelmRelease is listed as not rendered, and a broken
    Canary is still a finding (the schemas ship with the project)."""
    report = check_platform(check_tree.root, ["staging"])
    assert report.ok, report.format()
    assert any("HelmRelease flux-system/flagger not rendered" in n for n in report.notices["staging"])
    rel, _ = check_tree.edit("Canary", lambda doc: doc["spec"].__setitem__("analysis", [1]))
    report = check_platform(check_tree.root, ["staging"])
    assert [(f.path, f.kind) for f in report.findings] == [(rel, "Canary")]
    assert report.findings[0].message.startswith("invalid spec.analysis")


def test_report_groups_findings_notes_and_budget_by_cluster():
    report = Report(stacks=["staging", "production"], findings=[
        Finding("staging", "apps/a.yaml", "Canary", "applications", "echo", "broken; fix it")],
        notices={"production": ["something was not checked"]}, warnings=["pins not verified online"])
    assert report.format().splitlines() == [
        "note: pins not verified online",
        "== stack staging: 1 finding",
        "apps/a.yaml: Canary/applications/echo: broken; fix it",
        "== stack production: ok",
        "note: something was not checked",
    ]
    assert not report.ok


def test_cli_exit_codes_and_budget(check_tree: CheckTree, capsys):
    assert run_check("--platform", str(check_tree.root), "--stack", "staging", "--budget", "--timings") == 0
    out = capsys.readouterr().out
    assert "== stack staging: ok" in out and "new image -> canary" in out and "timings: load" in out
    check_tree.edit("Canary", lambda doc: doc["spec"]["targetRef"].__setitem__("name", "nothing-here"))
    assert run_check("--platform", str(check_tree.root), "--stack", "staging") == 1
    assert "targetRef Deployment applications/nothing-here" in capsys.readouterr().out


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "progressive_delivery", "check", "--stack", "nope"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "Pulumi.nope.yaml" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("argv, fragment", [
    (["--stack", "nope"], "Pulumi.nope.yaml"),
    (["--platform", "/nonexistent/platform"], "no such platform directory"),
    (["--crds", "/nonexistent/crds"], "no such CRD directory"),
    (["--charts", "/nonexistent/charts"], "--charts /nonexistent/charts: no such chart directory"),
    (["--cluster-path", "clusters/nowhere"], "clusters/nowhere: no such directory"),
    (["--cluster-path", "clusters/staging", "--kube-version", "1.9"], "Kubernetes 1.9"),
])
def test_unreadable_input_is_one_line_and_exit_2(argv, fragment, capsys):
    assert run_check(*argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("files, cluster_path", [({}, "."), ({"clusters/x/.gitignore": ""}, "clusters/x"),
                                                  ({"clusters/x/logo.png": "", "README.md": ""}, "clusters/x")])
def test_a_tree_with_nothing_to_sync_is_one_line_and_exit_2(tmp_path, files, cluster_path, capsys):
    """An empty directory (or one whose files the artifact leaves out) is an input error, not a traceback."""
    root = tmp_path / "tree"
    root.mkdir()
    (root / "clusters" / "x").mkdir(parents=True)
    for rel, text in files.items():
        (root / rel).write_text(text)
    assert run_check("--platform", str(root), "--cluster-path", cluster_path) == 2
    err = capsys.readouterr().err
    assert "nothing to check" in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_an_artifact_without_files_is_still_a_directory(tmp_path):
    artifact = materialize(tmp_path, [], tmp_path / "artifact")
    assert artifact.directory.is_dir() and list(artifact.directory.iterdir()) == []


def test_broken_crd_file_is_one_line_and_exit_2(tmp_path, capsys):
    (tmp_path / "crds").mkdir()
    (tmp_path / "crds" / "broken.yaml").write_text("kind: CustomResourceDefinition\nspec: [unclosed\n")
    assert run_check("--crds", str(tmp_path / "crds")) == 2
    err = capsys.readouterr().err
    assert "broken.yaml" in err and "not valid YAML" in err and len(err.strip().splitlines()) == 1


def test_malformed_yaml_fails_the_build_that_reads_it(check_tree: CheckTree):
    """Flux fails only the Kustomization whose build reads the file: a finding, not an input error."""
    rel, _ = check_tree.find("Canary")
    path = check_tree.root / rel
    path.write_text(path.read_text() + "\nbroken: [unclosed\n")
    found = check_platform(check_tree.root, ["staging"]).findings
    assert [f.name for f in found] == ["apps"] and "Flux cannot build path './apps/staging'" in found[0].message


def test_a_broken_file_early_in_the_chain_is_one_finding(check_tree: CheckTree):
    """What waits for the failing Kustomization (its dependants' missing namespaces, sources, Services) is a
    note, not a finding: the root cause stands alone."""
    rel, _ = check_tree.find("HelmRelease", lambda doc: doc["metadata"]["name"] == "istiod")
    path = check_tree.root / rel
    path.write_text(path.read_text() + "\n---\nmetadata: [unclosed\n")
    report = check_platform(check_tree.root, ["staging"])
    assert [f.name for f in report.findings] == ["infrastructure-releases"], report.format()
    held = [n for n in report.notices["staging"] if n.startswith("held back while Kustomization "
                                                                  "flux-system/infrastructure-releases fails")]
    assert held and all("so not a finding yet: " in n for n in held)


def test_missing_cluster_directory_is_an_input_error(check_tree: CheckTree):
    shutil.rmtree(check_tree.root / "clusters" / "production")
    with pytest.raises(InputError, match="clusters/production: missing"):
        check_platform(check_tree.root, ["production"])


def test_missing_kubectl_is_an_input_error(check_tree: CheckTree, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(InputError, match="kubectl not found"):
        check_platform(check_tree.root, ["staging"])


def test_the_kubernetes_minor_comes_from_the_k3s_image(tmp_path, check_tree: CheckTree):
    """An API Kubernetes serves since 1.34 is a finding only for a stack whose k3s image runs 1.33."""
    check_tree.add_document("apps/base/applications/deployment.yaml", (
        "apiVersion: resource.k8s.io/v1\nkind: DeviceClass\nmetadata:\n  name: example\nspec: {}\n"))
    assert check_platform(check_tree.root, ["staging"]).ok
    settings = (PROJECT_ROOT / "Pulumi.staging.yaml").read_text()
    (tmp_path / "Pulumi.staging.yaml").write_text(re.sub(r"rancher/k3s:v[\d.]+-k3s\d+", "rancher/k3s:v1.33.5-k3s1",
                                                         settings))
    found = check_platform(check_tree.root, ["staging"], project_root=tmp_path).findings
    assert [(f.kind, f.message.split(";")[0]) for f in found] == [
        ("DeviceClass", "resource.k8s.io/v1 DeviceClass is not served by Kubernetes 1.33")]
