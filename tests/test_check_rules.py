"""Every rule: a copy of the real tree broken in one place is reported with the right file and object."""

from __future__ import annotations

import pytest
from conftest import CheckTree, chart

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


def flux_kustomization(doc: dict) -> bool:
    return str(doc.get("apiVersion", "")).startswith("kustomize.toolkit.fluxcd.io/")


def marker_file(tree: CheckTree) -> str:
    for path in tree.files():
        if tree.rel(path).startswith(f"apps/{STACK}") and "$imagepolicy" in path.read_text():
            return tree.rel(path)
    pytest.fail(f"no $imagepolicy marker under apps/{STACK}")


# --- Flux -----------------------------------------------------------------------------------------

def test_kustomization_path_must_exist(check_tree: CheckTree):
    rel, doc = check_tree.edit("Kustomization", lambda d: d["spec"].__setitem__("path", "./does/not/exist"),
                               flux_kustomization, under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "kustomization path not found: ./does/not/exist",
           name=doc["metadata"]["name"])


def test_kustomization_dependencies_must_exist_and_not_loop(check_tree: CheckTree):
    rel, doc = check_tree.edit("Kustomization", lambda d: d["spec"].__setitem__(
        "dependsOn", [{"name": "nope"}, {"name": d["metadata"]["name"]}]), flux_kustomization,
        under=f"clusters/{STACK}")
    name = doc["metadata"]["name"]
    expect(check_tree, rel, "Kustomization", "dependsOn flux-system/nope is not a Flux Kustomization", name=name)
    expect(check_tree, rel, "Kustomization", f"dependsOn cycle flux-system/{name} -> flux-system/{name}", name=name)


def test_dependencies_in_another_namespace_resolve(check_tree: CheckTree):
    """dependsOn names its namespace: a Kustomization in another namespace is found there, and only there."""
    rel, _ = check_tree.edit("Kustomization", lambda d: d["spec"].__setitem__(
        "dependsOn", [{"name": "infrastructure-manifests", "namespace": "flux-system"}]),
        lambda d: flux_kustomization(d) and d["metadata"]["name"] == "apps", under=f"clusters/{STACK}")
    assert findings(check_tree) == []
    check_tree.edit("Kustomization", lambda d: d["spec"]["dependsOn"][0].__setitem__("namespace", "default"),
                    lambda d: flux_kustomization(d) and d["metadata"]["name"] == "apps", under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "dependsOn default/infrastructure-manifests is not")


def test_kustomization_substitute_from_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit(
        "Kustomization", lambda d: d["spec"]["postBuild"]["substituteFrom"][0].__setitem__("name", "no-settings"),
        lambda d: flux_kustomization(d) and d["metadata"]["name"] == "apps", under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "substituteFrom ConfigMap flux-system/no-settings does not exist")


def test_kustomization_source_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("Kustomization", lambda d: d["spec"]["sourceRef"].__setitem__("name", "elsewhere"),
                             flux_kustomization, under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "sourceRef refers to GitRepository flux-system/elsewhere")


def test_kustomization_target_namespace_must_exist(check_tree: CheckTree):
    """(A Namespace the build applies is renamed to the target namespace by kustomize, so this build has none.)"""
    rel, _ = check_tree.edit("Kustomization", lambda d: d["spec"].__setitem__("targetNamespace", "ghost"),
                             lambda d: flux_kustomization(d) and d["metadata"]["name"] == "infrastructure-manifests",
                             under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "targetNamespace 'ghost' is created neither")


def test_object_applied_twice(check_tree: CheckTree):
    role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: twice\nrules: []\n"
    check_tree.add_document("apps/base/applications/hpa.yaml", role)
    check_tree.add_document("infrastructure/base/manifests/istio-ingress/public-gateway.yaml", role)
    twice = [f for f in findings(check_tree) if f.kind == "ClusterRole"]
    assert len(twice) == 1 and "is also applied by Kustomization flux-system/" in twice[0].message


def test_namespaces_must_exist_and_be_set(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRepository", lambda d: d["metadata"].__setitem__("namespace", "nowhere"))
    expect(check_tree, rel, "HelmRepository", "namespace 'nowhere' is created neither")
    rel, _ = check_tree.edit("HelmRepository", lambda d: d["metadata"].pop("namespace"),
                             lambda d: d["metadata"].get("namespace") != "nowhere")
    expect(check_tree, rel, "HelmRepository", "has no namespace")


def test_helm_release_references(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRelease", lambda d: d["spec"].update({
        "dependsOn": [{"name": "ghost"}], "targetNamespace": "ghost-ns",
        "chart": {"spec": {**d["spec"]["chart"]["spec"], "sourceRef": {"kind": "HelmRepository", "name": "no-repo"}}}}),
        chart("flagger"))
    found = [f.message for f in findings(check_tree) if f.path == rel and f.name == "flagger"]
    assert any("dependsOn flux-system/ghost is not a HelmRelease" in m for m in found), found
    assert any("targetNamespace 'ghost-ns' does not exist" in m for m in found), found
    assert any("chart.spec.sourceRef refers to HelmRepository flux-system/no-repo" in m for m in found), found


def test_helm_release_values_from_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRelease", lambda d: d["spec"]["valuesFrom"][0].__setitem__("name", "grafana-admn"),
                             chart("grafana"))
    expect(check_tree, rel, "HelmRelease", "valuesFrom Secret flux-system/grafana-admn does not exist")


def test_source_secret_must_exist(check_tree: CheckTree):
    rel, _ = check_tree.edit("HelmRepository", lambda d: d["spec"].__setitem__("secretRef", {"name": "creds"}))
    expect(check_tree, rel, "HelmRepository", "secretRef names Secret flux-system/creds")


# --- substitution ---------------------------------------------------------------------------------

def test_substitution_findings(check_tree: CheckTree):
    rel, _ = check_tree.edit("Deployment", lambda d: d["metadata"].setdefault("annotations", {}).update({
        "example.com/owner": "${no_such_setting}", "example.com/bad": "${cluster_env-dev}"}))
    found = [f.message for f in findings(check_tree) if f.path == rel]
    assert any("post-build substitution fails (missing closing brace) in 'example.com/bad: ${cluster_env-dev}'" in m
               for m in found), found


def test_undefined_variable_and_the_escapes_flux_honours(check_tree: CheckTree):
    def change(doc):
        doc["metadata"].setdefault("annotations", {}).update({
            "example.com/owner": "${no_such_setting}", "example.com/escaped": "$${not_substituted}",
            "example.com/default": "${unset_with_default:=dev}"})
    rel, _ = check_tree.edit("Deployment", change)
    found = [f.message for f in findings(check_tree) if f.path == rel]
    assert len(found) == 1 and found[0].startswith("uses ${no_such_setting}, which Kustomization flux-system/apps "
                                                   "does not define"), found


def test_substitution_disabled_per_object(check_tree: CheckTree):
    check_tree.edit("HorizontalPodAutoscaler", lambda d: d["metadata"].setdefault("annotations", {}).update({
        "example.com/owner": "${no_such_setting}", "kustomize.toolkit.fluxcd.io/substitute": "disabled"}))
    assert findings(check_tree) == []


def test_cluster_variables_where_flux_does_not_substitute(check_tree: CheckTree):
    rel, _ = check_tree.edit("Kustomization", lambda d: d["metadata"].setdefault("annotations", {}).__setitem__(
        "example.com/env", "${cluster_env}"), flux_kustomization, under=f"clusters/{STACK}")
    expect(check_tree, rel, "Kustomization", "uses ${cluster_env}", "has no postBuild")


# --- schemas --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, change, fragment", [
    ("Deployment", lambda d: d["spec"].__setitem__("replica", 2), "invalid spec: Additional properties"),
    ("Canary", lambda d: d["spec"]["analysis"].__setitem__("stepweight", 5), "invalid spec.analysis"),
    ("HelmRelease", lambda d: d.__setitem__("apiVersion", "helm.toolkit.fluxcd.io/v2beta1"),
     "helm.toolkit.fluxcd.io/v2beta1 is not served for HelmRelease (served: helm.toolkit.fluxcd.io/v2"),
    ("HorizontalPodAutoscaler", lambda d: d.__setitem__("apiVersion", "autoscaling/v2beta2"),
     "autoscaling/v2beta2 HorizontalPodAutoscaler is not served by Kubernetes 1."),
    ("Gateway", lambda d: d["spec"].__setitem__("selector", ["istio"]), "invalid spec.selector"),
])
def test_schema_findings(check_tree: CheckTree, kind, change, fragment):
    rel, _ = check_tree.edit(kind, change)
    expect(check_tree, rel, kind, fragment)


def test_a_kind_no_crd_installs_is_a_finding(check_tree: CheckTree, check_charts):
    check_tree.add_document("apps/base/applications/canary.yaml", (
        "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: strict\n"
        "  namespace: applications\nspec:\n  mtls:\n    mode: STRICT\n"))
    assert findings(check_tree) == []       # Istio's base chart installs that CRD
    check_tree.edit("HelmRelease", lambda d: d["spec"]["install"].__setitem__("crds", "Skip"), chart("flagger"))
    found = [f for f in findings(check_tree) if f.kind == "Canary"]
    assert found and "no CRD for Canary (flagger.app) is installed" in found[0].message


# --- Istio ----------------------------------------------------------------------------------------

def test_gateway_selector_reads_the_rendered_gateway_pods(check_tree: CheckTree, check_charts):
    gateway_file, _ = check_tree.find("Gateway")
    check_tree.edit("HelmRelease", lambda d: d["spec"]["values"].__setitem__("labels", {"istio": "renamed"}),
                    chart("gateway"))
    expect(check_tree, gateway_file, "Gateway", "selector istio=ingressgateway matches no pods",
           "Deployment istio-ingress/istio-ingressgateway labels its pods istio=renamed")


def test_gateway_release_name_changes_the_pod_labels(check_tree: CheckTree, check_charts):
    gateway_file, _ = check_tree.find("Gateway")
    check_tree.edit("HelmRelease", lambda d: d["spec"].__setitem__("releaseName", "istio-other"), chart("gateway"))
    expect(check_tree, gateway_file, "Gateway", "matches no pods", "istio=other")


def test_canary_targets_need_sidecar_injection(check_tree: CheckTree, check_charts):
    """The rendered injector webhook's object selector leaves out pods labelled sidecar.istio.io/inject=false."""
    check_tree.edit("Deployment", lambda d: d["spec"]["template"]["metadata"]["labels"].__setitem__(
        "sidecar.istio.io/inject", "false"))
    rel, _ = check_tree.find("Canary")
    expect(check_tree, rel, "Canary", "its target's pods get no Istio sidecar")


def test_virtual_service_references(check_tree: CheckTree, check_charts):
    def change(doc):
        doc["spec"]["gateways"] = ["istio-system/nope"]
        doc["spec"]["http"][0]["route"][0]["destination"]["port"]["number"] = 3000
    rel, _ = check_tree.edit("VirtualService", change)
    expect(check_tree, rel, "VirtualService", "names Gateway istio-system/nope")
    expect(check_tree, rel, "VirtualService", "uses port 3000, but Service monitoring/grafana (HelmRelease "
                                              "flux-system/grafana) serves 80")


# --- Flagger --------------------------------------------------------------------------------------

def test_canary_references(check_tree: CheckTree):
    def change(doc):
        doc["spec"]["targetRef"]["name"] = "echo-versoin"
        doc["spec"]["service"]["gateways"] = ["istio-system/nope"]
        doc["spec"]["analysis"]["metrics"][0]["templateRef"]["name"] = "no-template"
        doc["spec"]["analysis"]["webhooks"][0]["url"] = "http://flagger-loadtester.nowhere.svc/"
    rel, _ = check_tree.edit("Canary", change)
    found = [f.message for f in findings(check_tree) if f.path == rel]
    for fragment in ("targetRef Deployment applications/echo-versoin", "service.gateways entry 'istio-system/nope'",
                     "MetricTemplate flagger-system/no-template", "Service nowhere/flagger-loadtester"):
        assert any(fragment in m for m in found), (fragment, found)


def test_a_two_label_host_is_a_service_only_where_that_namespace_exists(check_tree: CheckTree):
    """`<a>.<b>` names Service a of namespace b when the cluster has namespace b; else it is a host outside."""
    def change(doc):
        doc["spec"]["analysis"]["webhooks"][0]["url"] = "https://example.com/hooks/pre-rollout"
        doc["spec"]["analysis"]["webhooks"][1]["url"] = "http://flagger-loadtestr.applications/"
    rel, _ = check_tree.edit("Canary", change)
    assert [f.message.split(",")[0] for f in findings(check_tree)] == [
        "webhook 'load-test-warm-up' url 'flagger-loadtestr.applications' names Service "
        "applications/flagger-loadtestr"]


def test_canary_webhook_port_reads_the_rendered_service(check_tree: CheckTree, check_charts):
    rel, _ = check_tree.edit("Canary", lambda d: d["spec"]["analysis"]["webhooks"][0].__setitem__(
        "url", "http://flagger-loadtester.loadtester:9999/"))
    expect(check_tree, rel, "Canary", "uses port 9999, but Service loadtester/flagger-loadtester (HelmRelease "
                                      "flux-system/flagger-loadtester) serves 80")


def test_canary_target_rules(check_tree: CheckTree):
    check_tree.edit("Deployment", lambda d: d["spec"].__setitem__("replicas", 3))
    rel, _ = check_tree.edit("Canary", lambda d: d["spec"]["service"].__setitem__("targetPort", 9999))
    found = [f.message for f in findings(check_tree)]
    assert any("targetPort 9999 is not a container port" in m for m in found), found
    assert any("remove spec.replicas" in m for m in found), found


def test_flagger_metrics_server_reads_the_rendered_flags(check_tree: CheckTree, check_charts):
    rel, _ = check_tree.edit("HelmRelease", lambda d: d["spec"]["values"].__setitem__(
        "metricsServer", "http://prometheus-server.monitoring:1234"), chart("flagger"))
    found = expect(check_tree, rel, "Deployment", "Flagger -metrics-server", "uses port 1234")
    assert "(rendered by HelmRelease flux-system/flagger)" in found.message


def test_metric_template_address_must_be_a_service(check_tree: CheckTree, check_charts):
    rel, _ = check_tree.edit("MetricTemplate", lambda d: d["spec"]["provider"].__setitem__(
        "address", "http://prometheus-svr.monitoring:80"))
    expect(check_tree, rel, "MetricTemplate", "provider address", "monitoring/prometheus-svr")


def test_chart_values_that_break_its_schema_are_a_finding(check_tree: CheckTree, check_charts):
    rel, _ = check_tree.edit("HelmRelease", lambda d: d["spec"]["values"].__setitem__("replicaCount", "two"),
                             chart("gateway"))
    expect(check_tree, rel, "HelmRelease", "values do not meet the chart's values.schema.json", "replicaCount")


# --- workloads and image automation ---------------------------------------------------------------

def test_workload_references(check_tree: CheckTree):
    rel, _ = check_tree.edit("Deployment", lambda d: d["spec"]["template"]["spec"].__setitem__(
        "imagePullSecrets", [{"name": "k8s-ghcr"}]))
    expect(check_tree, rel, "Deployment", "needs Secret applications/k8s-ghcr")
    rel, _ = check_tree.edit("HorizontalPodAutoscaler", lambda d: d["spec"]["scaleTargetRef"].__setitem__(
        "name", "ghost"))
    expect(check_tree, rel, "HorizontalPodAutoscaler", "scaleTargetRef Deployment applications/ghost")


def test_image_automation_references(check_tree: CheckTree):
    check_tree.edit("ImageRepository", lambda d: d["spec"].__setitem__("secretRef", {"name": "regcred"}))
    rel, _ = check_tree.edit("ImageUpdateAutomation", lambda d: d["spec"].update({
        "sourceRef": {"kind": "GitRepository", "name": "other"}, "update": {"path": "./nowhere", "strategy": "Setters"},
        "git": {**d["spec"]["git"], "push": {"branch": "image-updates"}}}))
    found = [f.message for f in findings(check_tree)]
    for fragment in ("secretRef names Secret flux-system/regcred", "sourceRef GitRepository flux-system/other",
                     "update.path './nowhere' does not exist"):
        assert any(fragment in m for m in found), (fragment, found)


def test_commit_message_template_fields(check_tree: CheckTree):
    rel, _ = check_tree.edit("ImageUpdateAutomation", lambda d: d["spec"]["git"]["commit"].__setitem__(
        "messageTemplate", "Update {{ range .Updated.Images }}{{ . }}{{ end }} {{ .Changed.Changes }}"))
    expect(check_tree, rel, "ImageUpdateAutomation", "uses .Updated, which image.toolkit.fluxcd.io/v1 does not offer")


def test_markers(check_tree: CheckTree):
    rel = marker_file(check_tree)
    check_tree.replace(rel, ':echo-version:tag"', ':echo-versoin:tag"')
    expect(check_tree, rel, "ImagePolicy", "marker names ImagePolicy flux-system/echo-versoin")
    check_tree.replace(rel, ':echo-versoin:tag"', ':echo-version:version"')
    expect(check_tree, rel, "ImagePolicy", "malformed marker")


def test_marker_needs_an_automation_that_applies_it(check_tree: CheckTree):
    check_tree.edit("ImageUpdateAutomation", lambda d: d["spec"].__setitem__(
        "policySelector", {"matchLabels": {"team": "nobody"}}))
    expect(check_tree, marker_file(check_tree), "ImagePolicy", "no ImageUpdateAutomation applies this marker")


def test_marker_policy_must_follow_the_deployed_repository(check_tree: CheckTree):
    check_tree.edit("ImageRepository", lambda d: d["spec"].__setitem__("image", "ghcr.io/someone/else"))
    expect(check_tree, marker_file(check_tree), "ImagePolicy", "follows ghcr.io/someone/else")


def test_images_entry_must_match_a_container(check_tree: CheckTree):
    rel = marker_file(check_tree)
    check_tree.replace(rel, "- name: echo-version", "- name: echo-verison")
    expect(check_tree, rel, "images", "matches no container image", name="echo-verison")


def test_start_tags_must_pass_the_policy(check_tree: CheckTree):
    check_tree.edit("ImagePolicy", lambda d: d["spec"]["policy"]["semver"].__setitem__("range", ">=1.0.0"),
                    under=f"apps/{STACK}")
    found = expect(check_tree, marker_file(check_tree), "ImagePolicy", "never selects tag '0.1.0'",
                   "policy.semver.range '>=1.0.0' excludes it")
    assert "the newTag on line" in found.message


def test_production_start_tag_must_be_a_release(check_tree: CheckTree):
    rel = "apps/production/kustomization.yaml"
    check_tree.replace(rel, "newTag: 0.1.0 ", "newTag: 0.1.0-rc.1 ")
    expect(check_tree, rel, "ImagePolicy", "never selects tag '0.1.0-rc.1'", "filterTags.pattern", stack="production")


def test_an_object_the_program_creates_may_not_be_declared_in_the_tree_too(check_tree: CheckTree):
    check_tree.replace("apps/base/applications/kustomization.yaml", "resources:\n", "resources:\n  - namespace.yaml\n")
    (check_tree.root / "apps/base/applications/namespace.yaml").write_text(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: applications\n  labels:\n    istio-injection: enabled\n")
    expect(check_tree, "apps/base/applications/namespace.yaml", "Namespace",
           "is also created by the Pulumi program", "one owner per object")
