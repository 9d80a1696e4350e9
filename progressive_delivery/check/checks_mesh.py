"""Istio: Gateways select the gateway pods the tree installs; app namespaces get sidecars."""

from __future__ import annotations

from .access import mapping, mappings, sequence, text
from .charts import chart_name, gateway_pod_labels, oci_urls, release_namespace
from .model import Findings, KubeObject
from .network import Services
from .view import StackView, pod_template

INJECTION_LABEL = "istio-injection"
REVISION_LABEL = "istio.io/rev"


def gateway_workloads(view: StackView) -> list[tuple[str, dict[str, str]]]:
    """(description, pod labels) of every gateway the tree installs: gateway chart releases and workloads."""
    oci = oci_urls(view.of_kind("OCIRepository"))
    found = []
    for release in view.of_kind("HelmRelease"):
        if chart_name(release, oci) == "gateway":
            found.append((f"HelmRelease {release.namespace}/{release.name} (in {release_namespace(release)})",
                          gateway_pod_labels(release)))
    for workload in view.tree_objects("Deployment", "DaemonSet"):
        labels = mapping(pod_template(workload), "metadata", "labels")
        found.append((f"{workload.kind} {workload.namespace}/{workload.name}", {k: str(v) for k, v in labels.items()}))
    return found


def check_gateways(view: StackView, out: Findings) -> None:
    workloads = gateway_workloads(view)
    for gateway in view.subjects("Gateway"):
        if gateway.group != "networking.istio.io":
            continue
        selector = {str(k): str(v) for k, v in mapping(gateway.spec, "selector").items()}
        if not selector:
            continue
        if any(all(labels.get(k) == v for k, v in selector.items()) for _, labels in workloads):
            continue
        wanted = ", ".join(f"{k}={v}" for k, v in sorted(selector.items()))
        gateways = [(what, labels) for what, labels in workloads if what.startswith("HelmRelease")]
        offered = "; ".join(f"{what} labels its pods istio={labels.get('istio')}, app={labels.get('app')}"
                            for what, labels in gateways)
        out.add(gateway, f"selector {wanted} matches no gateway pods: "
                         + (offered if offered else "the tree installs no istio gateway chart")
                         + "; make the selector match the gateway's pod labels")


def check_injection(view: StackView, out: Findings) -> None:
    namespaces = sorted({c.namespace for c in view.subjects("Canary") if c.namespace})
    for name in namespaces:
        namespace = view.get("Namespace", "", name)
        if namespace is None:
            continue
        labels = namespace.labels
        if labels.get(INJECTION_LABEL) == "enabled" or labels.get(REVISION_LABEL):
            continue
        out.add(namespace, f"holds a Canary target but has no sidecar injection; label it "
                           f"{INJECTION_LABEL}: enabled (or {REVISION_LABEL}: <revision>) so its pods join the mesh")


def check_virtual_services(view: StackView, services: Services, out: Findings) -> None:
    for virtual in view.tree_subjects("VirtualService"):
        for ref in sequence(virtual.spec, "gateways"):
            _check_gateway_ref(view, virtual, str(ref), "gateways", out)
        for protocol in ("http", "tcp", "tls"):
            for rule in mappings(virtual.spec, protocol):
                for route in mappings(rule, "route"):
                    destination = mapping(route, "destination")
                    host = text(destination, "host")
                    labels = host.split(".")
                    if not host or "*" in host or (len(labels) > 2 and labels[2:] not in (["svc"], [
                            "svc", "cluster", "local"])):
                        continue
                    if len(labels) == 1:
                        host = f"{host}.{virtual.namespace}"
                    port = mapping(destination, "port").get("number")
                    problem = services.check_host(host, port if isinstance(port, int) else None,
                                                  f"{protocol} route destination")
                    if problem:
                        out.add(virtual, problem)


def _check_gateway_ref(view: StackView, owner: KubeObject, ref: str, field: str, out: Findings) -> None:
    """A Gateway reference as Istio and Flagger read it: `mesh`, `<namespace>/<name>`, `<name>` (same
    namespace) or `<name>.<namespace>.svc.cluster.local`."""
    if ref == "mesh":
        return
    namespace, slash, name = ref.rpartition("/")
    if not slash and "." in name:
        name, namespace = name.split(".", 2)[:2]
    namespace = namespace or owner.namespace
    if view.get("Gateway", namespace, name) is None:
        known = ", ".join(f"{g.namespace}/{g.name}" for g in view.of_kind("Gateway")) or "none"
        out.add(owner, f"{field} entry '{ref}' names Gateway {namespace}/{name}, which is not in the tree "
                       f"(Gateways: {known}); use <namespace>/<name>")


gateway_reference = _check_gateway_ref
