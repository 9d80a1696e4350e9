"""Services a cluster offers by name: those the tree applies and its charts render, and the three
Flagger creates for each Canary (`<service.name or target>`, `-primary`, `-canary` on service.port).
Calls by URL or host name are checked against them; in a namespace where a chart could not be
rendered a missing Service is not reported (the report lists that release as not rendered). A name
`<a>.<b>` is Service a of namespace b only when the cluster has namespace b; otherwise it is a host
outside the cluster (example.com).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from ..access import mapping, mappings, text
from ..view import ClusterView

_SUFFIXES: tuple[list[str], ...] = ([], ["svc"], ["svc", "cluster", "local"])


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str
    ports: tuple[int, ...]
    origin: str


class Services:
    """The Services of one cluster, by namespace and name."""

    def __init__(self, view: ClusterView):
        self.by_key: dict[tuple[str, str], Service] = {}
        self.opaque = view.unrendered_namespaces()
        self.namespaces = {n.name for n in view.all_of("Namespace")} | {o.namespace for o in view.objects} | \
            self.opaque
        for svc in view.valid("Service"):
            ports = tuple(p["port"] for p in mappings(svc.spec, "ports") if isinstance(p.get("port"), int))
            origin = f"HelmRelease {svc.rendered_by}" if svc.rendered_by else svc.path
            self.by_key.setdefault((svc.namespace, svc.name), Service(svc.name, svc.namespace, ports, origin))
        for canary in view.valid("Canary"):
            name = text(canary.spec, "service", "name") or text(canary.spec, "targetRef", "name")
            port = mapping(canary.spec, "service").get("port")
            for suffix in ("", "-primary", "-canary"):
                if name and isinstance(port, int):
                    self.by_key.setdefault((canary.namespace, name + suffix), Service(
                        name + suffix, canary.namespace, (port,), f"created by Flagger for {canary.describe()}"))

    def check_host(self, host: str, port: int | None, what: str, namespace: str) -> str | None:
        """None when <service>[.<namespace>[.svc[.cluster.local]]]:port names a Service port; else why not.
        A bare name is a Service of `namespace`."""
        labels = host.lower().split(".")
        if len(labels) == 1:
            labels.append(namespace)
        elif len(labels) == 2 and labels[1] not in self.namespaces:
            return None          # no such namespace: a host outside the cluster (example.com)
        if labels[2:] not in _SUFFIXES:
            return None          # not a cluster name (an external host): nothing to check
        name, where = labels[0], labels[1]
        service = self.by_key.get((where, name))
        if service is None:
            if where in self.opaque:
                return None
            elsewhere = sorted(ns for ns, n in self.by_key if n == name)
            hint = (f"a Service {name} exists in {', '.join(elsewhere)}" if elsewhere else
                    f"Services in {where}: {', '.join(sorted(n for ns, n in self.by_key if ns == where)) or 'none'}")
            return f"{what} '{host}' names Service {where}/{name}, which the cluster does not have ({hint}); fix it"
        if port is not None and service.ports and port not in service.ports:
            return (f"{what} '{host}:{port}' uses port {port}, but Service {where}/{name} ({service.origin}) serves "
                    f"{', '.join(map(str, service.ports))}; fix the port")
        return None

    def check_url(self, url: str, what: str, namespace: str) -> str | None:
        """None when an http(s) URL points at a Service and port of the cluster (or outside it)."""
        usage = "use http://<service>.<namespace>[:port]/..."
        try:
            parts = urlsplit(url if "://" in url else f"http://{url}")
            host, port = parts.hostname, parts.port
        except ValueError as error:
            return f"{what} '{url}' is not a valid URL ({error}); {usage}"
        if parts.scheme not in ("http", "https") or not host:
            return f"{what} '{url}' is not an http(s) URL; {usage}"
        return self.check_host(host, port or (443 if parts.scheme == "https" else 80), what, namespace)
