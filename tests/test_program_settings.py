"""The Pulumi program under mocks with settings other than the stack files': what they change, and how bad
ones stop it before any resource."""

from __future__ import annotations

import json

import program_harness
import pulumi
import pytest
from program_harness import COMMAND, DEFAULT_ENV, evaluate, is_secret, unwrap


def test_archiving_instead_of_deleting_the_repository():
    program = evaluate("staging", overrides={"repositoryOnDestroy": "archive"})
    assert program.one("github:index/repository:Repository").plain("archiveOnDestroy") is True


def test_external_registry_uses_a_secret_pull_credential():
    program = evaluate("staging", overrides={"imageRepository": "ghcr.io/acme/echo-version",
                                             "imageRegistryUsername": "acme", "registryPort": None},
                       secrets={"progressive-delivery:imageRegistryPassword": "ghcr-secret-token"})
    cluster = program.one(COMMAND, "cluster")
    assert "REGISTRY_CONTAINER" not in cluster.plain("environment")
    secret = program.kubernetes_object("Secret", "echo-version-pull")
    assert is_secret(secret.inputs["stringData"])
    auths = json.loads(unwrap(secret.inputs["stringData"])[".dockerconfigjson"])["auths"]
    assert auths["ghcr.io"]["username"] == "acme" and auths["ghcr.io"]["password"] == "ghcr-secret-token"
    image = program.one(COMMAND, "echo-version-image")
    assert is_secret(image.inputs["environment"])
    assert unwrap(image.inputs["environment"])["IMAGE_REGISTRY_PASSWORD"] == "ghcr-secret-token"
    assert "cluster-id" not in image.plain("triggers")
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
    ({}, {"GITHUB_TOKEN": " ghp_padded "}, "github:token: the token has surrounding whitespace"),
    ({"k3sImage": "rancher/k3s:v1.29.4-k3s1"}, {}, "the pinned Flux and Istio releases support 1.32 to 1.36"),
    ({"fluxVersion": "latest"}, {}, "progressive-delivery:fluxVersion: 'latest' is not valid"),
    ({"registryPort": "http"}, {}, "progressive-delivery:registryPort: 'http' is not a whole number"),
    ({"httpPort": "8081"}, {}, "port 8081 is also progressive-delivery:httpPort of stack 'production'"),
    ({"imageRepository": "ghcr.io/acme/echo-version"}, {},
     "progressive-delivery:imageRegistryUsername: is required"),
])
def test_bad_settings_stop_before_any_resource(overrides, env, message):
    with pytest.raises(pulumi.RunError) as error:
        evaluate("staging", overrides=overrides, env=env)
    assert message in str(error.value)
    assert "Invalid settings for stack 'staging'" in str(error.value)


def test_bad_settings_register_nothing():
    with pytest.raises(pulumi.RunError):
        program_harness.evaluate("production", overrides={"clusterServers": "0"})
    assert program_harness.LAST_REGISTRATIONS == []


def test_an_unknown_flux_release_is_refused_before_any_resource(monkeypatch):
    monkeypatch.setitem(DEFAULT_ENV, "PD_FLUX_MANIFEST", __file__)
    with pytest.raises(pulumi.RunError, match="has sha256 .* not the pinned"):
        evaluate("staging")
    assert program_harness.LAST_REGISTRATIONS == []


def test_token_from_stack_secret_is_accepted():
    program = evaluate("production", env={"GITHUB_TOKEN": None},
                       secrets={"github:token": "ghp_fromconfigsecret"})
    provider = program.one("pulumi:providers:github")
    assert is_secret(provider.inputs["token"]) and unwrap(provider.inputs["token"]) == "ghp_fromconfigsecret"
