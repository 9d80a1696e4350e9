"""A cluster the stack does not create: the provider built from its kubeconfig, and what must hold on it
before anything is installed.

Teardown on destroy is flux_teardown.py; the gateway's address,
gateway_address.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import yaml

from . import pins
from .config import SUPPORTED_KUBERNETES, key
from .contract import APP_NAMESPACE, FLUX_NAMESPACE
from .kube import KubeconfigUnusable, Kubectl, KubeError
from .kubeconfig import private_file
from .preflight_context import Context
from .project import PLATFORM_DIR, STACK_LABEL
from .providers import kubernetes_provider
from .settings import ExistingClusterSettings

# Label the program puts on Flux's namespace: Flux found without it was installed by someone else.
OWNER_JSONPATH = "jsonpath={.metadata.labels." + STACK_LABEL.replace(".", "\\.") + "}"
# CRDs of what the platform installs (Istio, Flagger): found without the stack's Flux, someone else's.
PLATFORM_CRD_SUFFIXES = (".istio.io", ".flagger.app")
# Cluster-wide permissions the platform needs to install Flux, Istio and Flagger.
REQUIRED_PERMISSIONS = (
    ("create", "namespaces"),
    ("create", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "clusterroles.rbac.authorization.k8s.io"),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    ("create", "mutatingwebhookconfigurations.admissionregistration.k8s.io"),
    ("create", "validatingwebhookconfigurations.admissionregistration.k8s.io"),
)


@dataclass
class ExistingClusterArgs:
    """Which cluster, and the kubeconfig that reaches it (a secret)."""

    cluster: ExistingClusterSettings
    kubeconfig: pulumi.Input[str]


class ExistingCluster(pulumi.ComponentResource):
    """The provider for a cluster someone else runs; nothing is created or deleted with it."""

    name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:cluster:ExistingCluster", name, None, opts)
        self.name = pulumi.Output.from_input(args.cluster.name)
        self.kubeconfig = pulumi.Output.secret(args.kubeconfig)
        self.provider = kubernetes_provider(f"{name}-provider", self.kubeconfig, f"existing:{args.cluster.name}",
                                            parent=self, context=args.cluster.context)
        self.register_outputs({"name": self.name})


def preflight_problems(context: Context) -> list[str]:
    """The cluster answers, runs a supported Kubernetes, lets these credentials install, and has no
    Flux of someone else's."""
    cluster = context.settings.cluster
    assert isinstance(cluster, ExistingClusterSettings)
    with private_file(context.kubeconfig or "") as kubeconfig:
        kubectl = Kubectl(context.runner, kubeconfig, request_timeout="15s", context=cluster.context)
        try:
            version = kubectl.json("version")
            server = version.get("serverVersion") or {}
            minor = (int(str(server["major"]).rstrip("+")), int(str(server["minor"]).rstrip("+")))
        except KubeconfigUnusable as error:
            return [f"{error} (the preflight of an existing cluster runs kubectl)"]
        except KubeError as error:
            return [f"the cluster in the given kubeconfig does not answer ({error}); check "
                    f"{key('kubeconfig')}/{key('kubeconfigPath')} and {key('kubeContext')}"]
        except (KeyError, ValueError, TypeError, AttributeError):
            return ["the cluster in the given kubeconfig reports no server version; check that it is a "
                    "Kubernetes API server"]
        problems = [*_version_problem(minor), *_missing_permissions(kubectl)]
        if not _flux_is_ours(kubectl, context.settings.stack):
            problems += [*_foreign_flux(kubectl, context.settings.stack), *_taken_names(kubectl)]
        return problems


def _version_problem(minor: tuple[int, int]) -> list[str]:
    low, high = SUPPORTED_KUBERNETES
    if low <= minor <= high:
        return []
    return [f"the cluster runs Kubernetes {minor[0]}.{minor[1]}; Flux {pins.pin('flux').version} and Istio "
            f"{pins.pin('istio').version} support {low[0]}.{low[1]} to {high[0]}.{high[1]}: use another cluster"]


def _missing_permissions(kubectl: Kubectl) -> list[str]:
    missing = [f"{verb} {resource}" for verb, resource in REQUIRED_PERMISSIONS
               if kubectl.answer("auth", "can-i", verb, resource) != "yes"]
    if not missing:
        return []
    return [f"these credentials cannot {', '.join(missing)} (cluster-wide); the platform installs Flux, "
            "Istio and Flagger, which need cluster-admin or an equivalent role"]


def _flux_is_ours(kubectl: Kubectl, stack: str) -> bool:
    """Flux's namespace carries this stack's label: what the platform installed before is the stack's own."""
    return kubectl.answer("get", "namespace", FLUX_NAMESPACE, "-o", OWNER_JSONPATH) == stack


def _foreign_flux(kubectl: Kubectl, stack: str) -> list[str]:
    """Flux found on the cluster without this stack's label: someone else's install."""
    if not kubectl.answer("get", "crd", "kustomizations.kustomize.toolkit.fluxcd.io", "-o", "name"):
        return []
    return [f"Flux is already installed on this cluster (CRD kustomizations.kustomize.toolkit.fluxcd.io) and "
            f"not by stack {stack} (namespace {FLUX_NAMESPACE} has no {STACK_LABEL}={stack} label); uninstall it "
            "(`flux uninstall`) or use another cluster"]


def _taken_names(kubectl: Kubectl) -> list[str]:
    """Namespaces and CRDs the platform would create that exist already: Flux would adopt them, and a
    destroy would delete them with what they hold."""
    existing = set(kubectl.answer("get", "namespaces", "-o", "jsonpath={.items[*].metadata.name}").split())
    taken = sorted(existing & set(platform_namespaces()))
    crds = [name for name in kubectl.answer("get", "crd", "-o", "jsonpath={.items[*].metadata.name}").split()
            if name.endswith(PLATFORM_CRD_SUFFIXES)]
    problems = []
    if taken:
        problems.append(f"namespaces {', '.join(taken)} already exist and this stack did not create them: Flux would "
                        "take them over and a destroy would delete them; use a cluster without them")
    if crds:
        shown = ", ".join(crds[:3]) + (f" and {len(crds) - 3} more" if len(crds) > 3 else "")
        problems.append(f"Istio or Flagger is already installed on this cluster (CRDs {shown}); the platform "
                        "installs its own: use a cluster without them")
    return problems


def platform_namespaces() -> list[str]:
    """The namespaces the Flux tree and the program create."""
    found = {APP_NAMESPACE}
    for path in (PLATFORM_DIR / "infrastructure").rglob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if isinstance(document, dict) and document.get("kind") == "Namespace":
                found.add(str((document.get("metadata") or {}).get("name")))
    return sorted(found)
