"""Istio Gateway ports: servers listen where the gateway Service sends traffic, and a stack's gateway serves 80."""

from __future__ import annotations

from conftest import CheckTree, chart

from progressive_delivery.check import check_platform


def service_ports(http: int, target: int):
    """Gateway chart values: the chart's default ports with `http2` on port `http` -> `target`."""
    return lambda doc: doc["spec"]["values"].__setitem__("service", {"ports": [
        {"name": "status-port", "port": 15021, "protocol": "TCP", "targetPort": 15021},
        {"name": "http2", "port": http, "protocol": "TCP", "targetPort": target},
        {"name": "https", "port": 443, "protocol": "TCP", "targetPort": 443}]})


def server_port(number: int):
    return lambda doc: doc["spec"]["servers"][0]["port"].__setitem__("number", number)


def lines(tree: CheckTree) -> list[str]:
    return [f"{f.path}: {f.kind}/{f.namespace}/{f.name}: {f.message}"
            for f in check_platform(tree.root, ["staging"]).findings]


def test_a_gateway_server_port_the_service_does_not_serve_is_a_finding(check_tree: CheckTree, check_charts):
    rel, _ = check_tree.edit("Gateway", server_port(8080))
    assert lines(check_tree) == [
        f"{rel}: Gateway/istio-ingress/public-gateway: servers[0].port.number 8080 is neither a port nor a "
        "targetPort of the Services in front of its pods (istio-ingress/istio-ingressgateway 15021->15021, "
        "istio-ingress/istio-ingressgateway 443->443, istio-ingress/istio-ingressgateway 80->80), so istiod's "
        "listener on it gets no traffic; use one of the Services' ports"]


def test_a_gateway_service_moved_off_port_80_is_a_finding_in_a_stack(check_tree: CheckTree, check_charts):
    rel, _ = check_tree.edit("HelmRelease", service_ports(8080, 80), chart("gateway"))
    assert lines(check_tree) == [
        f"{rel}: Service/istio-ingress/istio-ingressgateway: serves ports 15021, 8080, 443, not 80, where k3d's "
        "load balancer sends the stack's HTTP port (progressive_delivery/cluster.py); keep service.ports' port 80 "
        "(rendered by HelmRelease flux-system/istio-ingressgateway)"]


def test_a_server_port_reaches_the_listener_as_a_service_port_or_a_target_port(check_tree: CheckTree, check_charts):
    """Service 80 -> 8080: a server on 80 is translated to 8080, a server on 8080 listens there directly."""
    check_tree.edit("HelmRelease", service_ports(80, 8080), chart("gateway"))
    assert lines(check_tree) == []
    check_tree.edit("Gateway", server_port(8080))
    assert lines(check_tree) == []
