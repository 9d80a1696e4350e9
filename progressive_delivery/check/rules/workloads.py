"""Namespaces exist, and workloads refer to Secrets (secrets.py), ConfigMaps and accounts the cluster has."""

from __future__ import annotations

from ..access import mapping, mappings, text
from ..model import KubeObject
from ..view import ClusterView, containers, pod_template
from .registry import rule
from .secrets import missing_secret, secret_exists


@rule("namespaces")
def namespaces(view: ClusterView) -> None:
    for obj in view.from_tree():
        if not view.validator.is_namespaced(obj.api_version, obj.kind):
            continue
        if not obj.namespace:
            view.findings.add(obj, "has no namespace and its Flux Kustomization sets no targetNamespace; "
                                   "set metadata.namespace")
        elif not view.namespace_exists(obj.namespace):
            view.findings.add(obj, f"namespace '{obj.namespace}' is created neither by the tree nor by the cluster; "
                                   "add the Namespace or fix metadata.namespace")


def _references(template: dict) -> list[tuple[str, str]]:
    """(kind, name) of the ConfigMaps and Secrets a pod template needs (optional ones left out)."""
    spec = mapping(template, "spec")
    found = [("Secret", text(s, "name")) for s in mappings(spec, "imagePullSecrets")]
    for volume in mappings(spec, "volumes"):
        for key, kind, name_field in (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName")):
            source = mapping(volume, key)
            if source and source.get("optional") is not True:
                found.append((kind, text(source, name_field)))
        for projected in mappings(volume, "projected", "sources"):
            for key, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                source = mapping(projected, key)
                if source and source.get("optional") is not True:
                    found.append((kind, text(source, "name")))
    for container in containers(template):
        for source in mappings(container, "envFrom"):
            for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                ref = mapping(source, key)
                if ref and ref.get("optional") is not True:
                    found.append((kind, text(ref, "name")))
        for env in mappings(container, "env"):
            for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                ref = mapping(env, "valueFrom", key)
                if ref and ref.get("optional") is not True:
                    found.append((kind, text(ref, "name")))
    return [(kind, name) for kind, name in found if name]


def _account_exists(view: ClusterView, workload: KubeObject, account: str) -> bool:
    return account == "default" or view.exists("ServiceAccount", workload.namespace, account)


@rule("pod templates")
def pods(view: ClusterView) -> None:
    for workload in view.from_tree():
        template = pod_template(workload)
        if template is None or workload.namespace in view.unrendered_namespaces():
            continue
        account = text(template, "spec", "serviceAccountName")
        if account and not _account_exists(view, workload, account):
            view.findings.add(workload, f"serviceAccountName '{account}' is not a ServiceAccount of "
                                        f"{workload.namespace}; add it or fix the name")
        for kind, name in dict.fromkeys(_references(template)):
            if kind == "Secret":
                if not secret_exists(view, workload.namespace, name):
                    missing_secret(view, workload, "needs", workload.namespace, name)
            elif not view.exists(kind, workload.namespace, name):
                view.findings.add(workload, f"needs {kind} {workload.namespace}/{name}, which the cluster does not "
                                            "have; fix the name or add it")


@rule("HorizontalPodAutoscalers")
def autoscalers(view: ClusterView) -> None:
    for hpa in view.from_tree("HorizontalPodAutoscaler"):
        ref = mapping(hpa.spec, "scaleTargetRef")
        if not view.exists(text(ref, "kind"), hpa.namespace, text(ref, "name")):
            view.findings.add(hpa, f"scaleTargetRef {text(ref, 'kind')} {hpa.namespace}/{text(ref, 'name')} is not "
                                   "in the cluster; fix the name")
