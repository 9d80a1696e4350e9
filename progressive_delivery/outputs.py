"""The stack's outputs: where the platform answers, and how to reach and log in to it."""

from __future__ import annotations

import pulumi

from .app_image import AppImage
from .cluster import Cluster
from .existing_cluster import ExistingCluster, GatewayAddress
from .flux import FluxSync
from .platform_inputs import PlatformInputs
from .repository import Repository
from .settings import ExistingClusterSettings, Settings


def app_url(settings: Settings, cluster: Cluster | ExistingCluster, sync: FluxSync) -> pulumi.Input[str]:
    """The app's URL: known from the settings, or read from the load balancer an existing cluster assigned."""
    known = settings.app_url
    if known is not None:
        return known
    assert isinstance(cluster, ExistingCluster) and isinstance(settings.cluster, ExistingClusterSettings), \
        "only an existing cluster leaves the app's address to the cluster"
    gateway = GatewayAddress("gateway-address", settings.cluster, cluster.kubeconfig, after=[sync])
    return gateway.address.apply(lambda host: f"http://{host}{settings.app_path_prefix}version")


def export(settings: Settings, cluster: Cluster | ExistingCluster, repository: Repository,
           inputs: PlatformInputs, image: AppImage, sync: FluxSync) -> None:
    """Export every output of the stack (secrets stay secrets)."""
    pulumi.export("clusterName", settings.cluster.name)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("repositoryUrl", repository.html_url)
    pulumi.export("appUrl", app_url(settings, cluster, sync))
    pulumi.export("grafanaUrl", settings.grafana_url)
    pulumi.export("grafanaAdminPassword", inputs.grafana_password)
    pulumi.export("image", image.image)
