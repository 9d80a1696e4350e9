"""What the Helm charts the platform installs create, as far as other objects refer to it.

HelmRelease objects do not list the Services and pod labels their charts
render, yet Gateways, Flagger and Canaries refer to them by name. For the
charts used here this module computes them from the release name and values
the way the charts' templates do; for other charts it knows nothing (and the
checks then do not guess).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

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
    if spec.get("releaseName"):
        return str(spec["releaseName"])
    if spec.get("targetNamespace"):
        return f"{spec['targetNamespace']}-{release.name}"[:53]
    return release.name


def release_namespace(release: KubeObject) -> str:
    return str(release.spec.get("targetNamespace") or release.namespace)


def values(release: KubeObject) -> dict[str, Any]:
    found = release.spec.get("values")
    return found if isinstance(found, dict) else {}


def chart_name(release: KubeObject, oci_urls: dict[tuple[str, str], str]) -> str:
    """Name of the chart a HelmRelease installs (chart.spec.chart, or the OCI artifact name)."""
    chart = ((release.spec.get("chart") or {}).get("spec") or {}).get("chart")
    if chart:
        return str(chart).rstrip("/").rsplit("/", 1)[-1]
    ref = release.spec.get("chartRef") or {}
    url = oci_urls.get((str(ref.get("namespace") or release.namespace), str(ref.get("name", ""))), "")
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
    labels = {str(k): str(v) for k, v in (vals.get("labels") or {}).items()}
    name = gateway_name(release)
    labels.setdefault("app", name)
    labels.setdefault("istio", name[len("istio-"):] if name.startswith("istio-") else name)
    labels["app.kubernetes.io/name"] = name
    labels["sidecar.istio.io/inject"] = "true"
    return labels


def chart_services(release: KubeObject, chart: str) -> Optional[list[Service]]:
    """Services the chart renders for this release; None for a chart this module does not know."""
    vals = values(release)
    name = release_name(release)
    namespace = release_namespace(release)
    origin = f"HelmRelease {release.namespace}/{release.name}"
    if chart == "gateway":
        ports = [p.get("port") for p in _get(vals, "service", "ports", default=[]) if isinstance(p, dict)]
        if not ports:
            ports = [15021, 80, 443]
        if _get(vals, "service", "type") == "None":
            return []
        return [Service(gateway_name(release), namespace, tuple(int(p) for p in ports if p), origin)]
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
        return [Service(fullname(name, chart, vals), namespace, (int(_get(vals, "service", "port", default=80)),),
                        origin)]
    if chart == "grafana":
        return [Service(fullname(name, chart, vals), namespace, (int(_get(vals, "service", "port", default=80)),),
                        origin)]
    if chart == "prometheus":
        server = _get(vals, "server", default={}) or {}
        if server.get("enabled", True) is False:
            return []
        component = str(server.get("name") or "server")
        if server.get("fullnameOverride"):
            service = str(server["fullnameOverride"])
        else:
            base = str(vals.get("nameOverride") or chart)
            service = f"{name}-{component}" if base in name else f"{name}-{base}-{component}"
        port = int(_get(server, "service", "servicePort", default=80))
        return [Service(service[:63].rstrip("-"), namespace, (port,), origin)]
    return None
