"""The files of the tree that Flux's GitRepository artifact holds.

source-controller v1.9 archives the repository without the files its ignore rules exclude
(fluxcd/source-controller@v1.9.1:internal/controller/gitrepository_controller.go; the filter is
fluxcd/pkg@artifact/v0.18.1:artifact/storage/archive.go SourceIgnoreFilter and the patterns are
fluxcd/pkg@sourceignore/v0.18.0:sourceignore/sourceignore.go): `.sourceignore` files (each applying
below its own directory) and the GitRepository's spec.ignore, always after the VCS patterns; when
there are none of those, a default set also excludes images, archives, CI files and a few tool files.
Only regular files go in: the archive skips symbolic links and everything else that is neither a file
nor a directory (fluxcd/pkg@artifact/v0.18.1:artifact/storage/archive.go:111-113, the version
source-controller v1.9.1 requires; filepath.Walk does not follow links, so a linked directory is
skipped whole). Kustomize builds only ever see the artifact, so a generated kustomization lists
artifact files only.
"""

from __future__ import annotations

import contextlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from pathspec import GitIgnoreSpec

EXCLUDE_VCS = ".git/,.gitignore,.gitmodules,.gitattributes"
EXCLUDE_DEFAULT = ("*.jpg,*.jpeg,*.gif,*.png,*.wmv,*.flv,*.tar.gz,*.zip,"
                   ".github/,.circleci/,.travis.yml,.gitlab-ci.yml,appveyor.yml,.drone.yml,cloudbuild.yaml,"
                   "codeship-services.yml,codeship-steps.yml,"
                   "**/.goreleaser.yml,**/.sops.yaml,**/.flux.yaml")
IGNORE_FILE = ".sourceignore"


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


@dataclass
class Listing:
    """The files of the artifact, and the entries Flux leaves out for not being regular files."""

    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)      # symbolic links, pipes, sockets ...


def artifact_files(root: Path, spec_ignore: str | None = None) -> Listing:
    """Tree-relative paths of the files in the artifact (sorted), and of what it skips as not regular."""
    scoped: list[tuple[str, list[str]]] = []          # (directory, patterns of its .sourceignore)
    entries: list[str] = []
    irregular: set[str] = set()
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        links = [d for d in dirs if d != ".git" and os.path.islink(os.path.join(folder, d))]
        dirs[:] = [d for d in dirs if d != ".git" and d not in links]
        relative = Path(folder).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        regular = [name for name in names if _regular(Path(folder) / name)]
        if IGNORE_FILE in names and _readable(root, Path(folder) / IGNORE_FILE):
            with contextlib.suppress(OSError, UnicodeDecodeError):
                scoped.append((prefix, _lines((Path(folder) / IGNORE_FILE).read_text(encoding="utf-8"))))
        entries += [prefix + name for name in sorted(names)] + [prefix + link for link in links]
        irregular.update(prefix + name for name in [*names, *links] if name not in regular)
    if spec_ignore:
        scoped.append(("", _lines(spec_ignore)))
    kept = sorted(_kept(entries, scoped))
    return Listing([p for p in kept if p not in irregular], [p for p in kept if p in irregular])


def _regular(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode)
    except OSError:
        return False


def _readable(root: Path, path: Path) -> bool:
    """An ignore file source-controller reads (it follows a link), kept to files inside the tree: the check
    also runs on branch content nobody here wrote."""
    target = path.resolve()
    return target.is_file() and target.is_relative_to(root.resolve())


def _kept(paths: list[str], scoped: list[tuple[str, list[str]]]) -> list[str]:
    """The paths the ignore rules keep: VCS patterns and the scoped ones, or VCS and default patterns."""
    vcs = GitIgnoreSpec.from_lines(EXCLUDE_VCS.split(","))
    if not any(patterns for _, patterns in scoped):
        default = GitIgnoreSpec.from_lines((EXCLUDE_VCS + "," + EXCLUDE_DEFAULT).split(","))
        return [f for f in paths if not default.match_file(f)]
    specs = [(prefix, GitIgnoreSpec.from_lines(patterns)) for prefix, patterns in scoped if patterns]
    kept = []
    for path in paths:
        if vcs.match_file(path):
            continue
        excluded = False
        for prefix, spec in specs:
            if path.startswith(prefix):
                result = spec.check_file(path[len(prefix):])
                if result.include is not None:
                    excluded = bool(result.include)
        if not excluded:
            kept.append(path)
    return kept
