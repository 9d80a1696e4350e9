"""Secrets: operators' custom resources make them, and any tree may make them out of band."""

from __future__ import annotations

from conftest import CheckTree, write_tree

from progressive_delivery.check import check_platform

# Minimal CRDs for the operators' kinds (their schemas are not what these tests are about).
CRDS = "".join(
    f"---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: {plural}.{group}\n"
    f"spec:\n  group: {group}\n  scope: Namespaced\n  names:\n    kind: {kind}\n    plural: {plural}\n"
    f"  versions:\n    - name: {version}\n      served: true\n      storage: true\n      schema:\n"
    "        openAPIV3Schema:\n          type: object\n          x-kubernetes-preserve-unknown-fields: true\n"
    for kind, plural, group, version in (("SealedSecret", "sealedsecrets", "bitnami.com", "v1alpha1"),
                                         ("ExternalSecret", "externalsecrets", "external-secrets.io", "v1")))
SEALED = ("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
          "spec:\n  encryptedData:\n    token: AgB...\n")
EXTERNAL = ("apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata:\n  name: from-vault\n"
            "  namespace: {namespace}\nspec:\n  secretStoreRef:\n    name: vault\n    kind: ClusterSecretStore\n"
            "  target:\n    name: {name}\n")


def env_from(name: str):
    return lambda doc: doc["spec"]["template"]["spec"]["containers"][0].setdefault("envFrom", []).append(
        {"secretRef": {"name": name}})


def test_a_stack_needs_every_secret_unless_an_operator_makes_it(check_tree: CheckTree):
    rel, _ = check_tree.edit("Deployment", env_from("app-secret"))
    found = check_platform(check_tree.root, ["staging"]).findings
    assert [(f.path, f.kind, f.message) for f in found] == [
        (rel, "Deployment", "needs Secret applications/app-secret, which neither the tree nor the cluster has; fix "
                            "the name or add it (a Secret, SealedSecret or ExternalSecret)")]
    check_tree.add_document(rel, CRDS.removeprefix("---\n") + "---\n" + SEALED.format(name="app-secret",
                                                                                   namespace="applications"))
    assert check_platform(check_tree.root, ["staging"]).findings == []
    check_tree.edit("Deployment", env_from("db-secret"))
    check_tree.add_document(rel, EXTERNAL.format(name="db-secret", namespace="applications"))
    assert check_platform(check_tree.root, ["staging"]).findings == []


def test_a_stack_source_secret_may_come_from_a_sealed_secret(check_tree: CheckTree):
    rel, doc = check_tree.edit("HelmRepository", lambda d: d["spec"].__setitem__("secretRef", {"name": "creds"}))
    check_tree.add_document(rel, CRDS.removeprefix("---\n") + "---\n" + SEALED.format(
        name="creds", namespace=doc["metadata"]["namespace"]))
    assert check_platform(check_tree.root, ["staging"]).findings == []


def tree(root, extra: str = ""):
    return write_tree(root, {"clusters/demo/app.yaml": (
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team-a\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app\n  namespace: team-a\nspec:\n"
        "  selector:\n    matchLabels:\n      app: app\n  template:\n    metadata:\n      labels:\n        app: app\n"
        "    spec:\n      containers:\n        - name: app\n          image: ghcr.io/example/app:1.0.0\n"
        "          envFrom:\n            - secretRef:\n                name: app-secret\n---\n"
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: other\n"
        "  namespace: team-a\nspec:\n  interval: 5m\n  url: https://example.com/other.git\n  secretRef:\n"
        "    name: git-creds\n" + extra)})


def test_any_tree_may_make_secrets_out_of_band_so_a_missing_one_is_a_note(tmp_path):
    report = check_platform(tree(tmp_path / "tree"), cluster_path="clusters/demo")
    assert report.ok, report.format()
    notes = sorted(n for n in report.notices["clusters/demo"] if "Secret" in n)
    assert notes == [
        "clusters/demo/app.yaml: Deployment team-a/app: needs Secret team-a/app-secret, which neither the tree nor "
        "the cluster has; not checked further, as it may be made out of band (flux create secret, kubectl); if not, "
        "add it or a SealedSecret or ExternalSecret of that name",
        "clusters/demo/app.yaml: GitRepository team-a/other: secretRef names Secret team-a/git-creds, which neither "
        "the tree nor the cluster has; not checked further, as it may be made out of band (flux create secret, "
        "kubectl); if not, add it or a SealedSecret or ExternalSecret of that name"]


def test_any_tree_counts_the_secrets_operators_make(tmp_path):
    extra = CRDS + "---\n" + SEALED.format(name="app-secret", namespace="team-a") + "---\n" + EXTERNAL.format(
        name="git-creds", namespace="team-a")
    report = check_platform(tree(tmp_path / "tree", extra), cluster_path="clusters/demo")
    assert report.ok, report.format()
    assert not [n for n in report.notices["clusters/demo"] if "Secret" in n], report.notices
