"""Flagger: Canaries, MetricTemplates and Flagger's own flags refer to things the cluster has.

Flagger's settings are read from its rendered Deployment: the container command's `-metrics-server=URL`
and `-mesh-provider=NAME` (fluxcd/flagger@v1.44.0:charts/flagger/templates/deployment.yaml).
"""

from __future__ import annotations

from ..access import mapping, mappings, sequence, text
from ..model import KubeObject
from ..view import ClusterView, containers, pod_template
from .mesh import ISTIO_NETWORKING, gateway_reference
from .registry import rule
from .services import Services


def _container_ports(target: KubeObject) -> tuple[set[int], set[str]]:
    numbers, names = set(), set()
    for container in containers(pod_template(target) or {}):
        for port in mappings(container, "ports"):
            if isinstance(port.get("containerPort"), int):
                numbers.add(port["containerPort"])
            if text(port, "name"):
                names.add(text(port, "name"))
    return numbers, names


def _target(view: ClusterView, canary: KubeObject) -> KubeObject | None:
    ref = mapping(canary.spec, "targetRef")
    kind, name = text(ref, "kind"), text(ref, "name")
    target = view.get(kind, canary.namespace, name)
    if target is None:
        known = ", ".join(o.name for o in view.all_of(kind) if o.namespace == canary.namespace) or "none"
        view.findings.add(canary, f"targetRef {kind} {canary.namespace}/{name} is not in the cluster ({kind}s in "
                                  f"{canary.namespace}: {known}); fix targetRef.name")
    return target


@rule("Canary targets")
def canary_targets(view: ClusterView) -> None:
    for canary in view.from_tree("Canary"):
        target = _target(view, canary)
        if target is None:
            continue
        if target.kind == "Deployment" and "replicas" in target.spec:
            view.findings.add(target, f"sets spec.replicas but {canary.describe()} manages them (Flux would reset "
                                      "the primary's replicas on every sync); remove spec.replicas")
        service = mapping(canary.spec, "service")
        port = service.get("targetPort", service.get("port"))
        numbers, names = _container_ports(target)
        if isinstance(port, int) and numbers and port not in numbers:
            view.findings.add(canary, f"service targetPort {port} is not a container port of {target.describe()} "
                                      f"(ports: {', '.join(map(str, sorted(numbers)))}); fix service.port/targetPort")
        elif isinstance(port, str) and port not in names:
            view.findings.add(canary, f"service targetPort '{port}' is not a named container port of "
                                      f"{target.describe()}; fix the port name")
        auto = mapping(canary.spec, "autoscalerRef")
        if auto:
            hpa = view.get(text(auto, "kind"), canary.namespace, text(auto, "name"))
            scale = mapping(hpa.spec, "scaleTargetRef") if hpa else {}
            if hpa is None:
                view.findings.add(canary, f"autoscalerRef {text(auto, 'kind')} {canary.namespace}/"
                                          f"{text(auto, 'name')} is not in the cluster; fix the name")
            elif (text(scale, "kind"), text(scale, "name")) != (target.kind, target.name):
                view.findings.add(canary, f"autoscalerRef {hpa.name} scales {text(scale, 'kind')}/"
                                          f"{text(scale, 'name')}, not the Canary target {target.kind}/{target.name};"
                                          " point it at the target")


@rule("Canary references")
def canary_references(view: ClusterView) -> None:
    services = Services(view)
    for canary in view.from_tree("Canary"):
        for ref in sequence(canary.spec, "service", "gateways"):
            gateway_reference(view, canary, str(ref), "service.gateways")
        analysis = mapping(canary.spec, "analysis")
        for metric in mappings(analysis, "metrics"):
            ref = mapping(metric, "templateRef")
            namespace = text(ref, "namespace", default=canary.namespace)
            if ref and not view.exists("MetricTemplate", namespace, text(ref, "name")):
                view.findings.add(canary, f"metric '{text(metric, 'name')}' templateRef names MetricTemplate "
                                          f"{namespace}/{text(ref, 'name')}, which the cluster does not have; fix it")
        for hook in mappings(analysis, "webhooks"):
            problem = services.check_url(text(hook, "url"), f"webhook '{text(hook, 'name')}' url", canary.namespace)
            if text(hook, "url") and problem:
                view.findings.add(canary, problem)
        for alert in mappings(analysis, "alerts"):
            name = text(alert, "providerRef", "name")
            namespace = text(alert, "providerRef", "namespace", default=canary.namespace)
            if name and not view.exists("AlertProvider", namespace, name):
                view.findings.add(canary, f"alert providerRef AlertProvider {namespace}/{name} is not in the cluster")
    for template in view.from_tree("MetricTemplate"):
        address = text(template.spec, "provider", "address")
        if address and text(template.spec, "provider", "type", default="prometheus") == "prometheus":
            problem = services.check_url(address, "provider address", template.namespace)
            if problem:
                view.findings.add(template, problem)


def flagger_flags(view: ClusterView) -> list[tuple[KubeObject, dict[str, str]]]:
    """Each Deployment running Flagger (a container with -mesh-provider), with its `-flag=value` flags."""
    found = []
    for deployment in view.valid("Deployment"):
        for container in containers(pod_template(deployment) or {}):
            words = [str(w) for w in [*sequence(container, "command"), *sequence(container, "args")]]
            flags = dict(w.lstrip("-").split("=", 1) for w in words if w.startswith("-") and "=" in w)
            if "mesh-provider" in flags:
                found.append((deployment, flags))
    return found


@rule("Flagger settings")
def flagger_settings(view: ClusterView) -> None:
    services = Services(view)
    istio_canaries = [c for c in view.valid("Canary") if _routes_through_istio(view, c)]
    for deployment, flags in flagger_flags(view):
        server = flags.get("metrics-server", "")
        problem = server and services.check_url(server, "Flagger -metrics-server", deployment.namespace)
        if problem:
            view.findings.add(deployment, f"{problem} (set the chart's metricsServer value)")
        provider = flags.get("mesh-provider", "")
        for canary in istio_canaries:
            if not text(canary.spec, "provider") and provider != "istio":
                view.findings.add(canary, f"routes through Istio Gateways, but Flagger runs with -mesh-provider="
                                          f"{provider}; set the chart's meshProvider value to istio or "
                                          "spec.provider: istio")


def _routes_through_istio(view: ClusterView, canary: KubeObject) -> bool:
    for ref in sequence(canary.spec, "service", "gateways"):
        namespace, _, name = str(ref).rpartition("/")
        gateway = view.get("Gateway", namespace or canary.namespace, name)
        if gateway is not None and gateway.group == ISTIO_NETWORKING:
            return True
    return False
