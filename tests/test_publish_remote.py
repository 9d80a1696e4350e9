"""Publishing against remotes that fail: refusals, read-only access, unreachable hosts, bad credentials,
and git's failure messages read for people."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import publish_harness as h
import pytest

from progressive_delivery import gitutil
from progressive_delivery.gitutil import Scrubber, display_url, remote_kind, url_has_credentials
from progressive_delivery.publish_failures import PublishError, PublishInputError, read_push, remote_failure
from progressive_delivery.publish_flow import publish

daemon, source = h.daemon, h.source  # fixtures


def test_server_rule_refusing_the_branch_is_reported(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    remote.hook("pre-receive", "#!/bin/sh\necho 'branch main is protected' >&2\nexit 1\n")
    before = remote.refs()

    with pytest.raises(PublishError) as raised:
        h.run_publish(source, remote)

    assert "refused to update branch main" in str(raised.value)
    assert remote.url in str(raised.value)
    assert remote.refs() == before


def test_read_only_access_is_reported(tmp_path: Path, source: Path) -> None:
    with h.serve(tmp_path / "ro", writable=False) as read_only:
        remote = read_only.create()
        with pytest.raises(PublishError, match="refused to let these credentials write") as raised:
            h.run_publish(source, remote)
    assert remote.url in str(raised.value) and "Traceback" not in str(raised.value)


# --------------------------------------------------------------------------- remotes and credentials

def test_nothing_listening_gives_a_clear_error(source: Path) -> None:
    url = f"git://127.0.0.1:{h.free_port()}/site.git"
    with pytest.raises(PublishError, match=r"^Cannot reach git://127\.0\.0\.1:\d+/site\.git\..*Nothing was published"):
        publish(source, url, check=False)


def test_no_such_repository_gives_a_clear_error(daemon: h.Daemon, source: Path, tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="has no such repository"):
        publish(source, daemon.url("missing.git"), check=False)
    with pytest.raises(PublishError, match="has no such repository"):
        publish(source, (tmp_path / "nowhere.git").as_uri(), check=False)


def test_file_remote_works(tmp_path: Path, source: Path) -> None:
    remote = h.bare_repository(tmp_path / "local.git")
    assert remote.url.startswith("file:///")
    assert h.run_publish(source, remote).status == "published"
    assert h.run_publish(source, remote).status == "unchanged"


def test_ssh_to_closed_port_with_valid_key(tmp_path: Path, source: Path) -> None:
    key = h.generate_key(tmp_path)
    url = f"ssh://git@127.0.0.1:{h.free_port()}/acme/site.git"
    with pytest.raises(PublishError) as raised:
        publish(source, url, ssh_key=key, check=False)
    message = str(raised.value)
    assert message.startswith(f"Cannot reach {url}.")
    assert key.splitlines()[1] not in message


GARBAGE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.mark.parametrize("key", ["not a key at all", GARBAGE_KEY])
def test_garbage_ssh_key_is_refused_without_being_printed(source: Path, key: str) -> None:
    url = f"ssh://git@127.0.0.1:{h.free_port()}/acme/site.git"
    with pytest.raises(PublishInputError, match="private key") as raised:
        publish(source, url, ssh_key=key, check=False)
    assert "Z2FyYmFnZQ" not in str(raised.value) and "not a key at all" not in str(raised.value)


def test_key_file_is_private_and_removed(tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = h.generate_key(tmp_path)
    seen: dict[str, object] = {}
    real_run = gitutil.Git.run

    def spy(self, *args, **kwargs):
        command = self.env.get("GIT_SSH_COMMAND", "")
        if command and "path" not in seen:
            key_path = Path(command.split(" -i ")[1].split()[0])
            seen.update(path=key_path, mode=key_path.stat().st_mode & 0o777,
                        dir_mode=key_path.parent.stat().st_mode & 0o777)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(gitutil.Git, "run", spy)
    with pytest.raises(PublishError):
        publish(source, f"ssh://git@127.0.0.1:{h.free_port()}/a/b.git", ssh_key=key, check=False)
    assert seen["mode"] == 0o600 and seen["dir_mode"] == 0o700
    assert not Path(seen["path"]).exists()


def test_ssh_command_pins_key_and_known_hosts(tmp_path: Path) -> None:
    from progressive_delivery.gitutil import Credentials, auth_environment

    private = tmp_path / "auth"
    private.mkdir(mode=0o700)
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("github.com ssh-ed25519 AAAA\n")
    key = h.generate_key(tmp_path)
    env = auth_environment("git@github.com:acme/site.git", Credentials(known_hosts, ssh_key=key), private, Scrubber())
    command = env["GIT_SSH_COMMAND"]
    assert f"-i {private / 'deploy_key'}" in command
    for option in ("IdentitiesOnly=yes", f'UserKnownHostsFile="{known_hosts}"', "StrictHostKeyChecking=yes",
                   "BatchMode=yes"):
        assert option in command
    assert key.splitlines()[1] not in command


def test_token_reaches_git_through_askpass_only(tmp_path: Path) -> None:
    from progressive_delivery.gitutil import TOKEN_VARIABLE, Credentials, auth_environment

    private = tmp_path / "auth"
    private.mkdir(mode=0o700)
    env = auth_environment("https://github.com/acme/site.git", Credentials(tmp_path, token="ghp_secret123"),
                           private, Scrubber())
    askpass = Path(env["GIT_ASKPASS"])
    assert "ghp_secret123" not in askpass.read_text()
    answer = subprocess.run([str(askpass), "Password for 'https://github.com': "], capture_output=True, text=True,
                            env={**os.environ, **env}).stdout
    assert answer == "ghp_secret123\n"
    assert env[TOKEN_VARIABLE] == "ghp_secret123"


def test_url_with_credentials_is_refused(source: Path) -> None:
    with pytest.raises(PublishInputError) as raised:
        publish(source, "https://user:ghp_secret123@github.com/acme/site.git", check=False)
    assert "ghp_secret123" not in str(raised.value)


def test_scrubber_and_remote_kinds() -> None:
    scrubber = Scrubber()
    scrubber.add("-----BEGIN X-----\nAAAAB3NzaC1yc2EAAAADAQABAAABAQC\n-----END X-----\n")
    scrubber.add("ghp_token_value")
    text = scrubber.scrub("key AAAAB3NzaC1yc2EAAAADAQABAAABAQC token ghp_token_value at https://u:p@h/x")
    assert text == "key *** token *** at https://***@h/x"
    assert display_url("ssh://git@github.com/a/b.git") == "ssh://git@github.com/a/b.git"
    assert url_has_credentials("https://ghp_x@github.com/a/b") and not url_has_credentials("ssh://git@h/a")
    assert [remote_kind(u) for u in ("ssh://git@h/a", "git@github.com:a/b.git", "https://h/a", "git://h/a",
                                     "file:///tmp/a", "/tmp/a.git")] == ["ssh", "ssh", "https", "git", "local", "local"]


GITHUB_FAILURES = [
    ("read", "ERROR: Repository not found.\nfatal: Could not read from remote repository.\n", "has no such repository"),
    ("read", "git@github.com: Permission denied (publickey).\nfatal: Could not read from remote repository.\n",
     "refused the SSH key"),
    ("read", "Host key verification failed.\nfatal: Could not read from remote repository.\n", "--known-hosts"),
    ("push", "ERROR: The key you are authenticating with has been marked as read only.\n",
     "refused to let these credentials write"),
    ("push", "remote: Permission to acme/site.git denied to bot.\n"
             "fatal: unable to access 'https://github.com/acme/site.git/': The requested URL returned error: 403\n",
     "refused to let these credentials write"),
    ("read", "remote: Invalid username or password.\nfatal: Authentication failed for 'https://github.com/a/b/'\n",
     "rejected the HTTPS credentials"),
    ("push", "fatal: the receiving end does not support --atomic push\n", "does not support atomic pushes"),
]


@pytest.mark.parametrize("phase, stderr, expected", GITHUB_FAILURES)
def test_remote_failures_are_explained(phase: str, stderr: str, expected: str) -> None:
    error = remote_failure("ssh://git@github.com/acme/site.git", "main", phase, stderr)
    assert expected in str(error)
    assert "ssh://git@github.com/acme/site.git" in str(error) and "Nothing was published" in str(error)
    assert "\n" not in str(error)


def test_protected_branch_is_explained() -> None:
    rejected = "refs/heads/main [remote rejected] (protected branch hook declined)"
    error = remote_failure("ssh://git@github.com/acme/site.git", "main", "push",
                                           "remote: error: GH006: Protected branch update failed\n", rejected=rejected)
    assert "the branch is protected" in str(error) and "deploy key" in str(error)


def test_empty_or_missing_source_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(PublishInputError, match="holds no files"):
        publish(tmp_path / "empty", "file:///nowhere.git", check=False)
    with pytest.raises(PublishInputError, match="does not exist"):
        publish(tmp_path / "absent", "file:///nowhere.git", check=False)


@pytest.mark.parametrize("remote, message", [("", "--remote is empty"), ("--force", "looks like an option")])
def test_empty_or_option_like_remote_is_refused(tmp_path: Path, remote: str, message: str) -> None:
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "file.yaml").write_text("a: 1\n")
    with pytest.raises(PublishInputError, match=message):
        publish(tmp_path / "tree", remote, check=False)


def test_token_is_never_sent_over_plain_http(source: Path) -> None:
    with pytest.raises(PublishInputError) as raised:
        publish(source, "http://127.0.0.1:9/acme/site.git", token="ghp_secret123", check=False)
    message = str(raised.value)
    assert "Refusing to send the token over plain http://" in message and "https://" in message
    assert "ghp_secret123" not in message and "\n" not in message


def test_cli_refuses_http_when_the_token_variable_is_set(source: Path) -> None:
    result = h.command("--source", str(source), "--remote", "http://127.0.0.1:9/acme/site.git", "--no-check",
                       env={"GITHUB_TOKEN": "ghp_secret123"})
    assert result.returncode == 2 and "plain http://" in result.stderr and "ghp_secret123" not in result.stderr


def test_unreadable_inputs_exit_2_with_one_line(tmp_path: Path, source: Path) -> None:
    url = "ssh://git@127.0.0.1:9/a/b.git"
    common = ("--remote", url, "--no-check")
    not_a_directory = h.command("--source", str(source / "apps/base/deployment.yaml"), *common)
    key_is_a_directory = h.command("--source", str(source), *common, "--ssh-key-file", str(tmp_path))
    (tmp_path / "binary-key").write_bytes(b"\xff\xfe\x00key")
    key_is_binary = h.command("--source", str(source), *common, "--ssh-key-file", str(tmp_path / "binary-key"))
    (tmp_path / "key").write_text(h.generate_key(tmp_path))
    known_hosts = h.command("--source", str(source), *common, "--ssh-key-file", str(tmp_path / "key"),
                            "--known-hosts", str(tmp_path / "absent"))
    expected = [(not_a_directory, "is not a directory"), (key_is_a_directory, "Is a directory"),
                (key_is_binary, "not a text file"), (known_hosts, "known_hosts file")]
    for result, text in expected:
        assert result.returncode == 2, result.stderr
        assert text in result.stderr and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


ATOMIC_FAILED = "[remote rejected] (atomic transaction failed)"
PORCELAIN_ATOMIC = (f"To git://h/site.git\n!\trefs/x:refs/heads/main\t{ATOMIC_FAILED}\n"
                    f"!\trefs/y:refs/progressive-delivery/published/main\t{ATOMIC_FAILED}\nDone\n")


@pytest.mark.parametrize("porcelain, stderr, kind", [
    ("To h\n*\trefs/x:refs/heads/main\t[new branch]\nDone\n", "", "ok"),
    ("!\trefs/x:refs/heads/main\t[rejected] (fetch first)\n"
     "!\trefs/y:refs/progressive-delivery/published/main\t[rejected] (atomic push failed)\n", "", "moved"),
    (PORCELAIN_ATOMIC, "remote: error: cannot lock ref 'refs/heads/main': is at 1234 but expected 5678\n", "moved"),
    (PORCELAIN_ATOMIC, "", "maybe-moved"),
    ("!\trefs/x:refs/heads/main\t[remote rejected] (hook declined)\n"
     "!\trefs/y:refs/progressive-delivery/published/main\t[remote rejected] (atomic push failure)\n", "", "refused"),
    ("!\trefs/x:refs/heads/main\t[remote rejected] (pre-receive hook declined)\n", "", "refused"),
])
def test_push_outcomes_are_sorted_by_cause(porcelain: str, stderr: str, kind: str) -> None:
    assert read_push(0 if kind == "ok" else 1, porcelain, stderr).kind == kind


def test_atomic_failure_without_a_moved_ref_is_not_called_a_rule() -> None:
    verdict = read_push(1, PORCELAIN_ATOMIC, "")
    error = remote_failure("ssh://git@github.com/acme/site.git", "main", "push", "", rejected=verdict.detail)
    assert "neither it nor the published-tree record had moved" in str(error)
    assert "rule" not in str(error) and "protect" not in str(error)



def test_the_token_never_follows_a_redirect_or_answers_a_plain_http_prompt(tmp_path: Path) -> None:
    from progressive_delivery import gitutil

    env = gitutil.hermetic_env()
    config = {env[f"GIT_CONFIG_KEY_{n}"]: env[f"GIT_CONFIG_VALUE_{n}"] for n in range(int(env["GIT_CONFIG_COUNT"]))}
    assert config["http.followRedirects"] == "false"
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(gitutil._ASKPASS_SCRIPT)
    askpass.chmod(0o700)
    secret = {gitutil.TOKEN_VARIABLE: "ghp_never_in_clear", "PATH": "/usr/bin:/bin"}
    https = subprocess.run([str(askpass), "Password for 'https://x-access-token@github.com': "], env=secret,
                           capture_output=True, text=True, timeout=10)
    assert https.stdout == "ghp_never_in_clear\n"
    plain = subprocess.run([str(askpass), "Password for 'http://x-access-token@example.com': "], env=secret,
                           capture_output=True, text=True, timeout=10)
    assert plain.returncode != 0 and plain.stdout == ""
