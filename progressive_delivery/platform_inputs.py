"""Values and secrets the platform tree consumes, written by the program.

- ConfigMap `flux-system/cluster-settings`: the variables Flux substitutes
  post-build, so `platform/` stays identical for every stack.
- Secret `flux-system/grafana-admin`: a generated Grafana admin password.
- Secrets for the echo-version image registry: one in flux-system for the
  image scan, one in `applications` for pulls (placeholder credentials for
  the local registry, so the tree is the same either way).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .config import Settings
from .contract import (
    APP_NAMESPACE,
    APP_NAMESPACE_LABELS,
    FLUX_NAMESPACE,
    GRAFANA_PASSWORD_KEY,
    GRAFANA_SECRET,
    GRAFANA_USER_KEY,
    PULL_SECRET,
    SCAN_SECRET,
    SETTINGS_CONFIGMAP,
)
from .flux import object_options

GRAFANA_USER = "admin"


# The local registry asks for no credentials, but Flux's image scan fails when
# the Secret it is given has no entry for the registry's host: it gets one
# with placeholder credentials, which a registry without auth ignores.
LOCAL_REGISTRY_USER = "anonymous"


def docker_config(server: str, username: str, password: str) -> str:
    """A `.dockerconfigjson` document with credentials for one registry host."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return json.dumps({"auths": {server: {"username": username, "password": password, "auth": token}}})


@dataclass
class PlatformInputsArgs:
    """The stack's settings, the registry password (external registry only) and where to write."""

    settings: Settings
    provider: k8s.Provider
    cluster: pulumi.Resource
    flux_install: pulumi.Resource
    registry_password: pulumi.Input[str] | None = None


class PlatformInputs(pulumi.ComponentResource):
    """Cluster settings and generated secrets for the Flux tree."""

    grafana_password: pulumi.Output[str]

    def __init__(self, name: str, args: PlatformInputsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:inputs:PlatformInputs", name, None, opts)
        settings = args.settings
        options = object_options(args.provider, args.cluster, self, [args.flux_install])

        self.settings_configmap = k8s.core.v1.ConfigMap(
            f"{name}-cluster-settings",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=SETTINGS_CONFIGMAP, namespace=FLUX_NAMESPACE),
            data=settings.flux_substitutions(),
            opts=options,
        )

        password = random.RandomPassword(
            f"{name}-grafana-password", length=24, special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.grafana_password = pulumi.Output.secret(password.result)
        self.grafana_secret = k8s.core.v1.Secret(
            f"{name}-grafana-admin",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=GRAFANA_SECRET, namespace=FLUX_NAMESPACE),
            type="Opaque",
            string_data={GRAFANA_USER_KEY: GRAFANA_USER, GRAFANA_PASSWORD_KEY: self.grafana_password},
            opts=options,
        )

        registry = settings.registry
        if registry.is_local:
            host = registry.cluster_repository(settings.cluster.name).split("/", 1)[0]
            credentials = pulumi.Output.secret(
                docker_config(host, LOCAL_REGISTRY_USER, LOCAL_REGISTRY_USER))
        else:
            credentials = pulumi.Output.secret(pulumi.Output.from_input(args.registry_password).apply(
                lambda secret: docker_config(registry.server, registry.username or "", secret)))
        self.scan_secret = self._registry_secret(f"{name}-scan-credentials", SCAN_SECRET, FLUX_NAMESPACE,
                                                 credentials, options)
        self.app_namespace = k8s.core.v1.Namespace(
            f"{name}-applications",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=APP_NAMESPACE, labels=dict(APP_NAMESPACE_LABELS)),
            opts=object_options(args.provider, args.cluster, self),
        )
        self.pull_secret = self._registry_secret(
            f"{name}-pull-credentials", PULL_SECRET, APP_NAMESPACE, credentials,
            object_options(args.provider, args.cluster, self, [self.app_namespace]))
        self.register_outputs({})

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

    @property
    def resources(self) -> list[pulumi.Resource]:
        """Everything Flux's sync needs from this component."""
        return [self.settings_configmap, self.grafana_secret, self.scan_secret, self.pull_secret]
