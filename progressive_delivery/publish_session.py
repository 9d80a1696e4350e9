"""The git side of one publish: a private bare repository that fetches, merges and pushes.

The branch and the published-tree record (a side ref holding the tree
published last time) are fetched shallowly; git's own three-way merge
(`merge-tree --write-tree`, the ort strategy) runs on synthetic local commits
so that the recorded tree is the merge base; the branch commit and the new
record are pushed in one `git push --atomic`, as plain fast-forwards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .gitutil import Git, GitError, parse_ls_tree
from .publish_failures import PublishConflict, PushVerdict, read_push, remote_failure
from .publish_messages import conflict_message
from .publish_source import SourceFile

PUBLISHED_REF_PREFIX = "refs/progressive-delivery/published/"
# Local-only ref (in the temporary repository) holding the source tree; never pushed.
SOURCE_REF = "refs/publish/source"


@dataclass(frozen=True)
class RemoteState:
    """The branch tip and the published-tree record as the remote has them now."""

    branch_tip: str | None
    published: str | None
    published_message: str = ""


class Session:
    """One publish of one tree into one branch, inside a private temporary bare repository."""

    def __init__(self, git: Git, remote: str, branch: str):
        self.git = git
        self.remote = remote
        self.branch = branch
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
            data = item.data
            chunks.append(f"M {item.mode} inline ".encode() + item.path.encode("utf-8", "surrogateescape")
                          + f"\ndata {len(data)}\n".encode() + data + b"\n")
        chunks.append(b"done\n")
        self.git.run("fast-import", "--quiet", "--done", input=b"".join(chunks))
        return self.git.text("rev-parse", f"{SOURCE_REF}^{{tree}}")

    def fetch(self) -> RemoteState:
        """The branch tip and the published-tree record as the remote has them now."""
        try:
            _, out, _ = self.git.run("ls-remote", "--", self.remote, self.branch_ref, self.published_ref,
                                     network=True)
            present = {}
            for line in out.decode("utf-8").splitlines():
                sha, _, name = line.partition("\t")
                if name in self.tracking:
                    present[name] = sha
            deletes = "".join(f"delete {local}\n" for local in self.tracking.values())
            self.git.run("update-ref", "--stdin", input=deletes.encode())
            if present:
                refspecs = [f"{name}:{self.tracking[name]}" for name in present]
                self.git.run("fetch", "--no-tags", "--depth=1", "--no-write-fetch-head", "--", self.remote,
                             *refspecs, network=True)
        except GitError as error:
            raise remote_failure(self.remote, self.branch, "read", error.stderr) from error
        published = self.resolve(self.tracking[self.published_ref])
        message = self.git.text("cat-file", "commit", published).partition("\n\n")[2] if published else ""
        return RemoteState(self.resolve(self.tracking[self.branch_ref]), published, message)

    def resolve(self, ref: str) -> str | None:
        code, out, _ = self.git.run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", ok=(0, 1))
        return out.decode().strip() if code == 0 else None

    def tree_of(self, commit: str | None) -> str:
        return self.git.text("rev-parse", f"{commit}^{{tree}}") if commit else self.empty_tree

    def files(self, tree: str) -> dict[str, str]:
        """{path: blob id} of a tree."""
        return parse_ls_tree(self.git.run("ls-tree", "-r", "-z", tree)[1])

    def changes(self, before: str, after: str) -> tuple[str, ...]:
        """`<status> <path>` for each file that differs from tree `before` to tree `after`."""
        if before == after:
            return ()
        out = self.git.run("diff-tree", "-r", "-z", "--no-renames", "--name-status", before, after)[1]
        fields = out.decode("utf-8", "surrogateescape").split("\0")
        return tuple(f"{status} {path}" for status, path in zip(fields[0::2], fields[1::2], strict=False) if path)

    def write_out(self, tree: str, directory: Path) -> None:
        """Check `tree` out into `directory` (links as plain files holding their target, never followed)."""
        directory.mkdir(parents=True)
        index = directory.parent / f"{directory.name}.index"
        worktree = Git(self.git.git_dir, {**self.git.env, "GIT_INDEX_FILE": str(index)}, self.git.scrubber)
        try:
            worktree.run("-c", "core.symlinks=false", f"--work-tree={directory}", "read-tree", tree)
            worktree.run("-c", "core.symlinks=false", f"--work-tree={directory}", "checkout-index", "--all",
                         "--force")
        finally:
            index.unlink(missing_ok=True)

    # ---- merging

    def merge(self, base: str, ours: str, theirs: str) -> str:
        """Three-way merge of the source tree (`ours`) into the branch's (`theirs`) against `base`, the
        last published tree; raises PublishConflict naming the files both changed."""
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
        tree, conflicts = parse_merge_tree(out)
        if code == 1 or conflicts:
            raise PublishConflict(conflict_message(self.remote, self.branch, conflicts), list(conflicts))
        return tree

    def commit(self, tree: str, parent: str | None, message: str) -> str:
        parents = ["-p", parent] if parent else []
        return self.git.text("commit-tree", tree, *parents, "-F", "-", input=message.encode())

    # ---- pushing

    def push(self, updates: Sequence[tuple[str, str]]) -> PushVerdict:
        """Push (object, remote ref) pairs in one atomic push; refused pushes raise PublishError."""
        refspecs = [_refspec(source, destination) for source, destination in updates]
        self.pushes += 1
        try:
            code, out, err = self.git.run("push", "--atomic", "--porcelain", "--", self.remote, *refspecs,
                                          ok=(0, 1, 128), network=True)
        except GitError as error:
            raise remote_failure(self.remote, self.branch, "push", error.stderr) from error
        verdict = read_push(code, out.decode("utf-8", "replace"), err)
        if verdict.kind == "refused":
            raise remote_failure(self.remote, self.branch, "push", err, rejected=verdict.detail)
        return verdict


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


def parse_merge_tree(output: bytes) -> tuple[str, dict[str, str]]:
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
