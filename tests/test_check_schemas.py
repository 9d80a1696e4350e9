"""The validate stage: schemas shipped with the project, their regeneration, strict validation."""

from __future__ import annotations

import json

import pytest
from conftest import PROJECT_ROOT, check_platform_source

from progressive_delivery.check.pipeline import run
from progressive_delivery.check.validate import regenerate
from progressive_delivery.check.validate.catalog import VENDORED_FILE, Catalog, vendored_data, vendored_kinds
from progressive_delivery.check.validate.schemas import Validator

SHARED_CRDS = PROJECT_ROOT.parent / "shared" / "crds"

CRD = """apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.io
spec:
  group: example.io
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
    - name: v1
      served: true
      schema:
        openAPIV3Schema:
          description: A widget.
          type: object
          properties:
            spec:
              type: object
              description: What it is.
              x-kubernetes-validations: [{rule: "self.size > 0"}]
              properties:
                size: {type: integer, default: 1}
                description: {type: string}
                port: {x-kubernetes-int-or-string: true}
                raw: {type: object, x-kubernetes-preserve-unknown-fields: true}
    - name: v1alpha1
      served: false
      schema: {openAPIV3Schema: {type: object}}
"""


def test_the_kinds_the_tree_and_the_program_use_are_vendored():
    """Every custom resource of both stacks has a vendored schema (none comes from ../shared)."""
    _, views = run(check_platform_source(), online=False)
    kinds = {(o.group, o.kind) for view in views for o in view.from_tree() if view.validator.is_custom(o.api_version)
             and not o.rendered_by}
    kinds |= {("source.toolkit.fluxcd.io", "GitRepository"), ("kustomize.toolkit.fluxcd.io", "Kustomization")}
    assert kinds and kinds <= set(vendored_kinds())


def test_vendored_schemas_are_what_the_script_generates_from_the_crds():
    if not SHARED_CRDS.is_dir():
        pytest.skip("no ../shared/crds here: the CRDs the vendored schemas were generated from")
    assert regenerate.generate(SHARED_CRDS, []) == vendored_data()
    assert json.loads(VENDORED_FILE.read_text())["kinds"]["helm.toolkit.fluxcd.io/HelmRelease"]["versions"].keys() \
        == {"v2"}


def test_regeneration_keeps_served_versions_without_descriptions_and_records_sources(tmp_path, capsys):
    crds = tmp_path / "crds"
    crds.mkdir()
    (crds / "widgets.yaml").write_text(CRD.replace("example.io", "extensions.istio.io"))
    (crds / "SOURCES.md").write_text("| file | upstream |\n|---|---|\n"
                                     "| widgets.yaml | example/widgets @ 0123abcd : config/crd/widgets.yaml |\n")
    output = tmp_path / "out.json"
    assert regenerate.main(["--crds", str(crds), "--output", str(output)]) == 0
    data = json.loads(output.read_text())
    kind = data["kinds"]["extensions.istio.io/Widget"]
    assert list(kind["versions"]) == ["v1"] and kind["source"] == "widgets.yaml"
    schema = data["schemas"][kind["versions"]["v1"]]
    assert "description" not in json.dumps({k: v for k, v in schema.items() if k != "properties"})
    spec = schema["properties"]["spec"]
    assert set(spec) == {"type", "properties"} and set(spec["properties"]) == {"size", "description", "port", "raw"}
    assert data["sources"]["widgets.yaml"] == {
        "upstream": "example/widgets @ 0123abcd : config/crd/widgets.yaml",
        "url": "https://github.com/example/widgets/blob/0123abcd/config/crd/widgets.yaml"}


@pytest.mark.parametrize("content", ["kind: CustomResourceDefinition\nspec: [unclosed\n", b"\xff\xfe\x00binary"])
def test_a_broken_crd_file_is_one_line_and_exit_2(tmp_path, capsys, content):
    crds = tmp_path / "crds"
    crds.mkdir()
    path = crds / "broken.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert regenerate.main(["--crds", str(crds), "--output", str(tmp_path / "out.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.json").exists()


def test_a_file_given_as_the_crd_directory_is_exit_2(tmp_path, capsys):
    (tmp_path / "file.yaml").write_text(CRD)
    assert regenerate.main(["--crds", str(tmp_path / "file.yaml"), "--output", str(tmp_path / "o.json")]) == 2
    assert "not a directory" in capsys.readouterr().err


def validator(*crds: dict) -> Validator:
    catalog = Catalog()
    catalog.add_crds((crd, "test") for crd in crds)
    return Validator("1.33", catalog)


def widget(spec: dict, api_version: str = "example.io/v1", metadata: dict | None = None) -> dict:
    return {"apiVersion": api_version, "kind": "Widget", "metadata": metadata or {"name": "w", "namespace": "n"},
            "spec": spec}


def test_custom_resources_are_validated_strictly():
    import yaml

    check = validator(yaml.safe_load(CRD))
    assert check.validate(widget({"size": 2, "port": "http", "raw": {"any": {"thing": 1}}})) == []
    assert check.validate(widget({"port": 8080})) == []
    [unknown] = check.validate(widget({"colour": "red"}))
    assert unknown.startswith("invalid spec: Additional properties are not allowed ('colour' was unexpected)")
    [typed] = check.validate(widget({"size": "big"}))
    assert typed.startswith("invalid spec.size: 'big' is not of type 'integer'")
    [served] = check.validate(widget({}, "example.io/v1alpha1"))
    assert served.startswith("example.io/v1alpha1 is not served for Widget (served: example.io/v1")
    [metadata] = check.validate(widget({}, metadata={"name": "w", "labels": {"a": 1}}))
    assert metadata.startswith("invalid metadata.labels.a")
    [unknown_kind] = check.validate({"apiVersion": "example.io/v1", "kind": "Gadget", "metadata": {"name": "g"}})
    assert unknown_kind.startswith("unknown kind: no CRD defines Gadget in example.io (the group has Widget)")


def test_core_kinds_follow_the_cluster_minor():
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                  "spec": {"selector": {}, "template": {}, "replica": 1}}
    [problem] = validator().validate(deployment)
    assert "'replica' was unexpected" in problem
    assert validator().is_namespaced("v1", "Namespace") is False
    assert validator().is_namespaced("flagger.app/v1beta1", "Canary") is True
