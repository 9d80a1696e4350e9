"""What went wrong while publishing, in words for people: the errors, and git's failures read.

A failed ls-remote, fetch or push becomes one paragraph that names the remote
and says what to do. A rejected push is sorted into a race (a ref moved since
the fetch: fetch, merge and try again), a possible race (the server's atomic
transaction failed, which another writer also causes: the caller looks at the
refs again to tell), or a refusal (a hook, branch protection, missing rights).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .gitutil import display_url


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
    """The platform checker found problems in the source or in the merged tree; nothing was pushed."""


class StaleCheckout(PublishError):
    """The checkout does not contain the commit the last publish came from; nothing was pushed."""


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

# Client-side rejections meaning "the ref moved since the fetch" (git v2.39.5 transport.c).
MOVED_REASONS = ("fetch first", "non-fast-forward", "stale info", "already exists")
# Server-side reasons every ref of an atomic push gets when the ref transaction as a whole fails
# (git v2.39.5 builtin/receive-pack.c execute_commands_atomic): a ref moved, or was locked by a
# concurrent push, between the push's ref advertisement and its update; or a server fault.
COLLATERAL_REASONS = ("atomic transaction failed", "atomic push failure", "atomic push failed",
                      "failed to update ref", "transaction failed to start")
# What receive-pack prints when the transaction failed because another writer got there first (git v2.39.5
# refs/files-backend.c: "cannot lock ref '...': is at X but expected Y"; lockfile.c: "Unable to create
# '....lock': File exists").
CONTENTION_TEXTS = ("cannot lock ref", "but expected", "unable to create", ".lock': file exists",
                    "reference already exists")


def _detail(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines()
             if line.strip() and not line.lower().startswith(("hint:", "to "))
             and not any(generic in line.lower() for generic in _GENERIC_LINES)]
    return " / ".join(lines[-3:])


def _refusal(shown: str, branch: str, rejected: str, stderr: str) -> PublishError:
    protected = "protected" in rejected.lower() or "gh006" in stderr.lower()
    what = ("the branch is protected. Allow this deploy key to push to it in the branch protection "
            "rules, or publish to another branch" if protected else
            "a server-side rule declined it. Allow this deploy key to push to the branch (check branch "
            "protection rules, push rulesets and server hooks)")
    return PublishError(f"{shown} refused to update branch {branch} ({rejected}): {what}. Nothing was published.")


def remote_failure(remote: str, branch: str, phase: str, stderr: str, rejected: str = "") -> PublishError:
    """One clear paragraph for a failed ls-remote, fetch or push (`rejected`: the push's ref verdicts)."""
    shown = display_url(remote)
    lowered = stderr.lower()
    detail = _detail(stderr)
    if rejected and "remote rejected" in rejected and not is_collateral_only(rejected):
        return _refusal(shown, branch, rejected, stderr)
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
    if message is None and rejected:
        message = (f"{shown} failed to update branch {branch} although neither it nor the published-tree "
                   "record had moved: the server's ref update failed. Publish again; if it keeps failing, "
                   "look at the server.")
    if message is None:
        message = f"git could not {phase} {shown} (branch {branch})."
    if rejected:
        detail = f"{rejected}; {detail}" if detail else rejected
    return PublishError(f"{message} Nothing was published. git said: {detail}" if detail else
                        f"{message} Nothing was published.")


def is_collateral_only(rejected: str) -> bool:
    """True when every reason in `rejected` is one an atomic push gives all its refs when one fails."""
    reasons = [part for part in rejected.split("; ") if part]
    return bool(reasons) and all(any(reason in part for reason in COLLATERAL_REASONS) for part in reasons)


@dataclass(frozen=True)
class PushVerdict:
    """How a push ended: `ok`, `moved` (retry), `maybe-moved` (retry if a ref moved) or `refused`."""

    kind: str
    detail: str = ""
    stderr: str = ""


def read_push(code: int, porcelain: str, stderr: str) -> PushVerdict:
    """Sort the outcome of `git push --atomic --porcelain` from its exit code, stdout and stderr."""
    rejected = [line.split("\t") for line in porcelain.splitlines() if line.startswith("!\t")]
    if code == 0 and not rejected:
        return PushVerdict("ok")
    reasons = [fields[2] if len(fields) > 2 else "" for fields in rejected]
    detail = "; ".join(f"{fields[1].split(':')[-1]} {fields[2]}" for fields in rejected if len(fields) > 2)
    if any("[rejected]" in reason and any(moved in reason for moved in MOVED_REASONS) for reason in reasons):
        return PushVerdict("moved", detail, stderr)
    if detail and is_collateral_only(detail):
        lowered = stderr.lower()
        kind = "moved" if any(text in lowered for text in CONTENTION_TEXTS) else "maybe-moved"
        return PushVerdict(kind, detail, stderr)
    return PushVerdict("refused", detail, stderr)
