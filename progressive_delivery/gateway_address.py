"""On an existing cluster without `publicHost`: the address the cluster gave the ingress gateway's load balancer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_command import local

from .settings import ExistingClusterSettings
from .shell import BASH, KUBECTL_FROM_ENVIRONMENT, kubectl_environment, script

# The ingress gateway the tree installs (platform/infrastructure/base/releases/istio-ingress).
GATEWAY_NAMESPACE = "istio-ingress"
GATEWAY_SERVICE = "istio-ingressgateway"
WAIT_SECONDS = 300

READ_ADDRESS = script(KUBECTL_FROM_ENVIRONMENT + """
# A load balancer reports a host name or an IP address; the host name when it has both.
field() {
  k -n "$GATEWAY_NAMESPACE" get service "$GATEWAY_SERVICE" -o "jsonpath={.status.loadBalancer.ingress[0].$1}"
}
unreadable() {
  echo "cannot read Service $GATEWAY_NAMESPACE/$GATEWAY_SERVICE: $(printf '%s' "$1" | tail -n 1)" >&2
  exit 1
}
deadline=$((SECONDS + WAIT_SECONDS))
while true; do
  address=$(field hostname 2>&1) || unreadable "$address"
  if [ -z "$address" ]; then
    address=$(field ip 2>&1) || unreadable "$address"
  fi
  if [ -n "$address" ]; then
    case "$address" in *:*) address="[$address]" ;; esac
    printf '%s\\n' "$address"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "the gateway Service $GATEWAY_NAMESPACE/$GATEWAY_SERVICE has no load balancer address after" \\
         "$WAIT_SECONDS seconds; check the cluster's load balancer, or set progressive-delivery:publicHost" >&2
    exit 1
  fi
  sleep 5
done
""")



@dataclass
class GatewayAddressArgs:
    """The cluster, its kubeconfig (a secret), and what must be Ready first (Flux's sync)."""

    cluster: ExistingClusterSettings
    kubeconfig: pulumi.Input[str]
    after: Sequence[pulumi.Resource]


class GatewayAddress(pulumi.ComponentResource):
    """The load balancer address of the ingress gateway, read once Flux is Ready."""

    address: pulumi.Output[str]

    def __init__(self, name: str, args: GatewayAddressArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:cluster:GatewayAddress", name, None, opts)
        cluster = args.cluster
        environment: dict[str, pulumi.Input[str]] = {
            **kubectl_environment(args.kubeconfig, cluster.context),
            "GATEWAY_NAMESPACE": GATEWAY_NAMESPACE,
            "GATEWAY_SERVICE": GATEWAY_SERVICE,
            "WAIT_SECONDS": str(WAIT_SECONDS),
        }
        command = local.Command(name, create=READ_ADDRESS, environment=environment, interpreter=BASH,
                                add_previous_output_in_env=False,
                                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.after)))
        self.address = pulumi.Output.unsecret(command.stdout).apply(lambda out: out.strip())
        self.register_outputs({"address": self.address})
