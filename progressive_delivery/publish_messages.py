"""The texts publishing writes: commit messages, the published-tree record, refusals and notes.

Each says only what the publish knows to be true: where the tree came from,
what changed in the branch, what the branch keeps that the source does not
have, and what an overwrite replaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .gitutil import display_url
from .publish_origin import Origin

DIGEST_TRAILER = "Platform-Digest"
TOOL_TRAILER = "Published-By"
TOOL_NAME = "progressive-delivery publish"
BRANCH_COMMIT_TRAILER = "Branch-Commit"
LISTED_CHANGES = 30
INLINE_CHANGES = 8


def listed(changes: Sequence[str], indent: str = "  ") -> list[str]:
    """One line per change, at most LISTED_CHANGES of them."""
    lines = [f"{indent}{line}" for line in changes[:LISTED_CHANGES]]
    if len(changes) > LISTED_CHANGES:
        lines.append(f"{indent}... and {len(changes) - LISTED_CHANGES} more")
    return lines


def inline(changes: Sequence[str]) -> str:
    """Changes on one line: `M a, D b and 3 more`."""
    shown = ", ".join(changes[:INLINE_CHANGES])
    more = len(changes) - INLINE_CHANGES
    return f"{shown} and {more} more" if more > 0 else shown


@dataclass(frozen=True)
class Overwrite:
    """A publish that replaces one whose commit the checkout does not contain."""

    commit: str
    differences: tuple[str, ...]  # last published tree -> this tree


@dataclass(frozen=True)
class Texts:
    """What every text of one publish shares."""

    remote: str
    branch: str
    source: str
    digest: str
    origin: Origin
    subject: str | None = None

    @property
    def where(self) -> str:
        return f"branch {self.branch} of {display_url(self.remote)}"

    def trailers(self) -> str:
        return "\n".join([f"{DIGEST_TRAILER}: sha256:{self.digest}", *self.origin.trailers(),
                          f"{TOOL_TRAILER}: {TOOL_NAME}"])

    def commit_message(self, changed: Sequence[str], kept: Sequence[str], first: str,
                       overwrite: Overwrite | None) -> str:
        """`first`: "branch" when this commit creates the branch, "record" when nothing was published before."""
        subject = self.subject or f"Publish platform tree sha256:{self.digest[:12]}"
        how = {"branch": "First publish: this commit creates the branch.",
               "record": "First publish to this branch: merged with the files already in it."}.get(
            first, "Three-way merge with the branch against the tree published last time.")
        paragraphs = [subject, f"{self.origin.describe()}\n{how}"]
        if overwrite is not None:
            paragraphs.append("\n".join([
                f"Overwrites the publish from project commit {overwrite.commit}, which the publishing checkout "
                "does not contain. These files now differ from that publish:", *listed(overwrite.differences)]))
        paragraphs.append("\n".join(["Changed in the branch:", *listed(changed)]))
        if kept:
            paragraphs.append("\n".join([f"Kept from the branch (differ from {self.source}):", *listed(kept)]))
        paragraphs.append(self.trailers())
        return "\n\n".join(paragraphs) + "\n"

    def record_message(self, branch_commit: str | None) -> str:
        return (f"Published platform tree sha256:{self.digest[:12]} to refs/heads/{self.branch}\n\n"
                f"{BRANCH_COMMIT_TRAILER}: {branch_commit}\n{self.trailers()}\n")

    def stale(self, recorded: str, differences: Sequence[str], shallow: bool) -> str:
        head = self.origin.commit or "?"
        have = (f"this shallow checkout (at {head[:12]}) does not have it, so it cannot tell whether it contains "
                "it. Fetch the full history (git fetch --unshallow) and publish again" if shallow else
                f"this checkout (at {head[:12]}) does not contain it. Pull (git pull, so that {recorded[:12]} is "
                "in your history) and publish again")
        replaced = (f" Publishing this tree would replace what that publish put in: {inline(differences)}."
                    if differences else "")
        return (f"Refusing to publish to {self.where}: the last publish there came from project commit "
                f"{recorded[:12]}, and {have}; or pass --overwrite-published to replace that publish on "
                f"purpose.{replaced} Nothing was pushed.")

    def reverts_uncommitted(self, recorded: str, reverted: Sequence[str], unknown: bool) -> str:
        what = "may have had" if unknown else "had"
        return (f"Refusing to publish to {self.where}: the last publish there came from project commit "
                f"{recorded[:12]} and {what} uncommitted changes, which this tree would revert to what that "
                f"commit has: {inline(reverted)}. Get those changes (ask who published them to commit and "
                "push them, then pull) and publish again; or pass --overwrite-published to revert them on "
                "purpose. Nothing was pushed.")

    def broken_branch(self, kept: Sequence[str], report: str) -> str:
        return (f"{self.source} is already published to {self.where}, but the branch has changed since and "
                f"fails the platform check. The branch differs from {self.source} in: {inline(kept)}. "
                "Restore those files in the branch (for example, revert the commit that changed them) and "
                f"publish again. Nothing was pushed.\n{report}")

    def merged_fails(self, kept: Sequence[str], report: str) -> str:
        return (f"{self.source} merged with {self.where} fails the platform check, though {self.source} alone "
                f"passes it. The branch differs from {self.source} in: {inline(kept)}. Make the branch and "
                f"{self.source} agree on those files, then publish again. Nothing was pushed.\n{report}")


def conflict_message(remote: str, branch: str, conflicts: dict[str, str]) -> str:
    described = "; ".join(f"{path} ({kind})" for path, kind in conflicts.items()) or "(unnamed)"
    return (f"Publishing to {display_url(remote)} (branch {branch}) stopped on a conflict; "
            f"nothing was pushed. Changed both in the source since the last publish and in the branch: "
            f"{described}. Make the source agree with the branch for these files (take over the "
            f"branch's change, such as a bumped image tag, or revert it in the branch), then publish again.")
