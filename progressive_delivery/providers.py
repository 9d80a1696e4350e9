"""The Kubernetes and GitHub providers every resource of the program goes through."""

from __future__ import annotations

import pulumi
import pulumi_github as github
import pulumi_kubernetes as k8s


def kubernetes_provider(name: str, kubeconfig: pulumi.Input[str], cluster_identifier: pulumi.Input[str],
                        parent: pulumi.Resource, context: str | None = None) -> k8s.Provider:
    """A provider for one cluster.

    - `cluster_identifier` decides when the provider (and every object it
      manages) is replaced: only when the cluster itself is new, never because
      its kubeconfig changed or is unknown in a preview.
    - ConfigMaps and Secrets are updated in place, so a changed setting never
      deletes the ConfigMap Flux substitutes from.
    - `delete_unreachable` is left unset: an unreachable cluster fails a
      refresh or destroy instead of silently dropping objects from the state;
      `PULUMI_K8S_DELETE_UNREACHABLE=true` remains the deliberate way out.
    """
    return k8s.Provider(
        name,
        kubeconfig=kubeconfig,
        context=context,
        cluster_identifier=cluster_identifier,
        enable_config_map_mutable=True,
        enable_secret_mutable=True,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def github_provider(name: str, owner: str, token: pulumi.Input[str], api_url: str | None) -> github.Provider:
    """A provider acting for `owner` with the stack's token (a secret)."""
    return github.Provider(name, owner=owner, token=pulumi.Output.secret(token), base_url=api_url)
