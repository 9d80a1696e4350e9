"""Where a published tree came from: recorded with every publish, and checked before the next one,
so that a checkout without the last published commit cannot silently revert it."""

from __future__ import annotations

import shutil
from pathlib import Path

import publish_harness as h
import pytest

from progressive_delivery.publish_failures import StaleCheckout
from progressive_delivery.publish_origin import find_origin

local_remote, project = h.local_remote, h.project  # fixtures

SERVICE = {"apps/base/service.yaml": "kind: Service\n"}
TUNED = {"infrastructure/base/releases/grafana.yaml": h.GRAFANA.replace("value-5", "tuned")}


def test_origin_is_recorded_in_the_commit_and_the_record(local_remote: h.Remote, project: h.Project) -> None:
    remote = local_remote
    h.run_publish(project.source, remote)

    for ref in (h.BRANCH_REF, h.PUBLISHED_REF):
        message = remote.message(ref)
        assert f"\nSource-Commit: {project.head()}\nSource-Modified: no\n" in message
    assert f"Published from project commit {project.head()}.\n" in remote.message()

    h.write_tree(project.source, SERVICE)  # not committed
    h.run_publish(project.source, remote)
    message = remote.message()
    assert "Source-Modified: yes" in message and "with uncommitted changes in the source directory" in message


def test_ignored_files_count_as_local_changes_only_when_published(project: h.Project) -> None:
    (project.root / ".gitignore").write_text("__pycache__/\n*.pyc\nlocal-*.yaml\n")
    h.git("add", ".gitignore", cwd=project.root)
    project.commit({}, "Ignore local files")
    (project.source / "__pycache__").mkdir()
    (project.source / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (project.root / "notes.txt").write_text("outside the source directory\n")
    origin = find_origin(project.source)
    assert origin.commit == project.head() and origin.modified is False and origin.checkout == project.root

    h.write_tree(project.source, {"apps/local-values.yaml": "a: 1\n"})  # ignored by git, published all the same
    assert find_origin(project.source).modified is True


def test_stale_checkout_refuses_and_leaves_the_remote_unchanged(
        local_remote: h.Remote, project: h.Project, tmp_path: Path) -> None:
    remote = local_remote
    older = project.head()
    h.run_publish(project.source, remote)
    newer = project.commit(SERVICE, "Add a service")
    h.run_publish(project.source, remote)
    behind = project.worktree(tmp_path / "behind", older)
    h.write_tree(behind.source, TUNED)
    before = remote.refs()

    with pytest.raises(StaleCheckout) as raised:
        h.run_publish(behind.source, remote)

    message = str(raised.value)
    assert f"came from project commit {newer[:12]}" in message and f"(at {older[:12]})" in message
    assert "does not contain it. Pull (git pull" in message and "--overwrite-published" in message
    assert "D apps/base/service.yaml" in message and "Nothing was pushed" in message and "\n" not in message
    assert remote.refs() == before


def test_overwrite_says_what_it_replaces(local_remote: h.Remote, project: h.Project, tmp_path: Path) -> None:
    remote = local_remote
    older = project.head()
    newer = project.commit(SERVICE, "Add a service")
    h.run_publish(project.source, remote)
    behind = project.worktree(tmp_path / "behind", older)

    result = h.run_publish(behind.source, remote, overwrite=True)

    assert result.status == "published" and "apps/base/service.yaml" not in remote.files()
    message = remote.message()
    assert f"Overwrites the publish from project commit {newer}, which the publishing checkout" in message
    assert "These files now differ from that publish:\n  D apps/base/service.yaml" in message
    assert any(note.startswith(f"Overwriting the publish from project commit {newer[:12]}") for note in result.notes)


def test_checkout_that_pulled_publishes_and_keeps_the_change(
        local_remote: h.Remote, project: h.Project, tmp_path: Path) -> None:
    remote = local_remote
    older = project.head()
    newer = project.commit(SERVICE, "Add a service")
    h.run_publish(project.source, remote)
    other = project.worktree(tmp_path / "other", older)
    h.git("merge", "--quiet", "--ff-only", newer, cwd=other.root)  # git pull
    other.commit(TUNED, "Tune grafana")

    result = h.run_publish(other.source, remote)

    assert result.status == "published" and result.notes == ("The branch keeps 1 difference from "
                                                             f"{other.source}: A README.md.",)
    files = remote.files()
    assert files["apps/base/service.yaml"] == "kind: Service\n"
    assert files["infrastructure/base/releases/grafana.yaml"] == TUNED["infrastructure/base/releases/grafana.yaml"]


def test_outside_a_checkout_the_check_is_said_not_to_be_made(
        local_remote: h.Remote, project: h.Project, tmp_path: Path) -> None:
    remote = local_remote
    h.run_publish(project.source, remote)
    loose = tmp_path / "loose" / "platform"
    shutil.copytree(project.source, loose)
    h.write_tree(loose, SERVICE)

    from_copy = h.run_publish(loose, remote)

    assert from_copy.status == "published"
    assert any(note.startswith(f"Could not check that this tree contains the last publish (from project commit "
                               f"{project.head()[:12]}): {loose} is not in a git checkout") for note in from_copy.notes)
    assert "Source-Commit: unknown\nSource-Modified: unknown" in remote.message(h.PUBLISHED_REF)
    assert "Published from a tree whose commit is not known" in remote.message()

    project.commit({**SERVICE, **TUNED}, "Add a service, tune grafana")
    after = h.run_publish(project.source, remote)
    assert after.status == "published"
    assert any("it recorded no source commit" in note for note in after.notes)


def test_shallow_clone_without_the_published_commit_refuses(
        local_remote: h.Remote, project: h.Project, tmp_path: Path) -> None:
    remote = local_remote
    published = project.commit(SERVICE, "Add a service")
    h.run_publish(project.source, remote)
    project.commit(TUNED, "Tune grafana")
    clone = tmp_path / "shallow"
    h.git("clone", "--quiet", "--depth=1", project.root.as_uri(), str(clone))

    with pytest.raises(StaleCheckout) as raised:
        h.run_publish(clone / "platform", remote)

    assert f"came from project commit {published[:12]}" in str(raised.value)
    assert "git fetch --unshallow" in str(raised.value)


def test_commit_message_says_what_the_branch_keeps(local_remote: h.Remote, project: h.Project) -> None:
    remote = local_remote
    h.run_publish(project.source, remote)
    first = remote.message()
    assert "First publish to this branch: merged with the files already in it." in first
    assert "Kept from the branch (differ from" in first and "  A README.md" in first
    remote.commit({"apps/staging/kustomization.yaml": h.bump_tag(h.KUSTOMIZATION, "0.2.0")}, "chore: bump")

    project.commit(SERVICE, "Add a service")
    h.run_publish(project.source, remote)

    message = remote.message()
    assert "Three-way merge with the branch against the tree published last time." in message
    assert "Changed in the branch:\n  A apps/base/service.yaml\n" in message
    assert "  M apps/staging/kustomization.yaml" in message.split("Kept from the branch")[1]
    assert "are kept" not in message


def test_uncommitted_changes_of_the_last_publish_are_not_reverted(
        local_remote: h.Remote, project: h.Project, tmp_path: Path) -> None:
    remote = local_remote
    other = project.worktree(tmp_path / "other", project.head())
    h.write_tree(project.source, SERVICE)                       # published, never committed
    h.run_publish(project.source, remote)
    h.write_tree(project.source, TUNED)                         # the same person goes on: nothing reverted
    h.run_publish(project.source, remote)
    h.write_tree(other.source, {"apps/base/extra.yaml": "kind: ConfigMap\n"})
    before = remote.refs()

    with pytest.raises(StaleCheckout) as raised:
        h.run_publish(other.source, remote)

    message = str(raised.value)
    assert "had uncommitted changes, which this tree would revert" in message
    assert "apps/base/service.yaml" in message and "infrastructure/base/releases/grafana.yaml" in message
    assert "--overwrite-published" in message and remote.refs() == before
    result = h.run_publish(other.source, remote, overwrite=True)
    assert result.status == "published" and "apps/base/service.yaml" not in remote.files()
    assert any("Reverting what the last publish" in note for note in result.notes)
