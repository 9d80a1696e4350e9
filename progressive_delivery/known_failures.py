"""Failures `status` recognises in the objects it lists, each told in one line with what to do.

The local registry's name lost inside the cluster: image-reflector-controller
reports a failed scan as Ready=False, reason ReadOperationFailed, message
"scan failed: <error>" (fluxcd/image-reflector-controller@v1.0.4 and @v1.2.0:
internal/controller/imagerepository_controller.go), and a name the cluster's
DNS cannot resolve reaches that message as Go's "lookup <host> ...: no such
host" (golang/go: src/net/net.go, DNSError.Error). Image automation then stops
seeing new tags, and releases stop without any other sign.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .config import Settings
from .readiness import Listing, object_name, ready_condition


def registry_host(image: str) -> str:
    """Host of an image repository reference, without its port (`k3d-x-registry:5000/app` -> `k3d-x-registry`)."""
    return image.split("/", 1)[0].rsplit(":", 1)[0]


def unresolved_registry(image_repository: Mapping[str, Any]) -> str | None:
    """The registry host an ImageRepository's last scan could not resolve, or None."""
    image = str((image_repository.get("spec") or {}).get("image") or "")
    condition = ready_condition(image_repository)
    if not image or condition is None or condition.get("status") != "False":
        return None
    host = registry_host(image)
    message = str(condition.get("message") or "")
    return host if f"lookup {host}" in message and "no such host" in message else None


def registry_name_fix(settings: Settings) -> str | None:
    """The one command that makes the local registry's name resolvable in the cluster again (None: none known).

    A restart by Docker brings the nodes back without k3d, and k3s rewrites
    CoreDNS's NodeHosts without the registry. `k3d cluster start` injects the
    cluster network's members (the registry among them) into NodeHosts, but
    only when it starts nodes that were stopped (k3d-io/k3d@v5.8.3:
    pkg/client/cluster.go `ClusterStart`), hence the stop first.
    """
    name = settings.cluster.name
    return f"k3d cluster stop {name} && k3d cluster start {name}"


def registry_name_lost(listings: Sequence[Listing], settings: Settings) -> str | None:
    """One line when image scans cannot resolve the stack's local registry, as after a Docker restart."""
    if not settings.registry.is_local:
        return None
    local_host = settings.registry.container_name(settings.cluster.name)
    for listing in listings:
        if listing.kind != "ImageRepository":
            continue
        for item in listing.items:
            if unresolved_registry(item) == local_host:
                fix = registry_name_fix(settings)
                what = (f"ImageRepository {object_name(item)} cannot resolve the local registry '{local_host}' "
                        "(no such host), as happens when the cluster's DNS loses its name after a Docker or host "
                        "restart: new versions are not deployed")
                return f"{what}; fix it with `{fix}`" if fix else f"{what} until the cluster resolves it again"
    return None


def diagnose(listings: Sequence[Listing], settings: Settings) -> list[str]:
    """Every recognised failure, one line each."""
    found = [registry_name_lost(listings, settings)]
    return [line for line in found if line]
