"""The publish command resource: its trigger follows the content of the tree, and only that."""

from __future__ import annotations

import shutil
from pathlib import Path

from program_harness import run_under_mocks, unwrap

from progressive_delivery.published_tree import PublishedTree, PublishedTreeArgs


def publish_trigger(source: Path) -> list:
    def body():
        PublishedTree("platform", PublishedTreeArgs(
            source=source, remote="ssh://git@github.com/acme/repo.git", branch="main",
            repository_name="repo", private_key="key", repository_id="R_repo"))

    evaluation = run_under_mocks("staging", body)
    command = evaluation.one("command:local:Command", "platform")
    return unwrap(command.inputs["triggers"])


def make_tree(root: Path) -> Path:
    (root / "clusters" / "staging").mkdir(parents=True)
    (root / "clusters" / "staging" / "apps.yaml").write_text("kind: Kustomization\n")
    (root / "apps").mkdir()
    (root / "apps" / "kustomization.yaml").write_text("resources: []\n")
    return root


def test_trigger_is_stable_and_independent_of_location(tmp_path: Path):
    first = make_tree(tmp_path / "a" / "platform")
    second = tmp_path / "elsewhere" / "platform"
    shutil.copytree(first, second)
    assert publish_trigger(first) == publish_trigger(first) == publish_trigger(second)


def test_trigger_changes_when_a_file_changes_or_appears(tmp_path: Path):
    tree = make_tree(tmp_path / "platform")
    before = publish_trigger(tree)
    (tree / "apps" / "kustomization.yaml").write_text("resources: [app.yaml]\n")
    edited = publish_trigger(tree)
    assert edited != before
    (tree / "apps" / "app.yaml").write_text("kind: Namespace\n")
    assert publish_trigger(tree) != edited
