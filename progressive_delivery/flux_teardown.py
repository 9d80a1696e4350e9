"""On an existing cluster, the destroy step that lets Flux prune what it applied before Flux goes.

Nothing there is "deleted with the cluster", so `pulumi destroy` must remove
what the program and Flux created, in an order that cannot hang on
finalizers. The Kustomization flux-system depends on this step and Flux's
install and the program's values are its dependencies, so Pulumi deletes:

1. the Kustomization flux-system: kustomize-controller's finalizer prunes
   everything it applied (child Kustomizations prune theirs, HelmReleases
   uninstall their charts);
2. this step: it stops Flux taking new revisions (the GitRepository and the
   image automations are suspended), deletes that Kustomization if it is
   still there, waits until no object Flux applied is left, finalizers
   included, and no HelmChart either, then removes the CRDs the platform's
   charts installed from their crds/ directories, which `helm uninstall`
   keeps;
3. the values and secrets the tree read, then Flux's install (controllers
   before the namespace they run in; no custom resource is left by then);
4. the application namespace the program created.

What existed before the stack stays. Every step accepts what is already gone,
so a second destroy is harmless; a cluster that does not answer fails the
step, and the state keeps everything until it does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_command import local

from .contract import FLUX_NAMESPACE, FLUX_SYNC_NAME
from .settings import ExistingClusterSettings
from .shell import BASH, KUBECTL_FROM_ENVIRONMENT, kubectl_environment, script

# Label kustomize-controller puts on every object it applies.
APPLIED_BY_LABEL = "kustomize.toolkit.fluxcd.io/name"
# CRDs the platform's charts install from their crds/ directory, which `helm uninstall` keeps.
CHART_CRD_GROUPS = ("flagger.app",)

TEARDOWN = script(KUBECTL_FROM_ENVIRONMENT + """
if ! found=$(k get crd kustomizations.kustomize.toolkit.fluxcd.io -o name 2>&1); then
  if printf '%s' "$found" | grep -qi 'notfound\\|not found'; then
    echo "Flux is not installed on this cluster: nothing to tear down" >&2
    exit 0
  fi
  echo "cannot reach the cluster to tear Flux down: $(printf '%s' "$found" | tail -n 1)" >&2
  exit 1
fi
echo "stopping Flux from taking new revisions" >&2
k -n "$FLUX_NAMESPACE" patch gitrepository "$FLUX_SYNC_NAME" --type merge -p '{"spec":{"suspend":true}}' \\
  >/dev/null 2>&1 || true
automations=$(k get imageupdateautomations -A \\
  -o jsonpath='{range .items[*]}{.metadata.namespace} {.metadata.name}{"\\n"}{end}' 2>/dev/null || true)
while read -r namespace name; do
  [ -n "$name" ] || continue
  k -n "$namespace" patch imageupdateautomation "$name" --type merge -p '{"spec":{"suspend":true}}' \\
    >/dev/null 2>&1 || true
done <<< "$automations"
echo "deleting Kustomization $FLUX_NAMESPACE/$FLUX_SYNC_NAME: Flux prunes everything it applied" >&2
k -n "$FLUX_NAMESPACE" delete kustomization "$FLUX_SYNC_NAME" --ignore-not-found --wait=true \\
  --timeout="${TEARDOWN_MINUTES}m" >&2
# Wait until every object Flux applied is gone (HelmReleases uninstalled, custom resources past
# their finalizers) and every HelmChart helm-controller made, so no CRD is deleted while an
# object of it still waits for its controller.
crds=$(k get crd -o jsonpath='{range .items[*]}{.metadata.name}{"\\n"}{end}')
kinds=$(printf '%s\\n' "$crds" | grep -E '[.](toolkit[.]fluxcd[.]io|flagger[.]app)$' || true)
remaining() {
  for kind in $kinds; do
    k get "$kind" --all-namespaces -l "$APPLIED_BY_LABEL" -o name
  done
  k get helmcharts.source.toolkit.fluxcd.io --all-namespaces -o name
}
deadline=$((SECONDS + TEARDOWN_MINUTES * 60))
while true; do
  if ! left=$(remaining 2>&1); then
    echo "cannot list what Flux still has on the cluster: $(printf '%s' "$left" | tail -n 1)" >&2
    exit 1
  fi
  [ -n "$left" ] || break
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
class FluxTeardownArgs:
    """The cluster to clean, its kubeconfig (a secret), and what is deleted only after this step."""

    cluster: ExistingClusterSettings
    kubeconfig: pulumi.Input[str]
    after: Sequence[pulumi.Resource]
    minutes: int = 15


class FluxTeardown(pulumi.ComponentResource):
    """A step with nothing to do on create that, on destroy, lets Flux prune its work first."""

    command: local.Command

    def __init__(self, name: str, args: FluxTeardownArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:cluster:FluxTeardown", name, None, opts)
        environment: dict[str, pulumi.Input[str]] = {
            **kubectl_environment(args.kubeconfig, args.cluster.context),
            "FLUX_NAMESPACE": FLUX_NAMESPACE,
            "FLUX_SYNC_NAME": FLUX_SYNC_NAME,
            "CHART_CRD_GROUPS": " ".join(CHART_CRD_GROUPS),
            "TEARDOWN_MINUTES": str(args.minutes),
            "APPLIED_BY_LABEL": APPLIED_BY_LABEL,
        }
        self.command = local.Command(
            name,
            create="true",
            delete=TEARDOWN,
            environment=environment,
            interpreter=BASH,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.after),
                                        custom_timeouts=pulumi.CustomTimeouts(delete=f"{args.minutes * 3}m")),
        )
        self.register_outputs({})
