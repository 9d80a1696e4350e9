"""Istio: Gateways select pods that exist, Canary namespaces get sidecars, routes reach Services."""

from __future__ import annotations

from ..access import mapping, mappings, sequence, text
from ..model import KubeObject
from ..view import ClusterView, pod_template, selector_matches
from .registry import rule
from .services import Services

ISTIO_NETWORKING = "networking.istio.io"
INJECTION_LABEL = "istio-injection"
SIDECAR_INJECTOR = "sidecar-injector.istio.io"     # istiod's webhooks: <prefix>.sidecar-injector.istio.io


@rule("Istio Gateway selectors")
def gateway_selectors(view: ClusterView) -> None:
    pods = [(w, {str(k): str(v) for k, v in mapping(pod_template(w), "metadata", "labels").items()})
            for w in view.valid("Deployment", "DaemonSet", "StatefulSet")]
    for gateway in view.from_tree("Gateway"):
        selector = {str(k): str(v) for k, v in mapping(gateway.spec, "selector").items()}
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
        pod_labels = {str(k): str(v) for k, v in mapping(template, "metadata", "labels").items()}
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
