"""Everything the program settles before its first resource (CLI version, settings, prerequisites,
Flux's manifest), and the components whose shape depends on the kind of cluster.

Any problem found before the first resource stops the run with a short
message (pulumi.RunError), so nothing already in place is touched.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_github as github

from . import config, flux_manifest, pins, preflight
from .cluster import UNKNOWN_INSTANCE, Cluster, ClusterArgs, instance_of
from .existing_cluster import ExistingCluster, ExistingClusterArgs
from .flux_teardown import FluxTeardown, FluxTeardownArgs
from .gateway_address import GatewayAddress, GatewayAddressArgs
from .github_access import DEFAULT_API_URL, api_url_problem
from .preflight_context import Context
from .project import PLATFORM_DIR, PROJECT, STACK_LABEL
from .providers import github_provider
from .settings import ExistingClusterSettings, K3dClusterSettings, Settings


@dataclass
class Setup:
    """The checked inputs of one run."""

    settings: Settings
    token: str
    api_url: str
    flux_manifest: str
    registry_password: pulumi.Output[str] | None
    kubeconfig: pulumi.Output[str] | None      # an existing cluster's, as a secret
    server_labels: dict[str, str] | None = None  # a k3d stack's server container's (see cluster.server_labels)

    @property
    def owner_labels(self) -> dict[str, str]:
        """Labels marking what the stack installs as its own."""
        return {STACK_LABEL: self.settings.stack}

    def github_provider(self) -> github.Provider:
        return github_provider("github", self.settings.repository.owner, self.token,
                               None if self.api_url == DEFAULT_API_URL else self.api_url)

    def kubernetes_options(self, cluster: Cluster | ExistingCluster) -> pulumi.ResourceOptions:
        """Options of every Kubernetes component: the cluster's provider, and on k3d deletion with the
        cluster (children inherit both)."""
        anchor = cluster.command if isinstance(cluster, Cluster) else None
        return pulumi.ResourceOptions(providers={"kubernetes": cluster.provider}, deleted_with=anchor)


def prepare() -> Setup:
    """Check everything that can be checked before registering a resource; RunError otherwise."""
    require_cli(pins.pulumi_version_range())
    try:
        settings = config.load_from_pulumi()
    except config.SettingsError as error:
        raise pulumi.RunError(str(error)) from None
    if not (PLATFORM_DIR / settings.flux_path).is_dir():
        raise pulumi.RunError(f"platform/clusters/{settings.stack} does not exist: every stack needs its Flux "
                              "Kustomizations there (copy clusters/staging and adapt its paths)")
    token = config.github_token() or ""
    api_url = pulumi.Config("github").get("baseUrl") or DEFAULT_API_URL
    if problem := api_url_problem(api_url):
        raise pulumi.RunError(problem)
    plain_kubeconfig = _plain_kubeconfig(settings)
    context = Context(settings, token, preview=pulumi.runtime.is_dry_run(), api_url=api_url,
                      kubeconfig=plain_kubeconfig)
    try:
        preflight.run(context)
        manifest = flux_manifest.install_manifest(settings.flux_version)
    except (preflight.PreflightFailed, flux_manifest.FluxManifestError) as error:
        raise pulumi.RunError(str(error)) from None
    password = (None if settings.registry.is_local
                else pulumi.Config(PROJECT).require_secret("imageRegistryPassword"))
    kubeconfig = pulumi.Output.secret(plain_kubeconfig) if plain_kubeconfig is not None else None
    labels = context.server_labels if isinstance(settings.cluster, K3dClusterSettings) else None
    return Setup(settings, token, api_url, manifest, password, kubeconfig, labels)


def require_cli(version_range: str) -> None:
    """Refuse a Pulumi CLI outside `version_range` (its engine would delete Flux's objects one by one)."""
    try:
        pulumi.runtime.require_pulumi_version(version_range)
    except Exception as error:  # the SDK raises what the engine answers as a plain Exception
        raise pulumi.RunError(f"{error}; this program needs a Pulumi CLI {version_range} "
                              "(https://www.pulumi.com/docs/install/)") from None


def _plain_kubeconfig(settings: Settings) -> str | None:
    """An existing cluster's kubeconfig as text, for the preflight's kubectl (never logged)."""
    cluster = settings.cluster
    if not isinstance(cluster, ExistingClusterSettings):
        return None
    if cluster.kubeconfig_path:
        with open(os.path.expanduser(cluster.kubeconfig_path), encoding="utf-8") as handle:
            return handle.read()
    return pulumi.Config(PROJECT).get("kubeconfig")


def cluster(setup: Setup) -> Cluster | ExistingCluster:
    settings = setup.settings
    if isinstance(settings.cluster, K3dClusterSettings):
        instance = instance_of(setup.server_labels, settings.stack)
        if instance == UNKNOWN_INSTANCE:
            _cannot_tell_whether_the_cluster_runs(settings)
        return Cluster("cluster", ClusterArgs(settings.stack, settings.cluster, settings.registry, instance))
    assert setup.kubeconfig is not None, "settings require a kubeconfig for an existing cluster"
    return ExistingCluster("cluster", ExistingClusterArgs(settings.cluster, setup.kubeconfig))


def _cannot_tell_whether_the_cluster_runs(settings: Settings) -> None:
    """Docker did not answer: a preview says its plan may show the cluster replaced; an update stops."""
    message = (f"Docker does not answer, so whether k3d cluster {settings.cluster.name} runs cannot be told; "
               "start Docker")
    if pulumi.runtime.is_dry_run():
        pulumi.log.warn(f"{message} for a true preview (this one may show the cluster replaced)")
        return
    raise pulumi.RunError(f"{message}, then run `pulumi up` again")


def local_registry_identity(settings: Settings, cluster: Cluster | ExistingCluster) -> pulumi.Output[str] | None:
    """What makes a new local registry: the k3d cluster it is created with (None without one)."""
    if isinstance(cluster, Cluster) and settings.registry.is_local:
        return cluster.command.id
    return None


def teardown_for(setup: Setup, after: Sequence[pulumi.Resource]) -> FluxTeardown | None:
    """On an existing cluster, the step that lets Flux prune its work before `after` is deleted."""
    cluster = setup.settings.cluster
    if not isinstance(cluster, ExistingClusterSettings) or setup.kubeconfig is None:
        return None
    return FluxTeardown("flux-teardown", FluxTeardownArgs(cluster, setup.kubeconfig, after))


def app_url(setup: Setup, cluster: Cluster | ExistingCluster, after: Sequence[pulumi.Resource]) -> pulumi.Input[str]:
    """The app's URL: known from the settings, or read from the load balancer an existing cluster assigned."""
    settings = setup.settings
    if settings.app_url is not None:
        return settings.app_url
    assert isinstance(cluster, ExistingCluster) and isinstance(settings.cluster, ExistingClusterSettings), \
        "only an existing cluster leaves the app's address to the cluster"
    gateway = GatewayAddress("gateway-address", GatewayAddressArgs(settings.cluster, cluster.kubeconfig, after))
    return gateway.address.apply(lambda host: f"http://{host}{settings.app_path_prefix}version")
