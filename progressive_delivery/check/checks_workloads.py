"""Namespaces exist, and workloads refer to Secrets, ConfigMaps and accounts that exist."""

from __future__ import annotations

from .model import Findings
from .view import StackView, containers, pod_template


def check_namespaces(view: StackView, out: Findings) -> None:
    for obj in view.tree_objects():
        namespaced = view.validator.is_namespaced(obj.api_version, obj.kind)
        if namespaced and not obj.namespace:
            out.add(obj, "has no namespace and its Flux Kustomization sets no targetNamespace; "
                         "set metadata.namespace")
        elif namespaced and not view.namespace_exists(obj.namespace):
            out.add(obj, f"namespace '{obj.namespace}' is not created by the tree or the program; "
                         "add the Namespace or fix metadata.namespace")


def check_pods(view: StackView, out: Findings) -> None:
    for workload in view.tree_objects():
        template = pod_template(workload)
        if template is None:
            continue
        ns = workload.namespace
        spec = template.get("spec") or {}
        for secret in spec.get("imagePullSecrets") or []:
            name = (secret or {}).get("name")
            if name and view.get("Secret", ns, str(name)) is None:
                out.add(workload, f"imagePullSecrets names Secret {ns}/{name}, which neither the tree nor the "
                                  f"program creates (the program creates applications/echo-version-pull); "
                                  "fix the name")
        account = spec.get("serviceAccountName")
        if account and account != "default" and view.get("ServiceAccount", ns, str(account)) is None:
            out.add(workload, f"serviceAccountName '{account}' is not a ServiceAccount in {ns}; add it or fix "
                              "the name")
        references: list[tuple[str, str]] = []
        for volume in spec.get("volumes") or []:
            if not isinstance(volume, dict):
                continue
            if isinstance(volume.get("configMap"), dict) and not volume["configMap"].get("optional"):
                references.append(("ConfigMap", str(volume["configMap"].get("name", ""))))
            if isinstance(volume.get("secret"), dict) and not volume["secret"].get("optional"):
                references.append(("Secret", str(volume["secret"].get("secretName", ""))))
        for container in containers(template):
            for source in container.get("envFrom") or []:
                for key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                    ref = (source or {}).get(key)
                    if isinstance(ref, dict) and not ref.get("optional"):
                        references.append((kind, str(ref.get("name", ""))))
            for env in container.get("env") or []:
                value_from = (env or {}).get("valueFrom") or {}
                for key, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                    ref = value_from.get(key)
                    if isinstance(ref, dict) and not ref.get("optional"):
                        references.append((kind, str(ref.get("name", ""))))
        for kind, name in references:
            if name and view.get(kind, ns, name) is None:
                out.add(workload, f"refers to {kind} {ns}/{name}, which the tree does not create; fix the name "
                                  "or add it")


def check_autoscalers(view: StackView, out: Findings) -> None:
    for hpa in view.tree_objects("HorizontalPodAutoscaler"):
        ref = hpa.spec.get("scaleTargetRef") or {}
        kind, name = str(ref.get("kind", "")), str(ref.get("name", ""))
        if view.get(kind, hpa.namespace, name) is None:
            out.add(hpa, f"scaleTargetRef {kind} {hpa.namespace}/{name} is not in the tree; fix the name")


def run(view: StackView, out: Findings) -> None:
    check_namespaces(view, out)
    check_pods(view, out)
    check_autoscalers(view, out)
