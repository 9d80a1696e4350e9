"""What the publish tests share: bare repositories served by `git daemon` on 127.0.0.1, project checkouts
(the origin of published trees), a stand-in for the platform checker and the command line."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
from conftest import write_tree
from loopback import free_port, wait_until_listening

from progressive_delivery import publish as publish_command
from progressive_delivery.config import PROJECT_ROOT
from progressive_delivery.gitutil import hermetic_env
from progressive_delivery.publish_flow import PublishResult, publish
from progressive_delivery.publish_session import PUBLISHED_REF_PREFIX

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


def git(*args: str, git_dir: Path | None = None, cwd: Path | None = None, input: bytes | None = None) -> str:
    prefix = [f"--git-dir={git_dir}"] if git_dir else []
    result = subprocess.run(["git", *prefix, *args], input=input, capture_output=True, cwd=cwd,
                            env=hermetic_env(IDENTITY), check=True, timeout=30)
    return result.stdout.decode().strip()


def bump_tag(text: str, tag: str) -> str:
    return text.replace("newTag: 0.1.0", f"newTag: {tag}")


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

    def message(self, ref: str = BRANCH_REF) -> str:
        return git("log", "-1", "--format=%B", ref, git_dir=self.path)

    def commits(self, ref: str = BRANCH_REF) -> int:
        return int(git("rev-list", "--count", ref, git_dir=self.path))

    def make_commit(self, changes: dict[str, str | None], message: str = "change by someone else",
                    ref: str = BRANCH_REF, links: dict[str, str] | None = None) -> str:
        """A commit of `changes` (None deletes) and symbolic `links` (name: target) on top of `ref`, as another
        writer would make; `ref` stays."""
        parent = self.ref(ref)
        env = {**hermetic_env(IDENTITY), "GIT_INDEX_FILE": str(self.path / f"test-index-{os.getpid()}")}

        def run(*args: str, input: bytes | None = None) -> str:
            completed = subprocess.run(["git", f"--git-dir={self.path}", *args], input=input,
                                       capture_output=True, env=env, check=True)
            return completed.stdout.decode().strip()

        run("read-tree", parent) if parent else run("read-tree", "--empty")
        for name, content in changes.items():
            if content is None:
                run("update-index", "--index-info", input=f"0 {ZERO}\t{name}\n".encode())
            else:
                blob = run("hash-object", "-w", "--stdin", input=content.encode())
                run("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}")
        for name, target in (links or {}).items():
            blob = run("hash-object", "-w", "--stdin", input=target.encode())
            run("update-index", "--add", "--cacheinfo", f"120000,{blob},{name}")
        tree = run("write-tree")
        Path(env["GIT_INDEX_FILE"]).unlink()
        return run("commit-tree", tree, *(["-p", parent] if parent else []), "-m", message)

    def commit(self, changes: dict[str, str | None], message: str = "change by someone else",
               links: dict[str, str] | None = None) -> str:
        """Commit `changes` (and `links`) on top of the branch and move the branch there."""
        parent = self.ref()
        commit = self.make_commit(changes, message, links=links)
        git("update-ref", BRANCH_REF, commit, parent or ZERO, git_dir=self.path)
        return commit

    def updates(self) -> list[str]:
        log = self.path / "updates.log"
        return log.read_text().splitlines() if log.exists() else []

    def hook(self, name: str, script: str) -> None:
        path = self.path / "hooks" / name
        path.write_text(script)
        path.chmod(0o755)


def assert_only_fast_forwards(remote: Remote) -> None:
    for line in remote.updates():
        ref, old, new = line.split()
        assert new != ZERO, f"{ref} was deleted"
        if old != ZERO:
            assert git("merge-base", "--is-ancestor", old, new, git_dir=remote.path) == ""


@dataclass
class Daemon:
    base: Path
    port: int

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}"

    def create(self, name: str = "site.git", readme: bool = True) -> Remote:
        """A served bare repository (see `bare_repository`)."""
        return bare_repository(self.base / name, self.url(name), readme)


def bare_repository(path: Path, url: str | None = None, readme: bool = True) -> Remote:
    """A bare repository guarded by UPDATE_HOOK, reached at `url` (default file://); with `readme`, seeded
    like GitHub's auto-init (one README commit on main)."""
    git("init", "--bare", "--quiet", "--initial-branch=main", str(path))
    remote = Remote(path, url or path.as_uri())
    remote.hook("update", UPDATE_HOOK)
    if readme:
        remote.commit({"README.md": "# site\n"}, "Initial commit")
    return remote


@contextlib.contextmanager
def serve(base: Path, writable: bool = True) -> Iterator[Daemon]:
    """`git daemon` on 127.0.0.1 serving the repositories under `base`; stopped by its process id."""
    base.mkdir(exist_ok=True)
    enable = ["--enable=receive-pack"] if writable else []
    for _ in range(3):
        port = free_port()
        process = subprocess.Popen(
            ["git", "daemon", "--export-all", *enable, "--reuseaddr", "--informative-errors",
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


def run_publish(source: Path, remote: Remote, **options: object) -> PublishResult:
    options.setdefault("check", False)
    options.setdefault("retry_delay", 0.0)
    return publish(source, remote.url, BRANCH, **options)  # type: ignore[arg-type]


@dataclass
class Project:
    """A git checkout of the project, with the tree to publish in platform/."""

    root: Path

    @classmethod
    def create(cls, root: Path, files: dict[str, str | None]) -> Project:
        git("init", "--quiet", "--initial-branch=main", str(root))
        project = cls(root)
        project.commit(files, "Initial platform")
        return project

    @property
    def source(self) -> Path:
        return self.root / "platform"

    def commit(self, files: dict[str, str | None], message: str = "Change the platform") -> str:
        write_tree(self.source, files)
        git("add", "--all", "platform", cwd=self.root)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.root)
        return self.head()

    def head(self) -> str:
        return git("rev-parse", "HEAD", cwd=self.root)

    def worktree(self, path: Path, commit: str) -> Project:
        """Another checkout of the same repository, at `commit` (shares its history)."""
        git("worktree", "add", "--quiet", "--detach", str(path), commit, cwd=self.root)
        return Project(path)


def fake_checker(monkeypatch: pytest.MonkeyPatch, accept: Callable[[Path], bool],
                 raises: Exception | None = None) -> list[Path]:
    """Put a stand-in for the platform checker in place; returns the trees it was asked about."""
    module = types.ModuleType("progressive_delivery.check")
    asked: list[Path] = []

    class InputError(Exception):
        pass

    class Report:
        def __init__(self, ok: bool) -> None:
            self.ok = ok

        def format(self) -> str:
            return "apps/staging/kustomization.yaml: unknown field spec.foo"

    def check_platform(platform_dir: Path, stacks: object = None, crds_dir: object = None,
                       project_root: object = None) -> Report:
        asked.append(Path(platform_dir))
        if raises is not None:
            raise InputError(str(raises))
        return Report(accept(Path(platform_dir)))

    module.InputError, module.check_platform = InputError, check_platform  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "progressive_delivery.check", module)
    return asked


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python -m progressive_delivery publish ARGS` in a process of its own."""
    return subprocess.run([sys.executable, "-m", "progressive_delivery", "publish", *args], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=60)


def command(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The `publish` command run in this process, through the parser and handler the CLI uses."""
    parser = argparse.ArgumentParser(prog="publish")
    publish_command.register(parser.add_subparsers())
    parsed = parser.parse_args(["publish", *args])
    out, err = io.StringIO(), io.StringIO()
    with mock.patch.dict(os.environ, env or {}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = parsed.handler(parsed)
    return subprocess.CompletedProcess(["publish", *args], code, out.getvalue(), err.getvalue())


def generate_key(directory: Path) -> str:
    key = directory / "keys" / "id_ed25519"
    key.parent.mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "test", "-f", str(key)], check=True)
    return key.read_text()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Daemon]:
    """A running `git daemon` serving tmp_path/served."""
    with serve(tmp_path / "served") as running:
        yield running


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """A small platform tree outside any git checkout."""
    return write_tree(tmp_path / "platform", PLATFORM)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project checkout with the small platform tree committed."""
    return Project.create(tmp_path / "project", PLATFORM)


@pytest.fixture
def local_remote(tmp_path: Path) -> Remote:
    """A bare repository reached by file:// (for tests where the transport does not matter)."""
    return bare_repository(tmp_path / "local.git")
