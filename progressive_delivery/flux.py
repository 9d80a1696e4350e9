"""Flux: the pinned release installed by URL, and the objects that connect it to Git.

The flux-system Kustomization applies `./clusters/<stack>` with `wait: true`,
so it is Ready only once everything below it is; Pulumi waits for that
condition, so `pulumi up` returns when the platform is up, or fails naming
what is not Ready.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from .config import GIT_SYNC_INTERVAL_SECONDS, KNOWN_HOSTS_FILE, Settings
from .contract import FLUX_NAMESPACE as NAMESPACE
from .contract import FLUX_SYNC_NAME as NAME


@dataclass
class FluxSyncArgs:
    """What to sync, and what must exist before Flux fetches and applies."""

    settings: Settings
    provider: k8s.Provider
    cluster: pulumi.Resource
    install: pulumi.Resource
    private_key: pulumi.Input[str]
    public_key: pulumi.Input[str]
    # Must exist before Flux fetches (the published tree) ...
    source_ready: Sequence[pulumi.Resource]
    # ... and before it applies (values and secrets the tree consumes, the first image).
    sync_ready: Sequence[pulumi.Resource] = ()


def object_options(provider: k8s.Provider, cluster: pulumi.Resource, parent: pulumi.Resource,
                   depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
    """Options every Kubernetes object of the program uses: the cluster's provider,
    and deletion with the cluster (no point deleting objects from a cluster that goes)."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, deleted_with=cluster,
                                  depends_on=list(depends_on))


def deleted_with(cluster: pulumi.Resource) -> pulumi.ResourceTransform:
    """A transform giving a resource and all its children `deleted_with=cluster`."""

    def transform(args: pulumi.ResourceTransformArgs) -> pulumi.ResourceTransformResult:
        return pulumi.ResourceTransformResult(
            props=args.props,
            opts=pulumi.ResourceOptions.merge(args.opts, pulumi.ResourceOptions(deleted_with=cluster)))

    return transform


class FluxInstall(pulumi.ComponentResource):
    """The pinned Flux release (image reflector and automation controllers included)."""

    def __init__(self, name: str, settings: Settings, provider: k8s.Provider, cluster: pulumi.Resource,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:flux:FluxInstall", name, None, opts)
        # The manifest's objects are created by the provider as children of the
        # ConfigFile; the transform gives each of them `deleted_with` too, so
        # a destroy never deletes Flux's CRDs and controllers one by one
        # (leaving custom resources stuck on their finalizers) before the
        # cluster itself goes.
        self.manifests = k8s.yaml.v2.ConfigFile(
            name, file=settings.flux_install_url,
            opts=object_options(provider, cluster, self).merge(
                pulumi.ResourceOptions(transforms=[deleted_with(cluster)])))
        self.register_outputs({"url": settings.flux_install_url})


class FluxSync(pulumi.ComponentResource):
    """The objects connecting Flux to the stack's repository, and the wait for Ready."""

    kustomization: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: FluxSyncArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:flux:FluxSync", name, None, opts)
        settings = args.settings

        def options(*depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
            return object_options(args.provider, args.cluster, self, [args.install, *depends_on])

        self.secret = k8s.core.v1.Secret(
            f"{name}-git-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=NAMESPACE),
            type="Opaque",
            string_data={
                "identity": pulumi.Output.secret(args.private_key),
                "identity.pub": args.public_key,
                "known_hosts": KNOWN_HOSTS_FILE.read_text(),
            },
            opts=options(),
        )
        self.git_repository = k8s.apiextensions.CustomResource(
            f"{name}-git-repository",
            api_version="source.toolkit.fluxcd.io/v1",
            kind="GitRepository",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=NAME, namespace=NAMESPACE),
            spec={
                "interval": f"{GIT_SYNC_INTERVAL_SECONDS}s",
                "url": settings.repository.ssh_url,
                "ref": {"branch": settings.repository.branch},
                "secretRef": {"name": NAME},
                "timeout": "60s",
            },
            opts=options(self.secret, *args.source_ready),
        )
        timeout_seconds = settings.ready_timeout_minutes * 60
        self.kustomization = k8s.apiextensions.CustomResource(
            f"{name}-kustomization",
            api_version="kustomize.toolkit.fluxcd.io/v1",
            kind="Kustomization",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=NAME,
                namespace=NAMESPACE,
                annotations={
                    "pulumi.com/waitFor": "condition=Ready",
                    "pulumi.com/timeoutSeconds": str(timeout_seconds),
                },
            ),
            spec={
                "interval": "10m",
                "retryInterval": "1m",
                "path": settings.flux_path,
                "prune": True,
                "wait": True,
                "timeout": f"{settings.ready_timeout_minutes}m",
                "sourceRef": {"kind": "GitRepository", "name": NAME},
            },
            opts=options(self.git_repository, *args.sync_ready).merge(pulumi.ResourceOptions(
                custom_timeouts=pulumi.CustomTimeouts(create=f"{timeout_seconds}s", update=f"{timeout_seconds}s"),
            )),
        )
        self.register_outputs({"path": settings.flux_path})
