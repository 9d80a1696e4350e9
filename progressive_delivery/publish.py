"""Publishing of platform/ into the stack's repository: one commit per change, merge-preserving, never forced.

The content of the source directory becomes the root of the branch. Each run
fetches the branch and the last published snapshot (a side ref in the same
repository), and three-way merges:

    base   = the tree published last time (empty on the first publish)
    ours   = the source directory now
    theirs = the branch as it is now (image automation, people)

so changes others made to lines the new tree did not touch are kept, files
removed from the source are removed, files only others added are kept, and a
real conflict stops with the files named. The branch commit and the new
snapshot are pushed together, atomically, as fast-forwards; a push rejected
because the branch moved is retried from a fresh fetch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .config import KNOWN_HOSTS_FILE
from .gitutil import (
    CredentialError,
    Credentials,
    Git,
    GitError,
    GitMissing,
    Scrubber,
    auth_environment,
    display_url,
    hermetic_env,
    remote_kind,
    url_has_credentials,
)

PUBLISHED_REF_PREFIX = "refs/progressive-delivery/published/"
# Local-only ref (in the temporary repository) holding the source tree; never pushed.
SOURCE_REF = "refs/publish/source"
DEFAULT_AUTHOR = "progressive-delivery <progressive-delivery@localhost>"
DIGEST_TRAILER = "Platform-Digest"
TOOL_TRAILER = "Published-By"
TOOL_NAME = "progressive-delivery publish"
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_DELAY_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 4.0
IGNORED_DIRECTORIES = frozenset({".git", "__pycache__"})
IGNORED_SUFFIXES = (".pyc",)
# Push rejections that mean "the ref moved since the fetch": worth a fresh try.
MOVED_REASONS = ("fetch first", "non-fast-forward", "stale info", "already exists")
LISTED_CHANGES = 30

_AUTHOR = re.compile(r"^\s*(?P<name>[^<>]*[^<>\s])\s*<(?P<email>[^<>\s]+)>\s*$")


# --------------------------------------------------------------------------- the source tree

@dataclass(frozen=True)
class SourceFile:
    """One file of the source tree as git will record it."""

    path: str  # relative, POSIX separators
    mode: str  # git file mode: 100644, 100755 or 120000 (symbolic link)
    location: Path

    def content(self) -> bytes:
        if self.mode == "120000":
            return os.fsencode(os.readlink(self.location))
        return self.location.read_bytes()


def source_files(source: Path) -> list[SourceFile]:
    """Every file under `source`, sorted by relative path; skips .git, __pycache__ and *.pyc."""
    found: list[SourceFile] = []

    def walk(directory: Path, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                relative = f"{prefix}{entry.name}"
                if entry.is_symlink():
                    found.append(SourceFile(relative, "120000", Path(entry.path)))
                elif entry.is_dir():
                    if entry.name not in IGNORED_DIRECTORIES:
                        walk(Path(entry.path), f"{relative}/")
                elif entry.is_file():
                    if entry.name == ".git" or entry.name.endswith(IGNORED_SUFFIXES):
                        continue
                    executable = entry.stat().st_mode & stat.S_IXUSR
                    found.append(SourceFile(relative, "100755" if executable else "100644", Path(entry.path)))

    walk(Path(source), "")
    return sorted(found, key=lambda f: f.path)


def tree_digest(source: Path) -> str:
    """sha256 over the relative paths, git modes and contents of the files under `source`.

    Independent of where the tree lives, so every machine computes the same
    digest for the same tree.
    """
    return files_digest(source_files(Path(source)))


def files_digest(files: Sequence[SourceFile]) -> str:
    """The digest `tree_digest` computes, from files already listed."""
    digest = hashlib.sha256()
    for item in files:
        content_hash = hashlib.sha256(item.content()).hexdigest()
        digest.update(f"{item.mode} {item.path}\0{content_hash}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


# --------------------------------------------------------------------------- results and errors

class PublishError(Exception):
    """Publishing failed; the message says what happened and what to do. Exit code 1."""

    exit_code = 1


class PublishInputError(PublishError):
    """The invocation itself is unusable (source, key, options). Exit code 2."""

    exit_code = 2


class PublishConflict(PublishError):
    """The source and the branch changed the same lines since the last publish."""

    def __init__(self, message: str, paths: Sequence[str]):
        super().__init__(message)
        self.paths = tuple(paths)


class CheckFailed(PublishError):
    """The platform checker found problems; nothing was published."""


@dataclass(frozen=True)
class PublishResult:
    """What a publish did. `status` is published, recorded or unchanged."""

    status: str
    remote: str
    branch: str
    digest: str
    commit: str | None  # the branch tip after publishing (None when the branch does not exist)
    changed: tuple[str, ...] = ()
    attempts: int = 1
    pushes: int = 0
    commits: int = 0

    def summary(self) -> str:
        where = f"{self.branch} of {display_url(self.remote)}"
        short = self.digest[:12]
        if self.status == "published":
            count = len(self.changed)
            files = f"{count} file{'s' if count != 1 else ''} changed"
            return f"Published {self.commit[:7]} to {where}: {files} (platform digest {short})."
        if self.status == "recorded":
            return (f"Nothing to commit: {where} already holds this tree (platform digest {short}); "
                    "recorded it as the last published tree.")
        return (f"Nothing changed: this tree (platform digest {short}) is already published to {where}; "
                "no commit, no push.")


@dataclass(frozen=True)
class Identity:
    """Author and committer of the commits publishing makes."""

    name: str
    email: str

    @classmethod
    def parse(cls, text: str) -> Identity:
        match = _AUTHOR.match(text)
        if not match:
            raise PublishInputError(f"--author '{text}' is not of the form 'Name <email>'.")
        return cls(match.group("name"), match.group("email"))

    def env(self) -> dict[str, str]:
        return {"GIT_AUTHOR_NAME": self.name, "GIT_AUTHOR_EMAIL": self.email,
                "GIT_COMMITTER_NAME": self.name, "GIT_COMMITTER_EMAIL": self.email}


# --------------------------------------------------------------------------- the publishing steps

@dataclass(frozen=True)
class _RemoteState:
    branch_tip: str | None
    published: str | None


@dataclass(frozen=True)
class _Plan:
    updates: tuple[tuple[str, str], ...]  # (new object, remote ref)
    branch_commit: str | None
    new_commit: bool
    changed: tuple[str, ...]


@dataclass(frozen=True)
class _PushOutcome:
    ok: bool
    moved: bool
    detail: str


class _Session:
    """One publish of one tree into one branch, inside a private temporary repository."""

    def __init__(self, git: Git, remote: str, branch: str, digest: str, message: str | None):
        self.git = git
        self.remote = remote
        self.branch = branch
        self.digest = digest
        self.message = message
        self.branch_ref = f"refs/heads/{branch}"
        self.published_ref = f"{PUBLISHED_REF_PREFIX}{branch}"
        self.tracking = {self.branch_ref: "refs/remotes/origin/branch",
                         self.published_ref: "refs/remotes/origin/published"}
        self.pushes = 0
        self.empty_tree = git.text("mktree", input=b"")

    # ---- reading

    def source_tree(self, files: Sequence[SourceFile]) -> str:
        """Write the files into the repository (one pack, via fast-import); return the tree id."""
        chunks = [f"commit {SOURCE_REF}\ncommitter publish <publish@localhost> 0 +0000\ndata 0\n".encode()]
        for item in files:
            if "\n" in item.path or "\r" in item.path or item.path.startswith('"'):
                raise PublishInputError(f"File name {item.path!r} in the source cannot be published; rename it.")
            data = item.content()
            chunks.append(f"M {item.mode} inline ".encode() + item.path.encode("utf-8", "surrogateescape")
                          + f"\ndata {len(data)}\n".encode() + data + b"\n")
        chunks.append(b"done\n")
        self.git.run("fast-import", "--quiet", "--done", input=b"".join(chunks))
        return self.git.text("rev-parse", f"{SOURCE_REF}^{{tree}}")

    def fetch(self) -> _RemoteState:
        """The branch tip and the last published snapshot as the remote has them now."""
        _, out, _ = self.git.run("ls-remote", "--", self.remote, self.branch_ref, self.published_ref, network=True)
        present = {}
        for line in out.decode("utf-8").splitlines():
            sha, _, name = line.partition("\t")
            if name in self.tracking:
                present[name] = sha
        for local in self.tracking.values():
            self.git.run("update-ref", "-d", local)
        if present:
            refspecs = [f"{name}:{self.tracking[name]}" for name in present]
            self.git.run("fetch", "--no-tags", "--depth=1", "--no-write-fetch-head", "--", self.remote,
                         *refspecs, network=True)
        return _RemoteState(branch_tip=self._resolve(self.tracking[self.branch_ref]),
                            published=self._resolve(self.tracking[self.published_ref]))

    def _resolve(self, ref: str) -> str | None:
        code, out, _ = self.git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", ok=(0, 1))
        return out.decode().strip() if code == 0 else None

    def _tree_of(self, commit: str | None) -> str:
        return self.git.text("rev-parse", f"{commit}^{{tree}}") if commit else self.empty_tree

    # ---- merging

    def plan(self, state: _RemoteState, ours: str) -> _Plan | None:
        """What to push, or None when the tree is already published and the branch exists."""
        theirs = self._tree_of(state.branch_tip)
        # A missing branch holds nothing of the last publish: merge against nothing.
        base = self._tree_of(state.published) if state.branch_tip else self.empty_tree
        if state.branch_tip and base == ours:
            return None
        merged = self._merge(base, ours, theirs)
        updates: list[tuple[str, str]] = []
        changed: tuple[str, ...] = ()
        branch_commit = state.branch_tip
        new_commit = not state.branch_tip or merged != theirs
        if new_commit:
            changed = self._changes(theirs, merged)
            parents = ["-p", state.branch_tip] if state.branch_tip else []
            branch_commit = self.git.text("commit-tree", merged, *parents, "-F", "-",
                                          input=self._commit_message(changed).encode())
            updates.append((branch_commit, self.branch_ref))
        parents = ["-p", state.published] if state.published else []
        snapshot = self.git.text("commit-tree", ours, *parents, "-F", "-",
                                 input=self._snapshot_message(branch_commit).encode())
        updates.append((snapshot, self.published_ref))
        return _Plan(tuple(updates), branch_commit, new_commit, changed)

    def _merge(self, base: str, ours: str, theirs: str) -> str:
        if base == theirs or ours == theirs:
            return ours
        if base == ours:
            return theirs
        # merge-tree (git 2.38+) merges commits; give it three with the wanted merge base.
        base_commit = self.git.text("commit-tree", base, "-m", "base")
        ours_commit = self.git.text("commit-tree", ours, "-p", base_commit, "-m", "ours")
        theirs_commit = self.git.text("commit-tree", theirs, "-p", base_commit, "-m", "theirs")
        code, out, _ = self.git.run("merge-tree", "--write-tree", "-z", "--name-only",
                                    ours_commit, theirs_commit, ok=(0, 1))
        tree, conflicts = _parse_merge_tree(out)
        if code == 1 or conflicts:
            raise PublishConflict(self._conflict_message(conflicts), list(conflicts))
        return tree

    def _changes(self, before: str, after: str) -> tuple[str, ...]:
        out = self.git.run("diff-tree", "-r", "-z", "--no-renames", "--name-status", before, after)[1]
        fields = out.decode("utf-8", "surrogateescape").split("\0")
        return tuple(f"{status} {path}" for status, path in zip(fields[0::2], fields[1::2], strict=False) if path)

    # ---- messages

    def _commit_message(self, changed: Sequence[str]) -> str:
        subject = self.message or f"Publish platform tree sha256:{self.digest[:12]}"
        listed = [f"  {line}" for line in changed[:LISTED_CHANGES]]
        if len(changed) > LISTED_CHANGES:
            listed.append(f"  ... and {len(changed) - LISTED_CHANGES} more")
        body = "\n".join(["Merged with the branch: changes made here since the last publish are kept.",
                          "", *listed])
        return f"{subject}\n\n{body}\n\n{DIGEST_TRAILER}: sha256:{self.digest}\n{TOOL_TRAILER}: {TOOL_NAME}\n"

    def _snapshot_message(self, branch_commit: str | None) -> str:
        return (f"Published platform tree sha256:{self.digest[:12]} to {self.branch_ref}\n\n"
                f"Branch-Commit: {branch_commit}\n{DIGEST_TRAILER}: sha256:{self.digest}\n"
                f"{TOOL_TRAILER}: {TOOL_NAME}\n")

    def _conflict_message(self, conflicts: dict[str, str]) -> str:
        described = "; ".join(f"{path} ({kind})" for path, kind in conflicts.items()) or "(unnamed)"
        return (f"Publishing to {display_url(self.remote)} (branch {self.branch}) stopped on a conflict; "
                f"nothing was pushed. Changed both in the source since the last publish and in the branch: "
                f"{described}. Make the source agree with the branch for these files (take over the "
                f"branch's change, such as a bumped image tag, or revert it in the branch), then publish again.")

    # ---- pushing

    def push(self, plan: _Plan) -> _PushOutcome:
        refspecs = [_refspec(source, destination) for source, destination in plan.updates]
        self.pushes += 1
        code, out, err = self.git.run("push", "--atomic", "--porcelain", "--", self.remote, *refspecs,
                                      ok=(0, 1, 128), network=True)
        rejected = [line.split("\t") for line in out.decode("utf-8", "replace").splitlines()
                    if line.startswith("!\t")]
        if code == 0 and not rejected:
            return _PushOutcome(ok=True, moved=False, detail="")
        reasons = [fields[2] if len(fields) > 2 else "" for fields in rejected]
        moved = any("[rejected]" in r and any(m in r for m in MOVED_REASONS) for r in reasons)
        detail = "; ".join(f"{fields[1].split(':')[-1]} {fields[2]}" for fields in rejected if len(fields) > 2)
        if moved:
            return _PushOutcome(ok=False, moved=True, detail=detail)
        raise _remote_failure(self.remote, self.branch, "push", err, rejected=detail)


def _refspec(source: str, destination: str) -> str:
    """A plain `src:dst` refspec; a leading '+' (force) is never produced."""
    if source.startswith("+") or destination.startswith("+") or not destination.startswith("refs/"):
        raise ValueError(f"refusing refspec {source}:{destination}")
    return f"{source}:{destination}"


_CONFLICT_KINDS = {
    "CONFLICT (contents)": "both changed the same lines",
    "CONFLICT (add/add)": "added on both sides with different content",
    "CONFLICT (modify/delete)": "deleted on one side, changed on the other",
}


def _parse_merge_tree(output: bytes) -> tuple[str, dict[str, str]]:
    """Tree id and {conflicted path: kind} from `merge-tree --write-tree -z --name-only`."""
    fields = output.decode("utf-8", "surrogateescape").split("\0")
    tree = fields[0].strip()
    conflicts: dict[str, str] = {}
    index = 1
    while index < len(fields) and fields[index]:
        conflicts[fields[index]] = "conflict"
        index += 1
    index += 1
    while index < len(fields) and fields[index].isdigit():
        count = int(fields[index])
        paths = fields[index + 1:index + 1 + count]
        kind = fields[index + 1 + count] if index + 1 + count < len(fields) else ""
        index += count + 3
        if kind.startswith("CONFLICT"):
            for path in paths:
                if conflicts.get(path, "conflict") == "conflict":
                    conflicts[path] = _CONFLICT_KINDS.get(kind, kind.removeprefix("CONFLICT ").strip("()"))
    return tree, conflicts


# --------------------------------------------------------------------------- remote failures

_FAILURES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("timeout", ("did not finish within",),
     "{remote} did not answer in time. Check your network (and any proxy or firewall), then publish again."),
    ("key", ("load key", "invalid format", "error in libcrypto", "incorrect passphrase"),
     "ssh could not load the deploy key for {remote}. Give the unencrypted OpenSSH private key of the "
     "repository's deploy key with --ssh-key-env or --ssh-key-file."),
    ("hostkey", ("host key verification failed", "remote host identification has changed",
                 "no host key is known"),
     "The SSH host key of {remote}'s server is not in the trusted known_hosts file. Put the server's "
     "host key into that file, or pass --known-hosts FILE with it."),
    ("denied", ("permission denied (publickey", "permission denied, please try again"),
     "{remote} refused the SSH key (permission denied). Give the private half of a deploy key "
     "registered on this repository with --ssh-key-env or --ssh-key-file."),
    ("readonly", ("marked as read only", "write access to repository not granted", "permission to ",
                  "service not enabled", "the requested url returned error: 403"),
     "{remote} refused to let these credentials write to the repository: the deploy key is read-only "
     "or the token lacks write access. Register the deploy key with write access (or use a token with "
     "contents: write), then publish again."),
    ("https-auth", ("authentication failed", "could not read username", "could not read password",
                    "invalid username or password", "the requested url returned error: 401"),
     "{remote} rejected the HTTPS credentials. Set GITHUB_TOKEN (or the variable named by --token-env) "
     "to a token with contents: write on this repository."),
    ("unreachable", ("could not resolve", "connection refused", "connection timed out", "unable to connect",
                     "failed to connect", "network is unreachable", "no route to host", "connection reset",
                     "operation timed out", "couldn't connect", "connection closed by"),
     "Cannot reach {remote}. Check the URL (host and port) and your network, proxy or firewall, then "
     "publish again."),
    ("missing", ("repository not found", "does not appear to be a git repository", "not exported",
                 "no such repository", "not found"),
     "{remote} has no such repository, or these credentials cannot see it. Check the owner and name in "
     "the URL and that the deploy key or token belongs to this repository."),
    ("atomic", ("does not support --atomic",),
     "{remote} does not support atomic pushes, which publishing needs to update the branch and its "
     "published-tree record together. Use a server that supports them (GitHub does)."),
)


# git's boilerplate after every transport failure; the line before it says what happened.
_GENERIC_LINES = ("could not read from remote repository", "please make sure you have the correct access",
                  "and the repository exists")


def _remote_failure(remote: str, branch: str, phase: str, stderr: str, rejected: str = "") -> PublishError:
    """One clear paragraph for a failed ls-remote, fetch or push."""
    shown = display_url(remote)
    lowered = stderr.lower()
    detail_lines = [line.strip() for line in stderr.splitlines()
                    if line.strip() and not line.lower().startswith(("hint:", "to "))
                    and not any(generic in line.lower() for generic in _GENERIC_LINES)]
    detail = " / ".join(detail_lines[-3:])
    if rejected and "remote rejected" in rejected:
        protected = "protected" in rejected.lower() or "gh006" in lowered
        what = ("the branch is protected. Allow this deploy key to push to it in the branch protection "
                "rules, or publish to another branch" if protected else
                "a server-side rule declined it. Allow this deploy key to push to the branch (check branch "
                "protection rules and push rulesets)")
        return PublishError(f"{shown} refused to update branch {branch} ({rejected}): {what}. "
                            "Nothing was published.")
    message = None
    for name, needles, text in _FAILURES:
        if any(needle in lowered for needle in needles):
            if name == "missing" and phase == "push":
                # Reading worked a moment ago, so this is a refusal to write.
                continue
            message = text.format(remote=shown)
            break
    if message is None and phase == "push" and ("denied" in lowered or "forbidden" in lowered):
        message = next(text for name, _, text in _FAILURES if name == "readonly").format(remote=shown)
    if message is None:
        message = f"git could not {phase} {shown} (branch {branch})."
    if rejected:
        detail = f"{rejected}; {detail}" if detail else rejected
    return PublishError(f"{message} Nothing was published. git said: {detail}" if detail else
                        f"{message} Nothing was published.")


# --------------------------------------------------------------------------- the library entry point

def run_platform_check(source: Path) -> None:
    """Run the platform checker; raise CheckFailed (findings) or PublishInputError (unreadable input)."""
    try:
        from progressive_delivery.check import InputError, check_platform
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("progressive_delivery.check"):
            raise
        raise PublishError("The platform checker (progressive_delivery.check) is not available; "
                           "run with --no-check to publish without checking.") from error
    try:
        report = check_platform(source)
    except InputError as error:
        raise PublishInputError(f"The platform check cannot read {source}: {error}") from error
    if not report.ok:
        raise CheckFailed(f"The platform check found problems in {source}; nothing was published.\n"
                          f"{report.format()}")


def publish(source: Path, remote: str, branch: str = "main", *, ssh_key: str | None = None,
            token: str | None = None, known_hosts: Path = KNOWN_HOSTS_FILE, author: str = DEFAULT_AUTHOR,
            message: str | None = None, max_retries: int = DEFAULT_MAX_RETRIES,
            retry_delay: float = DEFAULT_RETRY_DELAY_SECONDS, check: bool = True,
            before_push: Callable[[int], None] | None = None) -> PublishResult:
    """Publish the content of `source` as the root of `branch` in `remote`.

    `before_push(attempt)` runs right before each push (a seam for tests and
    instrumentation). Raises PublishError (or a subclass) with a message for
    people; never pushes with force.
    """
    source = Path(source)
    identity = Identity.parse(author)
    _validate(source, remote, branch, ssh_key, max_retries)
    if check:
        run_platform_check(source)
    try:
        files = source_files(source)
        digest = files_digest(files)
    except OSError as error:
        raise PublishInputError(f"Cannot read {error.filename or source}: {error.strerror}; make the "
                                "source tree readable.") from error
    if not files:
        raise PublishInputError(f"{source} holds no files; refusing to publish an empty tree "
                                "(it would delete everything in the branch).")
    scrubber = Scrubber()
    with tempfile.TemporaryDirectory(prefix="pd-publish-") as work:
        work_dir = Path(work)
        secrets_dir = work_dir / "auth"
        secrets_dir.mkdir(mode=0o700)
        try:
            env = hermetic_env(identity.env())
            env.update(auth_environment(remote, Credentials(Path(known_hosts), ssh_key, token),
                                        secrets_dir, scrubber))
            git = Git(work_dir / "repo.git", env, scrubber)
            git.run("init", "--bare", "--quiet", str(git.git_dir))
            session = _Session(git, remote, branch, digest, message)
            ours = session.source_tree(files)
            return _publish_loop(session, ours, digest, max_retries, retry_delay, before_push)
        except CredentialError as error:
            raise PublishInputError(str(error)) from error
        except GitMissing as error:
            raise PublishError(str(error)) from error
        except GitError as error:
            raise PublishError(f"git {error.command[0]} failed while preparing the publish of {source}: "
                               f"{error.stderr.strip() or error.stdout.strip()}") from error


def _publish_loop(session: _Session, ours: str, digest: str, max_retries: int, retry_delay: float,
                  before_push: Callable[[int], None] | None) -> PublishResult:
    remote, branch = session.remote, session.branch
    attempt = 0
    while True:
        attempt += 1
        try:
            state = session.fetch()
        except GitError as error:
            raise _remote_failure(remote, branch, "read", error.stderr) from error
        plan = session.plan(state, ours)
        if plan is None:
            return PublishResult("unchanged", remote, branch, digest, state.branch_tip,
                                 attempts=attempt, pushes=session.pushes)
        if before_push is not None:
            before_push(attempt)
        try:
            outcome = session.push(plan)
        except GitError as error:
            raise _remote_failure(remote, branch, "push", error.stderr) from error
        if outcome.ok:
            return PublishResult("published" if plan.new_commit else "recorded", remote, branch, digest,
                                 plan.branch_commit, plan.changed, attempts=attempt, pushes=session.pushes,
                                 commits=1 if plan.new_commit else 0)
        if attempt > max_retries:
            raise PublishError(
                f"Branch {branch} of {display_url(remote)} kept moving while publishing ({outcome.detail}); "
                f"gave up after {attempt} attempts, nothing was published. Publish again, or pause image "
                "automation while publishing.")
        time.sleep(min(retry_delay * 2 ** (attempt - 1), MAX_RETRY_DELAY_SECONDS))


def _validate(source: Path, remote: str, branch: str, ssh_key: str | None, max_retries: int) -> None:
    if not source.is_dir():
        raise PublishInputError(f"Source directory {source} does not exist; pass --source with the "
                                "directory whose content becomes the repository root (platform).")
    if not remote.strip():
        raise PublishInputError("--remote is empty; give the repository URL (e.g. ssh://git@github.com/OWNER/NAME.git).")
    if remote.startswith("-"):
        raise PublishInputError(f"--remote '{remote}' looks like an option, not a repository URL; give the URL "
                                "(e.g. ssh://git@github.com/OWNER/NAME.git).")
    if url_has_credentials(remote):
        raise PublishInputError(f"The remote URL {display_url(remote)} embeds credentials; remove them and put "
                                "the token in GITHUB_TOKEN (HTTPS) or use a deploy key (SSH).")
    if ssh_key is not None and remote_kind(remote) != "ssh":
        raise PublishInputError(f"An SSH key was given but {display_url(remote)} is not an SSH URL; use "
                                "ssh://git@HOST/OWNER/NAME.git or git@HOST:OWNER/NAME.git.")
    if not branch or branch.startswith(("-", "/", "refs/")) or any(c in branch for c in " ~^:?*[\\") \
            or ".." in branch or branch.endswith((".lock", "/", ".")):
        raise PublishInputError(f"--branch '{branch}' is not a valid branch name.")
    if max_retries < 0:
        raise PublishInputError("--max-retries must be 0 or more.")


# --------------------------------------------------------------------------- command line

def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `publish` command."""
    parser = subparsers.add_parser(
        "publish", help="publish platform/ into the stack's repository (one commit, merged, never forced)",
        description="Publish the content of a directory as the root of a branch: one commit when it "
                    "changed, none when not; changes made in the branch by others are kept by a "
                    "three-way merge; never a force push. Exit codes: 0 published or unchanged, "
                    "1 failed (conflict, check findings, remote errors), 2 unusable input.")
    parser.add_argument("--source", type=Path, default=Path("platform"),
                        help="directory whose content becomes the repository root (default: platform)")
    parser.add_argument("--remote", required=True, help="repository URL (ssh://, git@host:, https://, file://)")
    parser.add_argument("--branch", default="main", help="branch to publish to (default: main)")
    key = parser.add_mutually_exclusive_group()
    key.add_argument("--ssh-key-env", metavar="NAME",
                     help="environment variable holding the deploy key (OpenSSH private key)")
    key.add_argument("--ssh-key-file", type=Path, metavar="FILE", help="file holding the deploy key")
    parser.add_argument("--known-hosts", type=Path, default=KNOWN_HOSTS_FILE, metavar="FILE",
                        help="known_hosts file trusted for SSH remotes (default: github.com's keys)")
    parser.add_argument("--token-env", default="GITHUB_TOKEN", metavar="NAME",
                        help="environment variable holding a token for HTTPS remotes (default: GITHUB_TOKEN)")
    parser.add_argument("--author", default=DEFAULT_AUTHOR, help=f"'Name <email>' (default: {DEFAULT_AUTHOR})")
    parser.add_argument("--message", help="subject of the commit (the digest trailer is always added)")
    parser.add_argument("--max-retries", type=int, default=DEFAULT_MAX_RETRIES,
                        help=f"fresh tries when the branch moves during the push (default: {DEFAULT_MAX_RETRIES})")
    parser.add_argument("--no-check", dest="check", action="store_false",
                        help="skip the platform check before publishing")
    parser.set_defaults(handler=handle)


def _read_key(args: argparse.Namespace) -> str | None:
    if args.ssh_key_env:
        value = os.environ.get(args.ssh_key_env, "")
        if not value.strip():
            raise PublishInputError(f"The environment variable {args.ssh_key_env} named by --ssh-key-env is "
                                    "not set or empty; set it to the deploy key's OpenSSH private key.")
        return value
    if args.ssh_key_file:
        try:
            return args.ssh_key_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise PublishInputError(f"Cannot read the SSH key file {args.ssh_key_file}: "
                                    f"{getattr(error, 'strerror', None) or error}; give a readable file "
                                    "holding the deploy key's OpenSSH private key.") from error
    return None


def handle(args: argparse.Namespace) -> int:
    """Run `publish` from parsed arguments; print the outcome; return the exit code."""
    try:
        result = publish(
            args.source, args.remote, args.branch, ssh_key=_read_key(args),
            token=os.environ.get(args.token_env) or None, known_hosts=args.known_hosts, author=args.author,
            message=args.message, max_retries=args.max_retries, check=args.check)
    except PublishError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    print(result.summary())
    return 0
