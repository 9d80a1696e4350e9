"""The files of the source tree as publishing records them, and their digest.

Small on purpose: the Pulumi program imports `tree_digest` from here as the
trigger of the publish command, without the rest of publishing.

A symbolic link is published as a copy of the regular file it points to when
that file lies inside the tree; any other link (to a directory, outside the
tree, dangling, a loop) is refused, so no path of this machine ever reaches
the repository.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

IGNORED_DIRECTORIES = frozenset({".git", "__pycache__"})
IGNORED_SUFFIXES = (".pyc",)
REGULAR = "100644"
EXECUTABLE = "100755"


class SourceTreeError(ValueError):
    """The source tree cannot be read or published as it is; the message says what to change."""


@dataclass(frozen=True)
class SourceFile:
    """One file of the source tree as git will record it, its content read once: the digest and the
    published tree are made of the same bytes even if the file changes meanwhile."""

    path: str  # relative, POSIX separators
    mode: str  # git file mode: 100644 or 100755
    data: bytes


def _read(path: str, location: Path, mode: str) -> SourceFile:
    """`location` (a file, or a link's target) recorded as `path`."""
    try:
        return SourceFile(path, mode, location.read_bytes())
    except OSError as error:
        raise SourceTreeError(f"Cannot read {location}: {error.strerror}; make it readable.") from None


def is_ignored(relative: str) -> bool:
    """True for paths publishing leaves out: under .git or __pycache__, or *.pyc."""
    parts = relative.split("/")
    return bool(IGNORED_DIRECTORIES & set(parts)) or relative.endswith(IGNORED_SUFFIXES)


def _mode(status: os.stat_result) -> str:
    return EXECUTABLE if status.st_mode & stat.S_IXUSR else REGULAR


def _linked_file(root: Path, link: Path, relative: str) -> SourceFile:
    """The file a symbolic link stands for, when it is a regular file inside the tree."""
    target = os.readlink(link)
    try:
        resolved = link.resolve(strict=True)
    except (OSError, RuntimeError):
        raise SourceTreeError(f"{relative} in {root} is a symbolic link to {target}, which does not exist "
                              "(or loops); remove the link or make it point to a file inside the tree.") from None
    if not resolved.is_relative_to(root) or is_ignored(resolved.relative_to(root).as_posix()):
        raise SourceTreeError(f"{relative} in {root} is a symbolic link to {target}, outside the published tree; "
                              "copy the file into the tree instead of linking to it.")
    if not resolved.is_file():
        raise SourceTreeError(f"{relative} in {root} is a symbolic link to {target}, which is not a regular "
                              "file; only links to files inside the tree can be published.")
    return _read(relative, resolved, _mode(resolved.stat()))


def _check_name(relative: str, root: Path) -> None:
    if any(character in relative for character in "\n\r") or relative.startswith('"'):
        raise SourceTreeError(f"The file name {relative!r} in {root} cannot be published; rename it.")


def source_files(source: Path) -> list[SourceFile]:
    """Every file under `source` with its content, sorted by relative path; skips .git, __pycache__ and *.pyc.

    Raises SourceTreeError when a directory, file or link cannot be read or published.
    """
    root = Path(source).resolve()
    found: list[SourceFile] = []

    def walk(directory: Path, prefix: str) -> None:
        try:
            with os.scandir(directory) as entries:
                listed = list(entries)
        except OSError as error:
            raise SourceTreeError(f"Cannot read the directory {directory}: {error.strerror}; "
                                  "make the source tree readable.") from None
        for entry in listed:
            relative = f"{prefix}{entry.name}"
            if entry.name in IGNORED_DIRECTORIES or entry.name.endswith(IGNORED_SUFFIXES):
                continue
            _check_name(relative, root)
            if entry.is_symlink():
                found.append(_linked_file(root, Path(entry.path), relative))
            elif entry.is_dir():
                walk(Path(entry.path), f"{relative}/")
            elif entry.is_file():
                found.append(_read(relative, Path(entry.path), _mode(entry.stat())))
            else:
                raise SourceTreeError(f"{relative} in {root} is neither a file, a directory nor a link (a pipe, "
                                      "socket or device); git cannot publish it: remove it from the tree.")

    walk(root, "")
    return sorted(found, key=lambda f: f.path)


def files_digest(files: Sequence[SourceFile]) -> str:
    """sha256 over the relative paths, git modes and contents of `files`."""
    digest = hashlib.sha256()
    for item in files:
        content_hash = hashlib.sha256(item.data).hexdigest()
        digest.update(f"{item.mode} {item.path}\0{content_hash}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def tree_digest(source: Path) -> str:
    """The digest of the tree under `source`.

    Independent of where the tree lives, so every machine computes the same
    digest for the same tree.
    """
    return files_digest(source_files(Path(source)))
