"""The typed settings of one stack, as the program and the CLI use them (built by config.py)."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from .project import APP_NAME

K3D = "k3d"
EXISTING = "existing"
CLUSTER_PROVIDERS = (K3D, EXISTING)
LOCAL_REGISTRY = "local"
# Port the local registry container listens on inside the cluster network.
REGISTRY_CONTAINER_PORT = 5000
# Service type k3d's load balancer forwards the HTTP port to (k3s's ServiceLB); also the
# default on an existing cluster.
K3D_GATEWAY_SERVICE_TYPE = "LoadBalancer"
# Settings holding a k3d stack's host ports (the last only with the local registry).
HOST_PORT_KEYS = ("httpPort", "apiPort", "registryPort")


def host_port_keys(local_registry: bool) -> tuple[str, ...]:
    """The settings naming host ports a k3d stack binds: the registry's only when it runs beside the cluster."""
    return HOST_PORT_KEYS if local_registry else HOST_PORT_KEYS[:2]


@dataclass(frozen=True)
class K3dClusterSettings:
    """Shape of a k3d cluster and the host ports it binds."""

    name: str
    servers: int
    agents: int
    k3s_image: str
    http_port: int
    api_port: int

    @property
    def kube_context(self) -> str:
        return f"k3d-{self.name}"


@dataclass(frozen=True)
class ExistingClusterSettings:
    """A cluster the stack does not create: reached through a kubeconfig.

    The kubeconfig is either the `kubeconfig` secret of the stack (read by the
    program, never kept here) or the file `kubeconfig_path`, read at run time.
    """

    name: str
    kubeconfig_path: str | None
    context: str | None


ClusterSettings = K3dClusterSettings | ExistingClusterSettings


@dataclass(frozen=True)
class GatewaySettings:
    """How the platform's ingress gateway is reached from outside the cluster."""

    service_type: str
    annotations: tuple[tuple[str, str], ...] = ()
    public_host: str | None = None

    def helm_values(self) -> dict:
        """Values of the Istio gateway chart that expose it (written for the tree's gateway release)."""
        service: dict = {"type": self.service_type}
        if self.annotations:
            service["annotations"] = dict(self.annotations)
        return {"service": service}

    def values_yaml(self) -> str:
        """helm_values() as the text of the ConfigMap the gateway release reads its values from."""
        return yaml.safe_dump(self.helm_values(), sort_keys=True)


@dataclass(frozen=True)
class RegistrySettings:
    """Where the echo-version image lives.

    `local` runs a registry container beside the k3d cluster on `port`; anything
    else is an external repository such as `ghcr.io/acme/echo-version`.
    """

    repository: str
    port: int | None
    username: str | None

    @property
    def is_local(self) -> bool:
        return self.repository == LOCAL_REGISTRY

    def container_name(self, cluster_name: str) -> str:
        """Docker container name k3d gives the local registry (it adds `k3d-`)."""
        return f"k3d-{cluster_name}-registry"

    def push_repository(self, cluster_name: str) -> str:
        """Image repository as seen from the host that builds and pushes."""
        if self.is_local:
            return f"localhost:{self.port}/{APP_NAME}"
        return self.repository

    def cluster_repository(self, cluster_name: str) -> str:
        """Image repository as seen from inside the cluster (kubelet and Flux)."""
        if self.is_local:
            return f"{self.container_name(cluster_name)}:{REGISTRY_CONTAINER_PORT}/{APP_NAME}"
        return self.repository

    @property
    def server(self) -> str:
        """Registry host of the external repository (e.g. `ghcr.io`)."""
        return self.repository.split("/", 1)[0]

    def image(self, cluster_name: str, version: str) -> str:
        """The image reference a push of `version` creates."""
        return f"{self.push_repository(cluster_name)}:{version}"


@dataclass(frozen=True)
class RepositorySettings:
    """The GitHub repository Flux syncs from."""

    owner: str
    name: str
    visibility: str
    branch: str
    on_destroy: str = "delete"

    @property
    def archive_on_destroy(self) -> bool:
        return self.on_destroy == "archive"


@dataclass(frozen=True)
class Settings:
    """Everything one stack needs, validated."""

    stack: str
    cluster: ClusterSettings
    gateway: GatewaySettings
    repository: RepositorySettings
    registry: RegistrySettings
    flux_version: str
    app_version: str
    app_path_prefix: str
    grafana_host: str
    ready_timeout_minutes: int

    @property
    def is_k3d(self) -> bool:
        return isinstance(self.cluster, K3dClusterSettings)

    @property
    def flux_path(self) -> str:
        """Path in the repository that the flux-system Kustomization applies."""
        return f"./clusters/{self.stack}"

    @property
    def app_url(self) -> str | None:
        """Where echo-version answers; None when only the cluster can tell (a load balancer's address)."""
        if isinstance(self.cluster, K3dClusterSettings):
            return f"http://localhost:{self.cluster.http_port}{self.app_path_prefix}version"
        if self.gateway.public_host:
            return f"http://{self.gateway.public_host}{self.app_path_prefix}version"
        return None

    @property
    def grafana_url(self) -> str:
        if isinstance(self.cluster, K3dClusterSettings):
            return f"http://{self.grafana_host}:{self.cluster.http_port}/"
        return f"http://{self.grafana_host}/"

    def host_ports(self) -> dict[str, int]:
        """The host ports a k3d stack binds, by setting (none on an existing cluster)."""
        if not isinstance(self.cluster, K3dClusterSettings):
            return {}
        values = {"httpPort": self.cluster.http_port, "apiPort": self.cluster.api_port,
                  "registryPort": self.registry.port}
        return {setting: port for setting in host_port_keys(self.registry.is_local)
                if (port := values[setting])}

    def image(self, version: str) -> str:
        """The echo-version image reference for `version`, as pushed."""
        return self.registry.image(self.cluster.name, version)

    def flux_substitutions(self) -> dict[str, str]:
        """Values Flux substitutes into the platform tree (post-build), as strings."""
        return {
            "cluster_env": self.stack,
            "cluster_name": self.cluster.name,
            "image_repository": self.registry.cluster_repository(self.cluster.name),
            "image_registry_insecure": "true" if self.registry.is_local else "false",
            "app_path_prefix": self.app_path_prefix,
            "grafana_host": self.grafana_host,
            "git_branch": self.repository.branch,
        }
