"""The source files of the platform tree: parsed once, markers found, kustomizations read."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .access import YAML_LOADER, mapping, mappings, sequence
from .model import InputError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_MARKER = re.compile(r'\{\s*"\$imagepolicy"\s*:\s*"(?P<ref>[^"]*)"\s*\}')


@dataclass(frozen=True)
class Marker:
    """A `{"$imagepolicy": "ns:name[:field]"}` setter comment in a source file."""

    path: str          # relative to the platform dir
    line: int
    ref: str           # the raw "ns:name[:field]" text ("" when the comment is malformed)

    @property
    def parts(self) -> list[str]:
        return self.ref.split(":")


@dataclass
class SourceDocument:
    path: str
    body: dict[str, Any]


@dataclass
class SourceTree:
    """Every YAML file under the platform dir, parsed."""

    root: Path
    documents: list[SourceDocument] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    files: dict[str, list[Any]] = field(default_factory=dict)

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root.resolve()).as_posix()

    def kustomization(self, directory: str) -> tuple[str, dict[str, Any]] | None:
        """(file, content) of the kustomization file of a directory, or None."""
        for name in KUSTOMIZATION_FILES:
            rel = f"{directory}/{name}" if directory not in ("", ".") else name
            if rel in self.files:
                docs = [d for d in self.files[rel] if isinstance(d, dict)]
                return rel, (docs[0] if docs else {})
        return None

    def find_source(self, kind: str, namespace: str, name: str, under: list[str]) -> str | None:
        """A file under one of `under` that defines kind/name (namespace if it sets one)."""
        for document in self.documents:
            if under and not any(is_under(document.path, d) for d in under):
                continue
            body = document.body
            meta = mapping(body, "metadata")
            if body.get("kind") == kind and meta.get("name") == name and meta.get("namespace", namespace) in (
                    namespace, "", None):
                return document.path
        return None

    def reachable_files(self, directory: str) -> set[str]:
        """Files a kustomize build of `directory` reads (kustomization files, resources, patches)."""
        return self._walk(directory)[0]

    def build_inputs(self, directory: str) -> list[str]:
        """Every file a kustomize build of `directory` may read: all files of the directories it visits,
        and the files it names elsewhere."""
        files, dirs = self._walk(directory)
        inputs = set(files)
        for rel_dir in dirs:
            folder = self.root / rel_dir if rel_dir != "." else self.root
            if folder.is_dir():
                inputs |= {self.relative(p) for p in folder.iterdir() if p.is_file()}
        return sorted(inputs)

    def _walk(self, directory: str) -> tuple[set[str], set[str]]:
        seen_dirs: set[str] = set()
        files: set[str] = set()

        def visit(rel_dir: str) -> None:
            rel_dir = normalise(rel_dir)
            if rel_dir in seen_dirs or rel_dir.startswith(".."):
                return
            seen_dirs.add(rel_dir)
            found = self.kustomization(rel_dir)
            if not found:
                return
            kfile, content = found
            files.add(kfile)
            entries: list[str] = []
            for key in ("resources", "components", "patchesStrategicMerge", "crds"):
                entries += [e for e in sequence(content, key) if isinstance(e, str)]
            for patch in mappings(content, "patches"):
                if isinstance(patch.get("path"), str):
                    entries.append(patch["path"])
            for entry in entries:
                target = normalise(f"{rel_dir}/{entry}" if rel_dir not in ("", ".") else entry)
                if target in self.files:
                    files.add(target)
                elif (self.root / target).is_dir():
                    visit(target)

        visit(directory)
        return files, seen_dirs


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


def load_tree(root: Path) -> SourceTree:
    """Parse every YAML file under `root`; malformed YAML is an InputError naming file and line."""
    if not root.is_dir():
        raise InputError(f"{root}: no such platform directory; pass --platform DIR (the Flux tree, "
                         "holding clusters/, infrastructure/ and apps/)")
    tree = SourceTree(root=root)
    paths = sorted(p for p in root.rglob("*") if p.is_file() and (
        p.suffix in (".yaml", ".yml") or p.name == "Kustomization"))
    for path in paths:
        rel = tree.relative(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"{rel}: cannot be read: {error}") from None
        try:
            docs = list(yaml.load_all(text, Loader=YAML_LOADER))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            problem = getattr(error, "problem", None) or str(error).splitlines()[0]
            raise InputError(f"{rel}:{where}: not valid YAML ({problem}); fix the file") from None
        tree.files[rel] = docs
        for doc in docs:
            if isinstance(doc, dict) and "kind" in doc:
                tree.documents.append(SourceDocument(rel, doc))
        for number, line in enumerate(text.splitlines(), start=1):
            if "$imagepolicy" not in line:
                continue
            match = _MARKER.search(line)
            tree.markers.append(Marker(rel, number, match.group("ref") if match else ""))
    return tree
