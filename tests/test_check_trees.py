"""Flux trees laid out the ways Flux accepts, checked without Pulumi stacks (`--cluster-path`).

The fixtures reproduce the layouts of Flux's reference monorepo (a bootstrapped flux-system directory
with its own components and patches, cluster directories without kustomization.yaml, infrastructure
and apps composed by an ArtifactGenerator, Kustomizations depending on each other) and of the
Flux + Istio + Flagger recipe (no flux-system directory, post-build variables from a ConfigMap of the
tree with a default, HelmReleases whose chart version is a variable, kustomize JSON patches).
"""

from __future__ import annotations

import pytest
from conftest import run_check, write_tree

from progressive_delivery.check.pipeline import run


def kustomization(name: str, path: str, *extra: str, namespace: str = "flux-system",
                  api: str = "kustomize.toolkit.fluxcd.io/v1", source: str = "GitRepository",
                  source_name: str = "flux-system") -> str:
    return "\n".join([
        f"apiVersion: {api}", "kind: Kustomization", "metadata:", f"  name: {name}", f"  namespace: {namespace}",
        "spec:", "  interval: 10m", "  prune: true", f"  path: {path}", "  sourceRef:", f"    kind: {source}",
        f"    name: {source_name}", "    namespace: flux-system", *extra]) + "\n"


def config_map(name: str, namespace: str, **data: str) -> str:
    lines = [f"    {k}: \"{v}\"" for k, v in data.items()]
    return "\n".join(["apiVersion: v1", "kind: ConfigMap", "metadata:", f"  name: {name}",
                      f"  namespace: {namespace}", "data:", *lines]) + "\n"


NAMESPACE = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n"

MONOREPO = {
    ".sourceignore": "/*\n!/apps/\n!/clusters/\n!/infrastructure/\n",
    "scripts/validate.yaml": "this: is [not, flux",                   # outside the artifact: never read
    "clusters/production/flux-system/gotk-components.yaml": NAMESPACE.format("flux-system"),
    "clusters/production/flux-system/gotk-sync.yaml": (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n"
        "  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n"
        "  url: ssh://git@github.com/example/fleet\n  secretRef:\n    name: flux-system\n---\n"
        + kustomization("flux-system", "./clusters/production")),
    "clusters/production/flux-system/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - gotk-components.yaml\n"
        "  - gotk-sync.yaml\nlabels:\n  - pairs:\n      toolkit.fluxcd.io/tenant: sre-team\n"),
    "clusters/production/artifacts.yaml": (
        "apiVersion: source.extensions.fluxcd.io/v1beta1\nkind: ArtifactGenerator\nmetadata:\n  name: flux-system\n"
        "  namespace: flux-system\nspec:\n  sources:\n    - alias: monorepo\n      kind: GitRepository\n"
        "      name: flux-system\n  artifacts:\n    - name: infrastructure\n      originRevision: \"@monorepo\"\n"
        "      copy:\n        - from: \"@monorepo/infrastructure/**\"\n          to: \"@artifact/\"\n"
        "    - name: apps\n      originRevision: \"@monorepo\"\n      copy:\n"
        "        - from: \"@monorepo/apps/base/**\"\n          to: \"@artifact/base/\"\n"
        "        - from: \"@monorepo/apps/production/**\"\n          to: \"@artifact/production/\"\n"),
    "clusters/production/infrastructure.yaml": (
        kustomization("infra-controllers", "./controllers", source="ExternalArtifact", source_name="infrastructure")
        + "---\n" + kustomization("infra-configs", "./configs", "  dependsOn:", "    - name: infra-controllers",
                                  "  patches:", "    - patch: |", "        - op: replace", "          path: /data/mode",
                                  "          value: production", "      target:", "        kind: ConfigMap",
                                  source="ExternalArtifact", source_name="infrastructure")),
    "clusters/production/apps.yaml": kustomization(
        "apps", "./production", "  dependsOn:", "    - name: infra-configs", "      namespace: flux-system",
        "  postBuild:", "    substitute:", "      environment: production", source="ExternalArtifact",
        source_name="apps"),
    # No kustomization.yaml here: Flux generates one listing every manifest below.
    "infrastructure/controllers/namespace.yaml": NAMESPACE.format("controllers"),
    "infrastructure/controllers/settings.yaml": config_map("settings", "controllers", mode="default"),
    "infrastructure/configs/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - settings.yaml\n"),
    "infrastructure/configs/settings.yaml": config_map("configs", "controllers", mode="default"),
    "apps/base/web/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: web\nresources:\n"
        "  - namespace.yaml\n  - settings.yaml\n"),
    "apps/base/web/namespace.yaml": NAMESPACE.format("web"),
    "apps/base/web/settings.yaml": config_map("web", "web", env="${environment}", literal="$${environment}",
                                              fallback="${region:=eu-west-1}"),
    "apps/production/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ../base/web\n"),
}


def test_reference_monorepo_layout_is_accepted_and_built_as_flux_builds_it(tmp_path):
    report, [view] = run(write_tree(tmp_path / "fleet", MONOREPO), cluster_path="clusters/production")
    assert report.ok, report.format()
    web = view.get("ConfigMap", "web", "web")
    assert web is not None and web.path == "apps/base/web/settings.yaml"
    assert web.body["data"] == {"env": "production", "literal": "${environment}", "fallback": "eu-west-1"}
    generated = view.get("ConfigMap", "controllers", "settings")
    assert generated is not None and generated.applied_by == "flux-system/infra-controllers"
    assert view.get("ConfigMap", "controllers", "configs").body["data"] == {"mode": "production"}
    tree_sync = view.get("Kustomization", "flux-system", "flux-system")
    assert tree_sync.path == "clusters/production/flux-system/gotk-sync.yaml"
    assert tree_sync.labels == {"toolkit.fluxcd.io/tenant": "sre-team"}


def test_a_dependency_in_the_wrong_namespace_is_a_finding(tmp_path):
    files = dict(MONOREPO)
    files["clusters/production/apps.yaml"] = files["clusters/production/apps.yaml"].replace(
        "namespace: flux-system\n  postBuild", "namespace: tenants\n  postBuild")
    report, _ = run(write_tree(tmp_path / "fleet", files), cluster_path="clusters/production")
    assert [f.message.split(" (")[0] for f in report.findings] == [
        "dependsOn tenants/infra-configs is not a Flux Kustomization of this cluster"]


def test_an_artifact_generator_pattern_matching_nothing_is_listed(tmp_path):
    files = dict(MONOREPO)
    files["clusters/production/artifacts.yaml"] = files["clusters/production/artifacts.yaml"].replace(
        "@monorepo/apps/base/**", "@monorepo/apps/bases/**")
    report, _ = run(write_tree(tmp_path / "fleet", files), cluster_path="clusters/production")
    assert any("ExternalArtifact flux-system/apps is not checked" in n and "no files match pattern" in n
               for n in report.notices["clusters/production"]), report.notices


RECIPE = {
    "clusters/my-cluster/istio-version.yaml": config_map("istio-version", "flux-system", version="1.31.0"),
    "clusters/my-cluster/istio.yaml": kustomization(
        "istio-system", "./istio/system", "  postBuild:", "    substituteFrom:", "      - kind: ConfigMap",
        "        name: istio-version"),
    "clusters/my-cluster/apps.yaml": kustomization("apps", "./apps", "  dependsOn:", "    - name: istio-system"),
    "istio/system/namespace.yaml": NAMESPACE.format("istio-system"),
    "istio/system/repository.yaml": (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata:\n  name: istio\n"
        "  namespace: istio-system\nspec:\n  interval: 1h\n  url: https://istio-release.storage.googleapis.com/charts\n"),
    "istio/system/release.yaml": (
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: istio-gateway\n"
        "  namespace: istio-system\nspec:\n  interval: 1h\n  releaseName: istio-gateway\n  chart:\n    spec:\n"
        "      chart: gateway\n      version: \"${version}\"\n      sourceRef:\n        kind: HelmRepository\n"
        "        name: istio\n  values:\n    service:\n      type: \"${service:=ClusterIP}\"\n"),
    "apps/namespace.yaml": NAMESPACE.format("prod"),
    "apps/backend/kustomization.yaml": (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n"
        "images:\n  - name: ghcr.io/example/backend\n    newTag: 6.1.0\npatchesJson6902:\n  - path: patch.yaml\n"
        "    target:\n      group: apps\n      version: v1\n      kind: Deployment\n      name: backend\n"),
    "apps/backend/patch.yaml": "- op: add\n  path: /spec/template/metadata/labels/tier\n  value: backend\n",
    "apps/backend/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: backend\n  namespace: prod\nspec:\n"
        "  selector:\n    matchLabels:\n      app: backend\n  template:\n    metadata:\n      labels:\n"
        "        app: backend\n    spec:\n      containers:\n        - name: backend\n"
        "          image: ghcr.io/example/backend\n"),
}


def test_recipe_layout_without_flux_system_is_accepted(tmp_path, check_charts):
    report, [view] = run(write_tree(tmp_path / "recipe", RECIPE), cluster_path="clusters/my-cluster")
    assert report.ok, report.format()
    service = view.get("Service", "istio-system", "istio-gateway")
    assert service is not None and service.rendered_by == "istio-system/istio-gateway"
    assert service.body["spec"]["type"] == "ClusterIP"
    backend = view.get("Deployment", "prod", "backend")
    assert backend.body["spec"]["template"]["metadata"]["labels"]["tier"] == "backend"
    assert backend.body["spec"]["template"]["spec"]["containers"][0]["image"] == "ghcr.io/example/backend:6.1.0"


def test_apis_flux_no_longer_serves_are_findings_not_errors(tmp_path, capsys):
    files = dict(RECIPE)
    files["clusters/my-cluster/istio.yaml"] = files["clusters/my-cluster/istio.yaml"].replace(
        "kustomize.toolkit.fluxcd.io/v1", "kustomize.toolkit.fluxcd.io/v1beta2")
    root = write_tree(tmp_path / "recipe", files)
    assert run_check("--platform", str(root), "--cluster-path", "clusters/my-cluster") == 1
    out = capsys.readouterr().out
    assert "kustomize.toolkit.fluxcd.io/v1beta2 is not served for Kustomization" in out
    assert "what it would apply (./istio/system) is not checked" in out
    assert "dependsOn" not in out          # the dependency exists; it is just never applied


@pytest.mark.parametrize("argv", [["--cluster-path", "clusters/my-cluster", "--kube-version", "1.35"]])
def test_tree_mode_takes_the_kubernetes_version(tmp_path, argv, capsys):
    files = {**RECIPE, "apps/backend/hpa.yaml": (
        "apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: backend\n"
        "  namespace: prod\nspec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n"
        "    name: backend\n  maxReplicas: 2\n")}
    files["apps/backend/kustomization.yaml"] = files["apps/backend/kustomization.yaml"].replace(
        "  - deployment.yaml\n", "  - deployment.yaml\n  - hpa.yaml\n")
    root = write_tree(tmp_path / "recipe", files)
    assert run_check("--platform", str(root), *argv) == 1
    assert "autoscaling/v2beta2 HorizontalPodAutoscaler is not served by Kubernetes 1.35" in capsys.readouterr().out


@pytest.mark.parametrize("absolute", [True, False])
def test_a_file_outside_the_repository_is_refused_and_never_read(tmp_path, absolute):
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("do-not-print-me\n")
    reference = str(secret) if absolute else "../" * 12 + str(secret).lstrip("/")
    files = dict(MONOREPO)
    files["clusters/production/leak/kustomization.yaml"] = (
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nconfigMapGenerator:\n"
        f"  - name: leak\n    namespace: default\n    files:\n      - key={reference}\n")
    report, _ = run(write_tree(tmp_path / "fleet", files), cluster_path="clusters/production")
    messages = [f.message for f in report.findings]
    assert any("outside the repository; kustomize-controller builds only from the source" in m for m in messages)
    assert "do-not-print-me" not in "\n".join(messages)


def test_a_kustomization_flux_fails_applies_nothing(tmp_path):
    """A missing substituteFrom fails the Kustomization: none of its objects reach the cluster or the checks."""
    files = dict(RECIPE)
    files["clusters/my-cluster/istio-version.yaml"] = config_map("istio-versions", "flux-system", version="1.31.0")
    report, [view] = run(write_tree(tmp_path / "recipe", files), cluster_path="clusters/my-cluster", online=False)
    assert [f.message.split(",")[0] for f in report.findings] == [
        "postBuild.substituteFrom ConfigMap flux-system/istio-version does not exist"]
    assert view.get("HelmRelease", "istio-system", "istio-gateway") is None and view.failed == {
        "flux-system/istio-system": "its post-build variables cannot be read"}
    assert ("Kustomization flux-system/istio-system applies nothing while its post-build variables cannot be read: "
            "what it would apply is not checked") in report.notices["clusters/my-cluster"]


@pytest.mark.parametrize("depends, held_back", [
    (["  dependsOn:", "    - name: base"], True),
    # a readyExpr that holds while its dependency fails lets the Kustomization go on: its findings stand
    (["  dependsOn:", "    - name: base", "      readyExpr: dep.metadata.name == 'base'"], False),
    ([], False),                                      # no dependency: applied (and failing) on its own
])
def test_findings_of_kustomizations_waiting_for_a_failing_one_are_notes(tmp_path, depends, held_back):
    files = {"clusters/c/base.yaml": kustomization("base", "./base"),
             "clusters/c/app.yaml": kustomization("app", "./app", *depends),
             "base/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
                                        "resources: [namespace.yaml, missing.yaml]\n",
             "base/namespace.yaml": NAMESPACE.format("shared"),
             "app/settings.yaml": config_map("settings", "shared", mode="on")}
    report, _ = run(write_tree(tmp_path / "tree", files), cluster_path="clusters/c", online=False)
    assert [f.name for f in report.findings] == ["base"] + ["settings"] * (not held_back)
    notes = [n for n in report.notices["clusters/c"] if n.startswith("held back")]
    assert notes == [
        "held back while Kustomization flux-system/base fails (Kustomization flux-system/app waits for it), so not "
        "a finding yet: app/settings.yaml: ConfigMap/shared/settings: namespace 'shared' is created neither by the "
        "tree nor by the cluster; add the Namespace or fix metadata.namespace"] * held_back


SOPS_SECRET = """apiVersion: v1
kind: Secret
metadata: {name: credentials, namespace: prod}
type: Opaque
data:
  token: ENC[AES256_GCM,data:3q2+7w==,iv:AAAA,tag:BBBB,type:str]
sops:
  age:
    - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq
      enc: "-----BEGIN AGE ENCRYPTED FILE-----"
  lastmodified: "2026-01-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:CCCC,iv:DDDD,tag:EEEE,type:str]
  version: 3.9.4
"""


@pytest.mark.parametrize("decryption", [["  decryption:", "    provider: sops"], []])
def test_sops_encrypted_objects_are_left_to_the_controller_that_decrypts_them(tmp_path, decryption):
    """With spec.decryption kustomize-controller decrypts the Secret before applying it: it exists for the
    Deployment that uses it, and its encrypted form is not validated; without, Flux applies the `sops` field."""
    files = {**RECIPE, "clusters/my-cluster/apps.yaml": kustomization("apps", "./apps", *decryption),
             "apps/backend/secret.yaml": SOPS_SECRET}
    files["apps/backend/kustomization.yaml"] = files["apps/backend/kustomization.yaml"].replace(
        "  - deployment.yaml\n", "  - deployment.yaml\n  - secret.yaml\n")
    files["apps/backend/deployment.yaml"] += ("          envFrom:\n            - secretRef:\n"
                                              "                name: credentials\n")
    report, _ = run(write_tree(tmp_path / "recipe", files), cluster_path="clusters/my-cluster", online=False)
    if decryption:
        assert report.ok, report.format()
        assert ("Secret prod/credentials (apps/backend/secret.yaml) is SOPS-encrypted; kustomize-controller decrypts "
                "it (spec.decryption of Kustomization flux-system/apps): not validated") in report.notices[
                    "clusters/my-cluster"]
    else:
        assert any(f.name == "credentials" and "'sops'" in f.message for f in report.findings), report.format()
