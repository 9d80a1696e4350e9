"""Flagger: Canaries, MetricTemplates and Flagger's own settings refer to things that exist."""

from __future__ import annotations

from typing import Any

from .access import mapping, mappings, sequence, text
from .charts import chart_name, oci_urls, values
from .checks_mesh import gateway_reference
from .model import Findings, KubeObject
from .network import Services
from .view import StackView, containers, pod_template


def _target(view: StackView, canary: KubeObject, out: Findings) -> KubeObject | None:
    ref = mapping(canary.spec, "targetRef")
    kind, name = text(ref, "kind"), text(ref, "name")
    target = view.get(kind, canary.namespace, name)
    if target is None:
        candidates = ", ".join(o.name for o in view.of_kind(kind) if o.namespace == canary.namespace) or "none"
        out.add(canary, f"targetRef {kind} {canary.namespace}/{name} is not in the tree ({kind}s in "
                        f"{canary.namespace}: {candidates}); fix targetRef.name")
    return target


def _container_ports(target: KubeObject) -> tuple[set[int], set[str]]:
    numbers, names = set(), set()
    for container in containers(pod_template(target) or {}):
        for port in mappings(container, "ports"):
            if isinstance(port.get("containerPort"), int):
                numbers.add(port["containerPort"])
            if text(port, "name"):
                names.add(text(port, "name"))
    return numbers, names


def check_canary(view: StackView, services: Services, canary: KubeObject, out: Findings) -> None:
    spec = canary.spec
    target = _target(view, canary, out)
    if target is not None:
        if target.kind == "Deployment" and "replicas" in target.spec:
            out.add(target, f"sets spec.replicas but Canary {canary.namespace}/{canary.name} manages it "
                            "(Flagger scales the primary, and Flux would reset the replicas on every sync); "
                            "remove spec.replicas")
        service = mapping(spec, "service")
        port = service.get("targetPort", service.get("port"))
        numbers, names = _container_ports(target)
        if isinstance(port, int) and numbers and port not in numbers:
            out.add(canary, f"service targetPort {port} is not a container port of {target.kind} "
                            f"{target.namespace}/{target.name} (ports: {', '.join(map(str, sorted(numbers)))}); "
                            "set service.port/targetPort to the container port")
        elif isinstance(port, str) and port not in names:
            out.add(canary, f"service targetPort '{port}' is not a named container port of {target.kind} "
                            f"{target.namespace}/{target.name}; fix the port name")
    auto = spec.get("autoscalerRef")
    if isinstance(auto, dict):
        kind, name = text(auto, "kind"), text(auto, "name")
        hpa = view.get(kind, canary.namespace, name)
        if hpa is None:
            out.add(canary, f"autoscalerRef {kind} {canary.namespace}/{name} is not in the tree; fix the name")
        elif target is not None:
            scale = mapping(hpa.spec, "scaleTargetRef")
            if (scale.get("kind"), scale.get("name")) != (target.kind, target.name):
                out.add(canary, f"autoscalerRef {kind} {name} scales {scale.get('kind')}/{scale.get('name')}, "
                                f"not the Canary target {target.kind}/{target.name}; point it at the target")
    for ref in sequence(spec, "service", "gateways"):
        gateway_reference(view, canary, str(ref), "service.gateways", out)
    analysis = mapping(spec, "analysis")
    for metric in mappings(analysis, "metrics"):
        ref = metric.get("templateRef")
        if isinstance(ref, dict):
            namespace = text(ref, "namespace", default=canary.namespace)
            if view.get("MetricTemplate", namespace, text(ref, "name")) is None:
                out.add(canary, f"metric '{metric.get('name')}' templateRef names MetricTemplate "
                                f"{namespace}/{ref.get('name')}, which is not in the tree; fix the name or namespace")
    for hook in mappings(analysis, "webhooks"):
        url = text(hook, "url")
        if url:
            problem = services.check_url(url, f"webhook '{hook.get('name')}' url")
            if problem:
                out.add(canary, problem)
    for alert in mappings(analysis, "alerts"):
        name = text(alert, "providerRef", "name")
        if name:
            namespace = text(alert, "providerRef", "namespace", default=canary.namespace)
            if view.get("AlertProvider", namespace, name) is None:
                out.add(canary, f"alert providerRef AlertProvider {namespace}/{name} is not in the tree")


def check_metric_templates(view: StackView, services: Services, out: Findings) -> None:
    for template in view.subjects("MetricTemplate"):
        provider = mapping(template.spec, "provider")
        address = text(provider, "address")
        if address and provider.get("type") in (None, "prometheus"):
            problem = services.check_url(address, "provider address")
            if problem:
                out.add(template, problem)


def flagger_releases(view: StackView) -> list[KubeObject]:
    oci = oci_urls(view.of_kind("OCIRepository"))
    return [r for r in view.of_kind("HelmRelease") if chart_name(r, oci) == "flagger"]


def check_flagger(view: StackView, services: Services, out: Findings) -> None:
    for release in flagger_releases(view):
        if view.is_invalid(release):
            continue
        vals: dict[str, Any] = values(release)
        server = text(vals, "metricsServer")
        if server:
            problem = services.check_url(server, "values.metricsServer")
            if problem:
                out.add(release, problem)
        elif not mapping(vals, "prometheus").get("install"):
            out.add(release, "values.metricsServer is not set and prometheus.install is off; Flagger's default "
                             "http://prometheus:9090 does not exist here; set metricsServer to the tree's Prometheus")
        mesh = vals.get("meshProvider")
        if view.of_kind("Canary") and mesh not in (None, "istio"):
            out.add(release, f"values.meshProvider is '{mesh}' but the Canaries rely on Istio; set it to istio")


def check_canaries(view: StackView, services: Services, out: Findings) -> None:
    for canary in view.subjects("Canary"):
        check_canary(view, services, canary, out)
