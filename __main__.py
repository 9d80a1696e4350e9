"""Pulumi program: one progressive-delivery platform per stack.

Reads the stack's settings, builds the cluster, the repository, Flux and what
the Flux tree consumes, wires their order, and exports the stack outputs.
"""

import os

import pulumi
import pulumi_github as github

from progressive_delivery import config
from progressive_delivery.app_image import AppImage, AppImageArgs
from progressive_delivery.cluster import Cluster, ClusterArgs
from progressive_delivery.flux import FluxInstall, FluxSync, FluxSyncArgs
from progressive_delivery.platform_inputs import PlatformInputs, PlatformInputsArgs
from progressive_delivery.published_tree import PublishedTree, PublishedTreeArgs
from progressive_delivery.repository import Repository, RepositoryArgs

try:
    settings = config.load_from_pulumi()
except config.SettingsError as error:
    raise pulumi.RunError(str(error)) from None

registry_password = (None if settings.registry.is_local
                     else pulumi.Config(config.PROJECT).require_secret("imageRegistryPassword"))
github_provider = github.Provider(
    "github",
    owner=settings.repository.owner,
    token=config.github_token_config() or pulumi.Output.secret(os.environ.get("GITHUB_TOKEN", "")),
)

cluster = Cluster("cluster", ClusterArgs(settings.cluster, settings.registry))
repository = Repository("repository", RepositoryArgs(settings.repository, settings.cluster.name, github_provider))
published = PublishedTree("platform", PublishedTreeArgs(
    source=config.PROJECT_ROOT / "platform",
    remote=settings.repository.ssh_url,
    branch=settings.repository.branch,
    private_key=repository.private_key,
    depends_on=[repository.deploy_key],
    repository_id=repository.repository.node_id,
))
default_branch = repository.make_branch_default(settings.repository.branch, after=published.command)
image = AppImage("echo-version-image", AppImageArgs(
    settings, depends_on=[cluster.registry or cluster.command], registry_password=registry_password,
    registry=cluster.registry))

flux = FluxInstall("flux", settings, cluster.provider, cluster.command)
inputs = PlatformInputs("platform-inputs", PlatformInputsArgs(
    settings, cluster.provider, cluster.command, flux.manifests, registry_password))
sync = FluxSync("flux-sync", FluxSyncArgs(
    settings=settings,
    provider=cluster.provider,
    cluster=cluster.command,
    install=flux.manifests,
    private_key=repository.private_key,
    public_key=repository.public_key,
    source_ready=[published.command, default_branch],
    sync_ready=[*inputs.resources, image.command],
))

pulumi.export("clusterName", cluster.name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("repositoryUrl", repository.html_url)
pulumi.export("appUrl", settings.app_url)
pulumi.export("grafanaUrl", settings.grafana_url)
pulumi.export("grafanaAdminPassword", inputs.grafana_password)
pulumi.export("image", image.image)
