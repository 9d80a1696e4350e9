"""Settings: defaults, validation messages and stack files."""

from __future__ import annotations

from pathlib import Path

import pytest

from progressive_delivery import config

VALID = {"httpPort": 8080, "apiPort": 6550, "registryPort": 5050, "repositoryOwner": "acme"}


def build(**changes):
    raw = {**VALID, **changes}
    return config.build_settings("staging", {k: v for k, v in raw.items() if v is not None}, {})


def problems(**changes) -> list[str]:
    with pytest.raises(config.SettingsError) as error:
        build(**changes)
    return error.value.problems


def test_defaults_fill_every_optional_setting():
    settings = build()
    assert settings.cluster.name == "pd-staging"
    assert settings.repository.name == "progressive-delivery-staging"
    assert settings.repository.visibility == "private" and settings.repository.branch == "main"
    assert settings.registry.is_local
    assert settings.registry.cluster_repository("pd-staging") == "k3d-pd-staging-registry:5000/echo-version"
    assert settings.registry.push_repository("pd-staging") == "localhost:5050/echo-version"
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
    ({"repositoryName": ".."}, "progressive-delivery:repositoryName: '..' is reserved by GitHub"),
    ({"repositoryOwner": "-acme"}, "progressive-delivery:repositoryOwner: '-acme' is not a GitHub user"),
    ({"repositoryBranch": "feature..x"}, "progressive-delivery:repositoryBranch: 'feature..x' is not valid"),
    ({"k3sImage": "rancher/k3s:latest"}, "progressive-delivery:k3sImage: 'rancher/k3s:latest' is not valid"),
    ({"appVersion": "1.2"}, "progressive-delivery:appVersion: '1.2' is not a semantic version"),
    ({"appPathPrefix": "echo"}, "progressive-delivery:appPathPrefix: 'echo' is not valid"),
    ({"grafanaHost": "Grafana Host"}, "progressive-delivery:grafanaHost: 'Grafana Host' is not valid"),
    ({"imageRepository": "not a repo"}, "progressive-delivery:imageRepository: 'not a repo' is neither 'local'"),
    ({"colour": "blue"}, "progressive-delivery:colour: is not a setting of this program"),
    ({"httpPort": None}, "progressive-delivery:httpPort: is required"),
])
def test_bad_values_name_the_key_and_the_fix(changes, expected):
    assert any(p.startswith(expected) for p in problems(**changes)), problems(**changes)


def test_owner_may_come_from_the_environment():
    raw = {k: v for k, v in VALID.items() if k != "repositoryOwner"}
    assert config.build_settings("staging", raw, {"GITHUB_OWNER": "octo"}).repository.owner == "octo"


def test_missing_token_is_reported_with_both_ways_to_provide_it():
    with pytest.raises(config.SettingsError) as error:
        config.build_settings("staging", VALID, {}, has_github_token=False)
    assert "export GITHUB_TOKEN" in str(error.value) and "github:token" in str(error.value)


def test_stack_files_are_complete_and_valid():
    for stack in ("staging", "production"):
        raw = config.read_stack_file(stack)
        assert set(config.DEFAULTS) - {"repositoryOwner", "imageRegistryUsername"} <= set(raw), stack
        config.load_stack(stack, env={"GITHUB_OWNER": "acme"})


def test_production_and_staging_differ_where_they_share_a_laptop():
    staging, production = config.load_stack("staging"), config.load_stack("production")
    assert staging.cluster.http_port != production.cluster.http_port
    assert staging.flux_path == "./clusters/staging" and production.flux_path == "./clusters/production"


def test_unknown_stack_and_malformed_file(tmp_path: Path):
    with pytest.raises(config.SettingsError, match=r"Pulumi.qa.yaml: no such stack file \(known stacks: none\)"):
        config.read_stack_file("qa", root=tmp_path)
    (tmp_path / "Pulumi.qa.yaml").write_text("config: [unclosed\n")
    with pytest.raises(config.SettingsError, match="Pulumi.qa.yaml: not valid YAML"):
        config.read_stack_file("qa", root=tmp_path)
    (tmp_path / "Pulumi.qa.yaml").write_text("config: 3\n")
    with pytest.raises(config.SettingsError, match="'config' must be a mapping"):
        config.read_stack_file("qa", root=tmp_path)


def test_app_version_must_be_one_the_stack_image_policy_picks():
    staging = config.build_settings("staging", {**VALID, "appVersion": "0.2.0-rc.1"}, {})
    assert staging.app_version == "0.2.0-rc.1"
    with pytest.raises(config.SettingsError) as error:
        config.build_settings("production", {**VALID, "appVersion": "0.2.0-rc.1"}, {})
    assert ("progressive-delivery:appVersion: '0.2.0-rc.1' would never be deployed: the production image "
            "policy picks x.y.z only") in str(error.value)


def test_flux_substitutions_carry_the_synced_branch():
    settings = build(repositoryBranch="release")
    assert settings.flux_substitutions()["git_branch"] == "release"


def test_interpreter_is_found_through_a_symlinked_checkout(tmp_path, monkeypatch):
    from progressive_delivery import shell

    link = tmp_path / "checkout"
    link.symlink_to(config.PROJECT_ROOT)
    monkeypatch.setattr(shell.sys, "executable", str(link / "venv" / "bin" / "python"))
    assert shell.project_python() == "venv/bin/python"
    monkeypatch.setattr(shell.sys, "executable", "/usr/bin/python3")
    assert shell.project_python() == "python3"
