"""The k3d cluster, with the local image registry beside it, as one command resource.

The cluster is created with Traefik disabled (Istio's gateway serves port 80
behind k3d's load balancer), the stack's HTTP port mapped to the load
balancer's port 80, the API and the registry bound to loopback, and the
user's default kubeconfig left untouched. k3d creates the registry with the
cluster (`--registry-create`), wires the nodes' image mirror to it and
deletes it with the cluster.

Every server container carries the labels `progressive-delivery.stack=<stack>`
and `progressive-delivery.instance=<id>`. An existing cluster of the same
name is adopted only when it carries this stack's label; a cluster or
registry container of another owner stops the run, naming it. Deletion
counts only Docker's own "no such container" as gone: with Docker down or
k3d missing the delete fails and the state keeps the cluster.

The instance id is part of the command's triggers: the program reads it from
the running cluster, and picks a new one when the cluster is missing, so a
cluster deleted by hand is created again (with everything in it) by the next
`pulumi up`, while an unchanged cluster never is.

The kubeconfig (the script's only stdout) is a Pulumi secret and feeds the
Kubernetes provider, whose cluster identity is the command's id: it changes
only when the cluster is really created anew.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
from pulumi_command import local

from .process import Runner, ToolMissing
from .project import STACK_LABEL
from .providers import kubernetes_provider
from .settings import K3dClusterSettings, RegistrySettings
from .shell import BASH, script

INSTANCE_LABEL = "progressive-delivery.instance"
# The instance id when Docker cannot tell whether the cluster runs.
UNKNOWN_INSTANCE = "unknown"

# Shared by both scripts: what Docker says of a container, as "absent", or
# its identity label ("<no value>" when it has none); any other failure
# (Docker down, docker missing) ends the script.
_OWNER_OF = """
owner_of() {
  local out
  if out=$(docker container inspect --format "{{ index .Config.Labels \\"$IDENTITY_LABEL\\" }}" "$1" 2>&1); then
    printf '%s\\n' "${out:-<no value>}"
  elif printf '%s' "$out" | grep -qiE 'no such (container|object)'; then
    echo absent
  else
    echo "cannot ask Docker about container $1: $out" >&2
    exit 1
  fi
}
"""

# Writes only the kubeconfig to stdout; everything else goes to stderr.
CREATE = script(_OWNER_OF + """
server="k3d-$CLUSTER_NAME-server-0"
owner=$(owner_of "$server")
if [ "$owner" = "$STACK" ]; then
  echo "k3d cluster $CLUSTER_NAME already exists and belongs to stack $STACK: adopting it" >&2
elif [ "$owner" != absent ]; then
  echo "k3d cluster $CLUSTER_NAME exists but does not belong to stack $STACK (its $IDENTITY_LABEL label:" \\
       "$owner); delete it (k3d cluster delete $CLUSTER_NAME) or choose another clusterName" >&2
  exit 1
else
  registry_args=()
  if [ -n "${REGISTRY_CONTAINER:-}" ]; then
    registry_owner=$(owner_of "$REGISTRY_CONTAINER")
    if [ "$registry_owner" != absent ]; then
      echo "a container named $REGISTRY_CONTAINER already exists (not a registry of this stack's cluster);" \\
           "remove it (k3d registry delete $REGISTRY_CONTAINER) or choose another clusterName" >&2
      exit 1
    fi
    registry_args=(--registry-create "$REGISTRY_CONTAINER:127.0.0.1:$REGISTRY_PORT")
  fi
  # Pods keep resolving the registry's name after a Docker or host restart only through k3d's DNS
  # fix (k3s rewrites CoreDNS's NodeHosts on restart); make sure it is on, except on Colima,
  # where k3d turns it off itself.
  if [ "$(docker info --format '{{.Name}}' 2>/dev/null)" != colima ]; then
    export K3D_FIX_DNS=1
  fi
  k3d cluster create "$CLUSTER_NAME" \\
    --image "$K3S_IMAGE" \\
    --servers "$SERVERS" \\
    --agents "$AGENTS" \\
    --api-port "127.0.0.1:$API_PORT" \\
    --port "127.0.0.1:$HTTP_PORT:80@loadbalancer" \\
    --k3s-arg "--disable=traefik@server:*" \\
    --runtime-label "$IDENTITY_LABEL=$STACK@server:*" \\
    --runtime-label "$INSTANCE_LABEL=$INSTANCE@server:*" \\
    --kubeconfig-update-default=false \\
    --kubeconfig-switch-context=false \\
    --wait --timeout 300s \\
    ${registry_args[@]+"${registry_args[@]}"} >&2
fi
# k3d logs at info level to stdout; only the kubeconfig may be printed there.
LOG_LEVEL=warn k3d kubeconfig get "$CLUSTER_NAME"
""")

DELETE = script(_OWNER_OF + """
owner=$(owner_of "k3d-$CLUSTER_NAME-server-0")
if [ "$owner" = absent ]; then
  echo "k3d cluster $CLUSTER_NAME is already gone" >&2
elif [ "$owner" != "$STACK" ]; then
  echo "k3d cluster $CLUSTER_NAME does not belong to stack $STACK (its $IDENTITY_LABEL label: $owner);" \\
       "not deleting it" >&2
  exit 1
else
  k3d cluster delete "$CLUSTER_NAME" >&2
fi
""")


def server_labels(runner: Runner, cluster_name: str) -> dict[str, str] | None:
    """Labels of the cluster's first server container: {} when there is none, None when Docker cannot tell."""
    try:
        result = runner(["docker", "container", "inspect", "--format", "{{json .Config.Labels}}",
                         f"k3d-{cluster_name}-server-0"], capture=True, timeout=30)
    except ToolMissing:
        return None
    if result.returncode == 0:
        try:
            labels = json.loads(result.stdout or "null")
        except ValueError:
            return None
        return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}
    return {} if re.search(r"no such (container|object)", result.stderr, re.IGNORECASE) else None


def instance_of(labels: dict[str, str] | None, stack: str) -> str:
    """The instance id the cluster command is registered with (see the module's docstring)."""
    if labels is None:
        return UNKNOWN_INSTANCE
    if labels.get(STACK_LABEL) == stack and labels.get(INSTANCE_LABEL):
        return labels[INSTANCE_LABEL]
    return uuid.uuid4().hex[:12]


@dataclass
class ClusterArgs:
    """The stack, the cluster's shape, the registry to run beside it, and the running cluster's instance id."""

    stack: str
    cluster: K3dClusterSettings
    registry: RegistrySettings
    instance: str = UNKNOWN_INSTANCE


class Cluster(pulumi.ComponentResource):
    """A k3d cluster (with a local registry when the stack uses one) and its Kubernetes provider."""

    name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider
    command: local.Command

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:cluster:Cluster", name, None, opts)
        cluster = args.cluster
        environment = {
            "STACK": args.stack,
            "IDENTITY_LABEL": STACK_LABEL,
            "INSTANCE_LABEL": INSTANCE_LABEL,
            "INSTANCE": args.instance,
            "CLUSTER_NAME": cluster.name,
            "K3S_IMAGE": cluster.k3s_image,
            "SERVERS": str(cluster.servers),
            "AGENTS": str(cluster.agents),
            "API_PORT": str(cluster.api_port),
            "HTTP_PORT": str(cluster.http_port),
        }
        if args.registry.is_local:
            environment["REGISTRY_CONTAINER"] = args.registry.container_name(cluster.name)
            environment["REGISTRY_PORT"] = str(args.registry.port)
        # Any change of shape replaces the cluster; the name is reused, so the
        # old cluster must go first. A change of the scripts alone is an update
        # that adopts the running cluster.
        self.command = local.Command(
            name,
            create=CREATE,
            delete=DELETE,
            environment=environment,
            interpreter=BASH,
            triggers=[environment[key] for key in sorted(environment)],
            logging=local.Logging.STDERR,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True,
                                        additional_secret_outputs=["stdout"]),
        )
        self.name = pulumi.Output.from_input(cluster.name)
        self.kubeconfig = pulumi.Output.secret(self.command.stdout)
        self.provider = kubernetes_provider(f"{name}-provider", self.kubeconfig, self.command.id, parent=self)
        self.register_outputs({"name": self.name, "kubeconfig": self.kubeconfig})
