"""Every check: a copy of the real tree broken in one place is reported with the right file and message."""

from __future__ import annotations

import pytest
from conftest import CheckTree

from progressive_delivery.check import Finding, check_platform

STACK = "staging"


def findings(tree: CheckTree, stack: str = STACK) -> list[Finding]:
    return check_platform(tree.root, [stack]).findings


def expect(tree: CheckTree, path: str, kind: str, *fragments: str, name: str | None = None,
           stack: str = STACK) -> Finding:
    found = findings(tree, stack)
    for finding in found:
        if finding.path == path and finding.kind == kind and all(f in finding.message for f in fragments) and (
                name is None or finding.name == name):
            return finding
    listing = "\n".join(f.line() for f in found) or "(no findings)"
    pytest.fail(f"expected a finding {path}: {kind}: {fragments}; got:\n{listing}")


def is_istio_gateway(doc: dict) -> bool:
    return str(doc.get("apiVersion", "")).startswith("networking.istio.io/")


def chart(name: str):
    return lambda doc: ((doc.get("spec") or {}).get("chart") or {}).get("spec", {}).get("chart") == name


def flux_kustomization(doc: dict) -> bool:
    return str(doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/")


# --- Flux Kustomizations --------------------------------------------------------------------------

def test_kustomization_path_must_exist(check_tree: CheckTree):
    rel, doc = check_tree.edit("Kustomization", lambda d: d["spec"].__setitem__("path", "./does/not/exist"),
                               flux_kustomization, under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "path './does/not/exist' does not exist", name=doc["metadata"]["name"])


def test_kustomization_depends_on_must_exist(check_tree: CheckTree):
    rel, doc = check_tree.edit("Kustomization", lambda d: d["spec"].__setitem__("dependsOn", [{"name": "nope"}]),
                               flux_kustomization, under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "dependsOn flux-system/nope is not a Flux Kustomization",
           name=doc["metadata"]["name"])


def test_kustomization_dependency_cycle(check_tree: CheckTree):
    _, dependent = check_tree.find("Kustomization", lambda d: flux_kustomization(d) and d["spec"].get("dependsOn"),
                                   under=f"clusters/{STACK}")
    first = dependent["spec"]["dependsOn"][0]["name"]
    check_tree.edit("Kustomization",
                    lambda d: d["spec"].__setitem__("dependsOn", [{"name": dependent["metadata"]["name"]}]),
                    lambda d: flux_kustomization(d) and d["metadata"]["name"] == first, under=f"clusters/{STACK}")
    cycle = [f for f in findings(check_tree) if "dependsOn cycle" in f.message]
    assert cycle and cycle[0].kind == "Kustomization"
    assert first in cycle[0].message and dependent["metadata"]["name"] in cycle[0].message


def test_kustomization_substitute_from_must_exist(check_tree: CheckTree):
    rel, doc = check_tree.edit(
        "Kustomization", lambda d: d["spec"]["postBuild"]["substituteFrom"][0].__setitem__("name", "no-settings"),
        lambda d: flux_kustomization(d) and (d["spec"].get("postBuild") or {}).get("substituteFrom"),
        under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "substituteFrom ConfigMap flux-system/no-settings does not exist")


def test_kustomization_source_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("Kustomization", lambda d: d["spec"]["sourceRef"].__setitem__("name", "elsewhere"),
                             flux_kustomization, under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "sourceRef refers to GitRepository flux-system/elsewhere")


def test_kustomization_target_namespace_must_exist(check_tree: CheckTree):
    """(A target namespace the build itself creates is fine, so this one is checked on its own view.)"""
    from progressive_delivery.check import checks_flux
    from progressive_delivery.check.model import Findings, KubeObject
    from progressive_delivery.check.schemas import CustomResourceDefinitions, Validator
    from progressive_delivery.check.tree import load_tree
    from progressive_delivery.check.view import StackView

    rel, doc = check_tree.find("Kustomization", flux_kustomization, under=f"clusters/{STACK}")
    body = {"apiVersion": doc["apiVersion"], "kind": "Kustomization", "metadata": dict(doc["metadata"]),
            "spec": {**dict(doc["spec"]), "dependsOn": [], "targetNamespace": "ghost"}}
    view = StackView(STACK, {}, "main", load_tree(check_tree.root), Validator(CustomResourceDefinitions(None)))
    view.add(KubeObject({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                         "metadata": {"name": "flux-system", "namespace": "flux-system"}}, "-", "program"))
    view.add(KubeObject(body, rel, "flux-system/flux-system"))
    out = Findings(STACK)
    checks_flux.check_kustomizations(view, out)
    assert [f.message for f in out.items if "targetNamespace 'ghost'" in f.message and f.path == rel]


# --- substitution ---------------------------------------------------------------------------------

def test_unknown_substitution_variable(check_tree: CheckTree):
    rel, doc = check_tree.edit("Deployment", lambda d: d["metadata"].setdefault("annotations", {}).__setitem__(
        "example.com/owner", "${no_such_setting}"))
    expect(check_tree, rel, "Deployment", "${no_such_setting}", "does not define", name=doc["metadata"]["name"])


def test_bad_substitution_syntax(check_tree: CheckTree):
    rel, _ = check_tree.edit("Deployment", lambda d: d["metadata"].setdefault("annotations", {}).__setitem__(
        "example.com/owner", "${cluster_env-dev}"))
    expect(check_tree, rel, "Deployment", "post-build substitution fails")


def test_substitution_can_be_disabled_per_object(check_tree: CheckTree):
    def change(doc):
        annotations = doc["metadata"].setdefault("annotations", {})
        annotations["example.com/owner"] = "${no_such_setting}"
        annotations["kustomize.toolkit.fluxcd.io/substitute"] = "disabled"
    check_tree.edit("Deployment", change)
    assert not [f for f in findings(check_tree) if "no_such_setting" in f.message]


# --- schemas --------------------------------------------------------------------------------------

def test_unknown_field_in_core_kind(check_tree: CheckTree):
    rel, _ = check_tree.edit("Deployment", lambda d: d["spec"].__setitem__("replica", 2))
    expect(check_tree, rel, "Deployment", "invalid spec", "'replica'")


def test_unknown_field_in_custom_resource(check_tree: CheckTree, check_crds):
    rel, _ = check_tree.edit("Canary", lambda d: d["spec"]["analysis"].__setitem__("stepweight", 5))
    expect(check_tree, rel, "Canary", "invalid spec.analysis", "'stepweight'")


def test_removed_api_version(check_tree: CheckTree, check_crds):
    rel, _ = check_tree.edit("HelmRelease", lambda d: d.__setitem__("apiVersion", "helm.toolkit.fluxcd.io/v2beta1"))
    expect(check_tree, rel, "HelmRelease", "removed/unknown API version helm.toolkit.fluxcd.io/v2beta1")


def test_removed_core_api_version(check_tree: CheckTree):
    rel, _ = check_tree.edit("HorizontalPodAutoscaler",
                             lambda d: d.__setitem__("apiVersion", "autoscaling/v2beta2"))
    expect(check_tree, rel, "HorizontalPodAutoscaler", "removed/unknown API version autoscaling/v2beta2")


def test_object_defined_twice(check_tree: CheckTree):
    """The same object applied by two Flux Kustomizations."""
    config_map = ("apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: twice\n"
                  "rules: []\n")
    first, _ = check_tree.find("Deployment")
    second, _ = check_tree.find("Gateway", is_istio_gateway)
    check_tree.add_document(first, config_map)
    check_tree.add_document(second, config_map)
    twice = [f for f in findings(check_tree) if f.kind == "ClusterRole" and f.name == "twice"]
    assert len(twice) == 1 and "is also defined in" in twice[0].message
    assert {twice[0].path, twice[0].message.split("is also defined in ")[1].split(" ")[0]} == {first, second}


def test_namespace_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRepository", lambda d: d["metadata"].__setitem__("namespace", "nowhere"))
    expect(check_tree, rel, "HelmRepository", "namespace 'nowhere' is not created")


def test_namespaced_object_needs_a_namespace(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRepository", lambda d: d["metadata"].pop("namespace"))
    expect(check_tree, rel, "HelmRepository", "has no namespace")


def test_variables_where_flux_does_not_substitute(check_tree: CheckTree):
    rel, _ = check_tree.edit("Kustomization", lambda d: d["metadata"].setdefault("annotations", {}).__setitem__(
        "example.com/env", "${cluster_env}"), flux_kustomization, under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "${cluster_env}", "has no post-build substitution")


# --- Helm -----------------------------------------------------------------------------------------

def test_helm_release_chart_source_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRelease", lambda d: d["spec"]["chart"]["spec"]["sourceRef"].__setitem__(
        "name", "no-such-repo"), lambda d: "chart" in d.get("spec", {}))
    expect(check_tree, rel, "HelmRelease", "chart.spec.sourceRef refers to HelmRepository", "no-such-repo")


def test_helm_release_depends_on_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRelease", lambda d: d["spec"].__setitem__("dependsOn", [{"name": "ghost"}]))
    expect(check_tree, rel, "HelmRelease", "/ghost is not a HelmRelease")


def test_helm_release_values_from_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRelease", lambda d: d["spec"].__setitem__(
        "valuesFrom", [{"kind": "Secret", "name": "grafana-admn", "valuesKey": "admin-password"}]),
        lambda d: not d["spec"].get("valuesFrom"))
    expect(check_tree, rel, "HelmRelease", "valuesFrom Secret", "grafana-admn")


def test_helm_release_target_namespace_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRelease", lambda d: d["spec"].__setitem__("targetNamespace", "ghost-ns"))
    expect(check_tree, rel, "HelmRelease", "targetNamespace 'ghost-ns' does not exist")


def test_helm_repository_secret_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRepository", lambda d: d["spec"].__setitem__("secretRef", {"name": "creds"}))
    expect(check_tree, rel, "HelmRepository", "secretRef names Secret", "creds")


# --- Istio ----------------------------------------------------------------------------------------

def test_gateway_selector_must_match_gateway_pods(check_tree: CheckTree):
    rel, _ = check_tree.edit("Gateway", lambda d: d["spec"].__setitem__("selector", {"istio": "no-such-gateway"}),
                             is_istio_gateway)
    expect(check_tree, rel, "Gateway", "selector istio=no-such-gateway matches no gateway pods")


def test_gateway_release_labels_override_breaks_the_selector(check_tree: CheckTree):
    gateway_file, gateway = check_tree.find("Gateway", is_istio_gateway)
    check_tree.edit("HelmRelease", lambda d: d["spec"].setdefault("values", {}).__setitem__(
        "labels", {"istio": "renamed"}), chart("gateway"))
    expect(check_tree, gateway_file, "Gateway", "matches no gateway pods", "istio=renamed",
           name=gateway["metadata"]["name"])


def test_gateway_release_rename_breaks_the_selector(check_tree: CheckTree):
    gateway_file, _ = check_tree.find("Gateway", is_istio_gateway)
    check_tree.edit("HelmRelease", lambda d: d["spec"].__setitem__("releaseName", "istio-other"), chart("gateway"))
    expect(check_tree, gateway_file, "Gateway", "matches no gateway pods", "istio=other")


def test_application_namespace_needs_sidecar_injection(check_tree: CheckTree):
    _, canary = check_tree.find("Canary")
    deployment_file, deployment = check_tree.find("Deployment", lambda d: d["metadata"]["name"] == canary["spec"][
        "targetRef"]["name"])
    namespace = canary["metadata"].get("namespace") or deployment["metadata"].get("namespace") or "applications"
    rel, _ = check_tree.edit("Namespace", lambda d: d["metadata"].pop("labels", None),
                             lambda d: d["metadata"]["name"] == namespace)
    expect(check_tree, rel, "Namespace", "no sidecar injection", name=namespace)


def test_virtual_service_gateway_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("VirtualService", lambda d: d["spec"].__setitem__("gateways", ["istio-system/nope"]))
    expect(check_tree, rel, "VirtualService", "names Gateway istio-system/nope")


def test_virtual_service_destination_must_exist(check_tree: CheckTree):
    def change(doc):
        doc["spec"]["http"][0]["route"][0]["destination"]["host"] = "nothing.monitoring.svc.cluster.local"
    rel, _ = check_tree.edit("VirtualService", change, lambda d: d["spec"].get("http"))
    expect(check_tree, rel, "VirtualService", "Service monitoring/nothing")


# --- Flagger --------------------------------------------------------------------------------------

def test_canary_target_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("Canary", lambda d: d["spec"]["targetRef"].__setitem__("name", "echo-versoin"))
    expect(check_tree, rel, "Canary", "targetRef Deployment", "echo-versoin")


def test_canary_autoscaler_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("Canary", lambda d: d["spec"].__setitem__(
        "autoscalerRef", {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "no-hpa"}))
    expect(check_tree, rel, "Canary", "autoscalerRef HorizontalPodAutoscaler", "no-hpa")


def test_canary_gateway_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("Canary", lambda d: d["spec"]["service"].__setitem__("gateways", ["istio-system/nope"]))
    expect(check_tree, rel, "Canary", "service.gateways entry 'istio-system/nope'")


def test_canary_metric_template_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("Canary", lambda d: d["spec"]["analysis"].setdefault("metrics", []).append(
        {"name": "latency", "templateRef": {"name": "no-template", "namespace": "flux-system"},
         "thresholdRange": {"max": 500}, "interval": "1m"}))
    expect(check_tree, rel, "Canary", "MetricTemplate flux-system/no-template")


def test_canary_webhook_must_point_at_a_service(check_tree: CheckTree):
    rel, _ = check_tree.edit("Canary", lambda d: d["spec"]["analysis"].setdefault("webhooks", []).append(
        {"name": "smoke", "type": "pre-rollout", "url": "http://flagger-loadtester.nowhere/"}))
    expect(check_tree, rel, "Canary", "webhook 'smoke' url", "Service nowhere/flagger-loadtester")


def test_canary_webhook_port_must_exist(check_tree: CheckTree):
    _, canary = check_tree.find("Canary")
    hooks = (canary["spec"].get("analysis") or {}).get("webhooks") or []
    if not hooks:
        pytest.fail("the tree's Canary has no webhooks to break")
    from urllib.parse import urlsplit
    host = urlsplit(hooks[0]["url"]).hostname
    rel, _ = check_tree.edit("Canary", lambda d: d["spec"]["analysis"]["webhooks"][0].__setitem__(
        "url", f"http://{host}:9999/"))
    expect(check_tree, rel, "Canary", "uses port 9999")


def test_canary_deployment_must_not_set_replicas(check_tree: CheckTree):
    _, canary = check_tree.find("Canary")
    rel, _ = check_tree.edit("Deployment", lambda d: d["spec"].__setitem__("replicas", 3),
                             lambda d: d["metadata"]["name"] == canary["spec"]["targetRef"]["name"])
    expect(check_tree, rel, "Deployment", "remove spec.replicas")


def test_canary_port_must_be_a_container_port(check_tree: CheckTree):
    rel, _ = check_tree.edit("Canary", lambda d: d["spec"]["service"].__setitem__("targetPort", 9999))
    expect(check_tree, rel, "Canary", "targetPort 9999 is not a container port")


def test_flagger_metrics_server_must_be_a_service(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRelease", lambda d: d["spec"]["values"].__setitem__(
        "metricsServer", "http://prometheus.monitoring:9090"), chart("flagger"))
    expect(check_tree, rel, "HelmRelease", "values.metricsServer", "monitoring/prometheus")


def test_flagger_metrics_server_port_must_exist(check_tree: CheckTree):
    from urllib.parse import urlsplit
    _, release = check_tree.find("HelmRelease", chart("flagger"))
    host = urlsplit(release["spec"]["values"]["metricsServer"]).hostname
    rel, _ = check_tree.edit("HelmRelease", lambda d: d["spec"]["values"].__setitem__(
        "metricsServer", f"http://{host}:1234"), chart("flagger"))
    expect(check_tree, rel, "HelmRelease", "uses port 1234")


def test_metric_template_address_must_be_a_service(check_tree: CheckTree):
    rel, _ = check_tree.find("Canary")
    _, canary = check_tree.find("Canary")
    namespace = canary["metadata"].get("namespace") or "applications"
    check_tree.add_document(rel, f"""apiVersion: flagger.app/v1beta1
kind: MetricTemplate
metadata:
  name: broken-template
  namespace: {namespace}
spec:
  provider:
    type: prometheus
    address: http://prometheus-svr.monitoring:80
  query: up
""")
    expect(check_tree, rel, "MetricTemplate", "provider address", "prometheus-svr")


# --- workloads ------------------------------------------------------------------------------------

def test_image_pull_secret_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("Deployment", lambda d: d["spec"]["template"]["spec"].__setitem__(
        "imagePullSecrets", [{"name": "k8s-ghcr"}]))
    expect(check_tree, rel, "Deployment", "imagePullSecrets names Secret", "k8s-ghcr")


def test_autoscaler_target_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("HorizontalPodAutoscaler", lambda d: d["spec"]["scaleTargetRef"].__setitem__(
        "name", "ghost"))
    expect(check_tree, rel, "HorizontalPodAutoscaler", "scaleTargetRef Deployment", "ghost")


# --- image automation -----------------------------------------------------------------------------

def test_image_policy_repository_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("ImagePolicy", lambda d: d["spec"]["imageRepositoryRef"].__setitem__("name", "ghost"),
                             lambda d: "imageRepositoryRef" in d.get("spec", {}))
    expect(check_tree, rel, "ImagePolicy", "imageRepositoryRef names ImageRepository", "ghost")


def test_image_repository_secret_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("ImageRepository", lambda d: d["spec"].__setitem__("secretRef", {"name": "regcred"}))
    expect(check_tree, rel, "ImageRepository", "secretRef names Secret", "regcred")


def marker_file(tree: CheckTree) -> str:
    for path in tree.files():
        rel = tree.rel(path)
        if rel.startswith(f"apps/{STACK}") and "$imagepolicy" in path.read_text():
            return rel
    pytest.fail(f"no $imagepolicy marker under apps/{STACK}")


def test_marker_must_name_an_existing_policy(check_tree: CheckTree):
    rel = marker_file(check_tree)
    check_tree.replace(rel, ':echo-version:tag"', ':echo-versoin:tag"')
    expect(check_tree, rel, "ImagePolicy", "marker names ImagePolicy flux-system/echo-versoin")


def test_malformed_marker(check_tree: CheckTree):
    rel = marker_file(check_tree)
    check_tree.replace(rel, ':echo-version:tag"', ':echo-version:version"')
    expect(check_tree, rel, "ImagePolicy", "malformed marker")


def test_marker_must_lie_under_the_automation_update_path(check_tree: CheckTree):
    rel, _ = check_tree.edit("ImageUpdateAutomation", lambda d: d["spec"]["update"].__setitem__(
        "path", "./infrastructure"))
    expect(check_tree, marker_file(check_tree), "ImagePolicy", "no ImageUpdateAutomation applies this marker")


def test_automation_policy_selector_must_select_the_policy(check_tree: CheckTree):
    check_tree.edit("ImageUpdateAutomation", lambda d: d["spec"].__setitem__(
        "policySelector", {"matchLabels": {"team": "nobody"}}))
    expect(check_tree, marker_file(check_tree), "ImagePolicy", "no ImageUpdateAutomation applies this marker")


def test_automation_template_must_not_use_updated(check_tree: CheckTree):
    rel, _ = check_tree.edit("ImageUpdateAutomation", lambda d: d["spec"]["git"]["commit"].__setitem__(
        "messageTemplate", "Update {{ range .Updated.Images }}{{ . }}{{ end }}"))
    expect(check_tree, rel, "ImageUpdateAutomation", ".Updated was removed")


def test_automation_template_fields_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("ImageUpdateAutomation", lambda d: d["spec"]["git"]["commit"].__setitem__(
        "messageTemplate", "{{ range .Changed.Changes }}{{ .NewTag }}{{ end }}"))
    expect(check_tree, rel, "ImageUpdateAutomation", "Change has no field NewTag")


def test_automation_must_push_to_the_synced_branch(check_tree: CheckTree):
    rel, _ = check_tree.edit("ImageUpdateAutomation", lambda d: d["spec"]["git"].__setitem__(
        "push", {"branch": "image-updates"}))
    expect(check_tree, rel, "ImageUpdateAutomation", "pushes to branch 'image-updates'")


def test_automation_update_path_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("ImageUpdateAutomation", lambda d: d["spec"]["update"].__setitem__(
        "path", "./nowhere"))
    expect(check_tree, rel, "ImageUpdateAutomation", "update.path './nowhere' does not exist")


def test_automation_source_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("ImageUpdateAutomation", lambda d: d["spec"]["sourceRef"].__setitem__("name", "other"))
    expect(check_tree, rel, "ImageUpdateAutomation", "sourceRef GitRepository flux-system/other does not exist")


def test_marker_policy_must_follow_the_deployed_repository(check_tree: CheckTree):
    check_tree.edit("ImageRepository", lambda d: d["spec"].__setitem__("image", "ghcr.io/someone/else"))
    expect(check_tree, marker_file(check_tree), "ImagePolicy", "follows ghcr.io/someone/else")


def test_images_entry_must_match_a_container(check_tree: CheckTree):
    rel = marker_file(check_tree)
    text = (check_tree.root / rel).read_text()
    assert "- name: echo-version" in text
    check_tree.replace(rel, "- name: echo-version", "- name: echo-verison")
    expect(check_tree, rel, "images", "matches no container image", name="echo-verison")


# --- start tags -----------------------------------------------------------------------------------

def test_policy_pattern_must_accept_the_start_tag(check_tree: CheckTree):
    """A filter that excludes the program's appVersion (0.1.0) and the tree's starting newTag."""
    rel, _ = check_tree.edit("ImagePolicy", lambda d: d["spec"]["filterTags"].__setitem__(
        "pattern", r"^\d+\.\d+\.\d+-rc\.\d+$"), under=f"apps/{STACK}")
    found = [f for f in findings(check_tree) if f.kind == "ImagePolicy" and "never selects tag '0.1.0'" in f.message]
    assert any("appVersion in Pulumi.staging.yaml" in f.message and "filterTags.pattern" in f.message
               and "rejects it" in f.message for f in found), found
    assert any(f.path == marker_file(check_tree) and "the newTag on line" in f.message for f in found), found


def test_policy_range_must_accept_the_start_tag(check_tree: CheckTree):
    check_tree.edit("ImagePolicy", lambda d: d["spec"]["policy"]["semver"].__setitem__("range", ">=1.0.0"),
                    under=f"apps/{STACK}")
    expect(check_tree, marker_file(check_tree), "ImagePolicy", "never selects tag '0.1.0'",
           "policy.semver.range '>=1.0.0' excludes it")


def test_production_start_tag_must_be_a_release(check_tree: CheckTree):
    rel = "apps/production/kustomization.yaml"
    check_tree.replace(rel, "newTag: 0.1.0 ", "newTag: 0.1.0-rc.1 ")
    expect(check_tree, rel, "ImagePolicy", "never selects tag '0.1.0-rc.1'", "the newTag on line",
           "filterTags.pattern", stack="production")
