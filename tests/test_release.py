"""The release command: refusals before anything runs, the registry check, building, and the canary watch."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import pytest
from release_fixtures import NO_NODES, FakeTools, cluster_list, deployment, external, production, staging

from progressive_delivery import canary_watch, config, release
from progressive_delivery.process import Result
from progressive_delivery.registry import RegistryEndpoint, RegistryError, RegistryUnreachable
from progressive_delivery.release import ReleaseRefused

SECRET = "s3cr3t-registry-token"


# --------------------------------------------------------------------------- preparing a release

def prepare(settings, version, tags=None, error=None, initial=False, dry_run=False, env=None):
    lines: list[str] = []

    def tags_of(endpoint: RegistryEndpoint) -> list[str]:
        if error:
            raise error
        return list(tags or [])

    plan = release.prepare(settings, version, False, initial, dry_run, env or {}, lines.append, tags_of)
    return plan, lines


def test_unreachable_local_registry_asks_for_pulumi_up():
    with pytest.raises(ReleaseRefused) as refused:
        prepare(staging(), "1.2.0", error=RegistryUnreachable("connection refused"))
    assert "http://localhost:5050" in str(refused.value)
    assert "`pulumi up --stack staging`" in str(refused.value)


def test_dry_run_only_warns_when_the_registry_is_unreachable():
    plan, lines = prepare(staging(), "1.2.0", error=RegistryUnreachable("refused"), dry_run=True)
    assert plan is not None and lines[0].startswith("warning: cannot reach http://localhost:5050")


def test_release_below_the_registry_current_is_refused():
    with pytest.raises(release.VersionRefused, match="not newer than 1.3.0"):
        prepare(staging(), "1.2.5", tags=["0.1.0", "1.3.0"])
    with pytest.raises(release.VersionRefused, match="not newer than 1.4.0-rc.1"):
        prepare(staging(), "1.3.5", tags=["1.3.0", "1.4.0-rc.1"])
    plan, _ = prepare(production(), "1.3.5", tags=["1.3.0", "1.4.0-rc.1"])
    assert plan.image.endswith(":1.3.5")


def test_initial_release_skips_an_existing_tag_and_the_newer_check():
    plan, lines = prepare(staging(), "0.1.0", tags=["0.1.0"], initial=True)
    assert plan is None and "already in the registry" in lines[0]
    plan, _ = prepare(staging(), "0.1.0", tags=["0.2.0"], initial=True)
    assert plan is not None


def test_external_registry_listing_failure_is_a_warning():
    plan, lines = prepare(external(), "1.2.0", error=RegistryError("HTTP 403 Forbidden"),
                          env={config.REGISTRY_PASSWORD_VARIABLE: SECRET})
    assert plan is not None and "not checking that 1.2.0 is newer" in lines[0]
    assert plan.steps[1].stdin_from == config.REGISTRY_PASSWORD_VARIABLE


def test_the_external_registry_sees_only_its_own_credential():
    seen: list[RegistryEndpoint] = []
    env = {config.REGISTRY_PASSWORD_VARIABLE: SECRET, "GITHUB_TOKEN": "github-token"}
    release.prepare(external(), "1.2.0", False, False, False, env, lambda _: None,
                    lambda endpoint: seen.append(endpoint) or [])
    assert seen[0].password == SECRET


def test_initial_release_waits_for_a_fresh_registry_then_gives_up():
    pauses: list[float] = []
    endpoint = RegistryEndpoint("http://127.0.0.1:9", "echo-version")
    with pytest.raises(RegistryUnreachable):
        release.registry_tags(endpoint, initial=True, sleep=pauses.append)
    assert len(pauses) == 9
    pauses.clear()
    with pytest.raises(RegistryUnreachable):
        release.registry_tags(endpoint, initial=False, sleep=pauses.append)
    assert pauses == []


# --------------------------------------------------------------------------- the command

def args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    release.register(parser.add_subparsers())
    return parser.parse_args(["release", *argv])


def canary_cluster(states: list[dict], images: Callable[[int], tuple[str, str]], **kwargs) -> FakeTools:
    """k3d and kubectl of a cluster whose Canary goes through `states`; `images(polls)` -> (canary, primary)."""
    polls = [0]

    def kubectl(argv: list[str]) -> Result:
        if "canaries.flagger.app" in argv:
            polls[0] += 1
            return Result(0, json.dumps({"status": states[min(polls[0], len(states)) - 1]}))
        canary, primary = images(polls[0])
        return Result(0, json.dumps({"items": [deployment("echo-version", canary),
                                               deployment("echo-version-primary", primary)]}))

    return FakeTools(kubectl, **kwargs)


def test_release_with_watch_end_to_end(monkeypatch, capsys):
    monkeypatch.setattr(canary_watch, "POLL_SECONDS", 0)
    states = [{"phase": "Succeeded"}, {"phase": "Progressing", "canaryWeight": 20},
              {"phase": "Progressing", "canaryWeight": 40}, {"phase": "Succeeded"}]
    image = "k3d-pd-staging-registry:5000/echo-version:{}"
    tools = canary_cluster(states, lambda polls: (image.format("1.2.0"),
                                                  image.format("1.2.0" if polls >= 4 else "1.1.0")))
    code = release.handle(args("--stack", "staging", "1.2.0", "--watch"), runner=tools, env={},
                          tags_of=lambda endpoint: ["0.1.0", "1.1.0"])
    out = capsys.readouterr().out
    assert code == 0, out
    # The cluster is known to be followable before anything is built.
    assert [call[:3] for call in tools.calls[:3]] == [["k3d", "kubeconfig", "get"], ["docker", "build", "--build-arg"],
                                                      ["docker", "push", "localhost:5050/echo-version:1.2.0"]]
    assert tools.calls[0] == ["k3d", "kubeconfig", "get", "pd-staging"]
    assert set(tools.kubeconfig_modes) == {0o600}
    (kubeconfig,) = tools.kubeconfig_files()
    assert kubeconfig.name.startswith("pd-kubeconfig-") and not kubeconfig.exists()
    assert "weight  20%" in out and "weight  40%" in out and "1.2.0 promoted" in out


def test_release_with_watch_exits_1_on_rollback(monkeypatch, capsys):
    monkeypatch.setattr(canary_watch, "POLL_SECONDS", 0)
    states = [{"phase": "Progressing", "canaryWeight": 10, "failedChecks": 1}, {"phase": "Failed", "failedChecks": 2}]
    image = "localhost:5051/echo-version:{}"
    tools = canary_cluster(states, lambda _: (image.format("2.0.0"), image.format("1.0.0")),
                           clusters=cluster_list("pd-production"))
    code = release.handle(args("--stack", "production", "2.0.0", "--faulty", "--watch"), runner=tools, env={},
                          tags_of=lambda endpoint: ["1.0.0"])
    assert code == 1
    build = next(call for call in tools.calls if call[:2] == ["docker", "build"])
    assert "FAULT_ERROR_RATE=0.5" in build
    assert "2.0.0 rolled back by Flagger: the primary still runs 1.0.0" in capsys.readouterr().out


def test_an_expected_rollback_is_a_success_and_a_promotion_a_failure(monkeypatch, capsys):
    monkeypatch.setattr(canary_watch, "POLL_SECONDS", 0)
    image = "localhost:5051/echo-version:{}"
    rollback = canary_cluster([{"phase": "Progressing", "canaryWeight": 10}, {"phase": "Failed", "failedChecks": 2}],
                              lambda _: (image.format("2.0.0"), image.format("1.0.0")),
                              clusters=cluster_list("pd-production"))
    argv = ("--stack", "production", "2.0.0", "--faulty", "--watch", "--expect-rollback", "--timeout", "1")
    assert release.handle(args(*argv), runner=rollback, env={}, tags_of=lambda endpoint: ["1.0.0"]) == 0
    promoted = canary_cluster([{"phase": "Succeeded"}], lambda _: (image.format("2.0.0"), image.format("2.0.0")),
                              clusters=cluster_list("pd-production"))
    assert release.handle(args(*argv), runner=promoted, env={}, tags_of=lambda endpoint: ["1.0.0"]) == 1
    assert "2.0.0 was promoted, but a rollback was expected" in capsys.readouterr().err
    assert release.handle(args("--stack", "production", "2.0.0", "--expect-rollback"), env={},
                          tags_of=lambda endpoint: []) == 2


def test_watch_of_a_cluster_that_is_gone_is_refused_before_building(capsys):
    tools = FakeTools(kubeconfig=Result(1, "", NO_NODES), clusters=cluster_list("pd-production"))
    code = release.handle(args("--stack", "staging", "1.2.0", "--watch"), runner=tools, env={},
                          tags_of=lambda e: [])
    err = capsys.readouterr().err
    assert code == 2
    assert not any(call[0] == "docker" for call in tools.calls)
    assert "k3d cluster 'pd-staging' of stack 'staging' does not exist" in err
    assert "`pulumi up --stack staging` creates it" in err and len(err.strip().splitlines()) == 1


def test_watch_with_an_explicit_kubeconfig_uses_it_as_is(tmp_path, monkeypatch):
    monkeypatch.setattr(canary_watch, "POLL_SECONDS", 0)
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")
    tools = canary_cluster([{"phase": "Succeeded"}], lambda _: ("r/echo-version:1.2.0", "r/echo-version:1.2.0"))
    code = release.handle(args("--stack", "staging", "1.2.0", "--watch", "--kubeconfig", str(kubeconfig)),
                          runner=tools, env={"KUBECONFIG": "/elsewhere"}, tags_of=lambda e: [])
    assert code == 0
    assert not any(call[0] == "k3d" for call in tools.calls)
    assert tools.kubeconfig_files() == {kubeconfig} and kubeconfig.exists()


def test_an_unusable_kubeconfig_is_refused_before_building(tmp_path, capsys):
    tools = FakeTools()
    code = release.handle(args("--stack", "staging", "1.2.0", "--watch", "--kubeconfig", str(tmp_path)),
                          runner=tools, env={}, tags_of=lambda e: [])
    assert code == 2
    assert f"--kubeconfig {tmp_path} is a directory" in capsys.readouterr().err
    assert tools.calls == []


def test_external_registry_without_its_credential_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(config, "read_stack_file", lambda stack, root=None: {
        "httpPort": 8080, "apiPort": 6550, "registryPort": 5050,
        "imageRepository": "ghcr.io/acme/echo-version", "imageRegistryUsername": "acme"})
    tools = FakeTools()
    code = release.handle(args("--stack", "staging", "1.2.0"), runner=tools, env={"GITHUB_TOKEN": SECRET},
                          tags_of=lambda e: pytest.fail("the registry is not asked without a credential"))
    err = capsys.readouterr().err
    assert code == 2 and tools.calls == []
    assert err.startswith("error: ghcr.io/acme/echo-version is an external registry and needs its own credential")
    assert len(err.strip().splitlines()) == 1 and SECRET not in err


def test_refusals_exit_2_with_a_message(capsys):
    assert release.handle(args("--stack", "production", "1.2.0-rc.1"), runner=FakeTools(), env={},
                          tags_of=lambda e: []) == 2
    assert "never the pre-release" in capsys.readouterr().err
    assert release.handle(args("--stack", "staging", "1.0.0"), runner=FakeTools(), env={},
                          tags_of=lambda e: ["1.0.0"]) == 2
    assert "is the current version" in capsys.readouterr().err
    assert release.handle(args("--stack", "qa", "1.0.0"), runner=FakeTools(), env={}) == 2
    assert "Pulumi.qa.yaml: no such stack file" in capsys.readouterr().err


def test_dry_run_prints_the_commands_and_runs_nothing(capsys):
    tools = FakeTools()
    assert release.handle(args("--stack", "staging", "1.2.0", "--dry-run", "--watch"), runner=tools, env={},
                          tags_of=lambda e: []) == 0
    out = capsys.readouterr().out
    assert "docker build --build-arg APP_VERSION=1.2.0 --tag localhost:5050/echo-version:1.2.0" in out
    assert "docker push localhost:5050/echo-version:1.2.0" in out
    assert "then follow Canary applications/echo-version until 1.2.0 is promoted or rolled back" in out
    assert tools.calls == []


def test_a_push_without_watch_points_at_status(capsys):
    tools = FakeTools()
    assert release.handle(args("--stack", "staging", "1.2.0"), runner=tools, env={}, tags_of=lambda e: []) == 0
    assert [call[:2] for call in tools.calls] == [["docker", "build"], ["docker", "push"]]
    assert "status --stack staging" in capsys.readouterr().out


def test_the_cli_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        args("--help")
    assert "2 refused before anything ran" in " ".join(capsys.readouterr().out.split())

