"""The k3d cluster, and the local image registry beside it, as command resources.

The cluster is created with Traefik disabled (Istio's gateway serves port 80
behind k3d's load balancer), the stack's HTTP port mapped to the load
balancer's port 80, the API bound to loopback, and the user's default
kubeconfig left untouched. Its kubeconfig is read back as a Pulumi secret and
turned into the Kubernetes provider every Kubernetes object uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_command import local

from .config import REGISTRY_CONTAINER_PORT, ClusterSettings, RegistrySettings
from .shell import BASH, script

CREATE_REGISTRY = script("""
if k3d registry get "$REGISTRY_CONTAINER" >/dev/null 2>&1; then
  echo "registry $REGISTRY_CONTAINER already exists: adopting it" >&2
else
  k3d registry create "$REGISTRY_NAME" --port "127.0.0.1:$REGISTRY_PORT" >&2
fi
""")

DELETE_REGISTRY = script("""
if k3d registry get "$REGISTRY_CONTAINER" >/dev/null 2>&1; then
  k3d registry delete "$REGISTRY_CONTAINER" >&2
else
  echo "registry $REGISTRY_CONTAINER is already gone" >&2
fi
""")

# Writes only the kubeconfig to stdout; everything else goes to stderr.
CREATE_CLUSTER = script("""
if k3d cluster get "$CLUSTER_NAME" >/dev/null 2>&1; then
  echo "k3d cluster $CLUSTER_NAME already exists: adopting it" >&2
else
  registry_args=()
  if [ -n "${REGISTRY_CONTAINER:-}" ]; then
    config_dir=$(mktemp -d)
    trap 'rm -rf "$config_dir"' EXIT
    printf 'mirrors:\\n  "%s":\\n    endpoint:\\n      - "http://%s"\\n' \\
      "$REGISTRY_MIRROR" "$REGISTRY_MIRROR" > "$config_dir/registries.yaml"
    registry_args=(--registry-use "$REGISTRY_CONTAINER:$REGISTRY_PORT"
                   --registry-config "$config_dir/registries.yaml")
  fi
  k3d cluster create "$CLUSTER_NAME" \\
    --image "$K3S_IMAGE" \\
    --servers "$SERVERS" \\
    --agents "$AGENTS" \\
    --api-port "127.0.0.1:$API_PORT" \\
    --port "127.0.0.1:$HTTP_PORT:80@loadbalancer" \\
    --k3s-arg "--disable=traefik@server:*" \\
    --kubeconfig-update-default=false \\
    --kubeconfig-switch-context=false \\
    --wait --timeout 300s \\
    ${registry_args[@]+"${registry_args[@]}"} >&2
fi
k3d kubeconfig get "$CLUSTER_NAME"
""")

DELETE_CLUSTER = script("""
if k3d cluster get "$CLUSTER_NAME" >/dev/null 2>&1; then
  k3d cluster delete "$CLUSTER_NAME" >&2
else
  echo "k3d cluster $CLUSTER_NAME is already gone" >&2
fi
""")


@dataclass
class ClusterArgs:
    """Shape of the cluster, and the registry to run beside it."""

    cluster: ClusterSettings
    registry: RegistrySettings


class Cluster(pulumi.ComponentResource):
    """A k3d cluster (with a local registry when the stack uses one) and its provider."""

    name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    registry: local.Command | None

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:cluster:Cluster", name, None, opts)
        cluster, registry = args.cluster, args.registry
        environment = {
            "CLUSTER_NAME": cluster.name,
            "K3S_IMAGE": cluster.k3s_image,
            "SERVERS": str(cluster.servers),
            "AGENTS": str(cluster.agents),
            "API_PORT": str(cluster.api_port),
            "HTTP_PORT": str(cluster.http_port),
        }
        depends_on: list[pulumi.Resource] = []
        self.registry = None
        if registry.is_local:
            container = registry.container_name(cluster.name)
            registry_environment = {
                "REGISTRY_NAME": container.removeprefix("k3d-"),
                "REGISTRY_CONTAINER": container,
                "REGISTRY_PORT": str(registry.port),
            }
            self.registry = local.Command(
                f"{name}-registry",
                create=CREATE_REGISTRY,
                delete=DELETE_REGISTRY,
                environment=registry_environment,
                interpreter=BASH,
                triggers=[container, registry.port],
                add_previous_output_in_env=False,
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
            depends_on.append(self.registry)
            environment.update(registry_environment)
            environment["REGISTRY_MIRROR"] = f"{container}:{REGISTRY_CONTAINER_PORT}"

        # Any change of shape replaces the cluster; the name is reused, so the
        # old cluster must go first.
        shape = [environment[key] for key in sorted(environment)]
        command = local.Command(
            name,
            create=CREATE_CLUSTER,
            delete=DELETE_CLUSTER,
            environment=environment,
            interpreter=BASH,
            triggers=shape,
            logging=local.Logging.STDERR,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends_on,
                delete_before_replace=True,
                additional_secret_outputs=["stdout"],
            ),
        )
        self.command = command
        self.name = pulumi.Output.from_input(cluster.name)
        self.kubeconfig = pulumi.Output.secret(command.stdout)
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            delete_unreachable=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"name": self.name, "kubeconfig": self.kubeconfig})
