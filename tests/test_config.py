"""Settings: defaults, validation messages, stack files, and stacks kept apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from progressive_delivery import config, pins
from progressive_delivery.setting_reader import SettingReader
from progressive_delivery.settings import EXISTING, ExistingClusterSettings
from progressive_delivery.stack_files import footprint_of, other_footprints, plain_secrets, read_stack_file

VALID = {"httpPort": 8080, "apiPort": 6550, "registryPort": 5050, "repositoryOwner": "acme"}
TOKEN = "ghp_token0123456789"
ALL_SECRETS = config.SecretInputs(github_token=TOKEN, registry_password=True, kubeconfig=False)


def build(stack: str = "staging", secrets: config.SecretInputs | None = ALL_SECRETS, **changes):
    raw = {**VALID, **changes}
    return config.build_settings(stack, {k: v for k, v in raw.items() if v is not None}, {}, secrets)


def problems(stack: str = "staging", secrets: config.SecretInputs | None = ALL_SECRETS, **changes) -> list[str]:
    with pytest.raises(config.SettingsError) as error:
        build(stack, secrets, **changes)
    return error.value.problems


def test_defaults_fill_every_optional_setting():
    settings = build()
    assert settings.is_k3d and settings.cluster.name == "pd-staging"
    assert settings.cluster.k3s_image == pins.k3s_image() and settings.flux_version == pins.pin("flux").version
    assert settings.repository.name == "progressive-delivery-staging"
    assert settings.repository.visibility == "private" and settings.repository.branch == "main"
    assert settings.repository.on_destroy == "delete"
    assert settings.registry.is_local
    assert settings.registry.cluster_repository("pd-staging") == "k3d-pd-staging-registry:5000/echo-version"
    assert settings.registry.push_repository("pd-staging") == "localhost:5050/echo-version"
    assert settings.image("0.1.0") == "localhost:5050/echo-version:0.1.0"
    assert settings.flux_substitutions()["image_registry_insecure"] == "true"


def test_every_problem_is_reported_at_once():
    found = problems(httpPort=0, clusterAgents=-2, repositoryVisibility="secret")
    assert len(found) == 3
    assert any(p.startswith("progressive-delivery:repositoryVisibility: 'secret' is not one of") for p in found)


@pytest.mark.parametrize("changes, expected", [
    ({"httpPort": 80}, "progressive-delivery:httpPort: 80 is out of range: use a free host port"),
    ({"registryPort": 8080},
     "progressive-delivery:registryPort: port 8080 is also used by progressive-delivery:httpPort"),
    ({"clusterServers": 0}, "progressive-delivery:clusterServers: 0 is out of range"),
    ({"clusterName": "Staging_1"}, "progressive-delivery:clusterName: 'Staging_1' is not valid"),
    ({"repositoryName": ".."}, "progressive-delivery:repositoryName: '..' is not valid"),
    ({"repositoryOwner": "-acme"}, "progressive-delivery:repositoryOwner: '-acme' is not a GitHub user"),
    ({"repositoryOwner": "acme-"}, "progressive-delivery:repositoryOwner: 'acme-' is not a GitHub user"),
    ({"repositoryBranch": "feature..x"}, "progressive-delivery:repositoryBranch: 'feature..x' is not valid"),
    ({"repositoryOnDestroy": "keep"}, "progressive-delivery:repositoryOnDestroy: 'keep' is not one of delete"),
    ({"k3sImage": "rancher/k3s:latest"}, "progressive-delivery:k3sImage: 'rancher/k3s:latest' is not valid"),
    ({"k3sImage": "rancher/k3s:v1.37.0-k3s1"}, "support 1.32 to 1.36"),
    ({"appVersion": "1.2"}, "progressive-delivery:appVersion: '1.2' is not valid: use a semantic version"),
    ({"appPathPrefix": "echo"}, "progressive-delivery:appPathPrefix: 'echo' is not valid"),
    ({"appPathPrefix": "/../"}, "progressive-delivery:appPathPrefix: '/../' is not valid"),
    ({"appPathPrefix": "/a/./b/"}, "progressive-delivery:appPathPrefix: '/a/./b/' is not valid"),
    ({"grafanaHost": "Grafana Host"}, "progressive-delivery:grafanaHost: 'Grafana Host' is not valid"),
    ({"grafanaHost": "a" * 64 + ".localhost"}, "progressive-delivery:grafanaHost:"),
    ({"imageRepository": "not a repo"}, "progressive-delivery:imageRepository: 'not a repo' is neither 'local'"),
    ({"fluxVersion": "v２.９.５"}, "progressive-delivery:fluxVersion: 'v２.９.５' is not valid"),
    ({"fluxVersion": "v02.9.5"}, "progressive-delivery:fluxVersion: 'v02.9.5' is not valid"),
    ({"httpPort": "８０８０"}, "progressive-delivery:httpPort: '８０８０' is not a whole number"),
    ({"colour": "blue"}, "progressive-delivery:colour: is not a setting of this program"),
    ({"httpPort": None}, "progressive-delivery:httpPort: is required"),
    ({"clusterName": "pd-staging\n"}, "progressive-delivery:clusterName: it contains a control character"),
    ({"repositoryName": "repo "}, "progressive-delivery:repositoryName: it has leading or trailing whitespace"),
    ({"kubeconfigPath": "/etc/hosts"}, "progressive-delivery:kubeconfigPath: applies only to clusterProvider"),
    ({"clusterProvider": "kind"}, "progressive-delivery:clusterProvider: 'kind' is not one of k3d, existing"),
])
def test_bad_values_name_the_key_and_the_fix(changes, expected):
    found = problems(**changes)
    assert any(p.startswith(expected) or expected in p for p in found), found


@pytest.mark.parametrize("branch", ["-x", "--upload-pack", "HEAD", "refs/heads/main", "foo/.bar", "a.lock/b",
                                    "a b", "a~1", "x.", "/x", "x//y", "@{x}", "x.lock"])
def test_branch_names_follow_gits_rules(branch):
    assert any(p.startswith("progressive-delivery:repositoryBranch:") for p in problems(repositoryBranch=branch))


@pytest.mark.parametrize("branch", ["main", "release/1.x", "feature-a_b", "v1.2"])
def test_valid_branch_names_are_accepted(branch):
    assert build(repositoryBranch=branch).repository.branch == branch


def test_a_value_with_a_line_break_is_reported_once():
    assert problems(repositoryOwner="acme\n") == [
        "progressive-delivery:repositoryOwner: it contains a control character (a line break, tab or similar); "
        "write the value on one line without surrounding spaces"]


def test_owner_may_come_from_the_environment():
    raw = {k: v for k, v in VALID.items() if k != "repositoryOwner"}
    settings = config.build_settings("staging", raw, {"GITHUB_OWNER": "octo"}, ALL_SECRETS)
    assert settings.repository.owner == "octo"


def test_missing_or_padded_token_is_reported_with_both_ways_to_provide_it():
    missing = config.SecretInputs(github_token=None, registry_password=True, kubeconfig=False)
    found = problems(secrets=missing)
    assert any("export GITHUB_TOKEN" in p and "github:token" in p for p in found)
    padded = config.SecretInputs(github_token=f"{TOKEN}\n", registry_password=True, kubeconfig=False)
    assert any("surrounding whitespace or a line break" in p for p in problems(secrets=padded))


def test_the_cli_needs_no_secrets_or_owner():
    raw = {k: v for k, v in VALID.items() if k != "repositoryOwner"}
    assert config.build_settings("staging", raw, {}).repository.owner == ""


def test_stack_files_are_complete_and_valid():
    for stack in ("staging", "production"):
        raw = read_stack_file(stack)
        optional = {"repositoryOwner", "imageRegistryUsername", *config.EXISTING_ONLY}
        assert set(config.DEFAULTS) - optional <= set(raw), stack
        settings = config.load_stack(stack, env={"GITHUB_OWNER": "acme"})
        assert settings.cluster.k3s_image == pins.k3s_image() and settings.flux_version == pins.pin("flux").version


def test_production_and_staging_differ_where_they_share_a_laptop():
    staging, production = config.load_stack("staging"), config.load_stack("production")
    assert staging.cluster.http_port != production.cluster.http_port
    assert staging.flux_path == "./clusters/staging" and production.flux_path == "./clusters/production"


def test_stacks_never_share_a_cluster_a_port_or_a_repository(tmp_path: Path):
    (tmp_path / "Pulumi.staging.yaml").write_text(
        "config:\n  progressive-delivery:httpPort: 8080\n  progressive-delivery:apiPort: 6550\n"
        "  progressive-delivery:registryPort: 5050\n")
    (tmp_path / "Pulumi.production.yaml").write_text(
        "config:\n  progressive-delivery:clusterName: pd-staging\n  progressive-delivery:httpPort: 8081\n"
        "  progressive-delivery:apiPort: 6550\n  progressive-delivery:registryPort: 5051\n"
        "  progressive-delivery:repositoryName: progressive-delivery-staging\n")
    with pytest.raises(config.SettingsError) as error:
        config.load_stack("production", root=tmp_path, env={"GITHUB_OWNER": "acme"})
    found = "\n".join(error.value.problems)
    assert "progressive-delivery:clusterName: 'pd-staging' is also the k3d cluster of stack 'staging'" in found
    assert "progressive-delivery:apiPort: port 6550 is also progressive-delivery:apiPort of stack 'staging'" in found
    assert ("progressive-delivery:repositoryName: 'acme/progressive-delivery-staging' is also the repository of "
            "stack 'staging'") in found
    assert "8081" not in found


def test_the_project_stacks_do_not_collide():
    for stack in ("staging", "production"):
        mine = footprint_of(stack, SettingReader(stack, read_stack_file(stack), config.DEFAULTS).value, "acme")
        others = other_footprints(stack, "acme", config.DEFAULTS)
        assert others and all(mine.cluster != o.cluster and not set(mine.ports) & set(o.ports) for o in others)


def test_unknown_stack_and_malformed_file(tmp_path: Path):
    with pytest.raises(config.SettingsError, match=r"Pulumi.qa.yaml: no such stack file \(known stacks: none\)"):
        config.load_stack("qa", root=tmp_path)
    (tmp_path / "Pulumi.qa.yaml").write_text("config: [unclosed\n")
    with pytest.raises(config.SettingsError, match="Pulumi.qa.yaml: not valid YAML"):
        config.load_stack("qa", root=tmp_path)
    (tmp_path / "Pulumi.qa.yaml").write_text("config: 3\n")
    with pytest.raises(config.SettingsError, match="'config' must be a mapping"):
        config.load_stack("qa", root=tmp_path)


def test_app_version_must_be_one_the_stack_image_policy_picks():
    assert build(appVersion="0.2.0-rc.1").app_version == "0.2.0-rc.1"
    found = problems("production", appVersion="0.2.0-rc.1")
    assert ("progressive-delivery:appVersion: '0.2.0-rc.1' is not valid: it would never be deployed: the "
            "production image policy picks x.y.z only") in found


def test_flux_substitutions_carry_the_synced_branch():
    assert build(repositoryBranch="release").flux_substitutions()["git_branch"] == "release"


def existing(tmp_path: Path, **changes):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    raw = {"clusterProvider": EXISTING, "kubeconfigPath": str(kubeconfig), "repositoryOwner": "acme",
           "imageRepository": "ghcr.io/acme/echo-version", "imageRegistryUsername": "acme",
           "grafanaHost": "grafana.example.com", **changes}
    return {k: v for k, v in raw.items() if v is not None}


def test_an_existing_cluster_needs_no_k3d_settings(tmp_path: Path):
    settings = config.build_settings("staging", existing(tmp_path, kubeContext="prod"), {}, ALL_SECRETS)
    assert isinstance(settings.cluster, ExistingClusterSettings) and not settings.is_k3d
    assert settings.cluster.context == "prod" and settings.gateway.service_type == "LoadBalancer"
    assert settings.app_url is None, "only the cluster can tell a load balancer's address"
    with_host = config.build_settings("staging", existing(tmp_path, publicHost="apps.example.com"), {}, ALL_SECRETS)
    assert with_host.app_url == "http://apps.example.com/echo/version"


def test_an_existing_cluster_refuses_k3d_settings_and_the_local_registry(tmp_path: Path):
    raw = existing(tmp_path, k3sImage="rancher/k3s:v1.36.4-k3s1", httpPort=8080, imageRepository="local")
    with pytest.raises(config.SettingsError) as error:
        config.build_settings("staging", raw, {}, ALL_SECRETS)
    found = "\n".join(error.value.problems)
    assert "progressive-delivery:k3sImage: applies only to clusterProvider k3d" in found
    assert "progressive-delivery:httpPort: applies only to clusterProvider k3d" in found
    assert "progressive-delivery:imageRepository: an existing cluster has no local registry" in found


def test_an_existing_cluster_needs_exactly_one_kubeconfig(tmp_path: Path):
    none = existing(tmp_path, kubeconfigPath=None)
    with pytest.raises(config.SettingsError, match="clusterProvider existing needs the cluster's kubeconfig"):
        config.build_settings("staging", none, {}, ALL_SECRETS)
    both = config.SecretInputs(github_token=TOKEN, registry_password=True, kubeconfig=True)
    with pytest.raises(config.SettingsError, match="both it and the secret progressive-delivery:kubeconfig"):
        config.build_settings("staging", existing(tmp_path), {}, both)
    missing = existing(tmp_path, kubeconfigPath=str(tmp_path / "nope"))
    with pytest.raises(config.SettingsError, match="kubeconfigPath: .* no readable file there"):
        config.build_settings("staging", missing, {}, ALL_SECRETS)


def test_an_existing_cluster_needs_host_names_it_cannot_read(tmp_path: Path):
    with pytest.raises(config.SettingsError) as error:
        config.build_settings("staging", existing(tmp_path, gatewayServiceType="NodePort", grafanaHost=None), {},
                              ALL_SECRETS)
    found = "\n".join(error.value.problems)
    assert "progressive-delivery:publicHost: is required with gatewayServiceType NodePort" in found
    assert "progressive-delivery:grafanaHost: is required on an existing cluster" in found
    with pytest.raises(config.SettingsError, match="grafanaHost: is required on an existing cluster, and not a "
                                                   ".localhost name"):
        config.build_settings("staging", existing(tmp_path, grafanaHost="grafana.localhost"), {}, ALL_SECRETS)
    settings = config.build_settings("staging", existing(tmp_path, gatewayServiceType="NodePort",
                                                         publicHost="apps.example.com"), {}, ALL_SECRETS)
    assert settings.grafana_url == "http://grafana.example.com/"


def test_the_registry_port_belongs_to_the_local_registry_only():
    found = problems(imageRepository="ghcr.io/acme/echo-version", imageRegistryUsername="acme")
    assert any(p.startswith("progressive-delivery:registryPort: applies only to the local registry") for p in found)
    assert any(p.startswith("progressive-delivery:registryPort: '²' is not a whole number")
               for p in problems(registryPort="²"))
    assert build().host_ports() == {"httpPort": 8080, "apiPort": 6550, "registryPort": 5050}


def test_gateway_annotations_must_be_a_mapping(tmp_path: Path):
    raw = existing(tmp_path, gatewayServiceAnnotations={"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"})
    settings = config.build_settings("staging", raw, {}, ALL_SECRETS)
    assert settings.gateway.helm_values() == {"service": {
        "type": "LoadBalancer", "annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}}}
    with pytest.raises(config.SettingsError, match="gatewayServiceAnnotations: must be a mapping"):
        config.build_settings("staging", existing(tmp_path, gatewayServiceAnnotations="nlb"), {}, ALL_SECRETS)


def test_interpreter_is_found_through_a_symlinked_checkout(tmp_path, monkeypatch):
    from progressive_delivery import shell

    link = tmp_path / "checkout"
    link.symlink_to(config.PROJECT_ROOT)
    monkeypatch.setattr(shell.sys, "executable", str(link / "venv" / "bin" / "python"))
    assert shell.project_python() == "venv/bin/python"
    monkeypatch.setattr(shell.sys, "executable", "/usr/bin/python3")
    assert shell.project_python() == "python3"


def test_secrets_written_in_plain_text_are_found(tmp_path: Path):
    (tmp_path / "Pulumi.qa.yaml").write_text(
        "config:\n  github:token: ghp_plain\n  progressive-delivery:imageRegistryPassword:\n    secure: AAAB\n"
        "  progressive-delivery:kubeconfig: 'apiVersion: v1'\n")
    keys = ["progressive-delivery:imageRegistryPassword", "progressive-delivery:kubeconfig", "github:token"]
    assert plain_secrets("qa", keys, root=tmp_path) == ["progressive-delivery:kubeconfig", "github:token"]


def test_a_plain_text_secret_stops_the_program(monkeypatch):
    import pulumi
    from program_harness import evaluate

    monkeypatch.setattr(config, "plain_secrets", lambda stack, keys: ["github:token"])
    with pytest.raises(pulumi.RunError, match=r"github:token: is in Pulumi.staging.yaml in plain text; remove it "
                                              r"there and set it with `pulumi config set --secret github:token"):
        evaluate("staging")
