"""Namespaces exist, and workloads refer to Secrets, ConfigMaps and accounts that exist."""

from __future__ import annotations

from .access import mapping, mappings, text
from .model import Findings
from .view import StackView, containers, pod_template


def check_namespaces(view: StackView, out: Findings) -> None:
    for obj in view.tree_subjects():
        namespaced = view.validator.is_namespaced(obj.api_version, obj.kind)
        if namespaced and not obj.namespace:
            out.add(obj, "has no namespace and its Flux Kustomization sets no targetNamespace; "
                         "set metadata.namespace")
        elif namespaced and not view.namespace_exists(obj.namespace):
            out.add(obj, f"namespace '{obj.namespace}' is not created by the tree or the program; "
                         "add the Namespace or fix metadata.namespace")


def check_pods(view: StackView, out: Findings) -> None:
    for workload in view.tree_subjects():
        template = pod_template(workload)
        if template is None:
            continue
        ns = workload.namespace
        spec = mapping(template, "spec")
        for secret in mappings(spec, "imagePullSecrets"):
            name = text(secret, "name")
            if name and view.get("Secret", ns, name) is None:
                out.add(workload, f"imagePullSecrets names Secret {ns}/{name}, which neither the tree nor the "
                                  f"program creates (the program creates applications/echo-version-pull); "
                                  "fix the name")
        account = text(spec, "serviceAccountName")
        if account and account != "default" and view.get("ServiceAccount", ns, account) is None:
            out.add(workload, f"serviceAccountName '{account}' is not a ServiceAccount in {ns}; add it or fix "
                              "the name")
        references: list[tuple[str, str]] = []
        for volume in mappings(spec, "volumes"):
            if isinstance(volume.get("configMap"), dict) and not volume["configMap"].get("optional"):
                references.append(("ConfigMap", text(volume, "configMap", "name")))
            if isinstance(volume.get("secret"), dict) and not volume["secret"].get("optional"):
                references.append(("Secret", text(volume, "secret", "secretName")))
        for container in containers(template):
            for source in mappings(container, "envFrom"):
                for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    ref = source.get(key)
                    if isinstance(ref, dict) and not ref.get("optional"):
                        references.append((kind, text(ref, "name")))
            for env in mappings(container, "env"):
                value_from = mapping(env, "valueFrom")
                for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    ref = value_from.get(key)
                    if isinstance(ref, dict) and not ref.get("optional"):
                        references.append((kind, text(ref, "name")))
        for kind, name in references:
            if name and view.get(kind, ns, name) is None:
                out.add(workload, f"refers to {kind} {ns}/{name}, which the tree does not create; fix the name "
                                  "or add it")


def check_autoscalers(view: StackView, out: Findings) -> None:
    for hpa in view.tree_subjects("HorizontalPodAutoscaler"):
        ref = mapping(hpa.spec, "scaleTargetRef")
        kind, name = text(ref, "kind"), text(ref, "name")
        if view.get(kind, hpa.namespace, name) is None:
            out.add(hpa, f"scaleTargetRef {kind} {hpa.namespace}/{name} is not in the tree; fix the name")
