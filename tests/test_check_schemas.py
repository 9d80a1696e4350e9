"""Strict schemas: core kinds via kubernetes-validate, custom resources via CRDs."""

from progressive_delivery.check.schemas import CustomResourceDefinitions, Validator, load_crds, strict_schema

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "b"},
    "spec": {"selector": {"matchLabels": {"app": "a"}},
             "template": {"metadata": {"labels": {"app": "a"}},
                          "spec": {"containers": [{"name": "a", "image": "a:1"}]}}},
}


def test_core_kinds_are_strict():
    validator = Validator(CustomResourceDefinitions(None))
    assert validator.validate(DEPLOYMENT) == []
    broken = {**DEPLOYMENT, "spec": {**DEPLOYMENT["spec"], "replica": 1}}
    assert any("'replica'" in p for p in validator.validate(broken))
    assert "removed/unknown API version" in validator.validate({**DEPLOYMENT, "apiVersion": "apps/v1beta1"})[0]


def test_custom_resources_are_skipped_without_crds():
    validator = Validator(CustomResourceDefinitions(None))
    assert validator.validate({"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "spec": {"x": 1}}) == []


def test_strict_schema_follows_structural_rules():
    schema = strict_schema({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "port": {"x-kubernetes-int-or-string": True},
            "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "maybe": {"type": "string", "nullable": True},
        }}}})
    spec = schema["properties"]["spec"]
    assert spec["additionalProperties"] is False
    assert "additionalProperties" not in spec["properties"]["values"]
    assert spec["properties"]["labels"]["additionalProperties"] == {"type": "string"}
    assert spec["properties"]["maybe"]["type"] == ["string", "null"]
    assert "type" not in spec["properties"]["port"]


def test_crd_versions_and_metadata(check_crds):
    validator = Validator(load_crds(check_crds))
    canary = {"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
              "metadata": {"name": "a", "namespace": "b", "lables": {}},
              "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "a"},
                       "service": {"port": 80},
                       "analysis": {"interval": "1m", "maxWeight": 50, "stepWeight": 10, "threshold": 5}}}
    assert any("'lables'" in p for p in validator.validate(canary))
    canary["metadata"].pop("lables")
    assert validator.validate(canary) == []
    assert "removed/unknown API version" in validator.validate({**canary, "apiVersion": "flagger.app/v1alpha3"})[0]
    assert "unknown API" in validator.validate({**canary, "kind": "Canery"})[0]
    assert validator.is_namespaced("flagger.app/v1beta1", "Canary")
    assert not validator.is_namespaced("v1", "Namespace")
