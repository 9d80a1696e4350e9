"""What to check: one target per cluster, from the project's stacks or from a cluster path.

Stack mode (the default): each `Pulumi.<stack>.yaml` of the project is a cluster syncing
`clusters/<stack>`, with the settings the program hands to Flux (the `cluster-settings` values, the
branch, the first app version) and Kubernetes at the minor of its k3s image. Tree mode
(`cluster_path`): any Flux repository, bootstrapped the way `flux bootstrap` does it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..model import InputError, KubeObject
from .provided import provided_objects
from .tree import normalise

_KUBE_VERSION = re.compile(r"v?(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?")
# `flux bootstrap --interval` default (fluxcd/flux2@v2.9.4:cmd/flux/bootstrap_github.go:100).
BOOTSTRAP_INTERVAL = "1m0s"


@dataclass
class Target:
    """One cluster's view of the tree: what it syncs, with which values, on which Kubernetes."""

    name: str
    cluster_path: str
    kube_version: str                          # "1.33.5"
    values: dict[str, str] = field(default_factory=dict)
    branch: str = ""
    app_version: str = ""
    settings_file: str = ""                    # "Pulumi.staging.yaml" in stack mode
    flux_version: str = ""                     # the stack's fluxVersion (stack mode)
    provided: list[KubeObject] = field(default_factory=list)

    @property
    def minor(self) -> str:
        match = _KUBE_VERSION.match(self.kube_version)
        assert match is not None
        return f"{match['major']}.{match['minor']}"

    @property
    def is_stack(self) -> bool:
        return bool(self.settings_file)

    def sync_object(self, kind: str) -> KubeObject:
        """The sync object of `kind` (GitRepository, Kustomization) the cluster starts from."""
        return next(o for o in self.provided if o.kind == kind)


def kube_version(text: str, where: str) -> str:
    """"1.33.5" from a k3s image (rancher/k3s:v1.33.5-k3s1) or a version; InputError naming `where`."""
    match = _KUBE_VERSION.search(text.rpartition(":")[2] if ":" in text else text)
    if not match:
        raise InputError(f"{where}: '{text}' names no Kubernetes version (such as rancher/k3s:v1.33.5-k3s1)")
    return f"{match['major']}.{match['minor']}.{match['patch'] or 0}"


def stack_targets(platform_dir: Path, stacks: Sequence[str] | None, project_root: Path) -> list[Target]:
    """A target per stack (default: every Pulumi.<stack>.yaml of the project)."""
    from ...config import DEFAULTS, GIT_SYNC_INTERVAL_SECONDS, SettingsError, available_stacks, load_stack

    names = list(stacks) if stacks else available_stacks(project_root)
    if not names:
        raise InputError(f"no stacks: {project_root} holds no Pulumi.<stack>.yaml; pass --stack NAME, or "
                         "--cluster-path clusters/NAME for a Flux tree without stacks")
    targets = []
    for stack in names:
        try:
            settings = load_stack(stack, project_root)
        except SettingsError as error:
            raise InputError("; ".join(error.problems)) from None
        cluster_path = settings.flux_path.removeprefix("./")
        if not (platform_dir / cluster_path).is_dir():
            raise InputError(f"{cluster_path}: missing in {platform_dir}; the {stack} stack syncs ./{cluster_path} "
                             "(a directory of Flux Kustomizations)")
        values = settings.flux_substitutions()
        settings_file = f"Pulumi.{stack}.yaml"
        # An existing cluster's Kubernetes version is not known offline: the pinned k3s image's stands in.
        image = getattr(settings.cluster, "k3s_image", None) or str(DEFAULTS["k3sImage"])
        gateway = settings.gateway.values_yaml()
        targets.append(Target(
            name=stack, cluster_path=cluster_path,
            kube_version=kube_version(image, f"{settings_file} k3sImage"),
            values=values, branch=settings.repository.branch, app_version=settings.app_version,
            settings_file=settings_file, flux_version=settings.flux_version,
            provided=provided_objects(cluster_path, f"{GIT_SYNC_INTERVAL_SECONDS}s", settings.repository.branch,
                                      values, gateway)))
    return targets


def tree_target(platform_dir: Path, cluster_path: str, version: str | None) -> Target:
    """The target of a Flux tree bootstrapped at `cluster_path` (Kubernetes `version`, default: the
    minor of the program's default k3s image)."""
    from ...config import DEFAULTS

    path = normalise(cluster_path)
    if path.startswith("..") or not (platform_dir / path).is_dir():
        raise InputError(f"{cluster_path}: no such directory in {platform_dir}; pass the cluster directory "
                         "`flux bootstrap --path` was given, e.g. --cluster-path clusters/production")
    kube = kube_version(version, "--kube-version") if version else kube_version(
        str(DEFAULTS["k3sImage"]), "the default k3sImage")
    return Target(name=path, cluster_path=path, kube_version=kube,
                  provided=provided_objects(path, BOOTSTRAP_INTERVAL, "", None))
