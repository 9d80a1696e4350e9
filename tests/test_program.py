"""The Pulumi program under mocks, for every stack file: the graph, its inputs, order and secrecy."""

from __future__ import annotations

import json

import pulumi
import pytest
import yaml
from pin_audit import strings
from program_harness import (
    COMMAND,
    DEFAULT_ENV,
    FAKE_KUBECONFIG,
    FAKE_PASSWORD,
    FAKE_PRIVATE_KEY,
    FAKE_PUBLIC_KEY,
    REPOSITORY_OWNER,
    Evaluation,
    Registration,
    evaluate,
    is_secret,
    unwrap,
)

from progressive_delivery import config, flux, pins
from progressive_delivery.stack_files import available_stacks

STACKS = available_stacks()
TOKEN = DEFAULT_ENV["GITHUB_TOKEN"]


@pytest.fixture(scope="module", params=STACKS)
def program(request) -> Evaluation:
    return evaluate(request.param)


def children_of(program: Evaluation, component: Registration) -> list[Registration]:
    return [r for r in program.registrations if r.parent == component.urn]


def test_both_stacks_exist():
    assert {"staging", "production"} <= set(STACKS)


def test_the_program_requires_a_cli_that_replaces_what_goes_with_a_replaced_cluster(program):
    assert program.required_cli == pins.pulumi_version_range() == ">=3.260.0"


def test_cluster_command_runs_k3d_with_the_stack_shape_and_identity(program):
    settings = config.load_stack(program.stack)
    cluster = program.one(COMMAND, "cluster")
    create, delete = cluster.plain("create"), cluster.plain("delete")
    assert "k3d cluster create" in create and "k3d cluster delete" in delete
    for flag in ("--disable=traefik@server:*", "--kubeconfig-update-default=false",
                 "--kubeconfig-switch-context=false", "--wait", '"127.0.0.1:$HTTP_PORT:80@loadbalancer"',
                 '--runtime-label "$IDENTITY_LABEL=$STACK@server:*"',
                 '--runtime-label "$INSTANCE_LABEL=$INSTANCE@server:*"',
                 '--registry-create "$REGISTRY_CONTAINER:127.0.0.1:$REGISTRY_PORT"'):
        assert flag in create
    environment = cluster.plain("environment")
    assert environment["STACK"] == program.stack
    assert environment["CLUSTER_NAME"] == settings.cluster.name
    assert environment["HTTP_PORT"] == str(settings.cluster.http_port)
    assert environment["API_PORT"] == str(settings.cluster.api_port)
    assert environment["K3S_IMAGE"] == settings.cluster.k3s_image == pins.k3s_image()
    assert environment["REGISTRY_PORT"] == str(settings.registry.port)


def test_a_cluster_deleted_by_hand_is_created_again_and_a_running_one_kept():
    from progressive_delivery import cluster

    def instance(labels: dict[str, str] | None) -> str:
        program = evaluate("staging", docker_sees=lambda runner, name: labels)
        command = program.one(COMMAND, "cluster")
        assert command.plain("environment")["INSTANCE"] in command.plain("triggers")
        return command.plain("environment")["INSTANCE"]

    running = {cluster.STACK_LABEL: "staging", cluster.INSTANCE_LABEL: "4f2a9c"}
    assert instance(running) == instance(running) == "4f2a9c", "an unchanged cluster is never replaced"
    gone = instance({})
    assert gone not in ("4f2a9c", cluster.UNKNOWN_INSTANCE) and instance({}) != gone, "a missing one is"
    assert instance({cluster.STACK_LABEL: "production", cluster.INSTANCE_LABEL: "4f2a9c"}) != "4f2a9c"


def test_without_docker_an_update_stops_and_a_preview_warns():
    import program_harness

    with pytest.raises(pulumi.RunError, match="Docker does not answer, so whether k3d cluster pd-staging runs"):
        evaluate("staging", docker_sees=lambda runner, name: None)
    assert program_harness.LAST_REGISTRATIONS == []
    preview = evaluate("staging", docker_sees=lambda runner, name: None, preview=True)
    assert preview.one(COMMAND, "cluster").plain("environment")["INSTANCE"] == "unknown"


def test_cluster_is_replaced_delete_first_and_its_kubeconfig_is_secret(program):
    cluster = program.one(COMMAND, "cluster")
    assert cluster.delete_before_replace
    assert cluster.plain("triggers"), "a change of shape must replace the cluster"
    assert "stdout" in cluster.additional_secret_outputs
    assert cluster.plain("logging") == "stderr", "stdout carries the kubeconfig and must not be logged"
    assert cluster.plain("addPreviousOutputInEnv") is False


def test_provider_keeps_state_true(program):
    provider = program.one("pulumi:providers:kubernetes")
    assert is_secret(provider.inputs["kubeconfig"]) and unwrap(provider.inputs["kubeconfig"]) == FAKE_KUBECONFIG
    # Replaced only with the cluster (its command's id), never for a kubeconfig that is unknown in a preview.
    assert provider.plain("clusterIdentifier") == "cluster-id"
    # No silent removal of objects from the state when the cluster cannot be reached.
    assert "deleteUnreachable" not in provider.inputs
    # A changed setting updates the ConfigMap Flux reads instead of deleting and recreating it.
    assert provider.plain("enableConfigMapMutable") == "true" and provider.plain("enableSecretMutable") == "true"


def test_kubernetes_components_use_the_cluster_provider_and_go_with_the_cluster(program):
    provider = program.one("pulumi:providers:kubernetes")
    cluster = program.one(COMMAND, "cluster")
    components = [r for r in program.registrations
                  if r.type.startswith(("progressive-delivery:flux:", "progressive-delivery:inputs:"))]
    assert {c.name for c in components} == {"flux", "flux-sync", "platform-inputs", "applications"}
    for component in components:
        # The engine passes deleted_with from a component to its children.
        assert component.deleted_with == cluster.urn, component.name
    objects = [r for r in program.registrations if r.type.startswith("kubernetes:")]
    assert len(objects) == 10
    for registration in objects:
        assert registration.provider.startswith(provider.urn + "::"), registration.name


def test_repository_is_private_auto_initialised_and_named_after_the_stack(program):
    repository = program.one("github:index/repository:Repository")
    assert repository.plain("name") == f"progressive-delivery-{program.stack}"
    assert repository.plain("visibility") == "private"
    assert repository.plain("autoInit") is True
    assert repository.plain("archiveOnDestroy") is False
    default_branch = program.one("github:index/branchDefault:BranchDefault")
    assert default_branch.plain("branch") == "main"


def test_github_provider_gets_the_owner_and_a_secret_token(program):
    provider = program.one("pulumi:providers:github")
    assert provider.plain("owner") == "acme"
    assert is_secret(provider.inputs["token"]) and unwrap(provider.inputs["token"]) == TOKEN


def test_deploy_key_has_write_access_and_the_generated_public_key(program):
    key = program.one("tls:index/privateKey:PrivateKey")
    assert key.plain("algorithm") == "ED25519"
    deploy_key = program.one("github:index/repositoryDeployKey:RepositoryDeployKey")
    assert deploy_key.plain("readOnly") is False
    assert deploy_key.plain("key") == FAKE_PUBLIC_KEY
    assert deploy_key.plain("title") == f"flux-{config.load_stack(program.stack).cluster.name}"


def test_flux_is_installed_from_the_verified_manifest_content(program):
    install = program.one("kubernetes:yaml/v2:ConfigGroup", "flux")
    objects = install.plain("objs")
    assert [o["kind"] for o in objects] == ["Namespace", "CustomResourceDefinition", "Deployment"]
    assert objects[0]["metadata"]["labels"] == {"progressive-delivery.stack": program.stack}
    assert "files" not in install.inputs, "the manifest is verified and passed as content, never fetched by URL"


def test_flux_secret_has_the_deploy_key_and_github_known_hosts(program):
    secret = program.kubernetes_object("Secret", "flux-system")
    assert is_secret(secret.inputs["stringData"])
    data = unwrap(secret.inputs["stringData"])
    assert set(data) == {"identity", "identity.pub", "known_hosts"}
    assert data["identity"] == FAKE_PRIVATE_KEY
    assert data["identity.pub"] == FAKE_PUBLIC_KEY
    hosts = unwrap(data["known_hosts"]).splitlines()
    assert hosts and all(line.startswith(("github.com ssh-", "github.com ecdsa-")) for line in hosts)


def test_git_repository_follows_the_repository_github_reports(program):
    repository = program.kubernetes_object("GitRepository", "flux-system")
    spec = repository.plain("spec")
    assert spec["url"] == f"ssh://git@github.com/{REPOSITORY_OWNER}/progressive-delivery-{program.stack}.git"
    assert spec["ref"] == {"branch": "main"} and spec["secretRef"] == {"name": "flux-system"}
    publish = program.one(COMMAND, "platform")
    assert spec["url"] in publish.plain("create")


def test_kustomization_applies_the_stack_path_and_waits_longer_than_flux(program):
    settings = config.load_stack(program.stack)
    kustomization = program.kubernetes_object("Kustomization", "flux-system")
    spec = kustomization.plain("spec")
    assert spec["path"] == f"./clusters/{program.stack}"
    assert spec["prune"] is True and spec["wait"] is True
    assert spec["timeout"] == f"{settings.ready_timeout_minutes}m"
    pulumi_wait = f"{settings.ready_timeout_minutes + flux.WAIT_MARGIN_MINUTES}m"
    assert kustomization.custom_timeouts.create == pulumi_wait and kustomization.custom_timeouts.update == pulumi_wait
    source_wait = program.kubernetes_object("GitRepository", "flux-system").custom_timeouts
    assert source_wait.create == f"{flux.SOURCE_WAIT_MINUTES}m", "a refused deploy key fails in minutes"


def stamps(program: Evaluation) -> dict[str, str]:
    """The reconcile request of each sync object, checked against the wait that goes with it."""
    found = {}
    for kind in ("GitRepository", "Kustomization"):
        annotations = program.kubernetes_object(kind, "flux-system").plain("metadata")["annotations"]
        stamp = annotations[flux.RECONCILE_REQUEST]
        assert json.loads(annotations["pulumi.com/waitFor"]) == [
            f"jsonpath={{.status.lastHandledReconcileAt}}={stamp}", "condition=Ready"]
        found[kind] = stamp
    return found


def test_sync_objects_wait_for_flux_to_handle_the_published_commit(program):
    published = program.published_commit
    found = stamps(program)
    assert found["GitRepository"] == published
    assert found["Kustomization"].startswith(f"{published}-"), "the values the tree reads are part of the stamp"
    repository = program.kubernetes_object("GitRepository", "flux-system")
    kustomization = program.kubernetes_object("Kustomization", "flux-system")
    assert repository.urn in kustomization.dependencies, "the source must hold the commit before it is applied"


def test_a_changed_setting_is_applied_and_waited_for():
    before = stamps(evaluate("staging"))
    after = stamps(evaluate("staging", overrides={"grafanaHost": "grafana.example.test"}))
    assert after["GitRepository"] == before["GitRepository"], "the source has nothing new to fetch"
    assert after["Kustomization"] != before["Kustomization"]


def test_flux_reconciles_what_reads_a_changed_value_at_once(program):
    for kind, name in (("ConfigMap", "cluster-settings"), ("ConfigMap", "istio-gateway-values")):
        labels = program.kubernetes_object(kind, name).plain("metadata")["labels"]
        assert labels == {"reconcile.fluxcd.io/watch": "Enabled"}
    grafana = program.kubernetes_object("Secret", "grafana-admin")
    assert unwrap(grafana.inputs["metadata"])["labels"] == {"reconcile.fluxcd.io/watch": "Enabled"}


def test_a_changed_platform_tree_changes_the_reconcile_request(monkeypatch):
    from progressive_delivery import published_tree

    before = stamps(evaluate("staging"))
    monkeypatch.setattr(published_tree, "tree_digest", lambda source: "another-tree")
    after = stamps(evaluate("staging"))
    assert after["GitRepository"] != before["GitRepository"]
    assert after["Kustomization"] != before["Kustomization"]


def test_cluster_settings_and_gateway_values(program):
    settings = config.load_stack(program.stack)
    configmap = program.kubernetes_object("ConfigMap", "cluster-settings")
    assert configmap.plain("metadata")["namespace"] == "flux-system"
    assert configmap.plain("data") == settings.flux_substitutions()
    assert configmap.plain("data")["cluster_env"] == program.stack
    gateway = program.kubernetes_object("ConfigMap", "istio-gateway-values")
    assert yaml.safe_load(gateway.plain("data")["values.yaml"]) == {"service": {"type": "LoadBalancer"}}


def test_the_application_namespace_belongs_to_the_program(program):
    namespace = program.kubernetes_object("Namespace", "applications")
    assert namespace.plain("metadata")["labels"] == {"istio-injection": "enabled"}
    pull = program.kubernetes_object("Secret", "echo-version-pull")
    assert namespace.urn in pull.dependencies


def test_publish_comes_after_the_deploy_key_and_before_the_git_repository(program):
    publish = program.one(COMMAND, "platform")
    deploy_key = program.one("github:index/repositoryDeployKey:RepositoryDeployKey")
    assert deploy_key.urn in publish.dependencies
    repository = program.kubernetes_object("GitRepository", "flux-system")
    assert publish.urn in repository.dependencies
    default_branch = program.one("github:index/branchDefault:BranchDefault")
    assert publish.urn in default_branch.dependencies and default_branch.urn in repository.dependencies


def test_flux_applies_only_after_its_inputs_and_the_first_image(program):
    kustomization = program.kubernetes_object("Kustomization", "flux-system")
    needed = [program.kubernetes_object("GitRepository", "flux-system"),
              program.kubernetes_object("ConfigMap", "cluster-settings"),
              program.kubernetes_object("ConfigMap", "istio-gateway-values"),
              program.kubernetes_object("Secret", "grafana-admin"),
              program.kubernetes_object("Secret", "echo-version-registry"),
              program.kubernetes_object("Secret", "echo-version-pull"),
              program.one(COMMAND, "echo-version-image")]
    for resource in needed:
        assert resource.urn in kustomization.dependencies, resource.name


def test_first_image_is_pushed_after_the_cluster_and_again_into_a_new_registry(program):
    image = program.one(COMMAND, "echo-version-image")
    cluster = program.one(COMMAND, "cluster")
    settings = config.load_stack(program.stack)
    assert cluster.urn in image.dependencies
    assert image.plain("create").endswith(f"release --stack {program.stack} {settings.app_version} --initial")
    triggers = image.plain("triggers")
    assert settings.app_version in triggers
    assert "cluster-id" in triggers, "a new cluster brings an empty registry, which needs the image again"


def test_commands_carry_no_absolute_path(program):
    for command in program.of_type(COMMAND):
        assert not any(part.startswith("/") and not part.startswith("/bin/")
                       for part in (command.plain("create") or "").split()), command.name


def test_secret_values_never_appear_in_plain_inputs(program):
    secrets = [TOKEN, FAKE_PRIVATE_KEY, FAKE_KUBECONFIG, FAKE_PASSWORD]
    for registration in program.registrations:
        for text in strings(registration.inputs, skip=is_secret):
            for secret in secrets:
                assert secret.strip() not in text, f"{registration.type} {registration.name} has a secret in plain text"


def test_publish_gets_the_deploy_key_from_a_secret_environment_variable(program):
    publish = program.one(COMMAND, "platform")
    assert is_secret(publish.inputs["environment"])
    assert unwrap(publish.inputs["environment"])["PD_DEPLOY_KEY"] == FAKE_PRIVATE_KEY
    assert "--ssh-key-env PD_DEPLOY_KEY" in publish.plain("create")
    assert FAKE_PRIVATE_KEY.strip() not in publish.plain("create")


def test_registry_secrets_name_the_local_registry_host(program):
    settings = config.load_stack(program.stack)
    host = f"{settings.registry.container_name(settings.cluster.name)}:5000"
    for name in ("echo-version-registry", "echo-version-pull"):
        secret = program.kubernetes_object("Secret", name)
        assert secret.plain("type") == "kubernetes.io/dockerconfigjson"
        auths = json.loads(unwrap(secret.inputs["stringData"])[".dockerconfigjson"])["auths"]
        # Flux's scan needs an entry for the host it scans, even where the registry asks for none.
        assert list(auths) == [host] and auths[host]["username"] == "anonymous"


def test_a_recreated_repository_is_published_again(program):
    publish = program.one(COMMAND, "platform")
    assert f"R_progressive-delivery-{program.stack}" in publish.plain("triggers")


def test_stack_outputs(program):
    settings = config.load_stack(program.stack)
    outputs = program.outputs
    assert outputs["clusterName"] == settings.cluster.name
    assert is_secret(outputs["kubeconfig"]) and unwrap(outputs["kubeconfig"]) == FAKE_KUBECONFIG
    assert is_secret(outputs["grafanaAdminPassword"])
    assert outputs["repositoryUrl"] == f"https://github.com/acme/progressive-delivery-{program.stack}"
    assert outputs["appUrl"] == settings.app_url and outputs["grafanaUrl"] == settings.grafana_url
    assert settings.app_url == f"http://localhost:{settings.cluster.http_port}/echo/version"
    assert settings.grafana_url == f"http://grafana.localhost:{settings.cluster.http_port}/"
    assert outputs["image"] == f"localhost:{settings.registry.port}/echo-version:{settings.app_version}"


def test_the_checker_counts_exactly_what_the_program_creates(program):
    """The tree is checked against the objects the program really creates, so no object has two owners."""
    from progressive_delivery.check.load.provided import program_objects, sync_objects

    def key(body: dict) -> tuple[str, str, str]:
        metadata = body["metadata"]
        return body["kind"], metadata.get("namespace", ""), metadata["name"]

    created = {key(unwrap({"kind": r.inputs["kind"], "metadata": r.inputs["metadata"]}))
               for r in program.registrations
               if r.type.startswith("kubernetes:") and r.type != "kubernetes:yaml/v2:ConfigGroup"}
    install = program.one("kubernetes:yaml/v2:ConfigGroup", "flux").plain("objs")
    created |= {key(body) for body in install if body["kind"] == "Namespace"}
    counted = {key(body) for body in [*sync_objects(f"clusters/{program.stack}", "30s", "main"),
                                      *program_objects({}, "")]}
    assert created == counted
