"""What the Helm charts the platform installs create, as far as other objects refer to it.

HelmRelease objects do not list the Services and pod labels their charts
render, yet Gateways, Flagger and Canaries refer to them by name. For the
charts used here this module computes them from the release name and values
the way the charts' templates do; for other charts it knows nothing (and the
checks then do not guess).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .access import mapping, mappings, text
from .model import KubeObject


@dataclass(frozen=True)
class Service:
    """A Service some object may call: name, namespace and ports (numbers and names)."""

    name: str
    namespace: str
    ports: tuple[int, ...]
    origin: str                     # "HelmRelease ns/name" or the tree file


def release_name(release: KubeObject) -> str:
    """Helm release name Flux uses: spec.releaseName, else `[<targetNamespace>-]<name>`."""
    spec = release.spec
    if text(spec, "releaseName"):
        return text(spec, "releaseName")
    if text(spec, "targetNamespace"):
        return f"{text(spec, 'targetNamespace')}-{release.name}"[:53]
    return release.name


def release_namespace(release: KubeObject) -> str:
    return text(release.spec, "targetNamespace", default=release.namespace)


def oci_urls(repositories: Iterable[KubeObject]) -> dict[tuple[str, str], str]:
    """spec.url of OCIRepositories by (namespace, name)."""
    return {(o.namespace, o.name): text(o.spec, "url") for o in repositories}


def values(release: KubeObject) -> dict[str, Any]:
    found = release.spec.get("values")
    return found if isinstance(found, dict) else {}


def chart_name(release: KubeObject, oci_urls: dict[tuple[str, str], str]) -> str:
    """Name of the chart a HelmRelease installs (chart.spec.chart, or the OCI artifact name)."""
    chart = text(release.spec, "chart", "spec", "chart")
    if chart:
        return chart.rstrip("/").rsplit("/", 1)[-1]
    ref = mapping(release.spec, "chartRef")
    url = oci_urls.get((text(ref, "namespace", default=release.namespace), text(ref, "name")), "")
    return url.rstrip("/").rsplit("/", 1)[-1]


def _get(data: dict[str, Any], *path: str, default: Any = None) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data if data is not None else default


def fullname(release: str, chart: str, vals: dict[str, Any]) -> str:
    """The common Helm `fullname` helper: fullnameOverride, else release[-name] (63 characters)."""
    if vals.get("fullnameOverride"):
        return str(vals["fullnameOverride"])[:63].rstrip("-")
    name = str(vals.get("nameOverride") or chart)
    result = release if name in release else f"{release}-{name}"
    return result[:63].rstrip("-")


def gateway_name(release: KubeObject) -> str:
    """Name of the istio gateway chart's Deployment and Service (`name` value or the release name)."""
    return str(values(release).get("name") or release_name(release))


def gateway_pod_labels(release: KubeObject) -> dict[str, str]:
    """Pod labels the istio gateway chart sets: app/istio (unless `labels` overrides them) and `labels`."""
    vals = values(release)
    labels = {str(k): str(v) for k, v in mapping(vals, "labels").items()}
    name = gateway_name(release)
    labels.setdefault("app", name)
    labels.setdefault("istio", name[len("istio-"):] if name.startswith("istio-") else name)
    labels["app.kubernetes.io/name"] = name
    labels["sidecar.istio.io/inject"] = "true"
    return labels


def chart_services(release: KubeObject, chart: str) -> list[Service] | None:
    """Services the chart renders for this release; None for a chart this module does not know."""
    vals = values(release)
    name = release_name(release)
    namespace = release_namespace(release)
    origin = f"HelmRelease {release.namespace}/{release.name}"
    if chart == "gateway":
        ports = [p.get("port") for p in mappings(vals, "service", "ports") if isinstance(p.get("port"), int)]
        if not ports:
            ports = [15021, 80, 443]
        if _get(vals, "service", "type") == "None":
            return []
        return [Service(gateway_name(release), namespace, tuple(ports), origin)]
    if chart == "istiod":
        revision = vals.get("revision") or ""
        return [Service("istiod" + (f"-{revision}" if revision else ""), namespace, (15010, 15012, 443, 15014),
                        origin)]
    if chart == "base":
        return []
    if chart == "flagger":
        if _get(vals, "prometheus", "install"):
            return [Service(f"{fullname(name, chart, vals)}-prometheus", namespace, (9090,), origin)]
        return []
    if chart == "loadtester":
        return [Service(fullname(name, chart, vals), namespace, _port(vals, "service", "port"), origin)]
    if chart == "grafana":
        return [Service(fullname(name, chart, vals), namespace, _port(vals, "service", "port"), origin)]
    if chart == "prometheus":
        server = mapping(vals, "server")
        if server.get("enabled", True) is False:
            return []
        component = str(server.get("name") or "server")
        if server.get("fullnameOverride"):
            service = str(server["fullnameOverride"])
        else:
            base = str(vals.get("nameOverride") or chart)
            service = f"{name}-{component}" if base in name else f"{name}-{base}-{component}"
        return [Service(service[:63].rstrip("-"), namespace, _port(server, "service", "servicePort"), origin)]
    return None


def _port(vals: dict[str, Any], *path: str) -> tuple[int, ...]:
    """A chart's service port value (default 80); () when it is not a number, so no port is assumed."""
    port = _get(vals, *path, default=80)
    return (port,) if isinstance(port, int) else ()
