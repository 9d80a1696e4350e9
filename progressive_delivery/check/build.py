"""kustomize builds (`kubectl kustomize`) of the directories Flux builds.

Each build runs on a temporary overlay outside the tree that adds what the
Flux Kustomization adds (target namespace, patches, images, name prefix and
suffix, common metadata, components) and kustomize's origin annotations,
which name the file each object comes from. Identical builds are done once.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .. import klog
from .access import YAML_LOADER, mapping
from .model import InputError
from .tree import KUSTOMIZATION_FILES, SourceTree

ORIGIN = "config.kubernetes.io/origin"
BUILD_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class BuildRequest:
    """What to build: a tree-relative directory and the Flux Kustomization's build options."""

    path: str
    options: str = "{}"        # JSON of the overlay fields (hashable, for the cache)
    requested_by: str = ""     # for messages: "Kustomization flux-system/apps in clusters/staging/apps.yaml"


@dataclass
class BuiltDocument:
    """One object of a build output: its YAML text and the file it came from."""

    text: str
    origin: str | None      # tree-relative source file, when kustomize recorded one


def flux_options(spec: dict[str, Any]) -> str:
    """The overlay fields a Flux Kustomization spec adds to the build, as canonical JSON."""
    options: dict[str, Any] = {}
    if spec.get("targetNamespace"):
        options["namespace"] = spec["targetNamespace"]
    for key in ("namePrefix", "nameSuffix", "images", "components"):
        if spec.get(key):
            options[key] = spec[key]
    if spec.get("patches"):
        options["patches"] = spec["patches"]
    common = mapping(spec, "commonMetadata")
    if common.get("labels"):
        options["labels"] = [{"pairs": common["labels"], "includeSelectors": False}]
    if common.get("annotations"):
        options["commonAnnotations"] = common["annotations"]
    return json.dumps(options, sort_keys=True)


# Builds by digest of everything they read, shared by the Builders of one process (bounded).
_RESULTS: OrderedDict[str, list[BuiltDocument]] = OrderedDict()
_RESULTS_LIMIT = 128
_RESULTS_LOCK = threading.Lock()


class Builder:
    """Runs and caches kustomize builds of one platform directory.

    A build is reused, within the process, when the files it reads (every file of every directory
    it visits) and the Flux options are byte for byte the same.
    """

    def __init__(self, root: Path, tree: SourceTree | None = None):
        self.root = root.resolve()
        self.tree = tree
        self.kubectl = shutil.which("kubectl")
        self._cache: dict[BuildRequest, list[BuiltDocument]] = {}

    def _digest(self, request: BuildRequest) -> str | None:
        if self.tree is None:
            return None
        digest = hashlib.sha256(f"{self.kubectl}\0{request.path}\0{request.options}".encode())
        for rel in self.tree.build_inputs(request.path):
            try:
                content = (self.root / rel).read_bytes()
            except OSError:
                return None
            digest.update(f"\0{rel}\0{len(content)}\0".encode())
            digest.update(content)
        return digest.hexdigest()

    def _cached_build(self, request: BuildRequest) -> list[BuiltDocument]:
        key = self._digest(request)
        if key is not None:
            with _RESULTS_LOCK:
                if key in _RESULTS:
                    _RESULTS.move_to_end(key)
                    return _RESULTS[key]
        documents = self._build(request)
        if key is not None:
            with _RESULTS_LOCK:
                _RESULTS[key] = documents
                while len(_RESULTS) > _RESULTS_LIMIT:
                    _RESULTS.popitem(last=False)
        return documents

    def build_all(self, requests: Sequence[BuildRequest]) -> None:
        """Build every request not built yet, in parallel."""
        pending = list(dict.fromkeys(r for r in requests if r not in self._cache))
        if not pending:
            return
        if self.kubectl is None:
            raise InputError("kubectl not found on PATH: the check builds the tree with `kubectl kustomize`; "
                             "install kubectl (it bundles kustomize v5)")
        workers = min(len(pending), max(2, (os.cpu_count() or 2) * 2))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for request, documents in zip(pending, pool.map(self._cached_build, pending), strict=False):
                self._cache[request] = documents

    def build(self, request: BuildRequest) -> list[BuiltDocument]:
        self.build_all([request])
        return self._cache[request]

    def _build(self, request: BuildRequest) -> list[BuiltDocument]:
        target = (self.root / request.path).resolve()
        where = f" ({request.requested_by})" if request.requested_by else ""
        if not any((target / name).is_file() for name in KUSTOMIZATION_FILES):
            raise InputError(f"{request.path}: missing kustomization.yaml{where}; every directory Flux "
                             "builds in this tree needs one listing its resources")
        with tempfile.TemporaryDirectory(prefix="pd-check-") as overlay:
            overlay_dir = Path(overlay)
            content: dict[str, Any] = {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(target, overlay_dir)],
                "buildMetadata": ["originAnnotations"],
            }
            options = json.loads(request.options)
            if "components" in options:
                options["components"] = [os.path.relpath(target / c, overlay_dir) for c in options["components"]]
            content.update(options)
            (overlay_dir / "kustomization.yaml").write_text(json.dumps(content))
            try:
                result = subprocess.run([self.kubectl, "kustomize", str(overlay_dir)], capture_output=True,
                                        text=True, timeout=BUILD_TIMEOUT_SECONDS, check=False)
            except subprocess.TimeoutExpired:
                raise InputError(f"{request.path}: `kubectl kustomize` took longer than "
                                 f"{BUILD_TIMEOUT_SECONDS}s{where}") from None
            if result.returncode != 0:
                message = _kustomize_error(result.stderr, overlay_dir, self.root)
                raise InputError(f"{request.path}: kustomize build failed{where}: {message}")
            return [self._document(text, overlay_dir) for text in split_documents(result.stdout)]

    def _document(self, text: str, overlay_dir: Path) -> BuiltDocument:
        origin = None
        try:
            body = yaml.load(text, Loader=YAML_LOADER) or {}
        except yaml.YAMLError:
            body = {}
        annotation = mapping(body, "metadata", "annotations").get(ORIGIN)
        if annotation:
            data = yaml.safe_load(annotation) or {}
            source = data.get("path") or data.get("configuredIn")
            if source:
                resolved = (overlay_dir / source).resolve()
                try:
                    origin = resolved.relative_to(self.root).as_posix()
                except ValueError:
                    origin = None
        return BuiltDocument(text=text, origin=origin)


def _kustomize_error(stderr: str, overlay_dir: Path, root: Path) -> str:
    """kustomize's error without klog prefixes and temporary paths.

    kubectl logs the error as `... "command failed" err="<one line>"`, or, for a multi-line error,
    as `err=<` followed by tab-indented lines and a closing ` >` line.
    """
    multi = re.search(r'err=<\n(?P<body>.*?)\n\s*>\s*$', stderr, re.DOTALL)
    if multi:
        text = " ".join(multi.group("body").split())
    else:
        text = " ".join(klog.strip_prefixes(stderr).split())
        match = re.search(r'err="(.*)"$', text)
        if match:
            text = match.group(1).replace('\\"', '"')
        text = re.sub(r'^"command failed" ', "", text)
    text = re.sub(r"(\.\./)+[^ ']*?" + re.escape(root.name) + "/", "", text)
    return text.replace(str(overlay_dir), "<overlay>").replace(str(root) + "/", "")


def split_documents(stream: str) -> list[str]:
    """The documents of kustomize's output (separated by `---` lines)."""
    documents, current = [], []
    for line in stream.splitlines(keepends=True):
        if line.rstrip() == "---":
            if "".join(current).strip():
                documents.append("".join(current))
            current = []
        else:
            current.append(line)
    if "".join(current).strip():
        documents.append("".join(current))
    return documents


def strip_origin(body: dict[str, Any]) -> dict[str, Any]:
    """Remove the origin annotation the overlay added (Flux's build has none)."""
    meta = body.get("metadata")
    if isinstance(meta, dict) and isinstance(meta.get("annotations"), dict):
        meta["annotations"].pop(ORIGIN, None)
        if not meta["annotations"]:
            del meta["annotations"]
    return body
