"""The source tree as publishing reads it: its digest, symbolic links, unreadable parts."""

from __future__ import annotations

import os
from pathlib import Path

import publish_harness as h
import pytest

from progressive_delivery.publish_failures import PublishInputError
from progressive_delivery.publish_flow import publish
from progressive_delivery.publish_source import SourceTreeError, source_files, tree_digest


def test_tree_digest_tracks_names_and_contents_only(tmp_path: Path) -> None:
    first = h.write_tree(tmp_path / "a" / "platform", h.PLATFORM)
    second = h.write_tree(tmp_path / "elsewhere" / "copy", h.PLATFORM)
    digest = tree_digest(first)
    assert len(digest) == 64 and digest == tree_digest(second)

    (first / "__pycache__").mkdir()
    (first / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"\0")
    (first / "module.pyc").write_bytes(b"\0")
    (first / ".git").mkdir()
    (first / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert tree_digest(first) == digest

    (first / "apps/base/deployment.yaml").write_text("kind: Deployment\nmetadata:\n  name: other\n")
    changed_content = tree_digest(first)
    assert changed_content != digest

    (first / "apps/base/deployment.yaml").write_text(h.PLATFORM["apps/base/deployment.yaml"])
    assert tree_digest(first) == digest
    (first / "apps/base/deployment.yaml").rename(first / "apps/base/deploy.yaml")
    assert tree_digest(first) not in (digest, changed_content)


def test_link_to_a_file_inside_the_tree_is_published_as_that_file(tmp_path: Path) -> None:
    source = h.write_tree(tmp_path / "platform", h.PLATFORM)
    (source / "apps/staging/deployment.yaml").symlink_to("../base/deployment.yaml")
    (source / "apps/absolute.yaml").symlink_to(source / "apps/base/deployment.yaml")
    remote = h.bare_repository(tmp_path / "local.git", readme=False)

    assert h.run_publish(source, remote).status == "published"

    listing = h.git("ls-tree", "-r", "refs/heads/main", git_dir=remote.path)
    assert "120000" not in listing  # no link, so no local path, reaches the repository
    files = remote.files()
    deployment = h.PLATFORM["apps/base/deployment.yaml"]
    assert files["apps/staging/deployment.yaml"] == deployment and files["apps/absolute.yaml"] == deployment
    # the digest follows the content the link stands for
    digest = tree_digest(source)
    (source / "apps/base/deployment.yaml").write_text("kind: Deployment\n")
    assert tree_digest(source) != digest


@pytest.mark.parametrize("target, reason", [
    ("/etc/hostname", "outside the published tree"),
    ("../../../outside.yaml", "outside the published tree"),
    ("missing.yaml", "does not exist"),
    ("../base", "not a regular file"),
    ("loop.yaml", "or loops"),
])
def test_other_links_are_refused_naming_the_link(tmp_path: Path, target: str, reason: str) -> None:
    source = h.write_tree(tmp_path / "platform", h.PLATFORM)
    (tmp_path / "outside.yaml").write_text("secret: value\n")
    if target == "loop.yaml":
        (source / "apps/staging/loop.yaml").symlink_to("link.yaml")
    (source / "apps/staging/link.yaml").symlink_to(target)

    with pytest.raises(SourceTreeError, match=reason) as raised:
        source_files(source)
    assert "apps/staging/link.yaml" in str(raised.value) or "apps/staging/loop.yaml" in str(raised.value)

    result = h.command("--source", str(source), "--remote", "file:///nowhere.git", "--no-check")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_unreadable_directory_is_one_line_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = h.write_tree(tmp_path / "platform", h.PLATFORM)
    real_scandir = os.scandir

    def scandir(path):  # what a directory without read permission gives (root is not stopped by modes)
        if Path(path).name == "apps":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    with pytest.raises(PublishInputError) as raised:
        publish(source, "file:///nowhere.git", check=False)
    assert str(raised.value) == (f"Cannot read the directory {source.resolve() / 'apps'}: Permission denied; "
                                 "make the source tree readable.")
    assert raised.value.exit_code == 2


def test_names_publishing_cannot_write_are_refused(tmp_path: Path) -> None:
    source = h.write_tree(tmp_path / "platform", h.PLATFORM)
    (source / "bad\nname.yaml").write_text("a: 1\n")
    with pytest.raises(SourceTreeError, match="cannot be published; rename it"):
        source_files(source)


def test_a_pipe_in_the_tree_is_refused_not_skipped(tmp_path: Path) -> None:
    source = h.write_tree(tmp_path / "platform", h.PLATFORM)
    os.mkfifo(source / "apps" / "queue")
    with pytest.raises(SourceTreeError, match=r"apps/queue in .* is neither a file, a directory nor a link"):
        source_files(source)
