"""Publishing platform/ with real git against bare repositories served by `git daemon` on 127.0.0.1:
the merge model, retries, the platform check and the command line."""

from __future__ import annotations

from pathlib import Path

import publish_harness as h
import pytest

from progressive_delivery import gitutil
from progressive_delivery.publish_failures import CheckFailed, PublishConflict, PublishError
from progressive_delivery.publish_flow import publish
from progressive_delivery.publish_source import tree_digest

daemon, source = h.daemon, h.source  # fixtures


# --------------------------------------------------------------------------- merge behaviour

def test_first_publish_into_auto_initialised_repository(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    readme_commit = remote.ref()

    result = h.run_publish(source, remote)

    assert result.status == "published" and result.commits == 1 and result.pushes == 1
    assert remote.ref() == result.commit
    assert h.git("rev-parse", f"{result.commit}^", git_dir=remote.path) == readme_commit
    assert remote.files() == {**h.PLATFORM, "README.md": "# site\n"}
    # the side ref holds exactly the published tree
    assert remote.files(h.PUBLISHED_REF) == h.PLATFORM
    message = h.git("log", "-1", "--format=%B", h.BRANCH_REF, git_dir=remote.path)
    assert f"Platform-Digest: sha256:{tree_digest(source)}" in message
    assert "Published-By: progressive-delivery publish" in message
    assert result.summary().startswith(f"Published {result.commit[:7]} to main of ")
    h.assert_only_fast_forwards(remote)


def test_identical_files_in_branch_and_first_publish_are_fine(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    remote.commit({"apps/base/deployment.yaml": h.PLATFORM["apps/base/deployment.yaml"]})

    result = h.run_publish(source, remote)

    assert result.status == "published"
    assert remote.files() == {**h.PLATFORM, "README.md": "# site\n"}


def test_missing_branch_is_created(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create("empty.git", readme=False)

    result = h.run_publish(source, remote)

    assert result.status == "published"
    assert remote.files() == h.PLATFORM
    assert remote.commits() == 1


def test_same_tree_twice_makes_no_commit_and_no_push(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    h.run_publish(source, remote)
    before = remote.refs()

    result = h.run_publish(source, remote)

    assert result.status == "unchanged" and result.pushes == 0 and result.commits == 0
    assert remote.refs() == before
    assert "Nothing changed" in result.summary()


def test_image_tag_bump_survives_unchanged_and_changed_publish(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    h.run_publish(source, remote)
    bumped = h.bump_tag(h.KUSTOMIZATION, "0.2.0")
    automation = remote.commit({"apps/staging/kustomization.yaml": bumped}, "chore: bump echo-version")

    unchanged = h.run_publish(source, remote)
    assert unchanged.status == "unchanged" and remote.ref() == automation

    # change the same file far from the tag line, and another file
    kustomization = h.KUSTOMIZATION.replace("namespace: applications", "namespace: apps")
    h.write_tree(source, {"apps/staging/kustomization.yaml": kustomization,
                          "apps/base/service.yaml": "kind: Service\n"})
    changed = h.run_publish(source, remote)

    assert changed.status == "published"
    assert h.git("rev-parse", f"{changed.commit}^", git_dir=remote.path) == automation
    published = remote.files()
    assert published["apps/staging/kustomization.yaml"] == h.bump_tag(kustomization, "0.2.0")
    assert published["apps/base/service.yaml"] == "kind: Service\n"
    assert changed.changed == ("A apps/base/service.yaml", "M apps/staging/kustomization.yaml")
    # the side ref records what was published, not the merge result
    assert remote.files(h.PUBLISHED_REF)["apps/staging/kustomization.yaml"] == kustomization
    h.assert_only_fast_forwards(remote)


def test_persons_edit_and_added_file_survive(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    h.run_publish(source, remote)
    edited = h.GRAFANA.replace("line 3: value-3", "line 3: tuned-by-hand")
    remote.commit({"infrastructure/base/releases/grafana.yaml": edited, "docs/notes.md": "notes\n"})

    h.write_tree(source, {"infrastructure/base/releases/grafana.yaml": h.GRAFANA.replace("value-18", "changed")})
    result = h.run_publish(source, remote)

    files = remote.files()
    assert result.status == "published"
    assert files["infrastructure/base/releases/grafana.yaml"] == edited.replace("value-18", "changed")
    assert files["docs/notes.md"] == "notes\n" and files["README.md"] == "# site\n"


def test_change_already_in_the_branch_is_only_recorded(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    h.run_publish(source, remote)
    tip = remote.commit({"apps/base/service.yaml": "kind: Service\n"}, "same change made by hand")
    h.write_tree(source, {"apps/base/service.yaml": "kind: Service\n"})

    recorded = h.run_publish(source, remote)

    assert recorded.status == "recorded" and recorded.commits == 0 and recorded.pushes == 1
    assert remote.ref() == tip
    assert remote.files(h.PUBLISHED_REF)["apps/base/service.yaml"] == "kind: Service\n"
    assert h.run_publish(source, remote).status == "unchanged"


def test_file_deleted_from_source_disappears(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    h.run_publish(source, remote)
    (source / "apps/staging/canary.yaml").unlink()

    result = h.run_publish(source, remote)

    assert result.changed == ("D apps/staging/canary.yaml",)
    assert "apps/staging/canary.yaml" not in remote.files()
    assert "apps/staging/canary.yaml" not in remote.files(h.PUBLISHED_REF)


def test_conflict_stops_naming_the_file_and_pushes_nothing(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    h.run_publish(source, remote)
    remote.commit({"apps/staging/kustomization.yaml": h.bump_tag(h.KUSTOMIZATION, "0.1.1")})
    before = remote.refs()
    h.write_tree(source, {"apps/staging/kustomization.yaml": h.bump_tag(h.KUSTOMIZATION, "0.3.0"),
                        "apps/base/service.yaml": "kind: Service\n"})

    with pytest.raises(PublishConflict) as raised:
        h.run_publish(source, remote)

    assert raised.value.paths == ("apps/staging/kustomization.yaml",)
    assert "apps/staging/kustomization.yaml (both changed the same lines)" in str(raised.value)
    assert "nothing was pushed" in str(raised.value)
    assert remote.refs() == before


def test_deleting_a_file_someone_changed_is_a_conflict(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    h.run_publish(source, remote)
    remote.commit({"apps/staging/canary.yaml": "kind: Canary\nmetadata:\n  name: edited\n"})
    (source / "apps/staging/canary.yaml").unlink()

    with pytest.raises(PublishConflict) as raised:
        h.run_publish(source, remote)

    assert raised.value.paths == ("apps/staging/canary.yaml",)


def test_push_race_is_retried_and_loses_nothing(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    h.run_publish(source, remote)
    h.write_tree(source, {"apps/base/service.yaml": "kind: Service\n"})
    injected: list[str] = []

    def branch_moves(attempt: int) -> None:
        if attempt == 1:
            injected.append(remote.commit({"apps/staging/kustomization.yaml": h.bump_tag(h.KUSTOMIZATION, "0.2.0")}))

    result = h.run_publish(source, remote, before_push=branch_moves)

    assert result.status == "published" and result.attempts == 2 and result.pushes == 2
    assert h.git("rev-parse", f"{result.commit}^", git_dir=remote.path) == injected[0]
    files = remote.files()
    assert files["apps/base/service.yaml"] == "kind: Service\n"
    assert files["apps/staging/kustomization.yaml"] == h.bump_tag(h.KUSTOMIZATION, "0.2.0")
    assert remote.files(h.PUBLISHED_REF)["apps/base/service.yaml"] == "kind: Service\n"
    h.assert_only_fast_forwards(remote)


def test_branch_that_keeps_moving_gives_up_after_the_retries(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    h.run_publish(source, remote)
    h.write_tree(source, {"apps/base/service.yaml": "kind: Service\n"})
    published_before = remote.ref(h.PUBLISHED_REF)

    def branch_moves(attempt: int) -> None:
        remote.commit({f"docs/{attempt}.md": "x\n"})

    with pytest.raises(PublishError, match="kept moving.*gave up after 3 attempts"):
        h.run_publish(source, remote, before_push=branch_moves, max_retries=2)
    # atomic: the snapshot never moved without the branch commit
    assert remote.ref(h.PUBLISHED_REF) == published_before


def test_never_forces(daemon: h.Daemon, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = daemon.create()
    pushed: list[tuple[str, ...]] = []
    real_run = gitutil.Git.run

    def recording_run(self, *args, **kwargs):
        if args and args[0] == "push":
            pushed.append(args)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(gitutil.Git, "run", recording_run)
    h.run_publish(source, remote)
    h.write_tree(source, {"apps/base/service.yaml": "kind: Service\n"})
    h.run_publish(source, remote, before_push=lambda attempt: attempt == 1 and remote.commit({"x.md": "x\n"}))

    assert len(pushed) == 3
    for args in pushed:
        assert not {"--force", "-f", "--force-with-lease", "--mirror", "--delete"} & set(args)
        refspecs = args[args.index("--") + 2:]
        assert refspecs and all(":" in spec and not spec.startswith("+") for spec in refspecs)
    h.assert_only_fast_forwards(remote)



# --------------------------------------------------------------------------- the platform check

def test_failing_check_stops_the_publish(daemon: h.Daemon, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = daemon.create(readme=False)
    before = remote.refs()
    h.fake_checker(monkeypatch, accept=lambda tree: False)

    with pytest.raises(CheckFailed, match="unknown field spec.foo"):
        publish(source, remote.url)
    assert remote.refs() == before

    asked = h.fake_checker(monkeypatch, accept=lambda tree: True)
    assert publish(source, remote.url).status == "published"
    # the merged tree is the source tree itself: checked once
    assert asked == [source]


def needs_canary(tree: Path) -> bool:
    """A checker stand-in that fails when apps/staging/canary.yaml is missing (kustomize would)."""
    return (tree / "apps/staging/canary.yaml").is_file()


def check_refusal(source: Path, remote: h.Remote) -> str:
    """The message of a publish the check stops; the remote must be left as it was."""
    before = remote.refs()
    with pytest.raises(CheckFailed) as raised:
        publish(source, remote.url, retry_delay=0)
    assert remote.refs() == before
    return str(raised.value)


def test_merged_tree_is_checked_and_a_broken_merge_is_not_pushed(
        daemon: h.Daemon, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = daemon.create()
    asked = h.fake_checker(monkeypatch, accept=needs_canary)
    first = publish(source, remote.url, retry_delay=0)
    # the branch holds a README the source lacks: the merged tree is checked as well, as files
    assert first.status == "published" and len(asked) == 2 and asked[0] == source
    assert first.kept == ("A README.md",) and any("README.md" in note for note in first.notes)
    remote.commit({"apps/staging/canary.yaml": None}, "someone deletes the canary")
    h.write_tree(source, {"apps/base/service.yaml": "kind: Service\n"})

    message = check_refusal(source, remote)

    assert "merged with branch main of" in message and "fails the platform check" in message
    assert "D apps/staging/canary.yaml" in message and "Nothing was pushed" in message


def test_broken_branch_is_not_called_already_published(
        daemon: h.Daemon, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = daemon.create(readme=False)
    h.fake_checker(monkeypatch, accept=needs_canary)
    publish(source, remote.url, retry_delay=0)
    remote.commit({"apps/staging/canary.yaml": None}, "someone deletes the canary")

    message = check_refusal(source, remote)

    assert "is already published" in message and "has changed since and fails the platform check" in message
    assert "D apps/staging/canary.yaml" in message and "revert the commit" in message

    # without the check, the drift is still reported
    unchecked = publish(source, remote.url, retry_delay=0, check=False)
    assert unchecked.status == "unchanged" and unchecked.kept == ("D apps/staging/canary.yaml",)
    assert any("D apps/staging/canary.yaml" in note for note in unchecked.notes)
    assert "the branch also holds changes of its own" in unchecked.summary()


def test_links_in_the_branch_are_checked_as_plain_files(
        daemon: h.Daemon, source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    remote = daemon.create()
    remote.commit({}, "a link someone committed", links={"apps/staging/passwd.yaml": "/etc/passwd"})
    seen: dict[str, str] = {}

    def no_links(tree: Path) -> bool:
        if tree != source:
            link = tree / "apps/staging/passwd.yaml"
            seen.update(is_link=str(link.is_symlink()), content=link.read_text())
        return True

    h.fake_checker(monkeypatch, accept=no_links)
    assert publish(source, remote.url, retry_delay=0).status == "published"
    assert seen == {"is_link": "False", "content": "/etc/passwd"}


def test_unreadable_input_for_the_check_exits_2(source: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    import argparse

    from progressive_delivery import publish as publish_command

    h.fake_checker(monkeypatch, accept=lambda tree: True, raises=ValueError("broken YAML"))
    parser = argparse.ArgumentParser()
    publish_command.register(parser.add_subparsers())
    args = parser.parse_args(["publish", "--source", str(source), "--remote", "file:///nowhere.git"])
    assert args.handler(args) == 2
    assert "broken YAML" in capsys.readouterr().err


# --------------------------------------------------------------------------- command line

def test_cli_publishes_then_reports_nothing_changed(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    first = h.cli("--source", str(source), "--remote", remote.url, "--no-check")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith(f"Published {remote.ref()[:7]} to main of {remote.url}")

    second = h.cli("--source", str(source), "--remote", remote.url, "--no-check")
    assert second.returncode == 0 and second.stdout.startswith("Nothing changed")


def test_cli_porcelain_prints_only_the_branch_commit(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    published = h.cli("--source", str(source), "--remote", remote.url, "--no-check", "--porcelain")
    assert published.returncode == 0, published.stderr
    assert published.stdout == f"{remote.ref()}\n" and "Published" in published.stderr
    unchanged = h.cli("--source", str(source), "--remote", remote.url, "--no-check", "--porcelain")
    assert unchanged.stdout == published.stdout and "Nothing changed" in unchanged.stderr


def test_cli_conflict_exits_1_naming_the_file(daemon: h.Daemon, source: Path) -> None:
    remote = daemon.create()
    assert h.command("--source", str(source), "--remote", remote.url, "--no-check").returncode == 0
    remote.commit({"apps/staging/kustomization.yaml": h.bump_tag(h.KUSTOMIZATION, "0.1.1")})
    h.write_tree(source, {"apps/staging/kustomization.yaml": h.bump_tag(h.KUSTOMIZATION, "0.3.0")})

    result = h.command("--source", str(source), "--remote", remote.url, "--no-check")

    assert result.returncode == 1
    assert "apps/staging/kustomization.yaml" in result.stderr and "Traceback" not in result.stderr


def test_cli_errors_are_one_paragraph_without_traceback(tmp_path: Path, source: Path) -> None:
    unset = h.command("--source", str(source), "--remote", "ssh://git@127.0.0.1:1/a/b.git", "--no-check",
                      "--ssh-key-env", "PD_TEST_UNSET_KEY", env={"PD_TEST_UNSET_KEY": ""})
    assert unset.returncode == 2 and "PD_TEST_UNSET_KEY" in unset.stderr and "Traceback" not in unset.stderr

    garbage = "-----BEGIN OPENSSH PRIVATE KEY-----\nc2VjcmV0LWdhcmJhZ2Uta2V5LWJvZHk=\n-----END OPENSSH PRIVATE KEY-----"
    bad_key = h.command("--source", str(source), "--remote", f"ssh://git@127.0.0.1:{h.free_port()}/a/b.git",
                        "--no-check", "--ssh-key-env", "PD_TEST_KEY", env={"PD_TEST_KEY": garbage})
    assert bad_key.returncode == 2 and "c2VjcmV0" not in bad_key.stderr + bad_key.stdout
    assert "Traceback" not in bad_key.stderr

    url = f"git://127.0.0.1:{h.free_port()}/site.git"
    unreachable = h.command("--source", str(source), "--remote", url, "--no-check")
    assert unreachable.returncode == 1 and "Traceback" not in unreachable.stderr
    assert unreachable.stderr.startswith(f"error: Cannot reach {url}.")
    assert unreachable.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("branch", ["HEAD", "-x", "--upload-pack", "refs/heads/main", "foo/.bar", "a.lock/b"])
def test_cli_refuses_branch_names_git_would_not_take(daemon: h.Daemon, source: Path, branch: str) -> None:
    remote = daemon.create()
    before = remote.refs()

    result = h.command("--source", str(source), "--remote", remote.url, "--no-check", f"--branch={branch}")

    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: --branch: '{branch}' is not a valid git branch name")
    assert result.stderr.count("\n") == 1
    assert remote.refs() == before
    assert h.git("for-each-ref", "--format=%(refname)", git_dir=remote.path) == "refs/heads/main"

