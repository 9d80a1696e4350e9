"""Where a published tree came from: the project commit of the source directory, and its local changes.

Every publish records its origin as trailers, in the branch commit and in the
published-tree record:

    Source-Commit: <commit of the checkout holding the source> | unknown
    Source-Modified: yes | no | unknown   (files under the source differ from that commit)

Before publishing, the origin recorded by the last publish is compared with
the checkout: a checkout that does not contain that commit would revert what
was published from it, so publishing refuses (unless told to overwrite).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .gitutil import Git, GitError, Scrubber, parse_ls_tree
from .publish_source import is_ignored

COMMIT_TRAILER = "Source-Commit"
MODIFIED_TRAILER = "Source-Modified"
UNKNOWN = "unknown"
_HEX = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def _checkout_env() -> dict[str, str]:
    """The user's own git configuration (safe.directory and the like), no GIT_* overrides, no prompts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update({"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C", "LANGUAGE": "C"})
    return env


@dataclass(frozen=True)
class Origin:
    """The commit the source tree came from (None when unknown, with the reason)."""

    commit: str | None
    modified: bool | None
    reason: str = ""
    checkout: Path | None = None
    shallow: bool = False
    source: Path | None = None

    def trailers(self) -> list[str]:
        modified = UNKNOWN if self.modified is None else ("yes" if self.modified else "no")
        return [f"{COMMIT_TRAILER}: {self.commit or UNKNOWN}", f"{MODIFIED_TRAILER}: {modified}"]

    def describe(self) -> str:
        """One sentence for commit messages."""
        if self.commit is None:
            return f"Published from a tree whose commit is not known ({self.reason})."
        changes = {True: " with uncommitted changes in the source directory", False: "",
                   None: " (local changes could not be read)"}[self.modified]
        return f"Published from project commit {self.commit}{changes}."

    def contains(self, commit: str) -> bool | None:
        """Whether the checkout's commit includes `commit`; None when the checkout cannot tell."""
        if self.commit is None or self.checkout is None:
            return None
        if commit == self.commit:
            return True
        git = checkout_git(self.checkout)
        try:
            code = git.run("merge-base", "--is-ancestor", commit, self.commit, ok=(0, 1, 128))[0]
        except GitError:
            return None
        if code == 128 and self.shallow:
            return None  # the commit may be in the history a shallow clone left out
        return code == 0

    def committed_files(self, commit: str) -> dict[str, str] | None:
        """{path: blob id} of the source directory as `commit` has it; None when the checkout cannot tell."""
        if self.checkout is None or self.source is None:
            return None
        relative = os.path.relpath(self.source.resolve(), self.checkout.resolve())
        git = checkout_git(self.checkout)
        try:
            code, out, _ = git.run("ls-tree", "-r", "-z", f"{commit}:{'' if relative == '.' else relative}",
                                   ok=(0, 128))
        except GitError:
            return None
        return parse_ls_tree(out) if code == 0 else {}


@dataclass(frozen=True)
class Recorded:
    """The origin a publish recorded in its message."""

    commit: str | None
    modified: bool | None

    @classmethod
    def parse(cls, message: str) -> Recorded:
        values: dict[str, str] = {}
        for line in message.splitlines():
            key, separator, value = line.partition(": ")
            if separator and key in (COMMIT_TRAILER, MODIFIED_TRAILER):
                values[key] = value.strip()
        commit = values.get(COMMIT_TRAILER, "")
        modified = {"yes": True, "no": False}.get(values.get(MODIFIED_TRAILER, ""))
        return cls(commit if _HEX.match(commit) else None, modified)


def checkout_git(directory: Path) -> Git:
    """git in the user's checkout around `directory`, with the user's own git configuration."""
    return Git(None, _checkout_env(), Scrubber(), cwd=directory)


def find_origin(source: Path) -> Origin:
    """The origin of the tree under `source`, read from the git checkout around it (if any)."""
    git = checkout_git(Path(source))
    try:
        code, out, err = git.run("rev-parse", "--show-toplevel", "--is-shallow-repository", ok=(0, 128))
        if code != 0:
            said = (err.strip().splitlines() or ["no reason given"])[-1]
            reason = (f"{source} is not in a git checkout" if "not a git repository" in err.lower()
                      else f"git cannot read the checkout around {source}: {said}")
            return Origin(None, None, reason)
        toplevel, shallow = out.decode("utf-8", "surrogateescape").splitlines()[:2]
        code, out, _ = git.run("rev-parse", "--verify", "--quiet", "HEAD^{commit}", ok=(0, 1))
        if code != 0:
            return Origin(None, None, f"the checkout around {source} has no commit yet")
        commit = out.decode().strip()
        status = git.run("status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignored=traditional",
                         "--no-renames", "--", ".")[1]
    except GitError as error:
        return Origin(None, None, f"git cannot read the checkout around {source}: {error.stderr.strip()}")
    return Origin(commit, _has_local_changes(status), checkout=Path(toplevel), shallow=shallow == "true",
                  source=Path(source))


def _has_local_changes(status: bytes) -> bool:
    """True when `git status` lists a change, or an ignored file publishing would still publish."""
    for entry in status.decode("utf-8", "surrogateescape").split("\0"):
        if not entry:
            continue
        code, path = entry[:2], entry[3:]
        if code != "!!" or not is_ignored(path.rstrip("/")):
            return True
    return False
