"""Flux: the pinned release installed from its verified manifest, and the objects that connect it to Git.

The install is one group of the manifest's objects; the provider orders them
(namespace and CRDs before what lives in or uses them, and the reverse on
destroy). The sync objects point Flux at the stack's repository; after every
publish they carry a reconcile request stamped with the published commit,
and Pulumi waits until Flux has handled that request and is Ready: first the
GitRepository (it has fetched the commit), then the flux-system
Kustomization (it applied it, with `wait: true` over everything below it).
So `pulumi up` returns when the platform runs the published tree, or fails
naming what is not Ready.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from . import flux_manifest
from .config import GIT_SYNC_INTERVAL_SECONDS, KNOWN_HOSTS_FILE
from .contract import FLUX_NAMESPACE, FLUX_SYNC_NAME
from .settings import Settings

RECONCILE_REQUEST = "reconcile.fluxcd.io/requestedAt"
# Pulumi waits this much longer than Flux's own timeout, so Flux's error is the one that surfaces.
WAIT_MARGIN_MINUTES = 5


@dataclass
class FluxInstallArgs:
    """The pinned release, its verified manifest, and what must exist first."""

    version: str
    manifest: str
    after: Sequence[pulumi.Resource] = ()


class FluxInstall(pulumi.ComponentResource):
    """The pinned Flux release (image reflector and automation controllers included)."""

    manifest: k8s.yaml.v2.ConfigGroup

    def __init__(self, name: str, args: FluxInstallArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:flux:FluxInstall", name, None, opts)
        self.manifest = k8s.yaml.v2.ConfigGroup(name, objs=flux_manifest.objects(args.manifest),
                                                opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.after)))
        self.register_outputs({"version": args.version})


@dataclass
class FluxSyncArgs:
    """What to sync, which commit was published, and what must exist before Flux fetches and applies."""

    settings: Settings
    ssh_url: pulumi.Input[str]
    private_key: pulumi.Input[str]
    public_key: pulumi.Input[str]
    # The commit publishing left the branch at: stamped into the reconcile requests.
    published_commit: pulumi.Input[str]
    # Must exist before Flux fetches (Flux itself, the published tree and default branch) ...
    source_ready: Sequence[pulumi.Resource]
    # ... and before it applies (values and secrets the tree consumes, the first image).
    sync_ready: Sequence[pulumi.Resource] = ()


def handled_and_ready(stamp: pulumi.Input[str]) -> pulumi.Output[str]:
    """A pulumi.com/waitFor value: Flux handled the reconcile request `stamp` and is Ready."""
    return pulumi.Output.from_input(stamp).apply(lambda value: json.dumps([
        f"jsonpath={{.status.lastHandledReconcileAt}}={value}", "condition=Ready"]))


class FluxSync(pulumi.ComponentResource):
    """The objects connecting Flux to the stack's repository, and the waits for Ready."""

    git_repository: k8s.apiextensions.CustomResource
    kustomization: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: FluxSyncArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("progressive-delivery:flux:FluxSync", name, None, opts)
        settings = args.settings
        wait_seconds = (settings.ready_timeout_minutes + WAIT_MARGIN_MINUTES) * 60
        timeouts = pulumi.CustomTimeouts(create=f"{wait_seconds}s", update=f"{wait_seconds}s")
        self.secret = k8s.core.v1.Secret(
            f"{name}-git-credentials",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=FLUX_SYNC_NAME, namespace=FLUX_NAMESPACE),
            type="Opaque",
            string_data={
                "identity": pulumi.Output.secret(args.private_key),
                "identity.pub": args.public_key,
                "known_hosts": KNOWN_HOSTS_FILE.read_text(),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.source_ready)),
        )
        self.git_repository = k8s.apiextensions.CustomResource(
            f"{name}-git-repository",
            api_version="source.toolkit.fluxcd.io/v1",
            kind="GitRepository",
            metadata=self._stamped(args.published_commit),
            spec={
                "interval": f"{GIT_SYNC_INTERVAL_SECONDS}s",
                "url": args.ssh_url,
                "ref": {"branch": settings.repository.branch},
                "secretRef": {"name": FLUX_SYNC_NAME},
                "timeout": "60s",
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.secret, *args.source_ready],
                                        custom_timeouts=timeouts),
        )
        self.kustomization = k8s.apiextensions.CustomResource(
            f"{name}-kustomization",
            api_version="kustomize.toolkit.fluxcd.io/v1",
            kind="Kustomization",
            metadata=self._stamped(args.published_commit),
            spec={
                "interval": "10m",
                "retryInterval": "1m",
                "path": settings.flux_path,
                "prune": True,
                "wait": True,
                "timeout": f"{settings.ready_timeout_minutes}m",
                "sourceRef": {"kind": "GitRepository", "name": FLUX_SYNC_NAME},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.git_repository, *args.sync_ready],
                                        custom_timeouts=timeouts),
        )
        self.register_outputs({"path": settings.flux_path})

    @staticmethod
    def _stamped(commit: pulumi.Input[str]) -> dict[str, Any]:
        """Metadata of a sync object: its name, and a reconcile request Pulumi waits on."""
        return {
            "name": FLUX_SYNC_NAME,
            "namespace": FLUX_NAMESPACE,
            "annotations": {
                RECONCILE_REQUEST: commit,
                "pulumi.com/waitFor": handled_and_ready(commit),
            },
        }
