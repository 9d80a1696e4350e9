"""The Pulumi program under mocks, for every stack file: the graph, its inputs, order and secrecy."""

from __future__ import annotations

import json

import pulumi
import pytest
from program_harness import (
    DEFAULT_ENV,
    FAKE_KUBECONFIG,
    FAKE_PASSWORD,
    FAKE_PRIVATE_KEY,
    FAKE_PUBLIC_KEY,
    evaluate,
    is_secret,
    unwrap,
)

from progressive_delivery import config

STACKS = config.available_stacks()
COMMAND = "command:local:Command"
TOKEN = DEFAULT_ENV["GITHUB_TOKEN"]


@pytest.fixture(scope="module", params=STACKS)
def program(request):
    return evaluate(request.param)


def test_both_stacks_exist():
    assert {"staging", "production"} <= set(STACKS)


def test_cluster_command_runs_k3d_with_the_stack_shape(program):
    settings = config.load_stack(program.stack)
    cluster = program.one(COMMAND, "cluster")
    create, delete = cluster.plain("create"), cluster.plain("delete")
    assert "k3d cluster create" in create and "k3d cluster delete" in delete
    for flag in ("--disable=traefik@server:*", "--kubeconfig-update-default=false",
                 "--kubeconfig-switch-context=false", "--wait", '"127.0.0.1:$HTTP_PORT:80@loadbalancer"'):
        assert flag in create
    environment = cluster.plain("environment")
    assert environment["CLUSTER_NAME"] == settings.cluster.name
    assert environment["HTTP_PORT"] == str(settings.cluster.http_port)
    assert environment["API_PORT"] == str(settings.cluster.api_port)
    assert environment["K3S_IMAGE"] == settings.cluster.k3s_image
    assert environment["AGENTS"] == str(settings.cluster.agents)


def test_cluster_is_replaced_delete_first_and_its_kubeconfig_is_secret(program):
    cluster = program.one(COMMAND, "cluster")
    assert cluster.delete_before_replace
    assert cluster.plain("triggers"), "a change of shape must replace the cluster"
    assert "stdout" in cluster.additional_secret_outputs
    assert cluster.plain("logging") == "stderr", "stdout carries the kubeconfig and must not be logged"
    assert cluster.plain("addPreviousOutputInEnv") is False


def test_provider_is_built_from_the_cluster_kubeconfig_and_used_by_every_object(program):
    provider = program.one("pulumi:providers:kubernetes")
    assert is_secret(provider.inputs["kubeconfig"])
    assert unwrap(provider.inputs["kubeconfig"]) == FAKE_KUBECONFIG
    cluster = program.one(COMMAND, "cluster")
    objects = [r for r in program.registrations
               if r.type.startswith("kubernetes:") and not r.type.startswith("pulumi:providers")]
    assert len(objects) >= 9
    for registration in objects:
        assert registration.provider.startswith(provider.urn + "::"), registration.name
        assert registration.deleted_with == cluster.urn, f"{registration.name} is not deleted with the cluster"


def test_repository_is_private_auto_initialised_and_named_after_the_stack(program):
    repository = program.one("github:index/repository:Repository")
    assert repository.plain("name") == f"progressive-delivery-{program.stack}"
    assert repository.plain("visibility") == "private"
    assert repository.plain("autoInit") is True
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


def test_flux_is_installed_from_the_pinned_release(program):
    settings = config.load_stack(program.stack)
    install = program.one("kubernetes:yaml/v2:ConfigFile")
    assert install.plain("file") == (
        f"https://github.com/fluxcd/flux2/releases/download/{settings.flux_version}/install.yaml")


def test_flux_secret_has_the_deploy_key_and_github_known_hosts(program):
    secret = program.kubernetes_object("Secret", "flux-system")
    assert is_secret(secret.inputs["stringData"])
    data = unwrap(secret.inputs["stringData"])
    assert set(data) == {"identity", "identity.pub", "known_hosts"}
    assert data["identity"] == FAKE_PRIVATE_KEY
    assert data["identity.pub"] == FAKE_PUBLIC_KEY
    hosts = unwrap(data["known_hosts"]).splitlines()
    assert hosts and all(line.startswith("github.com ssh-") or line.startswith("github.com ecdsa-")
                         for line in hosts)


def test_git_repository_and_kustomization_point_at_the_stack(program):
    settings = config.load_stack(program.stack, env=DEFAULT_ENV)
    repository = program.kubernetes_object("GitRepository", "flux-system")
    spec = repository.plain("spec")
    assert spec["url"] == f"ssh://git@github.com/acme/progressive-delivery-{program.stack}.git"
    assert spec["ref"] == {"branch": "main"} and spec["secretRef"] == {"name": "flux-system"}
    assert spec["url"] == settings.repository.ssh_url
    kustomization = program.kubernetes_object("Kustomization", "flux-system")
    spec = kustomization.plain("spec")
    assert spec["path"] == f"./clusters/{program.stack}"
    assert spec["prune"] is True and spec["wait"] is True and spec["timeout"]
    annotations = kustomization.plain("metadata")["annotations"]
    assert annotations["pulumi.com/waitFor"] == "condition=Ready"
    assert int(annotations["pulumi.com/timeoutSeconds"]) == settings.ready_timeout_minutes * 60


def test_cluster_settings_carry_the_flux_substitutions(program):
    settings = config.load_stack(program.stack)
    configmap = program.kubernetes_object("ConfigMap", "cluster-settings")
    assert configmap.plain("metadata")["namespace"] == "flux-system"
    assert configmap.plain("data") == settings.flux_substitutions()
    assert configmap.plain("data")["cluster_env"] == program.stack


def test_publish_comes_after_the_deploy_key_and_before_the_git_repository(program):
    publish = program.one(COMMAND, "platform")
    deploy_key = program.one("github:index/repositoryDeployKey:RepositoryDeployKey")
    assert deploy_key.urn in publish.dependencies
    repository = program.kubernetes_object("GitRepository", "flux-system")
    assert publish.urn in repository.dependencies
    default_branch = program.one("github:index/branchDefault:BranchDefault")
    assert publish.urn in default_branch.dependencies


def test_flux_applies_only_after_its_inputs_and_the_first_image(program):
    kustomization = program.kubernetes_object("Kustomization", "flux-system")
    needed = [program.kubernetes_object("GitRepository", "flux-system"),
              program.kubernetes_object("ConfigMap", "cluster-settings"),
              program.kubernetes_object("Secret", "grafana-admin"),
              program.kubernetes_object("Secret", "echo-version-registry"),
              program.kubernetes_object("Secret", "echo-version-pull"),
              program.one(COMMAND, "echo-version-image")]
    for resource in needed:
        assert resource.urn in kustomization.dependencies, resource.name


def test_local_registry_comes_before_the_image_and_goes_with_the_stack(program):
    registry = program.one(COMMAND, "cluster-registry")
    image = program.one(COMMAND, "echo-version-image")
    cluster = program.one(COMMAND, "cluster")
    assert registry.urn in image.dependencies and registry.urn in cluster.dependencies
    assert "k3d registry delete" in registry.plain("delete")
    settings = config.load_stack(program.stack)
    assert registry.plain("environment")["REGISTRY_PORT"] == str(settings.registry.port)
    assert image.plain("create").endswith(f"release --stack {program.stack} {settings.app_version} --initial")


def test_commands_carry_no_absolute_path(program):
    for command in program.of_type(COMMAND):
        assert not any(part.startswith("/") and part != "/bin/bash"
                       for part in (command.plain("create") or "").split()
                       if not part.startswith("/bin/")), command.name


def test_secret_values_never_appear_in_plain_inputs(program):
    secrets = [TOKEN, FAKE_PRIVATE_KEY, FAKE_KUBECONFIG, FAKE_PASSWORD]

    def plain_strings(value):
        if is_secret(value):
            return
        if isinstance(value, dict):
            for item in value.values():
                yield from plain_strings(item)
        elif isinstance(value, list):
            for item in value:
                yield from plain_strings(item)
        elif isinstance(value, str):
            yield value

    for registration in program.registrations:
        for text in plain_strings(registration.inputs):
            for secret in secrets:
                assert secret.strip() not in text, f"{registration.type} {registration.name} has a secret in plain text"


def test_publish_gets_the_deploy_key_from_a_secret_environment_variable(program):
    publish = program.one(COMMAND, "platform")
    environment = publish.inputs["environment"]
    assert is_secret(environment) or is_secret(environment["PD_DEPLOY_KEY"])
    assert unwrap(environment)["PD_DEPLOY_KEY"] == FAKE_PRIVATE_KEY
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


def test_first_image_is_pushed_again_into_a_new_registry(program):
    image = program.one(COMMAND, "echo-version-image")
    registry = program.one(COMMAND, "cluster-registry")
    triggers = image.plain("triggers")
    assert config.load_stack(program.stack).app_version in triggers
    assert f"{registry.name}-id" in triggers, "a replaced (empty) registry must get the image again"


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


def test_stacks_can_run_side_by_side():
    settings = [config.load_stack(stack) for stack in STACKS]
    for attribute in ("cluster.name", "cluster.http_port", "cluster.api_port", "registry.port", "repository.name"):
        values = [eval(f"s.{attribute}", {"s": s}) for s in settings]
        assert len(set(values)) == len(values), f"{attribute} is shared between stacks: {values}"


def test_external_registry_uses_a_secret_pull_credential():
    program = evaluate("staging", overrides={"imageRepository": "ghcr.io/acme/echo-version",
                                             "imageRegistryUsername": "acme"},
                       secrets={"progressive-delivery:imageRegistryPassword": "ghcr-secret-token"})
    assert not program.of_type(COMMAND) or all(r.name != "cluster-registry" for r in program.of_type(COMMAND))
    secret = program.kubernetes_object("Secret", "echo-version-pull")
    data = secret.inputs["stringData"]
    assert is_secret(data) or is_secret(data[".dockerconfigjson"])
    auths = json.loads(unwrap(data)[".dockerconfigjson"])["auths"]
    assert auths["ghcr.io"]["username"] == "acme" and auths["ghcr.io"]["password"] == "ghcr-secret-token"
    image = program.one(COMMAND, "echo-version-image")
    environment = image.inputs["environment"]
    assert is_secret(environment) or is_secret(environment["IMAGE_REGISTRY_PASSWORD"])
    assert unwrap(environment)["IMAGE_REGISTRY_PASSWORD"] == "ghcr-secret-token"
    configmap = program.kubernetes_object("ConfigMap", "cluster-settings")
    assert configmap.plain("data")["image_repository"] == "ghcr.io/acme/echo-version"
    assert configmap.plain("data")["image_registry_insecure"] == "false"


@pytest.mark.parametrize("overrides, env, message", [
    ({"httpPort": "70000"}, {}, "progressive-delivery:httpPort: 70000 is out of range"),
    ({"apiPort": "8080", "httpPort": "8080"}, {}, "progressive-delivery:apiPort: port 8080 is also used by"),
    ({"clusterAgents": "-1"}, {}, "progressive-delivery:clusterAgents: -1 is out of range"),
    ({"repositoryName": "bad name!"}, {}, "progressive-delivery:repositoryName: 'bad name!' is not valid"),
    ({}, {"GITHUB_OWNER": None}, "progressive-delivery:repositoryOwner: no repository owner"),
    ({}, {"GITHUB_TOKEN": None}, "github:token: no GitHub token; export GITHUB_TOKEN"),
    ({"k3sImage": "rancher/k3s:v1.29.4-k3s1"}, {}, "use 1.33 or newer"),
    ({"fluxVersion": "latest"}, {}, "progressive-delivery:fluxVersion: 'latest' is not valid"),
    ({"registryPort": "http"}, {}, "progressive-delivery:registryPort: 'http' is not a whole number"),
    ({"imageRepository": "ghcr.io/acme/echo-version"}, {},
     "progressive-delivery:imageRegistryUsername: is required"),
])
def test_bad_settings_stop_before_any_resource(overrides, env, message):
    with pytest.raises(pulumi.RunError) as error:
        evaluate("staging", overrides=overrides, env=env)
    assert message in str(error.value)
    assert "Invalid settings for stack 'staging'" in str(error.value)


def test_bad_settings_register_nothing(monkeypatch):
    import program_harness

    recorded = {}
    original = program_harness.Evaluation

    def capture(*args, **kwargs):
        recorded["evaluation"] = original(*args, **kwargs)
        return recorded["evaluation"]

    monkeypatch.setattr(program_harness, "Evaluation", capture)
    with pytest.raises(pulumi.RunError):
        program_harness.evaluate("production", overrides={"clusterServers": "0"})
    assert recorded["evaluation"].registrations == []


def test_token_from_stack_secret_is_accepted():
    program = evaluate("production", env={"GITHUB_TOKEN": None},
                       secrets={"github:token": "ghp_fromconfigsecret"})
    provider = program.one("pulumi:providers:github")
    assert is_secret(provider.inputs["token"]) and unwrap(provider.inputs["token"]) == "ghp_fromconfigsecret"


def test_custom_resources_validate_against_the_crds(program):
    from progressive_delivery.check.validate.catalog import Catalog
    from progressive_delivery.check.validate.schemas import Validator

    validator = Validator("1.33", Catalog())
    for kind in ("GitRepository", "Kustomization"):
        registration = program.kubernetes_object(kind, "flux-system")
        body = {key: unwrap(registration.inputs[key]) for key in ("apiVersion", "kind", "metadata", "spec")}
        assert validator.validate(body) == [], kind
        broken = {**body, "spec": {**body["spec"], "unknownField": True}}
        assert validator.validate(broken), f"an unknown field in the {kind} must be rejected"


def test_flux_manifests_are_deleted_with_the_cluster(program):
    from progressive_delivery.flux import deleted_with

    install = program.one("kubernetes:yaml/v2:ConfigFile")
    assert install.deleted_with == program.one(COMMAND, "cluster").urn
    marker = object()
    result = deleted_with(marker)(pulumi.ResourceTransformArgs(
        custom=True, type_="kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", name="crd",
        props={"spec": {}}, opts=pulumi.ResourceOptions(depends_on=[])))
    assert result.opts.deleted_with is marker and result.props == {"spec": {}}
