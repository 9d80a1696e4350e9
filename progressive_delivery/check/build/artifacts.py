"""ExternalArtifacts an ArtifactGenerator composes from this repository, as source-watcher does.

source-watcher v2.2.1 (Flux v2.9 ships v2.2.3) creates, for each of a generator's spec.artifacts, an
ExternalArtifact of that name in the generator's namespace (internal/controller/
artifactgenerator_controller.go:467-474), whose content is built by its copy operations
(internal/builder/builder.go): `from: "@<alias>/<pattern>"`, `to: "@artifact/<path>"`. A pattern
without glob characters copies a file (to `<path>`, or into it when it ends with `/` or is a
directory) or a directory (into `<path>/<its name>`); a glob pattern is matched one path segment at a
time (Go's fs.Glob, where `**` is just `*`), and each match is copied to `<path>/<match>`, or for a
pattern ending in `/**` to `<path>/<match below the prefix>`. Only aliases of this repository's
GitRepository and the default Overwrite strategy are emulated; exclude patterns use gitignore-style
matching below the pattern's literal prefix.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
from pathlib import Path

from pathspec import GitIgnoreSpec

from ..access import mappings, sequence, text
from ..model import KubeObject
from .kustomize import Artifact

GLOB_CHARS = "*?[]"


class ArtifactError(Exception):
    """The generator cannot be emulated here, or source-watcher would fail it (the message says which)."""


def _glob(root: Path, pattern: str) -> list[str]:
    matches = [""]
    for part in pattern.split("/"):
        found = []
        for base in matches:
            folder = root / base
            if not any(c in part for c in GLOB_CHARS):
                names = [part] if (folder / part).exists() else []
            else:
                names = sorted(n for n in os.listdir(folder) if fnmatch.fnmatchcase(n, part)) if folder.is_dir() else []
            found += [f"{base}/{n}" if base else n for n in names]
        matches = found
    return matches


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def _literal_prefix(pattern: str) -> str:
    parts = []
    for part in pattern.split("/"):
        if any(c in part for c in GLOB_CHARS):
            break
        parts.append(part)
    return "/".join(parts) or "."


def _copy(source: Path, rel: str, staging: Path, dest: str, origins: dict[str, str], excluded: GitIgnoreSpec | None,
          base: str) -> None:
    """Copy tree file or directory `rel` to `dest` in staging (a directory recursively)."""
    path = source / rel
    if path.is_dir():
        for folder, dirs, names in os.walk(path):
            dirs.sort()
            for name in sorted(names):
                full = Path(folder) / name
                inner = full.relative_to(source).as_posix()
                _copy(source, inner, staging, _join(dest, full.relative_to(path).as_posix()), origins, excluded, base)
        return
    if excluded is not None and excluded.match_file(os.path.relpath(rel, base) if base != "." else rel):
        return
    target = staging / dest
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    origins[Path(dest).as_posix()] = rel


def compose(generator: KubeObject, name: str, tree: Artifact, aliases: set[str], staging: Path) -> Artifact:
    """The ExternalArtifact `name` of `generator`, built from the tree artifact (`aliases`: the generator's
    source aliases that name this repository's GitRepository)."""
    output = next((a for a in mappings(generator.spec, "artifacts") if text(a, "name") == name), None)
    if output is None:
        raise ArtifactError(f"{generator.describe()} has no artifact {name}")
    origins: dict[str, str] = {}
    staging.mkdir(parents=True, exist_ok=True)
    for operation in mappings(output, "copy"):
        origin, target = text(operation, "from"), text(operation, "to")
        alias, _, pattern = origin.removeprefix("@").partition("/")
        if not origin.startswith("@") or not pattern or not target.startswith("@artifact/"):
            raise ArtifactError(f"copy from '{origin}' to '{target}' is not '@alias/pattern' to '@artifact/path'")
        if alias not in aliases:
            raise ArtifactError(f"its source '@{alias}' is not this repository")
        if text(operation, "strategy", default="Overwrite") != "Overwrite":
            raise ArtifactError(f"the {text(operation, 'strategy')} copy strategy is not emulated")
        dest = target.removeprefix("@artifact/")
        excludes = [str(p) for p in sequence(operation, "exclude")]
        excluded = GitIgnoreSpec.from_lines(excludes) if excludes else None
        if not any(c in pattern for c in GLOB_CHARS):
            path = tree.directory / pattern
            if not path.exists():
                raise ArtifactError(f"source '{pattern}' does not exist, so source-watcher fails the generator")
            into = path.is_dir() or target.endswith("/") or (staging / dest).is_dir()
            _copy(tree.directory, pattern.strip("/"), staging, _join(dest, path.name) if into else dest,
                  origins, excluded, ".")
            continue
        matches = _glob(tree.directory, pattern)
        if not matches:
            raise ArtifactError(f"no files match pattern '{pattern}', so source-watcher fails the generator")
        prefix = pattern[:-3] if pattern.endswith("/**") else None
        for match in matches:
            below = match[len(prefix) + 1:] if prefix and match.startswith(prefix + "/") else match
            _copy(tree.directory, match, staging, _join(dest, below), origins, excluded, _literal_prefix(pattern))
    digest = hashlib.sha256()
    for rel in sorted(origins):
        digest.update(f"{rel}\0".encode() + (staging / rel).read_bytes())
    return Artifact(staging, digest.hexdigest(), origins)
