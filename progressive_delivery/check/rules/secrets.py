"""Secrets a cluster will hold, and how a missing one is reported.

A Secret exists when the tree applies it, a chart renders it, the program or `flux bootstrap` creates
it, or an operator makes it from a custom resource of the tree:
- a SealedSecret makes the Secret of its own name and namespace
  (bitnami-labs/sealed-secrets@v0.36.6:pkg/apis/sealedsecrets/v1alpha1/sealedsecret_expansion.go:338-339);
- an ExternalSecret makes `spec.target.name`, by default its own name
  (external-secrets/external-secrets@v2.9.0:apis/externalsecrets/v1/externalsecret_types.go:240-246).
For the project's own stacks every other Secret must be one of those (the program makes its Secrets),
so a missing one is a finding; in any other tree it may be made out of band (`flux create secret`,
kubectl, a secret manager), so it is a note.
"""

from __future__ import annotations

from ..access import text
from ..model import KubeObject
from ..view import ClusterView

PRODUCERS = ("SealedSecret", "ExternalSecret")


def _produces(producer: KubeObject) -> str:
    if producer.kind == "ExternalSecret":
        return text(producer.spec, "target", "name") or producer.name
    return producer.name


def secret_exists(view: ClusterView, namespace: str, name: str) -> bool:
    """Whether the cluster will hold Secret namespace/name (applied, rendered, provided or produced)."""
    if view.exists("Secret", namespace, name):
        return True
    return any(_produces(p) == name for p in view.all_of(*PRODUCERS) if p.namespace == namespace)


def missing_secret(view: ClusterView, owner: KubeObject, what: str, namespace: str, name: str) -> None:
    """Report that `owner` needs Secret namespace/name (`what` says where it names it), which nothing makes."""
    problem = f"{what} Secret {namespace}/{name}, which neither the tree nor the cluster has"
    if view.target.is_stack:
        view.findings.add(owner, f"{problem}; fix the name or add it (a Secret, SealedSecret or ExternalSecret)")
        return
    rendered = f" (rendered by HelmRelease {owner.rendered_by})" if owner.rendered_by else ""
    view.notices.append(f"{owner.path}: {owner.describe()}{rendered}: {problem}; not checked further, as it may be "
                        "made out of band (flux create secret, kubectl); if not, add it or a SealedSecret or "
                        "ExternalSecret of that name")
