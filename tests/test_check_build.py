"""The build stage: the artifact Flux builds from, the kustomization it writes, post-build substitution."""

from __future__ import annotations

import os

import pytest
from conftest import write_tree

from progressive_delivery.check.build.artifacts import ArtifactError, compose
from progressive_delivery.check.build.generator import GenerateError, generate, scan_manifests, secure_join
from progressive_delivery.check.build.kustomize import Artifact
from progressive_delivery.check.build.substitute import Variables, substitute_object, variables
from progressive_delivery.check.load.artifact import artifact_files
from progressive_delivery.check.model import Findings, KubeObject
from progressive_delivery.check.pipeline import run

CONFIG = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\n"
KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"


def test_artifact_leaves_out_what_source_controller_ignores(tmp_path):
    files = {"a.yaml": "", "logo.png": "", ".github/workflows/ci.yaml": "", "deep/.sops.yaml": "", "deep/b.yml": ""}
    assert artifact_files(write_tree(tmp_path / "default", files)).files == ["a.yaml", "deep/b.yml"]
    files = {**files, ".sourceignore": "*.yml\n", "sub/.sourceignore": "c.yaml\n", "sub/c.yaml": "", "c.yaml": ""}
    # With ignore files, only the VCS patterns stay besides them (CI and image files are then kept).
    assert artifact_files(write_tree(tmp_path / "ignored", files)).files == [
        ".github/workflows/ci.yaml", ".sourceignore", "a.yaml", "c.yaml", "deep/.sops.yaml", "logo.png",
        "sub/.sourceignore"]
    assert "a.yaml" not in artifact_files(tmp_path / "ignored", spec_ignore="/a.yaml\n").files


def test_generated_kustomization_lists_manifests_and_stops_at_kustomizations(tmp_path):
    root = write_tree(tmp_path, {"app/a.yaml": "", "app/notes.txt": "", "app/deep/b.yml": "",
                                 "app/base/kustomization.yaml": KUSTOMIZATION, "app/base/c.yaml": ""})
    assert scan_manifests(root / "app") == ["./a.yaml", "./base", "./deep/b.yml"]
    generated = generate(root / "app", {"targetNamespace": "team", "namePrefix": "p-"})
    assert generated.created and generated.file == root / "app" / "kustomization.yaml"
    assert generated.content["resources"] == ["./a.yaml", "./base", "./deep/b.yml"]
    assert (generated.content["namespace"], generated.content["namePrefix"]) == ("team", "p-")
    empty = generate(write_tree(tmp_path / "empty", {"README.md": ""}), {})
    assert empty.content["namespace"] == "_placeholder" and "resources" not in empty.content


def test_flux_spec_is_written_into_an_existing_kustomization(tmp_path):
    root = write_tree(tmp_path, {"app/kustomization.yaml": KUSTOMIZATION + (
        "resources: [a.yaml]\npatches: [{path: p.yaml}]\nimages:\n"
        "  - {name: app, newName: registry/app, newTag: '1.0', digest: 'sha256:old'}\n"), "app/comp/x": ""})
    spec = {"patches": [{"patch": "- op: remove\n  path: /x", "target": {"kind": "ConfigMap"}}],
            "images": [{"name": "app", "newTag": "2.0"}, {"name": "other", "newName": "o"}],
            "components": ["comp", "missing"], "ignoreMissingComponents": True}
    content = generate(root / "app", spec).content
    assert content["patches"] == [{"path": "p.yaml"}, {"patch": "- op: remove\n  path: /x",
                                                       "target": {"kind": "ConfigMap"}}]
    assert content["images"] == [{"name": "app", "newName": "registry/app", "newTag": "2.0"},
                                 {"name": "other", "newName": "o"}]
    assert content["components"] == ["comp"]
    with pytest.raises(GenerateError, match="must be local and relative"):
        generate(root / "app", {"components": ["https://example.com/x"]})


def test_spec_path_never_leaves_the_artifact(tmp_path):
    assert secure_join(tmp_path, "../../etc") == tmp_path / "etc"
    assert secure_join(tmp_path, "./a/../b/") == tmp_path / "b" and secure_join(tmp_path, "") == tmp_path


def kustomization(spec: dict) -> KubeObject:
    return KubeObject({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                       "metadata": {"name": "apps", "namespace": "flux-system"}, "spec": spec}, "k.yaml", "x")


def test_variables_come_from_sources_then_inline_values():
    secret = KubeObject({"kind": "Secret", "data": {"token": "c2Vj\ncmV0"}, "stringData": {"user": "me\n"}},
                        "-", "program")
    config = KubeObject({"kind": "ConfigMap", "data": {"env": "prod", "token": "plain"}}, "-", "program")
    sources = {("ConfigMap", "settings"): config, ("Secret", "creds"): secret}
    found = variables(kustomization({"postBuild": {
        "substituteFrom": [{"kind": "ConfigMap", "name": "settings"}, {"kind": "Secret", "name": "creds"},
                           {"kind": "Secret", "name": "gone", "optional": True},
                           {"kind": "ConfigMap", "name": "missing"}],
        "substitute": {"env": "staging\n"}}}), lambda kind, ns, name: sources.get((kind, name)))
    assert found.values == {"env": "staging", "token": "secret", "user": "me"}
    assert found.missing_sources == ["ConfigMap flux-system/missing"]
    assert variables(kustomization({}), lambda *a: None).values is None


@pytest.mark.parametrize("post_build, expected, reported", [
    ({"substitute": {"a": "1", "b": "2"}}, "1 2 ${c} x", []),     # $$ escapes, := defaults
    ({"substitute": {"a": "1"}}, None, ["b"]),                   # b unset: strict, the Kustomization fails
    ({}, "as built", []),                                        # no variables: nothing substituted
    ({"substituteStrategy": "Always"}, None, ["a", "b"]),        # ...unless the strategy says always
])
def test_substitution_follows_flux(post_build, expected, reported):
    obj = KubeObject({"kind": "ConfigMap"}, "c.yaml", "flux-system/apps")
    out = Findings("test")
    found = variables(kustomization({"postBuild": post_build}), lambda *a: None)
    body = substitute_object("data: {v: '${a} ${b} $${c} ${d:=x}'}\n", {"data": {"v": "as built"}}, found, obj,
                             kustomization({}), out, set())
    assert (body and body["data"]["v"]) == expected
    assert [f.message.split("}")[0] + "}" for f in out.items] == [f"uses ${{{', '.join(reported)}}}"] * bool(reported)
    assert all("Flux substitutes strictly, so Kustomization flux-system/apps fails and applies nothing; define the "
               "variable or give it a default" in f.message for f in out.items)


def test_an_object_with_substitution_disabled_is_left_alone():
    body = {"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"}}, "data": {"v": "${x}"}}
    result = substitute_object("data: {v: '${x}'}\n", body, Variables({"y": "1"}), KubeObject(body, "-", "x"),
                               kustomization({}), Findings("test"), set())
    assert result is body


def test_artifact_generator_copies(tmp_path):
    tree = write_tree(tmp_path / "tree", {"apps/base/a/k.yaml": "a", "apps/prod/k.yaml": "p", "one.yaml": "1",
                                          "apps/base/a/skip.md": "s"})
    generator = KubeObject({"kind": "ArtifactGenerator", "metadata": {"name": "g", "namespace": "flux-system"},
                            "spec": {"artifacts": [{"name": "apps", "copy": [
                                {"from": "@repo/apps/base/**", "to": "@artifact/base/", "exclude": ["*.md"]},
                                {"from": "@repo/apps/prod", "to": "@artifact/"},
                                {"from": "@repo/one.yaml", "to": "@artifact/renamed.yaml"}]}]}}, "g.yaml", "x")
    artifact = compose(generator, "apps", Artifact(tree, "digest"), {"repo"}, tmp_path / "out")
    assert artifact.origins == {"base/a/k.yaml": "apps/base/a/k.yaml", "prod/k.yaml": "apps/prod/k.yaml",
                                "renamed.yaml": "one.yaml"}
    with pytest.raises(ArtifactError, match="is not this repository"):
        compose(generator, "apps", Artifact(tree, "digest"), {"other"}, tmp_path / "out2")


def test_build_failures_are_findings_on_the_kustomization(tmp_path):
    root = write_tree(tmp_path, {
        "clusters/c/apps.yaml": ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n"
                                 "  name: apps\n  namespace: flux-system\nspec:\n  interval: 1m\n  prune: true\n"
                                 "  path: ./apps\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"),
        "apps/kustomization.yaml": KUSTOMIZATION + "resources: [missing.yaml]\n"})
    report, _ = run(root, cluster_path="clusters/c")
    [finding] = report.findings
    assert (finding.path, finding.name) == ("clusters/c/apps.yaml", "apps")
    assert finding.message.startswith("Flux cannot build path './apps': ") and "missing.yaml" in finding.message


def test_links_and_other_irregular_entries_are_left_out_as_flux_leaves_them_out(tmp_path):
    """source-controller archives regular files only: a dangling link breaks nothing, a linked YAML is not built."""
    apps = ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n"
            "  namespace: flux-system\nspec:\n  interval: 1m\n  prune: true\n  path: ./apps\n  sourceRef:\n"
            "    kind: GitRepository\n    name: flux-system\n")
    config = CONFIG + "  namespace: flux-system\n"
    root = write_tree(tmp_path / "tree", {"clusters/c/apps.yaml": apps, "apps/real.yaml": config.format("real"),
                                          "shared/linked.yaml": config.format("linked"), ".sourceignore": "/shared/\n"})
    (root / "apps" / "dangling.yaml").symlink_to("nowhere.yaml")
    (root / "apps" / "linked.yaml").symlink_to("../shared/linked.yaml")
    (root / "apps" / "shared").symlink_to("../shared", target_is_directory=True)
    os.mkfifo(root / "apps" / "pipe.yaml")
    report, [view] = run(root, cluster_path="clusters/c")
    assert report.ok, report.format()
    assert view.get("ConfigMap", "flux-system", "real") and not view.get("ConfigMap", "flux-system", "linked")
    [note] = [w for w in report.warnings if "not regular files" in w]
    assert note.endswith("apps/dangling.yaml, apps/linked.yaml, apps/pipe.yaml, apps/shared; commit the files "
                         "themselves if a build needs them")


def test_a_second_run_in_the_same_process_starts_from_the_build_not_from_the_first_run(tmp_path):
    """Builds are cached across runs; what a run sets on the objects (commonMetadata) stays in that run."""
    apps = ("apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n"
            "  namespace: flux-system\nspec:\n  interval: 1m\n  prune: true\n  path: ./apps\n  sourceRef:\n"
            "    kind: GitRepository\n    name: flux-system\n  commonMetadata:\n    labels: {LABEL: 'yes'}\n")
    config = CONFIG.format("settings") + "  namespace: flux-system\n"
    labels = []
    for label in ("first", "second"):
        root = write_tree(tmp_path, {"clusters/c/apps.yaml": apps.replace("LABEL", label), "apps/cm.yaml": config})
        _, [view] = run(root, cluster_path="clusters/c")
        labels.append(view.get("ConfigMap", "flux-system", "settings").labels)
    assert labels == [{"first": "yes"}, {"second": "yes"}]
