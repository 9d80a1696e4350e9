"""Branch names: `branch_name_problem` agrees with `git check-ref-format --branch` itself over a corpus,
and refuses, beyond git, the names that would be ambiguous as a branch."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from progressive_delivery.gitutil import hermetic_env
from progressive_delivery.refname import branch_name_problem

# Names git accepts with --branch but that would mislead as a branch name.
AMBIGUOUS = ["@", "refs/heads/main", "refs/x", "refs/tags/v1"]

CORPUS = [
    # from the field: accepted once, refused by git
    "-x", "--upload-pack", "HEAD", "foo/.bar", "a.lock/b",
    # ordinary names
    "main", "release", "feature/canary-v2", "env/staging/2024.10", "a", "_", "v1.2.3", "UPPER/lower",
    "héllo", "日本/ブランチ", "a@b", "a{b}", "@x", "x@", "a-", "a/-b", "a#b", "a!b", "a+b", "a=b", "a,b", "a'b",
    "heads", "HEAD/x", "xHEAD", "head", "refsy/a", "ref/heads/a", "a.lock.b", "lock", "lockx",
    # what git refuses
    "", "-", "a b", "a\tb", "a\nb", "a~1", "a^", "a:b", "a?", "a*", "a[b", "a\\b", "a\x7fb", "a\x01b",
    "a..b", "..", ".", "a/.", "a.", "a/b.", ".a", "a/.b", "a.lock", "a/b.lock", "a//b", "/a", "a/", "/",
    "@{-1}", "a@{b", "@{u}", "a/@{", "refs/heads/", "refs/", "a.lock/", ".lock",
]

ALPHABET = ["a", "b", ".", "/", "@", "{", "}", "-", ".lock", "~", " ", "*", "\x7f", "é", ":", "HEAD", "refs/"]


def random_names(count: int) -> list[str]:
    chooser = random.Random(20240601)  # fixed seed: the same corpus on every run
    return ["".join(chooser.choice(ALPHABET) for _ in range(chooser.randint(1, 6))) for _ in range(count)]


def git_accepts(names: list[str], cwd: Path) -> dict[str, bool]:
    """What `git check-ref-format --branch` says of each name, run outside any repository."""
    env = {**hermetic_env(), "GIT_CEILING_DIRECTORIES": str(cwd.parent)}
    verdicts = {}
    for name in names:
        result = subprocess.run(["git", "check-ref-format", "--branch", name], cwd=cwd, env=env,
                                capture_output=True, timeout=10)
        verdicts[name] = result.returncode == 0
    return verdicts


def test_agrees_with_git_check_ref_format(tmp_path: Path) -> None:
    names = sorted(set(CORPUS + AMBIGUOUS + random_names(150)))
    accepted_by_git = git_accepts(names, tmp_path)
    disagreements = []
    for name in names:
        ours = branch_name_problem(name) is None
        expected = accepted_by_git[name] and name != "@" and not name.startswith("refs/")
        if ours != expected:
            disagreements.append((name, accepted_by_git[name], branch_name_problem(name)))
    assert disagreements == []
    # the corpus exercises both sides, and git itself accepts the names refused as ambiguous
    assert 20 < sum(accepted_by_git.values()) < len(names) - 20
    assert all(accepted_by_git[name] for name in AMBIGUOUS)


@pytest.mark.parametrize("name, says", [
    ("-x", "starts with '-'"),
    ("--upload-pack", "starts with '-'"),
    ("HEAD", "is HEAD"),
    ("refs/heads/main", "give the short branch name"),
    ("foo/.bar", "part starting with '.' ('.bar')"),
    ("a.lock/b", "part ending with '.lock' ('a.lock')"),
    ("a b", "contains a space"),
    ("a\nb", "control character"),
    ("", "is empty"),
])
def test_problems_are_one_sentence_naming_the_cause(name: str, says: str) -> None:
    problem = branch_name_problem(name)
    assert problem is not None and says in problem
    assert problem.startswith(f"'{name}' is not a valid git branch name: it ") and problem.endswith(".")
