"""The kustomization.yaml kustomize-controller builds a Flux Kustomization's path with.

Emulates fluxcd/pkg/kustomize v1.35.4 (kustomize_generator.go, used by kustomize-controller
v1.9.4): when the path has no kustomization file, one is generated listing every .yaml/.yml file
below it and every subdirectory that has its own kustomization file (not descending into those);
an empty directory gets a placeholder namespace. Then the Flux Kustomization's spec is written into
it: targetNamespace replaces `namespace`, namePrefix/nameSuffix are set, patches and components are
appended (a missing component is dropped with ignoreMissingComponents), images are merged into
entries of the same name (newName kept unless given; newTag and digest replaced as a pair), and
spec.buildMetadata replaces buildMetadata.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ..access import YAML_LOADER, mappings, sequence, text
from ..load.tree import KUSTOMIZATION_FILES

PLACEHOLDER_NAMESPACE = "_placeholder"
_REMOTE_PREFIXES = ("git::", "gh:", "ssh://", "https://", "http://", "git@", "github.com:", "github.com/")


class GenerateError(Exception):
    """The Flux Kustomization cannot be turned into a kustomization (Flux fails it the same way)."""


@dataclass
class Generated:
    """The kustomization to build with, where it goes, and whether Flux generated it."""

    content: dict[str, Any]
    file: Path
    created: bool


def kustomization_file(directory: Path) -> Path | None:
    for name in KUSTOMIZATION_FILES:
        if (directory / name).is_file():
            return directory / name
    return None


def scan_manifests(directory: Path) -> list[str]:
    """What a generated kustomization lists: ./file.yaml entries and ./dir entries, in walk order."""
    found: list[str] = []

    def walk(folder: Path) -> None:
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            if entry.is_dir() and not entry.is_symlink():
                if kustomization_file(entry) is not None:
                    found.append("./" + entry.relative_to(directory).as_posix())
                else:
                    walk(entry)
            elif entry.suffix in (".yaml", ".yml") and entry.is_file():
                found.append("./" + entry.relative_to(directory).as_posix())

    walk(directory)
    return found


def is_local_relative(path: str) -> bool:
    lowered = path.lower()
    if any(len(prefix) < len(path) and lowered.startswith(prefix) for prefix in _REMOTE_PREFIXES):
        return False
    return not (os.path.isabs(path) or os.path.isabs(lowered.removeprefix("file://")))


def generate(directory: Path, spec: dict[str, Any]) -> Generated:
    """The kustomization Flux writes into `directory` for a Kustomization `spec`."""
    existing = kustomization_file(directory)
    if existing is not None:
        try:
            content = yaml.load(existing.read_text(encoding="utf-8"), Loader=YAML_LOADER) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise GenerateError(f"{existing.name} is not valid YAML ({getattr(error, 'problem', error)})") from None
        if not isinstance(content, dict):
            raise GenerateError(f"{existing.name} is not a mapping")
        if not sequence(content, "resources"):
            content["buildMetadata"] = ["originAnnotations"]
        generated = Generated(content, existing, created=False)
    else:
        resources = scan_manifests(directory)
        content = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
        if resources:
            content["resources"] = resources
        else:
            content["namespace"] = PLACEHOLDER_NAMESPACE
        generated = Generated(content, directory / KUSTOMIZATION_FILES[0], created=True)
    _apply_spec(generated.content, directory, spec)
    return generated


def _apply_spec(content: dict[str, Any], directory: Path, spec: dict[str, Any]) -> None:
    for field, key in (("targetNamespace", "namespace"), ("namePrefix", "namePrefix"), ("nameSuffix", "nameSuffix")):
        if field in spec:
            content[key] = text(spec, field)
    for patch in mappings(spec, "patches"):
        entry: dict[str, Any] = {"patch": patch.get("patch", "")}
        if isinstance(patch.get("target"), dict):
            entry["target"] = patch["target"]
        content["patches"] = [*sequence(content, "patches"), entry]
    for component in (c for c in sequence(spec, "components") if isinstance(c, str)):
        if not is_local_relative(component):
            raise GenerateError(f"component path '{component}' must be local and relative")
        if spec.get("ignoreMissingComponents") is True and not (directory / component).exists():
            continue
        content["components"] = [*sequence(content, "components"), component]
    images = [dict(i) for i in mappings(content, "images")]
    for image in mappings(spec, "images"):
        same = next((i for i in images if i.get("name") == image.get("name")), None)
        if same is None:
            images.append({k: image[k] for k in ("name", "newName", "newTag", "digest") if image.get(k)})
            continue
        if image.get("newName"):
            same["newName"] = image["newName"]
        if image.get("newTag") or image.get("digest"):
            for key in ("newTag", "digest"):
                if image.get(key):
                    same[key] = image[key]
                else:
                    same.pop(key, None)
    if images:
        content["images"] = images
    if sequence(spec, "buildMetadata"):
        content["buildMetadata"] = list(sequence(spec, "buildMetadata"))


def secure_join(root: Path, path: str) -> Path:
    """root/path with `..` never leaving root (filepath-securejoin, as kustomize-controller joins spec.path)."""
    parts: list[str] = []
    for part in PurePosixPath("/" + path.replace("\\", "/")).parts[1:]:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return root.joinpath(*parts)

