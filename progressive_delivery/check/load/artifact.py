"""The files of the tree that Flux's GitRepository artifact holds.

source-controller v1.9 archives the repository without the files its ignore rules exclude
(fluxcd/source-controller@v1.9.1:internal/controller/gitrepository_controller.go; the filter is
fluxcd/pkg@artifact/v0.18.1:artifact/storage/archive.go SourceIgnoreFilter and the patterns are
fluxcd/pkg@sourceignore/v0.18.0:sourceignore/sourceignore.go): `.sourceignore` files (each applying
below its own directory) and the GitRepository's spec.ignore, always after the VCS patterns; when
there are none of those, a default set also excludes images, archives, CI files and a few tool files.
Kustomize builds only ever see the artifact, so a generated kustomization lists artifact files only.
"""

from __future__ import annotations

import contextlib
import os
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


def artifact_files(root: Path, spec_ignore: str | None = None) -> list[str]:
    """Tree-relative paths of the files in the artifact, sorted."""
    scoped: list[tuple[str, list[str]]] = []          # (directory, patterns of its .sourceignore)
    files: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        relative = Path(folder).relative_to(root).as_posix()
        prefix = "" if relative == "." else relative + "/"
        if IGNORE_FILE in names:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                scoped.append((prefix, _lines((Path(folder) / IGNORE_FILE).read_text(encoding="utf-8"))))
        files += [prefix + name for name in sorted(names)]
    if spec_ignore:
        scoped.append(("", _lines(spec_ignore)))
    vcs = GitIgnoreSpec.from_lines(EXCLUDE_VCS.split(","))
    if not any(patterns for _, patterns in scoped):
        default = GitIgnoreSpec.from_lines((EXCLUDE_VCS + "," + EXCLUDE_DEFAULT).split(","))
        return sorted(f for f in files if not default.match_file(f))
    specs = [(prefix, GitIgnoreSpec.from_lines(patterns)) for prefix, patterns in scoped if patterns]
    kept = []
    for path in files:
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
    return sorted(kept)
