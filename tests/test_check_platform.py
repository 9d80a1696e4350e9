"""The checker on the real tree, its command line, and input it cannot read."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

import pytest
from conftest import PROJECT_ROOT, CheckTree, check_platform_source

from progressive_delivery.check import Finding, InputError, Report, check_platform, cli
from progressive_delivery.config import available_stacks


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["check", *argv])
    return args.handler(args)


def test_real_tree_is_clean_for_every_stack(check_crds):
    report = check_platform(check_platform_source(), None, check_crds)
    assert report.stacks == available_stacks() and len(report.stacks) >= 2
    assert report.findings == [], report.format()
    assert report.ok and report.warnings == []


def test_every_flux_kustomization_is_built_and_every_object_validated(check_crds, monkeypatch):
    """Every Flux Kustomization path of both stacks builds, and every object passes strict schemas."""
    from progressive_delivery.check import schemas

    seen: list[tuple[str, str]] = []
    original = schemas.Validator.validate

    def recording(self, body):
        seen.append((body.get("apiVersion"), body.get("kind")))
        return original(self, body)

    monkeypatch.setattr(schemas.Validator, "validate", recording)
    report = check_platform(check_platform_source(), None, check_crds)
    assert report.ok, report.format()
    kinds = {kind for _, kind in seen}
    assert {"Kustomization", "HelmRelease", "Canary", "Deployment", "Gateway", "ImagePolicy",
            "ImageRepository", "ImageUpdateAutomation", "Namespace"} <= kinds
    # Custom resources really are validated: their served versions come from the CRDs.
    crds = schemas.load_crds(check_crds)
    custom = [(a, k) for a, k in seen if a.rpartition("/")[0] in crds.groups]
    assert custom and all(a.rpartition("/")[2] in crds.kinds[(a.rpartition("/")[0], k)] for a, k in custom)


def test_report_format_groups_findings_by_stack():
    report = Report(stacks=["staging", "production"], findings=[
        Finding("staging", "apps/a.yaml", "Canary", "applications", "echo", "broken; fix it"),
    ])
    assert report.format().splitlines() == [
        "== stack staging: 1 finding",
        "apps/a.yaml: Canary/applications/echo: broken; fix it",
        "== stack production: ok",
    ]
    assert not report.ok


def test_cli_exit_codes(tmp_path, capsys, check_tree: CheckTree):
    assert run_cli("--platform", str(check_tree.root), "--stack", "staging") == 0
    out = capsys.readouterr().out
    assert "== stack staging: ok" in out
    check_tree.edit("Canary", lambda doc: doc["spec"]["targetRef"].__setitem__("name", "nothing-here"))
    assert run_cli("--platform", str(check_tree.root), "--stack", "staging") == 1
    out = capsys.readouterr().out
    assert "targetRef" in out and "nothing-here" in out


def test_cli_budget_prints_both_figures(capsys):
    assert run_cli("--platform", str(check_platform_source()), "--budget") in (0, 1)
    out = capsys.readouterr().out
    for stack in available_stacks():
        section = out.split(f"== stack {stack}")[1]
        assert "new image -> canary" in section and "clean canary" in section


def test_python_dash_m_entry_point(tmp_path):
    """The command runs as a module without a traceback (unknown stack: exit 2)."""
    result = subprocess.run([sys.executable, "-m", "progressive_delivery", "check", "--stack", "nope"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "nope" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("argv, fragment", [
    (["--stack", "nope"], "Pulumi.nope.yaml"),
    (["--platform", "/nonexistent/platform"], "no such platform directory"),
    (["--crds", "/nonexistent/crds"], "no such CRD directory"),
])
def test_cli_unreadable_input_exits_2(argv, fragment, capsys):
    assert run_cli(*argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err


def test_malformed_yaml_is_an_input_error(check_tree: CheckTree, capsys):
    rel, _ = check_tree.find("Canary")
    path = check_tree.root / rel
    path.write_text(path.read_text() + "\nbroken: [unclosed\n")
    with pytest.raises(InputError, match=rf"{rel}:? line \d+: not valid YAML"):
        check_platform(check_tree.root, ["staging"])
    assert run_cli("--platform", str(check_tree.root), "--stack", "staging") == 2
    assert rel in capsys.readouterr().err


def test_missing_kustomization_file_is_an_input_error(check_tree: CheckTree):
    rel, doc = check_tree.find("Kustomization", lambda d: "sourceRef" in d.get("spec", {}), under="clusters/staging")
    target = check_tree.root / str(doc["spec"]["path"])
    (target / "kustomization.yaml").unlink()
    with pytest.raises(InputError, match="missing kustomization.yaml"):
        check_platform(check_tree.root, ["staging"])


def test_missing_cluster_directory_is_an_input_error(check_tree: CheckTree):
    shutil.rmtree(check_tree.root / "clusters" / "production")
    with pytest.raises(InputError, match="clusters/production: missing"):
        check_platform(check_tree.root, ["production"])


def test_kustomize_build_failure_is_an_input_error(check_tree: CheckTree):
    (check_tree.root / "clusters" / "staging" / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [missing.yaml]\n")
    with pytest.raises(InputError, match="kustomize build failed"):
        check_platform(check_tree.root, ["staging"])


def test_missing_kubectl_is_an_input_error(check_tree: CheckTree, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(InputError, match="kubectl not found"):
        check_platform(check_tree.root, ["staging"])


def test_without_crds_schema_validation_is_skipped_with_one_warning(check_tree: CheckTree, monkeypatch, tmp_path):
    monkeypatch.setenv("PD_CRDS_DIR", str(tmp_path / "no-crds"))
    check_tree.edit("Canary", lambda doc: doc["spec"].__setitem__("unknownField", 1))
    report = check_platform(check_tree.root, ["staging"])
    assert len(report.warnings) == 1 and "not validated" in report.warnings[0]
    assert report.format().startswith("warning: ")
    assert report.ok, report.format()
    # Cross-object checks still run.
    check_tree.edit("Canary", lambda doc: doc["spec"]["targetRef"].__setitem__("name", "nothing-here"))
    assert not check_platform(check_tree.root, ["staging"]).ok
