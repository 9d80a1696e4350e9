"""The files of the tree Flux syncs: read once, parsed when needed, image-policy markers found.

A file that is not valid YAML is not an input error here: Flux only fails the builds that read it,
so the build stage reports it there (with kustomize's message).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..access import YAML_LOADER, mappings, sequence
from ..model import InputError
from .artifact import artifact_files

_MARKER = re.compile(r'\{\s*"\$imagepolicy"\s*:\s*"(?P<ref>[^"]*)"\s*\}')
_YAML_SUFFIXES = (".yaml", ".yml")
# konfig.RecognizedKustomizationFileNames(), in the order kustomize looks for them.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class Marker:
    """A `{"$imagepolicy": "ns:name[:field]"}` setter comment in a source file."""

    path: str
    line: int
    ref: str           # the raw "ns:name[:field]" text ("" when the comment is malformed)

    @property
    def parts(self) -> list[str]:
        return self.ref.split(":")


@dataclass
class SourceTree:
    """The artifact files of the tree; YAML files read as text and parsed on first use."""

    root: Path
    files: list[str]
    skipped: list[str] = field(default_factory=list)     # not regular files: left out of the artifact
    texts: dict[str, str] = field(default_factory=dict)
    markers: list[Marker] = field(default_factory=list)
    _parsed: dict[str, list[Any]] = field(default_factory=dict)

    def documents(self, rel: str) -> list[Any]:
        """The YAML documents of a file ([] when it is not YAML or does not parse)."""
        if rel not in self._parsed:
            try:
                self._parsed[rel] = list(yaml.load_all(self.texts.get(rel, ""), Loader=YAML_LOADER))
            except yaml.YAMLError:
                self._parsed[rel] = []
        return self._parsed[rel]

    def line(self, rel: str, number: int) -> str:
        lines = self.texts.get(rel, "").splitlines()
        return lines[number - 1] if 0 < number <= len(lines) else ""

    def kustomization(self, directory: str) -> tuple[str, dict[str, Any]] | None:
        """(file, content) of the kustomization file of a tree directory, or None."""
        for name in KUSTOMIZATION_FILES:
            rel = name if directory in ("", ".") else f"{directory}/{name}"
            if rel in self.texts:
                content = next((d for d in self.documents(rel) if isinstance(d, dict)), {})
                return rel, content
        return None

    def reachable_files(self, directory: str) -> set[str]:
        """Files a build of `directory` reads: kustomization files and what they name, or, where Flux
        generates the kustomization, every YAML file below."""
        return self._walk(directory)[0]

    def build_inputs(self, directory: str) -> list[str]:
        """Every artifact file a build of `directory` may read: what it names, and all files of the
        directories it visits (generators and patches read those)."""
        files, folders = self._walk(directory)
        inside = {f for f in self.files if f.rsplit("/", 1)[0] in folders or ("/" not in f and "." in folders)}
        return sorted(files | inside)

    def _walk(self, directory: str) -> tuple[set[str], set[str]]:
        files: set[str] = set()
        seen: set[str] = set()

        def visit(rel_dir: str) -> None:
            rel_dir = normalise(rel_dir)
            if rel_dir in seen or rel_dir.startswith(".."):
                return
            seen.add(rel_dir)
            found = self.kustomization(rel_dir)
            if found is None:
                prefix = "" if rel_dir == "." else rel_dir + "/"
                below = [f for f in self.texts if f.startswith(prefix) and f.endswith(_YAML_SUFFIXES)]
                files.update(below)
                for nested in {f.rsplit("/", 1)[0] for f in below if f.rsplit("/", 1)[-1] in KUSTOMIZATION_FILES}:
                    visit(nested)
                return
            kfile, content = found
            files.add(kfile)
            entries = [e for key in ("resources", "components", "patchesStrategicMerge", "crds")
                       for e in sequence(content, key) if isinstance(e, str)]
            entries += [p["path"] for p in mappings(content, "patches") if isinstance(p.get("path"), str)]
            for entry in entries:
                target = normalise(entry if rel_dir == "." else f"{rel_dir}/{entry}")
                if target in self.texts:
                    files.add(target)
                else:
                    visit(target)

        visit(directory)
        return files, seen


def normalise(path: str) -> str:
    """A tree-relative path without `./`, `..` segments or trailing slashes ("." for the root)."""
    parts: list[str] = []
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == ".." and parts and parts[-1] != "..":
            parts.pop()
        else:
            parts.append(part)
    return "/".join(parts) or "."


def is_under(path: str, directory: str) -> bool:
    """Whether a tree-relative file path lies in a tree-relative directory."""
    directory = normalise(directory)
    return directory == "." or path == directory or path.startswith(directory.rstrip("/") + "/")


def load_tree(root: Path, spec_ignore: str | None = None) -> SourceTree:
    """The artifact files of `root`, with the YAML files read; InputError when the tree cannot be read."""
    if not root.is_dir():
        raise InputError(f"{root}: no such platform directory; pass --platform DIR (the Flux tree)")
    try:
        listing = artifact_files(root, spec_ignore)
    except OSError as error:
        raise InputError(f"{root}: cannot be read ({error.strerror})") from None
    tree = SourceTree(root=root, files=listing.files, skipped=listing.skipped)
    for rel in tree.files:
        if not rel.endswith(_YAML_SUFFIXES) and rel.rsplit("/", 1)[-1] not in KUSTOMIZATION_FILES:
            continue
        try:
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError as error:
            raise InputError(f"{rel}: cannot be read ({error.strerror})") from None
        tree.texts[rel] = text
        if "$imagepolicy" in text:
            for number, line in enumerate(text.splitlines(), start=1):
                if "$imagepolicy" in line:
                    match = _MARKER.search(line)
                    tree.markers.append(Marker(rel, number, match.group("ref") if match else ""))
    return tree
