"""Publishing platform/ with real git against bare repositories served by `git daemon` on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from progressive_delivery import publish as publish_module
from progressive_delivery.config import PROJECT_ROOT
from progressive_delivery.gitutil import Scrubber, display_url, hermetic_env, remote_kind, url_has_credentials
from progressive_delivery.publish import (
    PUBLISHED_REF_PREFIX,
    CheckFailed,
    PublishConflict,
    PublishError,
    PublishInputError,
    publish,
    tree_digest,
)

BRANCH = "main"
BRANCH_REF = "refs/heads/main"
PUBLISHED_REF = f"{PUBLISHED_REF_PREFIX}main"
ZERO = "0" * 40
IDENTITY = {"GIT_AUTHOR_NAME": "Someone", "GIT_AUTHOR_EMAIL": "someone@example.test",
            "GIT_COMMITTER_NAME": "Someone", "GIT_COMMITTER_EMAIL": "someone@example.test"}

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: applications
resources:
  - ../base
labels:
  - pairs:
      environment: staging
    includeSelectors: false
patches:
  - path: canary.yaml
images:
  - name: echo-version
    newName: ${image_repository}
    newTag: 0.1.0 # {"$imagepolicy": "flux-system:echo-version:tag"}
"""
GRAFANA = "".join(f"line {n}: value-{n}\n" for n in range(1, 21))
PLATFORM = {
    "clusters/staging/apps.yaml": "kind: Kustomization\nmetadata:\n  name: apps\nspec:\n  path: ./apps/staging\n",
    "apps/base/deployment.yaml": "kind: Deployment\nmetadata:\n  name: echo-version\n",
    "apps/staging/kustomization.yaml": KUSTOMIZATION,
    "apps/staging/canary.yaml": "kind: Canary\nmetadata:\n  name: echo-version\n",
    "infrastructure/base/releases/grafana.yaml": GRAFANA,
}

# Guard installed in every served repository: logs every ref update and refuses
# anything but a fast-forward (so a forced push could not pass unnoticed).
UPDATE_HOOK = f"""#!/bin/sh
echo "$1 $2 $3" >> updates.log
if [ "$2" != {ZERO} ]; then
  if [ "$3" = {ZERO} ] || ! git merge-base --is-ancestor "$2" "$3"; then
    echo "refused: $1 is not a fast-forward" >&2
    exit 1
  fi
fi
"""


def git(*args: str, git_dir: Path | None = None, input: bytes | None = None) -> str:
    prefix = [f"--git-dir={git_dir}"] if git_dir else []
    result = subprocess.run(["git", *prefix, *args], input=input, capture_output=True,
                            env=hermetic_env(IDENTITY), check=True, timeout=30)
    return result.stdout.decode().strip()


@dataclass
class Remote:
    """A bare repository served by the daemon (or reachable by file://)."""

    path: Path
    url: str

    def ref(self, name: str = BRANCH_REF) -> str | None:
        result = subprocess.run(["git", f"--git-dir={self.path}", "rev-parse", "--verify", "--quiet", name],
                                capture_output=True, text=True, env=hermetic_env())
        return result.stdout.strip() or None

    def refs(self) -> dict[str, str | None]:
        return {BRANCH_REF: self.ref(BRANCH_REF), PUBLISHED_REF: self.ref(PUBLISHED_REF)}

    def files(self, ref: str = BRANCH_REF) -> dict[str, str]:
        names = git("ls-tree", "-r", "-z", "--name-only", ref, git_dir=self.path).split("\0")
        return {name: git("cat-file", "blob", f"{ref}:{name}", git_dir=self.path) + "\n"
                for name in names if name}

    def commits(self, ref: str = BRANCH_REF) -> int:
        return int(git("rev-list", "--count", ref, git_dir=self.path))

    def commit(self, changes: dict[str, str | None], message: str = "change by someone else") -> str:
        """Commit `changes` (None deletes) on top of the branch, as another writer would."""
        parent = self.ref()
        index = self.path / "test-index"
        env = {**hermetic_env(IDENTITY), "GIT_INDEX_FILE": str(index)}
        def run(*a, input=None):
            completed = subprocess.run(["git", f"--git-dir={self.path}", *a], input=input,
                                       capture_output=True, env=env, check=True)
            return completed.stdout.decode().strip()
        run("read-tree", parent) if parent else run("read-tree", "--empty")
        for name, content in changes.items():
            if content is None:
                run("update-index", "--force-remove", name)
            else:
                blob = run("hash-object", "-w", "--stdin", input=content.encode())
                run("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}")
        tree = run("write-tree")
        index.unlink()
        commit = run("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)
        run("update-ref", BRANCH_REF, commit, parent or ZERO)
        return commit

    def updates(self) -> list[str]:
        log = self.path / "updates.log"
        return log.read_text().splitlines() if log.exists() else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@dataclass
class Daemon:
    base: Path
    port: int

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def create(self, name: str = "site.git", readme: bool = True) -> Remote:
        """A bare repository; with `readme`, seeded like GitHub's auto-init (one README commit on main)."""
        path = self.base / name
        git("init", "--bare", "--quiet", "--initial-branch=main", str(path))
        hook = path / "hooks" / "update"
        hook.write_text(UPDATE_HOOK)
        hook.chmod(0o755)
        remote = Remote(path, self.url(name))
        if readme:
            remote.commit({"README.md": "# site\n"}, "Initial commit")
        return remote


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    base = tmp_path / "served"
    base.mkdir()
    for _ in range(3):
        port = free_port()
        process = subprocess.Popen(
            ["git", "daemon", "--export-all", "--enable=receive-pack", "--reuseaddr", "--informative-errors",
             "--listen=127.0.0.1", f"--port={port}", f"--base-path={base}", str(base)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=hermetic_env())
        if wait_until_listening(port, process):
            break
        process.kill()
        process.wait(5)
    else:
        pytest.fail("git daemon did not start on 127.0.0.1")
    try:
        yield Daemon(base, port)
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root


@pytest.fixture
def source(tmp_path: Path) -> Path:
    return write_tree(tmp_path / "platform", PLATFORM)


def run_publish(source: Path, remote: Remote, **options) -> publish_module.PublishResult:
    options.setdefault("check", False)
    options.setdefault("retry_delay", 0.0)
    return publish(source, remote.url, BRANCH, **options)


def assert_only_fast_forwards(remote: Remote) -> None:
    for line in remote.updates():
        ref, old, new = line.split()
        assert new != ZERO, f"{ref} was deleted"
        if old != ZERO:
            assert git("merge-base", "--is-ancestor", old, new, git_dir=remote.path) == ""


# --------------------------------------------------------------------------- merge behaviour

def test_first_publish_into_auto_initialised_repository(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    readme_commit = remote.ref()

    result = run_publish(source, remote)

    assert result.status == "published" and result.commits == 1 and result.pushes == 1
    assert remote.ref() == result.commit
    assert git("rev-parse", f"{result.commit}^", git_dir=remote.path) == readme_commit
    assert remote.files() == {**PLATFORM, "README.md": "# site\n"}
    # the side ref holds exactly the published tree
    assert remote.files(PUBLISHED_REF) == PLATFORM
    message = git("log", "-1", "--format=%B", BRANCH_REF, git_dir=remote.path)
    assert f"Platform-Digest: sha256:{tree_digest(source)}" in message
    assert "Published-By: progressive-delivery publish" in message
    assert result.summary().startswith(f"Published {result.commit[:7]} to main of ")
    assert_only_fast_forwards(remote)


def test_identical_files_in_branch_and_first_publish_are_fine(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    remote.commit({"apps/base/deployment.yaml": PLATFORM["apps/base/deployment.yaml"]})

    result = run_publish(source, remote)

    assert result.status == "published"
    assert remote.files() == {**PLATFORM, "README.md": "# site\n"}


def test_missing_branch_is_created(daemon: Daemon, source: Path) -> None:
    remote = daemon.create("empty.git", readme=False)

    result = run_publish(source, remote)

    assert result.status == "published"
    assert remote.files() == PLATFORM
    assert remote.commits() == 1


def test_same_tree_twice_makes_no_commit_and_no_push(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    run_publish(source, remote)
    before = remote.refs()

    result = run_publish(source, remote)

    assert result.status == "unchanged" and result.pushes == 0 and result.commits == 0
    assert remote.refs() == before
    assert "Nothing changed" in result.summary()


def bump_tag(text: str, tag: str) -> str:
    return text.replace("newTag: 0.1.0", f"newTag: {tag}")


def test_image_tag_bump_survives_unchanged_and_changed_publish(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    run_publish(source, remote)
    bumped = bump_tag(KUSTOMIZATION, "0.2.0")
    automation = remote.commit({"apps/staging/kustomization.yaml": bumped}, "chore: bump echo-version")

    unchanged = run_publish(source, remote)
    assert unchanged.status == "unchanged" and remote.ref() == automation

    # change the same file far from the tag line, and another file
    kustomization = KUSTOMIZATION.replace("namespace: applications", "namespace: apps")
    write_tree(source, {"apps/staging/kustomization.yaml": kustomization, "apps/base/service.yaml": "kind: Service\n"})
    changed = run_publish(source, remote)

    assert changed.status == "published"
    assert git("rev-parse", f"{changed.commit}^", git_dir=remote.path) == automation
    published = remote.files()
    assert published["apps/staging/kustomization.yaml"] == bump_tag(kustomization, "0.2.0")
    assert published["apps/base/service.yaml"] == "kind: Service\n"
    assert changed.changed == ("A apps/base/service.yaml", "M apps/staging/kustomization.yaml")
    # the side ref records what was published, not the merge result
    assert remote.files(PUBLISHED_REF)["apps/staging/kustomization.yaml"] == kustomization
    assert_only_fast_forwards(remote)


def test_persons_edit_and_added_file_survive(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    run_publish(source, remote)
    edited = GRAFANA.replace("line 3: value-3", "line 3: tuned-by-hand")
    remote.commit({"infrastructure/base/releases/grafana.yaml": edited, "docs/notes.md": "notes\n"})

    write_tree(source, {"infrastructure/base/releases/grafana.yaml": GRAFANA.replace("value-18", "changed")})
    result = run_publish(source, remote)

    files = remote.files()
    assert result.status == "published"
    assert files["infrastructure/base/releases/grafana.yaml"] == edited.replace("value-18", "changed")
    assert files["docs/notes.md"] == "notes\n" and files["README.md"] == "# site\n"


def test_change_already_in_the_branch_is_only_recorded(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    run_publish(source, remote)
    tip = remote.commit({"apps/base/service.yaml": "kind: Service\n"}, "same change made by hand")
    write_tree(source, {"apps/base/service.yaml": "kind: Service\n"})

    recorded = run_publish(source, remote)

    assert recorded.status == "recorded" and recorded.commits == 0 and recorded.pushes == 1
    assert remote.ref() == tip
    assert remote.files(PUBLISHED_REF)["apps/base/service.yaml"] == "kind: Service\n"
    assert run_publish(source, remote).status == "unchanged"


def test_file_deleted_from_source_disappears(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    run_publish(source, remote)
    (source / "apps/staging/canary.yaml").unlink()

    result = run_publish(source, remote)

    assert result.changed == ("D apps/staging/canary.yaml",)
    assert "apps/staging/canary.yaml" not in remote.files()
    assert "apps/staging/canary.yaml" not in remote.files(PUBLISHED_REF)


def test_conflict_stops_naming_the_file_and_pushes_nothing(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    run_publish(source, remote)
    remote.commit({"apps/staging/kustomization.yaml": bump_tag(KUSTOMIZATION, "0.1.1")})
    before = remote.refs()
    write_tree(source, {"apps/staging/kustomization.yaml": bump_tag(KUSTOMIZATION, "0.3.0"),
                        "apps/base/service.yaml": "kind: Service\n"})

    with pytest.raises(PublishConflict) as raised:
        run_publish(source, remote)

    assert raised.value.paths == ("apps/staging/kustomization.yaml",)
    assert "apps/staging/kustomization.yaml (both changed the same lines)" in str(raised.value)
    assert "nothing was pushed" in str(raised.value)
    assert remote.refs() == before


def test_deleting_a_file_someone_changed_is_a_conflict(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    run_publish(source, remote)
    remote.commit({"apps/staging/canary.yaml": "kind: Canary\nmetadata:\n  name: edited\n"})
    (source / "apps/staging/canary.yaml").unlink()

    with pytest.raises(PublishConflict) as raised:
        run_publish(source, remote)

    assert raised.value.paths == ("apps/staging/canary.yaml",)


def test_push_race_is_retried_and_loses_nothing(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    run_publish(source, remote)
    write_tree(source, {"apps/base/service.yaml": "kind: Service\n"})
    injected: list[str] = []

    def branch_moves(attempt: int) -> None:
        if attempt == 1:
            injected.append(remote.commit({"apps/staging/kustomization.yaml": bump_tag(KUSTOMIZATION, "0.2.0")}))

    result = run_publish(source, remote, before_push=branch_moves)

    assert result.status == "published" and result.attempts == 2 and result.pushes == 2
    assert git("rev-parse", f"{result.commit}^", git_dir=remote.path) == injected[0]
    files = remote.files()
    assert files["apps/base/service.yaml"] == "kind: Service\n"
    assert files["apps/staging/kustomization.yaml"] == bump_tag(KUSTOMIZATION, "0.2.0")
    assert remote.files(PUBLISHED_REF)["apps/base/service.yaml"] == "kind: Service\n"
    assert_only_fast_forwards(remote)


def test_branch_that_keeps_moving_gives_up_after_the_retries(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    run_publish(source, remote)
    write_tree(source, {"apps/base/service.yaml": "kind: Service\n"})
    published_before = remote.ref(PUBLISHED_REF)

    def branch_moves(attempt: int) -> None:
        remote.commit({f"docs/{attempt}.md": "x\n"})

    with pytest.raises(PublishError, match="kept moving.*gave up after 3 attempts"):
        run_publish(source, remote, before_push=branch_moves, max_retries=2)
    # atomic: the snapshot never moved without the branch commit
    assert remote.ref(PUBLISHED_REF) == published_before


def test_never_forces(daemon: Daemon, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = daemon.create()
    pushed: list[tuple[str, ...]] = []
    real_run = publish_module.Git.run

    def recording_run(self, *args, **kwargs):
        if args and args[0] == "push":
            pushed.append(args)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(publish_module.Git, "run", recording_run)
    run_publish(source, remote)
    write_tree(source, {"apps/base/service.yaml": "kind: Service\n"})
    run_publish(source, remote, before_push=lambda attempt: attempt == 1 and remote.commit({"x.md": "x\n"}))

    assert len(pushed) == 3
    for args in pushed:
        assert not {"--force", "-f", "--force-with-lease", "--mirror", "--delete"} & set(args)
        refspecs = args[args.index("--") + 2:]
        assert refspecs and all(":" in spec and not spec.startswith("+") for spec in refspecs)
    assert_only_fast_forwards(remote)


def test_server_rule_refusing_the_branch_is_reported(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'branch main is protected' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = remote.refs()

    with pytest.raises(PublishError) as raised:
        run_publish(source, remote)

    assert "refused to update branch main" in str(raised.value)
    assert remote.url in str(raised.value)
    assert remote.refs() == before


def test_read_only_access_is_reported(tmp_path: Path, source: Path) -> None:
    base = tmp_path / "ro"
    base.mkdir()
    port = free_port()
    process = subprocess.Popen(["git", "daemon", "--export-all", "--reuseaddr", "--informative-errors",
                                "--listen=127.0.0.1", f"--port={port}", f"--base-path={base}", str(base)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=hermetic_env())
    try:
        assert wait_until_listening(port, process)
        remote = Daemon(base, port).create()
        with pytest.raises(PublishError, match="refused to let these credentials write") as raised:
            run_publish(source, remote)
        assert remote.url in str(raised.value) and "Traceback" not in str(raised.value)
    finally:
        process.terminate()
        process.wait(5)


# --------------------------------------------------------------------------- remotes and credentials

def test_nothing_listening_gives_a_clear_error(source: Path) -> None:
    url = f"git://127.0.0.1:{free_port()}/site.git"
    with pytest.raises(PublishError, match=r"^Cannot reach git://127\.0\.0\.1:\d+/site\.git\..*Nothing was published"):
        publish(source, url, check=False)


def test_no_such_repository_gives_a_clear_error(daemon: Daemon, source: Path, tmp_path: Path) -> None:
    with pytest.raises(PublishError, match="has no such repository"):
        publish(source, daemon.url("missing.git"), check=False)
    with pytest.raises(PublishError, match="has no such repository"):
        publish(source, (tmp_path / "nowhere.git").as_uri(), check=False)


def test_file_remote_works(tmp_path: Path, source: Path) -> None:
    path = tmp_path / "local.git"
    git("init", "--bare", "--quiet", "--initial-branch=main", str(path))
    remote = Remote(path, path.as_uri())
    remote.commit({"README.md": "# site\n"})
    assert run_publish(source, remote).status == "published"
    assert run_publish(source, remote).status == "unchanged"


def generate_key(tmp_path: Path) -> str:
    key = tmp_path / "keys" / "id_ed25519"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(key)], check=True)
    return key.read_text()


def test_ssh_to_closed_port_with_valid_key(tmp_path: Path, source: Path) -> None:
    key = generate_key(tmp_path)
    url = f"ssh://git@127.0.0.1:{free_port()}/acme/site.git"
    with pytest.raises(PublishError) as raised:
        publish(source, url, ssh_key=key, check=False)
    message = str(raised.value)
    assert message.startswith(f"Cannot reach {url}.")
    assert key.splitlines()[1] not in message


GARBAGE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END OPENSSH PRIVATE KEY-----\n"


@pytest.mark.parametrize("key", ["not a key at all", GARBAGE_KEY])
def test_garbage_ssh_key_is_refused_without_being_printed(source: Path, key: str) -> None:
    url = f"ssh://git@127.0.0.1:{free_port()}/acme/site.git"
    with pytest.raises(PublishInputError, match="private key") as raised:
        publish(source, url, ssh_key=key, check=False)
    assert "Z2FyYmFnZQ" not in str(raised.value) and "not a key at all" not in str(raised.value)


def test_key_file_is_private_and_removed(tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = generate_key(tmp_path)
    seen: dict[str, object] = {}
    real_run = publish_module.Git.run

    def spy(self, *args, **kwargs):
        command = self.env.get("GIT_SSH_COMMAND", "")
        if command and "path" not in seen:
            key_path = Path(command.split(" -i ")[1].split()[0])
            seen.update(path=key_path, mode=key_path.stat().st_mode & 0o777,
                        dir_mode=key_path.parent.stat().st_mode & 0o777)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(publish_module.Git, "run", spy)
    with pytest.raises(PublishError):
        publish(source, f"ssh://git@127.0.0.1:{free_port()}/a/b.git", ssh_key=key, check=False)
    assert seen["mode"] == 0o600 and seen["dir_mode"] == 0o700
    assert not Path(seen["path"]).exists()


def test_ssh_command_pins_key_and_known_hosts(tmp_path: Path) -> None:
    from progressive_delivery.gitutil import Credentials, auth_environment

    private = tmp_path / "auth"
    private.mkdir(mode=0o700)
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("github.com ssh-ed25519 AAAA\n")
    key = generate_key(tmp_path)
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
    error = publish_module._remote_failure("ssh://git@github.com/acme/site.git", "main", phase, stderr)
    assert expected in str(error)
    assert "ssh://git@github.com/acme/site.git" in str(error) and "Nothing was published" in str(error)
    assert "\n" not in str(error)


def test_protected_branch_is_explained() -> None:
    rejected = "refs/heads/main [remote rejected] (protected branch hook declined)"
    error = publish_module._remote_failure("ssh://git@github.com/acme/site.git", "main", "push",
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


# --------------------------------------------------------------------------- the platform check

def fake_checker(monkeypatch: pytest.MonkeyPatch, ok: bool, raises: Exception | None = None) -> None:
    module = types.ModuleType("progressive_delivery.check")

    class InputError(Exception):
        pass

    class Report:
        def __init__(self) -> None:
            self.ok = ok

        def format(self) -> str:
            return "apps/staging/kustomization.yaml: unknown field spec.foo"

    def check_platform(platform_dir, stacks=None, crds_dir=None):
        if raises is not None:
            raise InputError(str(raises))
        return Report()

    module.InputError, module.check_platform = InputError, check_platform
    monkeypatch.setitem(sys.modules, "progressive_delivery.check", module)


def test_failing_check_stops_the_publish(daemon: Daemon, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = daemon.create()
    before = remote.refs()
    fake_checker(monkeypatch, ok=False)

    with pytest.raises(CheckFailed, match="unknown field spec.foo"):
        publish(source, remote.url)
    assert remote.refs() == before

    fake_checker(monkeypatch, ok=True)
    assert publish(source, remote.url).status == "published"


def test_unreadable_input_for_the_check_exits_2(source: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    import argparse

    fake_checker(monkeypatch, ok=True, raises=ValueError("broken YAML"))
    parser = argparse.ArgumentParser()
    publish_module.register(parser.add_subparsers())
    args = parser.parse_args(["publish", "--source", str(source), "--remote", "file:///nowhere.git"])
    assert args.handler(args) == 2
    assert "broken YAML" in capsys.readouterr().err


# --------------------------------------------------------------------------- command line

def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "progressive_delivery", "publish", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60)


def test_cli_publishes_then_reports_nothing_changed(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    first = cli("--source", str(source), "--remote", remote.url, "--no-check")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"Published {remote.ref()[:7]} to main of {remote.url}")

    second = cli("--source", str(source), "--remote", remote.url, "--no-check")
    assert second.returncode == 0 and second.stdout.startswith("Nothing changed")


def test_cli_conflict_exits_1_naming_the_file(daemon: Daemon, source: Path) -> None:
    remote = daemon.create()
    assert cli("--source", str(source), "--remote", remote.url, "--no-check").returncode == 0
    remote.commit({"apps/staging/kustomization.yaml": bump_tag(KUSTOMIZATION, "0.1.1")})
    write_tree(source, {"apps/staging/kustomization.yaml": bump_tag(KUSTOMIZATION, "0.3.0")})

    result = cli("--source", str(source), "--remote", remote.url, "--no-check")

    assert result.returncode == 1
    assert "apps/staging/kustomization.yaml" in result.stderr and "Traceback" not in result.stderr


def test_cli_errors_are_one_paragraph_without_traceback(tmp_path: Path, source: Path) -> None:
    unset = cli("--source", str(source), "--remote", "ssh://git@127.0.0.1:1/a/b.git", "--no-check",
                "--ssh-key-env", "PD_TEST_UNSET_KEY", env={"PD_TEST_UNSET_KEY": ""})
    assert unset.returncode == 2 and "PD_TEST_UNSET_KEY" in unset.stderr and "Traceback" not in unset.stderr

    garbage = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWdhcmJhZ2Uta2V5LWJvZHk=\n-----END OPENSSH PRIVATE KEY-----"
    bad_key = cli("--source", str(source), "--remote", f"ssh://git@127.0.0.1:{free_port()}/a/b.git", "--no-check",
                  "--ssh-key-env", "PD_TEST_KEY", env={"PD_TEST_KEY": garbage})
    assert bad_key.returncode == 2 and "c2VjcmV0" not in bad_key.stderr + bad_key.stdout
    assert "Traceback" not in bad_key.stderr

    url = f"git://127.0.0.1:{free_port()}/site.git"
    unreachable = cli("--source", str(source), "--remote", url, "--no-check")
    assert unreachable.returncode == 1 and "Traceback" not in unreachable.stderr
    assert unreachable.stderr.startswith(f"error: Cannot reach {url}.")
    assert unreachable.stderr.strip().count("\n") == 0


# --------------------------------------------------------------------------- tree_digest

def test_tree_digest_tracks_names_and_contents_only(tmp_path: Path) -> None:
    first = write_tree(tmp_path / "a" / "platform", PLATFORM)
    second = write_tree(tmp_path / "elsewhere" / "copy", PLATFORM)
    digest = tree_digest(first)
    assert len(digest) == 64 and digest == tree_digest(second)

    (first / "__pycache__").mkdir()
    (first / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (first / "module.pyc").write_bytes(b"\0")
    (first / ".git").mkdir()
    (first / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert tree_digest(first) == digest

    (first / "apps/base/deployment.yaml").write_text("kind: Deployment\nmetadata:\n  name: other\n")
    changed_content = tree_digest(first)
    assert changed_content != digest

    (first / "apps/base/deployment.yaml").write_text(PLATFORM["apps/base/deployment.yaml"])
    assert tree_digest(first) == digest
    (first / "apps/base/deployment.yaml").rename(first / "apps/base/deploy.yaml")
    assert tree_digest(first) not in (digest, changed_content)
