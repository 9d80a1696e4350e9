"""A cluster the stack does not create: the provider built from its kubeconfig, the checks before
installing on it, and the teardown that leaves it as it was found.

Nothing is "deleted with the cluster" here, so `pulumi destroy` removes what
the program and Flux created, in an order that cannot hang on finalizers:

1. the teardown step (deleted first: every Flux object depends on nothing it
   removes) stops Flux taking new revisions, deletes the root Kustomization so
   kustomize-controller prunes everything it applied (child Kustomizations
   prune theirs, HelmReleases uninstall their charts), waits until no
   Kustomization or HelmRelease is left, and removes the CRDs the charts
   installed from their crds/ directories; it waits until every custom
   resource Flux applied is gone, finalizers included;
2. then the sync objects and the values the tree read;
3. then Flux's install (the provider deletes its controllers before the
   namespace they run in; no custom resource is left by then, so no CRD
   waits on a finalizer);
4. then the namespaces the program created.

Every step tolerates what is already gone, so a second destroy is harmless.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi
import pulumi_kubernetes as k8s
from pulumi_command import local

from .config import SUPPORTED_KUBERNETES
from .contract import FLUX_NAMESPACE, FLUX_SYNC_NAME, SETTINGS_CONFIGMAP
from .process import Result, Runner
from .providers import kubernetes_provider
from .settings import ExistingClusterSettings
from .shell import BASH, script

if TYPE_CHECKING:
    from .preflight import Context

KUBECONFIG_VARIABLE = "PD_KUBECONFIG"
# The ingress gateway the tree installs (platform/infrastructure/base/releases/istio-ingress).
GATEWAY_NAMESPACE = "istio-ingress"
GATEWAY_SERVICE = "istio-ingressgateway"
# Label kustomize-controller puts on every object it applies.
APPLIED_BY_LABEL = "kustomize.toolkit.fluxcd.io/name"
# CRDs the platform's charts install from their crds/ directory, which `helm uninstall` keeps.
CHART_CRD_GROUPS = ("flagger.app",)
# Cluster-wide permissions the platform needs to install Flux, Istio and Flagger.
REQUIRED_PERMISSIONS = (
    ("create", "namespaces"),
    ("create", "customresourcedefinitions.apiextensions.k8s.io"),
    ("create", "clusterroles.rbac.authorization.k8s.io"),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io"),
    ("create", "mutatingwebhookconfigurations.admissionregistration.k8s.io"),
    ("create", "validatingwebhookconfigurations.admissionregistration.k8s.io"),
)

TEARDOWN = script("""
kubeconfig=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$kubeconfig" "$errors"' EXIT
chmod 600 "$kubeconfig"
printf '%s\\n' "$PD_KUBECONFIG" > "$kubeconfig"
k() { kubectl --kubeconfig "$kubeconfig" ${KUBE_CONTEXT:+--context "$KUBE_CONTEXT"} --request-timeout=30s "$@"; }

if ! k get crd kustomizations.kustomize.toolkit.fluxcd.io -o name >/dev/null 2>"$errors"; then
  if grep -qi 'notfound\\|not found' "$errors"; then
    echo "Flux is not installed on this cluster: nothing to tear down" >&2
    exit 0
  fi
  echo "cannot reach the cluster to tear Flux down: $(tail -n 1 "$errors")" >&2
  exit 1
fi
echo "stopping Flux from taking new revisions" >&2
k -n "$FLUX_NAMESPACE" patch gitrepository "$FLUX_SYNC_NAME" --type merge -p '{"spec":{"suspend":true}}' \\
  >/dev/null 2>&1 || true
k get imageupdateautomations -A -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.name}{"\\n"}{end}' \\
  2>/dev/null | while read -r namespace name; do
  k -n "$namespace" patch imageupdateautomation "$name" --type merge -p '{"spec":{"suspend":true}}' >/dev/null 2>&1 \\
    || true
done
echo "deleting Kustomization $FLUX_NAMESPACE/$FLUX_SYNC_NAME: Flux prunes everything it applied" >&2
k -n "$FLUX_NAMESPACE" delete kustomization "$FLUX_SYNC_NAME" --ignore-not-found --wait=true \\
  --timeout="${TEARDOWN_MINUTES}m" >&2
# Wait until every object Flux applied is gone (HelmReleases uninstalled, custom resources past
# their finalizers), so no CRD is deleted while an object of it still waits for its controller.
crds=$(k get crd -o jsonpath='{range .items[*]}{.metadata.name}{"\\n"}{end}')
kinds=$(printf '%s\\n' "$crds" | grep -E '[.](toolkit[.]fluxcd[.]io|flagger[.]app)$' || true)
remaining() {
  for kind in $kinds; do k get "$kind" --all-namespaces -l "$APPLIED_BY_LABEL" -o name 2>/dev/null || true; done
}
deadline=$((SECONDS + TEARDOWN_MINUTES * 60))
while left=$(remaining) && [ -n "$left" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "still there after ${TEARDOWN_MINUTES} minutes: $(echo $left)" >&2
    exit 1
  fi
  sleep 5
done
for group in $CHART_CRD_GROUPS; do
  for crd in $(printf '%s\\n' "$crds" | grep -E "[.]${group//./[.]}\\$" || true); do
    k delete crd "$crd" --ignore-not-found --wait=true --timeout="${TEARDOWN_MINUTES}m" >&2
  done
done
echo "Flux has removed what it applied" >&2
""")


@dataclass
class ExistingClusterArgs:
    """Which cluster, and the kubeconfig that reaches it (a secret)."""

    cluster: ExistingClusterSettings
    kubeconfig: pulumi.Input[str]


class ExistingCluster(pulumi.ComponentResource):
    """The provider for a cluster someone else runs; nothing is created or deleted with it."""

    name: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    provider: k8s.Provider

    def __init__(self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:cluster:ExistingCluster", name, None, opts)
        self.name = pulumi.Output.from_input(args.cluster.name)
        self.kubeconfig = pulumi.Output.secret(args.kubeconfig)
        self.provider = kubernetes_provider(f"{name}-provider", self.kubeconfig, f"existing:{args.cluster.name}",
                                            parent=self, context=args.cluster.context)
        self.register_outputs({"name": self.name})


@dataclass
class FluxTeardownArgs:
    """The cluster to clean, and everything the teardown must run before (it is deleted first)."""

    cluster: ExistingClusterSettings
    kubeconfig: pulumi.Input[str]
    before: Sequence[pulumi.Resource]
    minutes: int = 15


class FluxTeardown(pulumi.ComponentResource):
    """On destroy, lets Flux prune what it applied before its objects and controllers go."""

    def __init__(self, name: str, args: FluxTeardownArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:cluster:FluxTeardown", name, None, opts)
        environment: dict[str, pulumi.Input[str]] = {
            KUBECONFIG_VARIABLE: pulumi.Output.secret(args.kubeconfig),
            "FLUX_NAMESPACE": FLUX_NAMESPACE,
            "FLUX_SYNC_NAME": FLUX_SYNC_NAME,
            "CHART_CRD_GROUPS": " ".join(CHART_CRD_GROUPS),
            "TEARDOWN_MINUTES": str(args.minutes),
            "APPLIED_BY_LABEL": APPLIED_BY_LABEL,
        }
        if args.cluster.context:
            environment["KUBE_CONTEXT"] = args.cluster.context
        self.command = local.Command(
            name,
            create="true",
            delete=TEARDOWN,
            environment=environment,
            interpreter=BASH,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.before),
                                        custom_timeouts=pulumi.CustomTimeouts(delete=f"{args.minutes * 3}m")),
        )
        self.register_outputs({})


def preflight_problems(context: Context) -> list[str]:
    """The cluster answers, runs a supported Kubernetes, lets these credentials install, and has no
    Flux of someone else's."""
    settings = context.settings
    assert isinstance(settings.cluster, ExistingClusterSettings)
    with tempfile.NamedTemporaryFile("w", prefix="pd-kubeconfig-", suffix=".yaml") as handle:
        os.chmod(handle.name, 0o600)
        handle.write(context.kubeconfig or "")
        handle.flush()
        kubectl = _Kubectl(context.runner, handle.name, settings.cluster.context)
        version, problem = kubectl.server_minor()
        if problem:
            return [problem]
        problems = []
        low, high = SUPPORTED_KUBERNETES
        if version is not None and not low <= version <= high:
            problems.append(f"the cluster runs Kubernetes {version[0]}.{version[1]}; the pinned Flux and Istio "
                            f"releases support {low[0]}.{low[1]} to {high[0]}.{high[1]}: use another cluster")
        problems += kubectl.missing_permissions()
        problems += kubectl.foreign_flux(settings.stack)
        return problems


@dataclass
class _Kubectl:
    runner: Runner
    kubeconfig: str
    context: str | None

    def run(self, *args: str) -> Result:
        base = ["kubectl", "--kubeconfig", self.kubeconfig, "--request-timeout=15s"]
        if self.context:
            base += ["--context", self.context]
        return self.runner([*base, *args], capture=True, timeout=60)

    def server_minor(self) -> tuple[tuple[int, int] | None, str | None]:
        result = self.run("version", "-o", "json")
        try:
            server = json.loads(result.stdout or "{}").get("serverVersion") or {}
            return (int(str(server["major"]).rstrip("+")), int(str(server["minor"]).rstrip("+"))), None
        except (ValueError, KeyError, TypeError):
            reason = (result.stderr.strip().splitlines() or ["no answer"])[-1]
            return None, (f"the cluster in the given kubeconfig does not answer ({reason}); check "
                          "kubeconfig/kubeconfigPath and kubeContext")

    def missing_permissions(self) -> list[str]:
        missing = [f"{verb} {resource}" for verb, resource in REQUIRED_PERMISSIONS
                   if self.run("auth", "can-i", verb, resource).stdout.strip() != "yes"]
        if not missing:
            return []
        return [f"these credentials cannot {', '.join(missing)} (cluster-wide); the platform installs Flux, "
                "Istio and Flagger, which need cluster-admin or an equivalent role"]

    def foreign_flux(self, stack: str) -> list[str]:
        """Flux found on the cluster without this stack's settings ConfigMap: someone else's install."""
        found = self.run("get", "crd", "kustomizations.kustomize.toolkit.fluxcd.io", "-o", "name")
        if found.returncode != 0:
            return []
        mine = self.run("-n", FLUX_NAMESPACE, "get", "configmap", SETTINGS_CONFIGMAP, "-o",
                        "jsonpath={.data.cluster_env}")
        if mine.returncode == 0 and mine.stdout.strip() == stack:
            return []
        return ["Flux is already installed on this cluster (CRD kustomizations.kustomize.toolkit.fluxcd.io) and "
                "not by this stack; uninstall it (`flux uninstall`) or use another cluster"]


GATEWAY_ADDRESS = script("""
kubeconfig=$(mktemp)
trap 'rm -f "$kubeconfig"' EXIT
chmod 600 "$kubeconfig"
printf '%s\\n' "$PD_KUBECONFIG" > "$kubeconfig"
for _ in $(seq 1 60); do
  address=$(kubectl --kubeconfig "$kubeconfig" ${KUBE_CONTEXT:+--context "$KUBE_CONTEXT"} --request-timeout=15s \\
    -n "$GATEWAY_NAMESPACE" get service "$GATEWAY_SERVICE" \\
    -o jsonpath='{.status.loadBalancer.ingress[0].hostname}{.status.loadBalancer.ingress[0].ip}' 2>/dev/null || true)
  if [ -n "$address" ]; then
    printf '%s\\n' "$address"
    exit 0
  fi
  sleep 5
done
echo "the gateway Service $GATEWAY_NAMESPACE/$GATEWAY_SERVICE has no load balancer address after 5 minutes;" \\
     "set progressive-delivery:publicHost, or gatewayServiceType to NodePort" >&2
exit 1
""")


class GatewayAddress(pulumi.ComponentResource):
    """The address the cluster assigned to the ingress gateway's load balancer (read once Flux is Ready)."""

    address: pulumi.Output[str]

    def __init__(self, name: str, cluster: ExistingClusterSettings, kubeconfig: pulumi.Input[str],
                 after: Sequence[pulumi.Resource], opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:cluster:GatewayAddress", name, None, opts)
        environment: dict[str, pulumi.Input[str]] = {
            KUBECONFIG_VARIABLE: pulumi.Output.secret(kubeconfig),
            "GATEWAY_NAMESPACE": GATEWAY_NAMESPACE,
            "GATEWAY_SERVICE": GATEWAY_SERVICE,
        }
        if cluster.context:
            environment["KUBE_CONTEXT"] = cluster.context
        command = local.Command(name, create=GATEWAY_ADDRESS, environment=environment, interpreter=BASH,
                                add_previous_output_in_env=False,
                                opts=pulumi.ResourceOptions(parent=self, depends_on=list(after)))
        self.address = pulumi.Output.unsecret(command.stdout).apply(lambda out: out.strip())
        self.register_outputs({"address": self.address})
