"""The stack's outputs: where the platform answers, and how to reach and log in to it."""

from __future__ import annotations

import pulumi

from .app_image import AppImage
from .cluster import Cluster
from .existing_cluster import ExistingCluster
from .platform_inputs import PlatformInputs
from .repository import Repository
from .settings import Settings


def export(settings: Settings, cluster: Cluster | ExistingCluster, repository: Repository,
           inputs: PlatformInputs, image: AppImage, app_url: pulumi.Input[str]) -> None:
    """Export every output of the stack (secrets stay secrets)."""
    pulumi.export("clusterName", settings.cluster.name)
    pulumi.export("kubeconfig", cluster.kubeconfig)
    pulumi.export("repositoryUrl", repository.html_url)
    pulumi.export("appUrl", app_url)
    pulumi.export("grafanaUrl", settings.grafana_url)
    pulumi.export("grafanaAdminPassword", inputs.grafana_password)
    pulumi.export("image", image.image)
