"""Preflight: stand-in `docker` and `k3d` on PATH and a loopback server answering like GitHub's API."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pulumi
import pytest
from loopback import QuietHandler, serving
from program_harness import evaluate
from toolpath import system_path_without

from progressive_delivery import config, preflight
from progressive_delivery.process import run_process

TOKEN = "ghp_preflighttoken0123456789"


class GitHub:
    """What the stand-in API answers: the token's user and scopes, and which owners exist."""

    def __init__(self) -> None:
        self.login = "acme"
        self.scopes: str | None = "repo, delete_repo"
        self.valid = True
        self.owners = {"acme": "User", "octo": "User", "acme-org": "Organization"}
        self.seen_authorization: list[str] = []


def serve(github: GitHub) -> Iterator[str]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            github.seen_authorization.append(self.headers.get("Authorization", ""))
            if self.headers.get("Authorization") != f"Bearer {TOKEN}" or not github.valid:
                return self.answer(401, {"message": "Bad credentials"})
            if self.path == "/user":
                return self.answer(200, {"login": github.login, "type": "User"})
            name = self.path.removeprefix("/users/")
            if name in github.owners:
                return self.answer(200, {"login": name, "type": github.owners[name]})
            return self.answer(404, {"message": "Not Found"})

        def answer(self, status: int, body: dict) -> None:
            scopes = {"X-OAuth-Scopes": github.scopes} if github.scopes is not None else {}
            self.reply_json(status, body, scopes)

    with serving(Handler) as server:
        yield f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def github() -> GitHub:
    return GitHub()


@pytest.fixture
def api(github: GitHub) -> Iterator[str]:
    yield from serve(github)


def tool(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def machine(tmp_path: Path, monkeypatch) -> Path:
    """A PATH where Docker answers and k3d is the pinned release; tests change what they need."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    tool(bin_dir, "docker", 'case "$1" in info) echo 28.2.2 ;; container) echo "No such container" >&2; exit 1 ;;'
                            ' esac\n')
    tool(bin_dir, "k3d", 'echo "k3d version v5.9.0"; echo "k3s version v1.33.3-k3s1 (default)"\n')
    monkeypatch.setenv("PATH", f"{bin_dir}:{system_path_without(tmp_path / 'system', ('docker', 'k3d'))}")
    return bin_dir


def settings(stack: str = "staging", **changes: object) -> config.Settings:
    raw = {**config.read_stack_file(stack), "repositoryOwner": "acme", **changes}
    return config.build_settings(stack, raw, {})


def problems(api: str, stack: str = "staging", preview: bool = False, **changes: object) -> list[str]:
    context = preflight.Context(settings(stack, **changes), TOKEN, preview=preview, api_url=api,
                                runner=run_process)
    with pytest.raises(preflight.PreflightFailed) as failure:
        preflight.run(context, env={})
    return failure.value.problems


def passes(api: str, stack: str = "staging", preview: bool = False, **changes: object) -> None:
    preflight.run(preflight.Context(settings(stack, **changes), TOKEN, preview=preview, api_url=api,
                                    runner=run_process), env={})


def test_a_ready_machine_and_token_pass(machine, api, github):
    passes(api)
    assert github.seen_authorization and all(a == f"Bearer {TOKEN}" for a in github.seen_authorization)


def test_every_missing_prerequisite_is_one_line_and_all_are_reported(machine, api, github):
    tool(machine, "docker", 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1\n')
    tool(machine, "k3d", 'echo "k3d version v5.7.2"\n')
    github.scopes = "public_repo"
    found = problems(api)
    assert len(found) == 4, found
    assert all("\n" not in line for line in found)
    assert found[0].startswith("Docker does not answer (Cannot connect to the Docker daemon")
    assert found[1].startswith("k3d v5.7.2 is older than the minimum v5.7.3")
    assert "lacks the 'repo' scope, needed to create the private repository" in found[2]
    assert "lacks the 'delete_repo' scope" in found[3] and "repositoryOnDestroy" in found[3]
    assert TOKEN not in "\n".join(found)


def test_missing_tools_are_named(machine, api):
    (machine / "docker").unlink()
    (machine / "k3d").unlink()
    found = problems(api)
    assert found[0].startswith("docker is not installed or not on PATH")
    assert found[1].startswith("k3d is not installed or not on PATH")


def test_a_known_broken_k3d_is_refused(machine, api):
    tool(machine, "k3d", 'echo "k3d version v5.9.0-rc.0"\n')
    assert any(p.startswith("k3d v5.9.0-rc.0 is refused") for p in problems(api))


def test_taken_ports_are_named_unless_this_stacks_cluster_holds_them(machine, api):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        found = problems(api, httpPort=port)
        assert found == [f"progressive-delivery:httpPort: port {port} on 127.0.0.1 is already in use; stop what "
                         f"holds it or choose another port (`pulumi config set progressive-delivery:httpPort "
                         f"<port>`)"]
        tool(machine, "docker", 'case "$1" in info) echo 28.2.2 ;; '
                                'container) echo \'{"progressive-delivery.stack": "staging"}\' ;; esac\n')
        passes(api, httpPort=port)


def test_archiving_needs_no_delete_scope_and_a_public_repository_only_public_repo(machine, api, github):
    github.scopes = "public_repo"
    passes(api, repositoryOnDestroy="archive", repositoryVisibility="public")


def test_fine_grained_tokens_list_no_scopes_and_are_not_refused_for_it(machine, api, github):
    github.scopes = None
    passes(api)


def test_a_bad_token_or_a_foreign_user_as_owner(machine, api, github):
    found = problems(api, repositoryOwner="octo")
    assert found == ["progressive-delivery:repositoryOwner: 'octo' is a user other than the token's user 'acme'; "
                     "GitHub creates repositories only under the token's own user or an organisation: set the "
                     "owner (or GITHUB_OWNER) to acme or to an organisation"]
    passes(api, repositoryOwner="acme-org")
    assert problems(api, repositoryOwner="nobody-here") == [
        "progressive-delivery:repositoryOwner: 'nobody-here' is no GitHub user or organisation"]
    github.valid = False
    assert problems(api)[-1].startswith("github:token: GitHub rejects the token (401 Bad credentials)")


def test_the_token_never_travels_in_clear_and_users_have_no_internal_repositories(machine, api):
    assert problems("http://api.github.example") == [
        "github:baseUrl: http://api.github.example is not https: the token would travel in clear; use an "
        "https:// URL"]
    assert any(p.startswith("progressive-delivery:repositoryVisibility: internal repositories exist only in "
                            "organisations") for p in problems(api, repositoryVisibility="internal"))
    passes(api, repositoryVisibility="internal", repositoryOwner="acme-org")


def test_only_github_com_and_a_recent_docker(machine, api):
    assert problems("https://github.example.com/api/v3") == [
        "github:baseUrl: https://github.example.com/api/v3 is not github.com's API; repositories are published to "
        "and synced from github.com: remove github:baseUrl"]
    tool(machine, "docker", 'case "$1" in info) echo 20.10.24 ;; esac\n')
    assert problems(api)[0] == "Docker 20.10.24 is older than 24; update Docker (k3d and the image build need it)"


def test_an_unreachable_api_says_how_to_skip(machine):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    found = problems(f"http://127.0.0.1:{port}")
    assert found[-1].startswith(f"cannot reach the GitHub API at http://127.0.0.1:{port}")
    assert "PD_PREFLIGHT=0" in found[-1]


def test_a_preview_checks_only_what_needs_no_docker(machine, api, github):
    (machine / "docker").unlink()
    passes(api, preview=True)
    github.valid = False
    assert len(problems(api, preview=True)) == 1


def test_it_can_be_switched_off():
    assert not preflight.enabled({"PD_PREFLIGHT": "0"}) and preflight.enabled({})


def test_a_failing_preflight_stops_the_program_before_any_resource(machine, api, monkeypatch):
    import program_harness

    (machine / "docker").unlink()
    with pytest.raises(pulumi.RunError) as error:
        evaluate("staging", env={"PD_PREFLIGHT": "1", "GITHUB_TOKEN": TOKEN},
                 secrets={"github:baseUrl": api})
    assert "Preflight found" in str(error.value) and "docker is not installed" in str(error.value)
    assert program_harness.LAST_REGISTRATIONS == []
    assert os.environ.get("PD_PREFLIGHT") != "1"
