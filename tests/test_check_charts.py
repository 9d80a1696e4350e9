"""What the charts render, as the checks model it: release names, gateway pod labels, Services."""

from progressive_delivery.check.charts import chart_services, gateway_pod_labels, release_name
from progressive_delivery.check.model import KubeObject


def release(name: str, **spec) -> KubeObject:
    return KubeObject({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                       "metadata": {"name": name, "namespace": "flux-system"}, "spec": spec}, "x.yaml", "apps")


def test_release_name_follows_flux():
    assert release_name(release("gw")) == "gw"
    assert release_name(release("gw", targetNamespace="istio-ingress")) == "istio-ingress-gw"
    assert release_name(release("gw", targetNamespace="istio-ingress", releaseName="istio-ingressgateway")) == \
        "istio-ingressgateway"


def test_gateway_pod_labels():
    labels = gateway_pod_labels(release("istio-ingressgateway"))
    assert labels["istio"] == "ingressgateway" and labels["app"] == "istio-ingressgateway"
    assert gateway_pod_labels(release("public"))["istio"] == "public"
    named = gateway_pod_labels(release("x", values={"name": "istio-edge"}))
    assert named["istio"] == "edge" and named["app"] == "istio-edge"
    overridden = gateway_pod_labels(release("istio-ingressgateway", values={"labels": {"istio": "custom",
                                                                                        "team": "a"}}))
    assert overridden["istio"] == "custom" and overridden["app"] == "istio-ingressgateway"
    assert overridden["team"] == "a"


def test_chart_services():
    prometheus = chart_services(release("prometheus", targetNamespace="monitoring", releaseName="prometheus"),
                                "prometheus")
    assert [(s.name, s.namespace, s.ports) for s in prometheus] == [("prometheus-server", "monitoring", (80,))]
    other = chart_services(release("metrics", releaseName="metrics"), "prometheus")
    assert other[0].name == "metrics-prometheus-server"
    tester = chart_services(release("flagger-loadtester", targetNamespace="loadtester",
                                    releaseName="flagger-loadtester"), "loadtester")
    assert (tester[0].name, tester[0].namespace, tester[0].ports) == ("flagger-loadtester", "loadtester", (80,))
    grafana = chart_services(release("grafana", values={"service": {"port": 3000}}), "grafana")
    assert (grafana[0].name, grafana[0].ports) == ("grafana", (3000,))
    gateway = chart_services(release("istio-ingressgateway"), "gateway")
    assert gateway[0].ports == (15021, 80, 443)
    assert chart_services(release("x"), "some-unknown-chart") is None
