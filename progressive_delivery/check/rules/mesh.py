"""Istio: Gateways select pods that exist and listen where their Services send traffic, Canary namespaces get
sidecars, routes reach Services."""

from __future__ import annotations

from ...contract import GATEWAY_VALUES_CONFIGMAP
from ..access import mapping, mappings, sequence, string_map, text
from ..model import KubeObject
from ..view import ClusterView, containers, pod_template, selector_matches
from .registry import rule
from .services import Services

ISTIO_NETWORKING = "networking.istio.io"
INJECTION_LABEL = "istio-injection"
SIDECAR_INJECTOR = "sidecar-injector.istio.io"     # istiod's webhooks: <prefix>.sidecar-injector.istio.io
NO_TRANSLATION = "experimental.istio.io/disable-gateway-port-translation"
GATEWAY_HTTP_PORT = 80                             # the load balancer port of the k3d cluster (cluster.py)


@rule("Istio Gateway selectors")
def gateway_selectors(view: ClusterView) -> None:
    pods = [(w, _pod_labels(w))
            for w in view.valid("Deployment", "DaemonSet", "StatefulSet")]
    for gateway in view.from_tree("Gateway"):
        selector = string_map(gateway.spec, "selector")
        if gateway.group != ISTIO_NETWORKING or not selector:
            continue
        if any(all(labels.get(k) == v for k, v in selector.items()) for _, labels in pods):
            continue
        if view.unrendered:
            view.notices.append(f"{gateway.describe()}: no pods match its selector among what was rendered; a chart "
                                "that was not rendered may run them")
            continue
        candidates = [f"{w.describe()} labels its pods " + ", ".join(f"{k}={labels[k]}" for k in sorted(selector)
                                                                      if k in labels)
                      for w, labels in pods if set(selector) & set(labels)]
        view.findings.add(gateway, f"selector {', '.join(f'{k}={v}' for k, v in sorted(selector.items()))} matches no "
                                   f"pods: {'; '.join(candidates) or 'no workload has those label keys'}; make the "
                                   "selector match the gateway pods' labels")


def _pod_labels(workload: KubeObject) -> dict[str, str]:
    return string_map(pod_template(workload), "metadata", "labels")


def _service_ports(view: ClusterView, workload: KubeObject) -> list[tuple[KubeObject, int, int]]:
    """(Service, port, targetPort) of each Service port that sends traffic to the workload's pods; a named
    targetPort is resolved to the container port of that name (left out when there is none)."""
    labels, named = _pod_labels(workload), {text(p, "name"): p.get("containerPort") for c in containers(
        pod_template(workload) or {}) for p in mappings(c, "ports")}
    found = []
    for service in view.valid("Service"):
        selector = string_map(service.spec, "selector")
        if service.namespace != workload.namespace or not selector or not selector.items() <= labels.items():
            continue
        for entry in mappings(service.spec, "ports"):
            port = entry.get("port")
            target = entry.get("targetPort", port)
            target = named.get(target) if isinstance(target, str) else target
            if isinstance(port, int) and isinstance(target, int):
                found.append((service, port, target))
    return found


@rule("Istio Gateway ports")
def gateway_ports(view: ClusterView) -> None:
    """Each server port of a Gateway is one istiod listens on where Service traffic arrives. istiod maps a
    server port that is a port of a Service in front of the selected pods to that port's targetPort, and
    listens on any other as written (istio/istio@1.31.0-rc.0:pilot/pkg/model/gateway.go:497-532
    resolvePorts, not for Services labelled experimental.istio.io/disable-gateway-port-translation, :173);
    only a listener on some targetPort of those Services receives their traffic."""
    for gateway in view.from_tree("Gateway"):
        selector = string_map(gateway.spec, "selector")
        if gateway.group != ISTIO_NETWORKING or not selector:
            continue
        pods = [w for w in view.valid("Deployment", "DaemonSet", "StatefulSet")
                if selector.items() <= _pod_labels(w).items()]
        ports = [entry for w in pods for entry in _service_ports(view, w)]
        if pods and not ports:
            view.notices.append(f"{gateway.describe()}: no Service sends traffic to the pods it selects; its server "
                                "ports were not checked")
        reached = {target for _, _, target in ports} | {port for s, port, _ in ports if NO_TRANSLATION not in s.labels}
        for index, server in enumerate(mappings(gateway.spec, "servers")):
            number = mapping(server, "port").get("number")
            if not ports or not isinstance(number, int) or number in reached:
                continue
            served = ", ".join(sorted({f"{s.namespace}/{s.name} {p}->{t}" for s, p, t in ports}))
            view.findings.add(gateway, f"servers[{index}].port.number {number} is neither a port nor a targetPort of "
                                       f"the Services in front of its pods ({served}), so istiod's listener on it "
                                       "gets no traffic; use one of the Services' ports")


@rule("gateway Service port (stacks)")
def gateway_service_port(view: ClusterView) -> None:
    """In a stack, the gateway release (the one reading the program's gateway values) serves port 80: k3d's
    load balancer forwards the stack's httpPort there (progressive_delivery/cluster.py `80@loadbalancer`)."""
    if not view.target.is_stack:
        return
    for release in view.from_tree("HelmRelease"):
        if not any(text(v, "kind") == "ConfigMap" and text(v, "name") == GATEWAY_VALUES_CONFIGMAP
                   for v in mappings(release.spec, "valuesFrom")):
            continue
        by = f"{release.namespace}/{release.name}"
        if by in view.unrendered:
            continue                     # listed as not rendered, or its failure is a finding already
        services = [s for s in view.valid("Service") if s.rendered_by == by]
        if not services:
            view.findings.add(release, f"renders no Service, but the stack's HTTP port reaches the gateway through a "
                                       f"Service on port {GATEWAY_HTTP_PORT}; keep service.type other than None")
        for service in services:
            ports = [p.get("port") for p in mappings(service.spec, "ports")]
            if GATEWAY_HTTP_PORT not in ports:
                view.findings.add(service, f"serves ports {', '.join(map(str, ports)) or 'none'}, not "
                                           f"{GATEWAY_HTTP_PORT}, where k3d's load balancer sends the stack's HTTP "
                                           f"port (progressive_delivery/cluster.py); keep service.ports' port "
                                           f"{GATEWAY_HTTP_PORT}")


@rule("sidecar injection")
def injection(view: ClusterView) -> None:
    """Canary targets get an Istio sidecar: injected by hand (an istio-proxy container) or by a sidecar
    injector webhook of the cluster whose namespace and object selectors match (the rendered
    MutatingWebhookConfiguration of istiod)."""
    webhooks = [w for config in view.valid("MutatingWebhookConfiguration") for w in mappings(config.body, "webhooks")
                if text(w, "name").endswith(SIDECAR_INJECTOR)]
    canaries = list(view.from_tree("Canary"))
    if canaries and not webhooks and view.unrendered:
        view.notices.append("sidecar injection of Canary targets not checked: no injector webhook among the rendered "
                            "charts")
    for canary in canaries if webhooks else []:
        ref = mapping(canary.spec, "targetRef")
        target = view.get(text(ref, "kind"), canary.namespace, text(ref, "name"))
        namespace = view.get("Namespace", "", canary.namespace)
        template = pod_template(target) if target else None
        if template is None or namespace is None or any(
                text(c, "name") == "istio-proxy" for c in mappings(template, "spec", "containers")):
            continue
        namespace_labels = {**namespace.labels, "kubernetes.io/metadata.name": namespace.name}
        pod_labels = string_map(template, "metadata", "labels")
        if any(selector_matches(mapping(w, "namespaceSelector"), namespace_labels)
               and selector_matches(mapping(w, "objectSelector"), pod_labels) for w in webhooks):
            continue
        view.findings.add(canary, f"its target's pods get no Istio sidecar: no sidecar injector webhook selects "
                                  f"namespace {namespace.name} and their labels; label the namespace "
                                  f"{INJECTION_LABEL}: enabled and do not label the pods sidecar.istio.io/inject: "
                                  "\"false\"")


def gateway_reference(view: ClusterView, owner: KubeObject, ref: str, field: str) -> None:
    """A Gateway reference as Istio and Flagger read it: `mesh`, `<namespace>/<name>`, `<name>` (same
    namespace) or `<name>.<namespace>.svc.cluster.local`."""
    if ref == "mesh":
        return
    namespace, slash, name = ref.rpartition("/")
    if not slash and "." in name:
        name, namespace = name.split(".", 2)[:2]
    namespace = namespace or owner.namespace
    if not view.exists("Gateway", namespace, name):
        known = ", ".join(f"{g.namespace}/{g.name}" for g in view.all_of("Gateway")) or "none"
        view.findings.add(owner, f"{field} entry '{ref}' names Gateway {namespace}/{name}, which the cluster does not "
                                 f"have (Gateways: {known}); use <namespace>/<name>")


@rule("VirtualService routes")
def virtual_services(view: ClusterView) -> None:
    services = Services(view)
    for virtual in view.from_tree("VirtualService"):
        for ref in sequence(virtual.spec, "gateways"):
            gateway_reference(view, virtual, str(ref), "gateways")
        for protocol in ("http", "tcp", "tls"):
            for route in (r for rule_ in mappings(virtual.spec, protocol) for r in mappings(rule_, "route")):
                destination = mapping(route, "destination")
                host = text(destination, "host")
                if not host or "*" in host:
                    continue
                port = mapping(destination, "port").get("number")
                problem = services.check_host(host, port if isinstance(port, int) else None,
                                              f"{protocol} route destination", virtual.namespace)
                if problem:
                    view.findings.add(virtual, problem)
