"""Publishing under concurrent and hostile use, against bare repositories served by `git daemon` on
127.0.0.1: racing publishers, a branch moving inside the push, a branch with deleted files."""

from __future__ import annotations

import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import publish_harness as h
import pytest

from progressive_delivery import publish_failures, publish_session
from progressive_delivery.config import PROJECT_ROOT
from progressive_delivery.publish_failures import CheckFailed, PublishError, PushVerdict, StaleCheckout
from progressive_delivery.publish_flow import PublishResult, publish

daemon = h.daemon  # a fixture


def test_six_concurrent_publishes_end_pushed_or_refused_and_lose_nothing(daemon: h.Daemon, tmp_path: Path) -> None:
    remote = daemon.create()
    project = h.Project.create(tmp_path / "project", h.PLATFORM)
    start = project.head()
    h.run_publish(project.source, remote)
    # three checkouts on one line of history (each contains the one before), three diverging from the start
    commits = {}
    for number in (1, 2, 3):
        commits[number] = project.commit({f"apps/base/chain-{number}.yaml": f"n: {number}\n"}, f"chain {number}")
    for number in (4, 5, 6):
        h.git("checkout", "--quiet", "--detach", start, cwd=project.root)
        commits[number] = project.commit({f"apps/base/fork-{number}.yaml": f"n: {number}\n"}, f"fork {number}")
    checkouts = {number: project.worktree(tmp_path / f"checkout-{number}", commit)
                 for number, commit in commits.items()}
    everyone_fetched = threading.Barrier(len(checkouts), timeout=20)

    def push_together(attempt: int) -> None:
        if attempt == 1:
            everyone_fetched.wait()  # all six push against the same state of the remote

    def one(number: int) -> PublishResult | PublishError:
        try:
            return h.run_publish(checkouts[number].source, remote, retry_delay=0.05, before_push=push_together)
        except StaleCheckout as refused:
            return refused

    with ThreadPoolExecutor(len(checkouts)) as pool:
        outcomes = dict(zip(checkouts, pool.map(one, checkouts), strict=True))

    published = {number: result for number, result in outcomes.items() if isinstance(result, PublishResult)}
    refused = {number: error for number, error in outcomes.items() if isinstance(error, StaleCheckout)}
    assert published and len(published) + len(refused) == 6
    assert all(result.status == "published" for result in published.values())
    final = remote.files()
    for number in published:
        # every change a publish pushed is still in the branch, whoever came later
        for mine in [f"apps/base/chain-{n}.yaml" for n in range(1, number + 1)] if number <= 3 else \
                [f"apps/base/fork-{number}.yaml"]:
            assert mine in final, (number, sorted(final))
        assert h.git("merge-base", "--is-ancestor", published[number].commit, h.BRANCH_REF, git_dir=remote.path) == ""
    for error in refused.values():
        assert "does not contain it. Pull (git pull" in str(error)
    last = remote.message(h.PUBLISHED_REF)
    assert any(f"Source-Commit: {commits[number]}" in last for number in published)
    h.assert_only_fast_forwards(remote)


def record_verdicts(monkeypatch: pytest.MonkeyPatch) -> list[PushVerdict]:
    """Record how each push ended, as publishing read it."""
    seen: list[PushVerdict] = []

    def recording(code: int, porcelain: str, stderr: str) -> PushVerdict:
        seen.append(publish_failures.read_push(code, porcelain, stderr))
        return seen[-1]

    monkeypatch.setattr(publish_session, "read_push", recording)
    return seen


MOVE_ONCE = """#!/bin/sh
# Another writer gets in between this push's ref advertisement and its update, once.
if [ -f move ]; then
  read ref commit < move
  rm move
  env -u GIT_QUARANTINE_PATH git update-ref "$ref" "$commit"
fi
"""


@pytest.mark.parametrize("moved, server_names_the_cause", [(h.BRANCH_REF, True), (h.PUBLISHED_REF, False)])
def test_atomic_transaction_failure_from_a_moved_ref_is_retried(
        daemon: h.Daemon, tmp_path: Path, moved: str, server_names_the_cause: bool,
        monkeypatch: pytest.MonkeyPatch) -> None:
    if not server_names_the_cause:  # a server that gives only "(atomic transaction failed)"
        monkeypatch.setattr(publish_failures, "CONTENTION_TEXTS", ())
    remote = daemon.create()
    source = h.write_tree(tmp_path / "platform", h.PLATFORM)
    h.run_publish(source, remote)
    verdicts = record_verdicts(monkeypatch)
    remote.hook("pre-receive", MOVE_ONCE)
    h.write_tree(source, {"apps/base/service.yaml": "kind: Service\n"})
    another = remote.make_commit({"docs/notes.md": "notes\n"}, ref=moved)
    (remote.path / "move").write_text(f"{moved} {another}\n")

    result = h.run_publish(source, remote)

    assert result.status == "published" and result.attempts == 2 and result.pushes == 2
    first, second = verdicts
    assert first.kind == ("moved" if server_names_the_cause else "maybe-moved") and second.kind == "ok"
    assert first.detail.count("[remote rejected] (atomic transaction failed)") == 2
    # the other writer's commit is kept: the pushed refs build on it
    assert h.git("merge-base", "--is-ancestor", another, moved, git_dir=remote.path) == ""
    assert remote.files()["apps/base/service.yaml"] == "kind: Service\n"
    h.assert_only_fast_forwards(remote)


def test_atomic_failure_with_nothing_moved_is_reported_not_retried(
        daemon: h.Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(publish_failures, "CONTENTION_TEXTS", ())
    remote = daemon.create()
    source = h.write_tree(tmp_path / "platform", h.PLATFORM)
    # a server fault: the ref cannot be locked, though nobody else writes
    remote.hook("pre-receive", "#!/bin/sh\ntouch refs/heads/main.lock\n")
    before = remote.refs()
    verdicts = record_verdicts(monkeypatch)

    with pytest.raises(PublishError) as raised:
        h.run_publish(source, remote)

    assert [verdict.kind for verdict in verdicts] == ["maybe-moved"]  # looked again, found nothing moved

    message = str(raised.value)
    assert "although neither it nor the published-tree record had moved" in message
    assert "atomic transaction failed" in message and "rule" not in message
    assert remote.refs() == before


def test_branch_with_deleted_files_is_reported_and_not_called_up_to_date(daemon: h.Daemon, tmp_path: Path) -> None:
    remote = daemon.create(readme=False)
    source = tmp_path / "platform"
    shutil.copytree(PROJECT_ROOT / "platform", source)
    h.run_publish(source, remote)
    deleted = ["apps/base/applications/canary.yaml", "apps/base/applications/deployment.yaml"]
    remote.commit(dict.fromkeys(deleted), "someone deletes the application")
    before = remote.refs()

    with pytest.raises(CheckFailed) as raised:
        publish(source, remote.url, retry_delay=0)  # the real platform checker

    message = str(raised.value)
    assert "is already published to branch main" in message and "fails the platform check" in message
    assert all(f"D {path}" in message for path in deleted) and "Nothing was pushed" in message
    assert "Nothing changed" not in message and remote.refs() == before
