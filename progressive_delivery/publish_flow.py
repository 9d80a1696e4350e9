"""Publishing of a source tree into a branch: the library entry point and its retry loop.

The content of the source directory becomes the root of the branch. Each
attempt fetches the branch and the record of the last published tree, refuses
when this checkout does not contain the commit that tree came from, three-way
merges (base: the last published tree, ours: the source, theirs: the branch),
checks the merged tree when it differs from the source, and pushes the branch
commit and the new record in one atomic push. A push that lost a race (either
ref moved) starts the next attempt; every other failure stops with a message.
"""

from __future__ import annotations

import random
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
    private_workspace,
    remote_kind,
    url_has_credentials,
)
from .publish_check import check_source, problems_in
from .publish_failures import CheckFailed, PublishError, PublishInputError, PushVerdict, StaleCheckout, remote_failure
from .publish_messages import Overwrite, Texts, inline
from .publish_origin import Recorded, find_origin
from .publish_session import RemoteState, Session
from .publish_source import SourceTreeError, files_digest, source_files
from .refname import branch_name_problem

DEFAULT_AUTHOR = "progressive-delivery <progressive-delivery@localhost>"
DEFAULT_MAX_RETRIES = 5
DEFAULT_RETRY_DELAY_SECONDS = 0.5
MAX_RETRY_DELAY_SECONDS = 4.0

_AUTHOR = re.compile(r"^\s*(?P<name>[^<>\n]*[^<>\s])\s*<(?P<email>[^<>\s]+)>\s*$")


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
    kept: tuple[str, ...] = ()  # where the branch differs from the source after publishing
    notes: tuple[str, ...] = ()  # what people should know: checks that could not be made, drift

    def summary(self) -> str:
        where = f"{self.branch} of {display_url(self.remote)}"
        short = self.digest[:12]
        if self.status == "published":
            count = len(self.changed)
            files = f"{count} file{'s' if count != 1 else ''} changed"
            return f"Published {(self.commit or '')[:7]} to {where}: {files} (platform digest {short})."
        if self.status == "recorded":
            return (f"Nothing to commit: {where} already holds this tree (platform digest {short}); "
                    "recorded it as the last published tree.")
        differs = " (the branch also holds changes of its own, listed below)" if self.kept else ""
        return (f"Nothing changed: this tree (platform digest {short}) is already published to {where}"
                f"{differs}; no commit, no push.")


@dataclass(frozen=True)
class Options:
    """How one publish behaves beyond what it publishes where."""

    max_retries: int
    retry_delay: float
    check: bool  # run the platform checker on the merged tree too
    overwrite: bool  # publish over a publish whose commit this checkout lacks
    before_push: Callable[[int], None] | None


@dataclass
class _Plan:
    updates: list[tuple[str, str]]  # (new object, remote ref)
    branch_commit: str | None
    changed: tuple[str, ...]
    kept: tuple[str, ...]


@dataclass
class _Run:
    """The attempts of one publish."""

    session: Session
    texts: Texts
    ours: str
    work: Path
    options: Options
    passed: set[str] = field(default_factory=set)  # trees the checker accepted
    notes: list[str] = field(default_factory=list)
    attempt: int = 0

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def result(self, status: str, commit: str | None, plan: _Plan | None = None,
               kept: tuple[str, ...] = ()) -> PublishResult:
        kept = plan.kept if plan else kept
        if kept:
            self.note(f"The branch keeps {len(kept)} difference{'s' if len(kept) != 1 else ''} from "
                      f"{self.texts.source}: {inline(kept)}.")
        return PublishResult(status, self.session.remote, self.session.branch, self.texts.digest, commit,
                             plan.changed if plan else (), attempts=self.attempt, pushes=self.session.pushes,
                             commits=1 if plan and plan.changed else 0, kept=kept, notes=tuple(self.notes))

    def loop(self) -> PublishResult:
        lost: tuple[PushVerdict, RemoteState] | None = None
        while True:
            self.attempt += 1
            attempt = self.attempt
            state = self.session.fetch()
            if lost and lost[0].kind == "maybe-moved" and state == lost[1]:
                raise remote_failure(self.session.remote, self.session.branch, "push", lost[0].stderr,
                                     rejected=lost[0].detail)
            plan = self.plan(state)
            if isinstance(plan, PublishResult):
                return plan
            if self.options.before_push is not None:
                self.options.before_push(attempt)
            verdict = self.session.push(plan.updates)
            if verdict.kind == "ok":
                return self.result("published" if plan.changed else "recorded", plan.branch_commit, plan)
            if attempt > self.options.max_retries:
                raise PublishError(
                    f"Branch {self.session.branch} of {display_url(self.session.remote)} kept moving while "
                    f"publishing ({verdict.detail}); gave up after {attempt} attempts, nothing was published. "
                    "Publish again, or pause image automation while publishing.")
            lost = (verdict, state)
            delay = min(self.options.retry_delay * 2 ** (attempt - 1), MAX_RETRY_DELAY_SECONDS)
            time.sleep(delay * random.uniform(0.5, 1.0))  # spread racing publishers apart

    def plan(self, state: RemoteState) -> _Plan | PublishResult:
        """What to push for this state of the remote, or the result when there is nothing to push."""
        session, texts = self.session, self.texts
        # A missing branch holds nothing of the last publish: merge against nothing.
        base = session.tree_of(state.published) if state.branch_tip else session.empty_tree
        theirs = session.tree_of(state.branch_tip)
        if state.branch_tip and base == self.ours:
            kept = session.changes(self.ours, theirs)
            if kept:
                self.require_passes(theirs, lambda report: texts.broken_branch(kept, report))
            return self.result("unchanged", state.branch_tip, kept=kept)
        overwrite = self.check_origin(state, base) if state.branch_tip and state.published else None
        merged = session.merge(base, self.ours, theirs)
        kept = session.changes(self.ours, merged)
        if kept:
            self.require_passes(merged, lambda report: texts.merged_fails(kept, report))
        updates: list[tuple[str, str]] = []
        branch_commit = state.branch_tip
        changed: tuple[str, ...] = ()
        if not state.branch_tip or merged != theirs:
            changed = session.changes(theirs, merged)
            first = "branch" if not state.branch_tip else ("record" if not state.published else "")
            branch_commit = session.commit(merged, state.branch_tip,
                                           texts.commit_message(changed, kept, first, overwrite))
            updates.append((branch_commit, session.branch_ref))
        record = session.commit(self.ours, state.published, texts.record_message(branch_commit))
        updates.append((record, session.published_ref))
        return _Plan(updates, branch_commit, changed, kept)

    def check_origin(self, state: RemoteState, base: str) -> Overwrite | None:
        """Refuse (or, told to, overwrite) when the checkout lacks the commit of the last publish."""
        origin, recorded = self.texts.origin, Recorded.parse(state.published_message)
        if recorded.commit is None:
            self.note("Could not check that this checkout contains the last publish: it recorded no source "
                      "commit (published from outside a git checkout, or by an older version).")
            return None
        if origin.commit is None:
            self.note(f"Could not check that this tree contains the last publish (from project commit "
                      f"{recorded.commit[:12]}): {origin.reason}.")
            return None
        contained = origin.contains(recorded.commit)
        if contained:
            return self.check_uncommitted(recorded.commit, recorded.modified, base) if recorded.modified is not False \
                else None
        if contained is None and not origin.shallow:
            self.note(f"Could not check that this checkout contains project commit {recorded.commit[:12]}, "
                      "the origin of the last publish.")
            return None
        differences = self.session.changes(base, self.ours)
        if not self.options.overwrite:
            raise StaleCheckout(self.texts.stale(recorded.commit, differences, shallow=contained is None))
        self.note(f"Overwriting the publish from project commit {recorded.commit[:12]}, which this checkout "
                  f"does not contain; these files now differ from it: {inline(differences)}.")
        return Overwrite(recorded.commit, differences)

    def check_uncommitted(self, commit: str, modified: bool | None, base: str) -> Overwrite | None:
        """The last publish came from `commit` plus uncommitted changes: refuse to revert those changes to
        what `commit` has (or, told to, do it and say so)."""
        committed = self.texts.origin.committed_files(commit)
        if committed is None:
            self.note(f"Could not read project commit {commit[:12]}, the origin of the last publish, to check "
                      "that this tree keeps its uncommitted changes.")
            return None
        published, ours = self.session.files(base), self.session.files(self.ours)
        reverted = tuple(sorted(path for path in committed.keys() | published.keys()
                                if committed.get(path) != published.get(path)
                                and ours.get(path) == committed.get(path)))
        if not reverted:
            return None
        if not self.options.overwrite:
            raise StaleCheckout(self.texts.reverts_uncommitted(commit, reverted, modified is None))
        self.note(f"Reverting what the last publish (from project commit {commit[:12]}) changed without "
                  f"committing: {inline(reverted)}.")
        return Overwrite(commit, reverted)

    def require_passes(self, tree: str, explain: Callable[[str], str]) -> None:
        """Raise CheckFailed (with `explain(report)`) unless the checker accepts `tree`."""
        if not self.options.check or tree in self.passed:
            return
        directory = self.work / f"check-{tree[:12]}"
        try:
            self.session.write_out(tree, directory)
            problems = problems_in(directory)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        if problems is not None:
            # Branch content nobody here wrote reaches this report: never let it carry a secret out.
            raise CheckFailed(explain(self.session.git.scrubber.scrub(problems)))
        self.passed.add(tree)


def publish(source: Path, remote: str, branch: str = "main", *, ssh_key: str | None = None,
            token: str | None = None, known_hosts: Path = KNOWN_HOSTS_FILE, author: str = DEFAULT_AUTHOR,
            message: str | None = None, max_retries: int = DEFAULT_MAX_RETRIES,
            retry_delay: float = DEFAULT_RETRY_DELAY_SECONDS, check: bool = True, overwrite: bool = False,
            before_push: Callable[[int], None] | None = None) -> PublishResult:
    """Publish the content of `source` as the root of `branch` in `remote`.

    `overwrite` publishes even when the checkout lacks the commit the last
    publish came from. `before_push(attempt)` runs right before each push (a
    seam for tests and instrumentation). Raises PublishError (or a subclass)
    with a message for people; never pushes with force.
    """
    source = Path(source)
    identity = Identity.parse(author)
    _validate(source, remote, branch, ssh_key, max_retries, message)
    try:
        files = source_files(source)
        digest = files_digest(files)
    except SourceTreeError as error:
        raise PublishInputError(str(error)) from None
    if not files:
        raise PublishInputError(f"{source} holds no files; refusing to publish an empty tree "
                                "(it would delete everything in the branch).")
    if check:
        check_source(source)
    texts = Texts(remote, branch, str(source), digest, find_origin(source), message)
    options = Options(max_retries, retry_delay, check, overwrite, before_push)
    scrubber = Scrubber()
    with private_workspace() as work:
        try:
            env = hermetic_env(identity.env())
            env.update(auth_environment(remote, Credentials(Path(known_hosts), ssh_key, token),
                                        work / "auth", scrubber))
            git = Git(work / "repo.git", env, scrubber)
            git.run("init", "--bare", "--quiet", "--template=", str(git.git_dir))  # no sample hooks to copy
            session = Session(git, remote, branch)
            ours = session.source_tree(files)
            return _Run(session, texts, ours, work, options, passed={ours} if check else set()).loop()
        except CredentialError as error:
            raise PublishInputError(str(error)) from error
        except GitMissing as error:
            raise PublishError(str(error)) from error
        except GitError as error:
            raise PublishError(f"git {error.command[0]} failed while preparing the publish of {source}: "
                               f"{error.stderr.strip() or error.stdout.strip()}") from error


def _validate(source: Path, remote: str, branch: str, ssh_key: str | None, max_retries: int,
              message: str | None) -> None:
    if not source.exists():
        raise PublishInputError(f"Source directory {source} does not exist; pass --source with the "
                                "directory whose content becomes the repository root (platform).")
    if not source.is_dir():
        raise PublishInputError(f"Source {source} is not a directory; pass --source with the directory whose "
                                "content becomes the repository root (platform).")
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
    problem = branch_name_problem(branch)
    if problem:
        raise PublishInputError(f"--branch: {problem}")
    if max_retries < 0:
        raise PublishInputError("--max-retries must be 0 or more.")
    if message is not None and (not message.strip() or any(c in message for c in "\r\n")):
        raise PublishInputError("--message must be one non-empty line (the subject of the commit).")
