"""Values and secrets the platform tree consumes, written by the program.

- ConfigMap `flux-system/cluster-settings`: the variables Flux substitutes
  post-build, so `platform/` stays identical for every stack.
- ConfigMap `flux-system/istio-gateway-values`: how the ingress gateway is
  exposed (Service type and annotations), read by its HelmRelease.
- Secret `flux-system/grafana-admin`: a generated Grafana admin password.
- Secrets for the echo-version image registry: one in flux-system for the
  image scan, one in the application namespace for pulls (placeholder
  credentials for the local registry, so the tree is the same either way).
- The application namespace itself (ApplicationNamespace), which holds the
  pull secret before Flux applies the app; it belongs to the program alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .contract import (
    APP_NAMESPACE,
    APP_NAMESPACE_LABELS,
    FLUX_NAMESPACE,
    GATEWAY_VALUES_CONFIGMAP,
    GATEWAY_VALUES_KEY,
    GRAFANA_PASSWORD_KEY,
    GRAFANA_SECRET,
    GRAFANA_USER_KEY,
    PULL_SECRET,
    SCAN_SECRET,
    SETTINGS_CONFIGMAP,
)
from .settings import Settings

GRAFANA_USER = "admin"
# Flux's controllers reconcile what reads a ConfigMap or Secret carrying this label as soon as it
# changes (kustomize-controller: postBuild.substituteFrom; helm-controller: valuesFrom), instead of
# at their next interval (fluxcd/pkg apis/meta labels.go LabelKeyWatch / LabelValueWatchEnabled).
WATCHED = {"reconcile.fluxcd.io/watch": "Enabled"}
# The local registry asks for no credentials, but Flux's image scan fails when
# the Secret it is given has no entry for the registry's host: it gets one
# with placeholder credentials, which a registry without auth ignores.
LOCAL_REGISTRY_USER = "anonymous"


def docker_config(server: str, username: str, password: str) -> str:
    """A `.dockerconfigjson` document with credentials for one registry host."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {server: {"username": username, "password": password, "auth": token}}})


class ApplicationNamespace(pulumi.ComponentResource):
    """The namespace echo-version runs in, with sidecar injection: created first, deleted last."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:inputs:ApplicationNamespace", name, None, opts)
        self.namespace = k8s.core.v1.Namespace(
            name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=APP_NAMESPACE, labels=dict(APP_NAMESPACE_LABELS)),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})


@dataclass
class PlatformInputsArgs:
    """The stack's settings, the registry password (external registry only), and what must exist first
    (Flux's namespace, the application namespace)."""

    settings: Settings
    registry_password: pulumi.Input[str] | None = None
    after: Sequence[pulumi.Resource] = ()


class PlatformInputs(pulumi.ComponentResource):
    """Cluster settings, gateway values and generated secrets."""

    grafana_password: pulumi.Output[str]
    # A digest of the values the tree reads (never of a secret).
    digest: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformInputsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:inputs:PlatformInputs", name, None, opts)
        settings = args.settings
        here = pulumi.ResourceOptions(parent=self, depends_on=list(args.after))

        gateway_values = settings.gateway.values_yaml()
        self.settings_configmap = k8s.core.v1.ConfigMap(
            f"{name}-cluster-settings",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SETTINGS_CONFIGMAP, namespace=FLUX_NAMESPACE,
                                                labels=dict(WATCHED)),
            data=settings.flux_substitutions(),
            opts=here,
        )
        self.gateway_values = k8s.core.v1.ConfigMap(
            f"{name}-gateway-values",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GATEWAY_VALUES_CONFIGMAP, namespace=FLUX_NAMESPACE,
                                                labels=dict(WATCHED)),
            data={GATEWAY_VALUES_KEY: gateway_values},
            opts=here,
        )
        password = random.RandomPassword(f"{name}-grafana-password", length=24, special=False, opts=here)
        self.grafana_password = pulumi.Output.secret(password.result)
        self.grafana_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GRAFANA_SECRET, namespace=FLUX_NAMESPACE, labels=dict(WATCHED)),
            type="Opaque",
            string_data={GRAFANA_USER_KEY: GRAFANA_USER, GRAFANA_PASSWORD_KEY: self.grafana_password},
            opts=here,
        )
        credentials = self._registry_credentials(settings, args.registry_password)
        self.scan_secret = self._registry_secret(f"{name}-scan-credentials", SCAN_SECRET, FLUX_NAMESPACE,
                                                 credentials, here)
        self.pull_secret = self._registry_secret(f"{name}-pull-credentials", PULL_SECRET, APP_NAMESPACE,
                                                 credentials, here)
        # Of the values only: a changed secret reaches what reads it through the watch label, and no
        # digest of a secret is ever kept in plain state.
        values = json.dumps([settings.flux_substitutions(), gateway_values], sort_keys=True)
        self.digest = pulumi.Output.from_input(hashlib.sha256(values.encode()).hexdigest()[:16])
        self.register_outputs({"digest": self.digest})

    @staticmethod
    def _registry_credentials(settings: Settings, password: pulumi.Input[str] | None) -> pulumi.Output[str]:
        registry = settings.registry
        if registry.is_local:
            host = registry.cluster_repository(settings.cluster.name).split("/", 1)[0]
            return pulumi.Output.secret(docker_config(host, LOCAL_REGISTRY_USER, LOCAL_REGISTRY_USER))
        return pulumi.Output.secret(pulumi.Output.from_input(password or "").apply(
            lambda secret: docker_config(registry.server, registry.username or "", secret)))

    @staticmethod
    def _registry_secret(resource_name: str, name: str, namespace: str, credentials: pulumi.Output[str],
                         options: pulumi.ResourceOptions) -> k8s.core.v1.Secret:
        return k8s.core.v1.Secret(
            resource_name,
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace),
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": credentials},
            opts=options,
        )
