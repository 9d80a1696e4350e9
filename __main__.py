"""Pulumi program: one progressive-delivery platform per stack.

Reads and checks the stack's settings and prerequisites, then lists the
components: the cluster, the repository with platform/ published into it,
the first app image, Flux and what the Flux tree reads, and the sync that
waits until Flux runs the published tree.
"""

import pulumi

from progressive_delivery import outputs, program_setup
from progressive_delivery.app_image import AppImage, AppImageArgs
from progressive_delivery.flux import FluxInstall, FluxInstallArgs, FluxSync, FluxSyncArgs
from progressive_delivery.platform_inputs import ApplicationNamespace, PlatformInputs, PlatformInputsArgs
from progressive_delivery.project import PLATFORM_DIR
from progressive_delivery.published_tree import PublishedTree, PublishedTreeArgs
from progressive_delivery.repository import Repository, RepositoryArgs

setup = program_setup.prepare()
settings = setup.settings

cluster = program_setup.cluster(setup)
on_cluster = setup.kubernetes_options(cluster)
on_github = pulumi.ResourceOptions(providers={"github": setup.github_provider()})

repository = Repository("repository", RepositoryArgs(settings.repository, settings.cluster.name), opts=on_github)
published = PublishedTree("platform", PublishedTreeArgs(
    source=PLATFORM_DIR,
    remote=repository.ssh_url,
    branch=settings.repository.branch,
    repository_name=repository.name,
    private_key=repository.private_key,
    repository_id=repository.node_id,
    depends_on=[repository],
), opts=on_github)
image = AppImage("echo-version-image", AppImageArgs(
    settings, depends_on=[cluster], registry_password=setup.registry_password,
    registry_identity=program_setup.local_registry_identity(settings, cluster)))

applications = ApplicationNamespace("applications", opts=on_cluster)
flux = FluxInstall("flux", FluxInstallArgs(settings.flux_version, setup.flux_manifest, after=[applications]),
                   opts=on_cluster)
inputs = PlatformInputs("platform-inputs", PlatformInputsArgs(
    settings, setup.registry_password, after=[flux, applications]), opts=on_cluster)
sync = FluxSync("flux-sync", FluxSyncArgs(
    settings=settings,
    ssh_url=repository.ssh_url,
    private_key=repository.private_key,
    public_key=repository.public_key,
    published_commit=published.commit,
    source_ready=[flux, published],
    sync_ready=[inputs, image],
), opts=on_cluster)
program_setup.teardown_for(setup, cluster, before=[sync, inputs, flux])

outputs.export(settings, cluster, repository, inputs, image, sync)
