"""kustomize builds of Flux Kustomization paths, as kustomize-controller runs them.

kustomize-controller extracts the source artifact into a fresh directory, writes the generated
kustomization into the path (generator.py) and builds it with kustomize's LoadRestrictionsNone
(files outside the kustomization's own directory, inside the artifact, may be read:
fluxcd/pkg@kustomize/v1.35.4:kustomize/kustomize_generator.go SecureBuild). Each build here does the
same in a scratch copy of the artifact (hard links where possible) with `kubectl kustomize`
(kubectl's bundled kustomize; kustomize-controller v1.9.4 builds with kustomize/api v0.21.1, i.e.
kustomize v5.8.1: docs/check.md), adding kustomize's origin annotations to learn which file each
object comes from (removed again unless the Kustomization asked for them). Builds are cached by the
content they read.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from ... import klog
from ..access import YAML_LOADER, mapping, sequence
from ..cache import ContentCache
from ..load.tree import KUSTOMIZATION_FILES
from ..model import InputError
from .generator import GenerateError, generate, secure_join

ORIGIN = "config.kubernetes.io/origin"
TIMEOUT_SECONDS = 60


@dataclass(frozen=True, eq=False)
class Artifact:
    """A copy of the files of a source artifact, a digest of their names and content, and for an artifact
    composed from the tree, the tree file each of its files comes from."""

    directory: Path
    digest: str
    origins: dict[str, str] | None = None
    file_digests: dict[str, str] = field(default_factory=dict)  # rel -> sha256, as materialize read them

    def tree_path(self, rel: str) -> str:
        return self.origins.get(rel, rel) if self.origins is not None else rel

    def file_digest(self, rel: str) -> str:
        """sha256 of a file of the artifact: as recorded when it was copied, else read now."""
        known = self.file_digests.get(rel)
        return known if known is not None else hashlib.sha256((self.directory / rel).read_bytes()).hexdigest()

    @cached_property
    def escape(self) -> str:
        """The first path a kustomization file of the artifact names outside it ("" when none does); every
        build of the artifact shares the answer."""
        return outside_reference(self.directory)


def materialize(root: Path, files: Sequence[str], into: Path) -> Artifact:
    """Copy `files` (relative to root) into `into` (created, even for no files); InputError when one cannot
    be read."""
    digest = hashlib.sha256()
    file_digests: dict[str, str] = {}
    into.mkdir(parents=True, exist_ok=True)
    for rel in files:
        source, target = root / rel, into / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            content = source.read_bytes()
        except OSError as error:
            raise InputError(f"{rel}: cannot be read ({error.strerror})") from None
        target.write_bytes(content)
        digest.update(f"{rel}\0{len(content)}\0".encode())
        digest.update(content)
        file_digests[rel] = hashlib.sha256(content).hexdigest()
    return Artifact(into, digest.hexdigest(), file_digests=file_digests)


@dataclass(frozen=True)
class BuildRequest:
    """One build: an artifact, a Kustomization's spec.path and the spec fields the generator reads."""

    artifact: Artifact
    path: str
    spec: str                 # canonical JSON
    inputs: str = ""          # digest of the files the build reads ("" when not known: the whole artifact)

    @property
    def key(self) -> str:
        content = self.inputs or self.artifact.digest
        return hashlib.sha256(f"{content}\0{self.path}\0{self.spec}".encode()).hexdigest()


@dataclass
class BuiltDocument:
    """One object of a build: its body, its YAML text and the artifact file it comes from."""

    body: dict[str, Any]
    text: str
    origin: str | None


@dataclass
class BuildResult:
    documents: list[BuiltDocument] = field(default_factory=list)
    error: str = ""                # kustomize's (or the generator's) message when the build fails
    keeps_origin: bool = False     # the Kustomization asked for origin annotations itself


_CACHE: ContentCache[BuildResult] = ContentCache(256)


class Kustomizer:
    """Runs builds in scratch copies under `workdir`, in parallel."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.kubectl = shutil.which("kubectl")
        if self.kubectl is None:
            raise InputError("kubectl not found on PATH: the check builds the tree with `kubectl kustomize`; "
                             "install kubectl (it bundles kustomize v5)")

    def run(self, requests: Sequence[BuildRequest]) -> dict[BuildRequest, BuildResult]:
        """The result of each request, the caller's own copy: the cache keeps its entries as built."""
        pending = list(dict.fromkeys(requests))
        results = {r: cached for r in pending if (cached := _CACHE.get(r.key)) is not None}
        missing = [r for r in pending if r not in results]
        workers = min(len(missing), max(2, (os.cpu_count() or 2) * 2)) or 1
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for request, result in zip(missing, pool.map(self._build, missing), strict=True):
                _CACHE.put(request.key, result)
                results[request] = result
        return {request: copy.deepcopy(result) for request, result in results.items()}

    def _build(self, request: BuildRequest) -> BuildResult:
        scratch = Path(tempfile.mkdtemp(prefix="build-", dir=self.workdir))
        try:
            shutil.copytree(request.artifact.directory, scratch, dirs_exist_ok=True, copy_function=_link_or_copy)
            directory = secure_join(scratch, request.path)
            if not directory.is_dir():
                return BuildResult(error=f"kustomization path not found: {request.path}")
            if escape := request.artifact.escape:
                return BuildResult(error=escape)
            try:
                generated = generate(directory, json.loads(request.spec))
            except GenerateError as failure:
                return BuildResult(error=str(failure))
            content = generated.content
            asked = "originAnnotations" in sequence(content, "buildMetadata")
            if not asked:
                content["buildMetadata"] = [*sequence(content, "buildMetadata"), "originAnnotations"]
            generated.file.unlink(missing_ok=True)          # a hard link: never write through it
            generated.file.write_text(json.dumps(content), encoding="utf-8")
            documents, error = self._kustomize(directory, scratch)
            if error:
                return BuildResult(error=error)
            return BuildResult(documents, keeps_origin=asked)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _kustomize(self, directory: Path, scratch: Path) -> tuple[list[BuiltDocument], str]:
        assert self.kubectl is not None
        output, error = run_kustomize(directory, scratch, "--load-restrictor=LoadRestrictionsNone",
                                      kubectl=self.kubectl)
        if error:
            return [], error
        documents = []
        for text in split_documents(output):
            body = yaml.load(text, Loader=YAML_LOADER)
            if isinstance(body, dict):
                documents.append(BuiltDocument(body, text, _origin(body, directory, scratch)))
        return documents, ""


# Fields of a kustomization that name files or directories, as lists of paths ...
_PATH_LISTS = ("resources", "components", "bases", "crds", "patchesStrategicMerge", "generators", "transformers",
               "validators", "configurations")
# ... as lists of objects with a `path`, and generators whose `files` (`[key=]path`), `envs` and `env` do.
_PATH_OBJECTS = ("patches", "patchesJson6902", "replacements")
_GENERATORS = ("configMapGenerator", "secretGenerator")


def run_kustomize(directory: Path, root: Path, *options: str, kubectl: str = "kubectl") -> tuple[str, str]:
    """`kubectl kustomize [options] directory`: (its output, "") or ("", the failure in kustomize's words,
    paths shown relative to `root`)."""
    try:
        result = subprocess.run([kubectl, "kustomize", *options, str(directory)], capture_output=True, text=True,
                                timeout=TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        return "", f"`kubectl kustomize` took longer than {TIMEOUT_SECONDS}s"
    if result.returncode != 0:
        return "", kustomize_error(result.stderr, root)
    return result.stdout, ""


def outside_reference(root: Path) -> str:
    """The first path a kustomization file under `root` names outside `root` ("" when none does).

    kustomize-controller builds on a file system rooted at the source artifact, so such a path fails
    the build there (fluxcd/pkg@kustomize/v1.35.4 SecureBuild); here it must not even be read, since
    the check also runs on branch content nobody here wrote.
    """
    for name in KUSTOMIZATION_FILES:
        for file in root.rglob(name):
            try:
                content = yaml.load(file.read_text(encoding="utf-8"), Loader=YAML_LOADER)
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue        # kustomize reports the file itself
            for reference in _paths(content):
                target = os.path.normpath(os.path.join(file.parent, reference))
                if os.path.isabs(reference) or not (target == str(root) or target.startswith(f"{root}{os.sep}")):
                    where = file.relative_to(root).as_posix()
                    return (f"{where} refers to {reference}, outside the repository; kustomize-controller "
                            "builds only from the source, so fix the path")
    return ""


def _paths(content: Any) -> list[str]:
    """The file and directory references of a kustomization, remote ones left out."""
    found = [str(item) for key in _PATH_LISTS for item in sequence(content, key)]
    found += [str(item["path"]) for key in _PATH_OBJECTS for item in sequence(content, key)
              if isinstance(item, dict) and item.get("path")]
    for key in _GENERATORS:
        for generator in sequence(content, key):
            if isinstance(generator, dict):
                found += [str(entry).split("=", 1)[-1] for entry in sequence(generator, "files")]
                found += [str(entry) for entry in sequence(generator, "envs")]
                found += [str(generator["env"])] if generator.get("env") else []
    return [path for path in found if "://" not in path and not path.startswith(("github.com/", "git@"))]


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _origin(body: dict[str, Any], directory: Path, scratch: Path) -> str | None:
    annotation = mapping(body, "metadata", "annotations").get(ORIGIN)
    if not isinstance(annotation, str):
        return None
    data = yaml.load(annotation, Loader=YAML_LOADER)
    source = mapping(data).get("path") or mapping(data).get("configuredIn")
    if not isinstance(source, str):
        return None
    full, prefix = os.path.normpath(directory / source), str(scratch) + os.sep
    return full[len(prefix):].replace(os.sep, "/") if full.startswith(prefix) else None


def drop_origin(body: dict[str, Any]) -> None:
    """Remove the origin annotation the build added (Flux's own build has none)."""
    annotations = mapping(body, "metadata", "annotations")
    annotations.pop(ORIGIN, None)
    if not annotations and isinstance(body.get("metadata"), dict):
        body["metadata"].pop("annotations", None)


def kustomize_error(stderr: str, scratch: Path) -> str:
    """kustomize's error without kubectl's klog prefixes and without scratch paths.

    kubectl logs it as `... "command failed" err="<one line>"`, or for a multi-line error as `err=<`
    followed by tab-indented lines and a closing ` >` line.
    """
    multi = re.search(r"err=<\n(?P<body>.*?)\n\s*>\s*$", stderr, re.DOTALL)
    if multi:
        message = " ".join(multi.group("body").split())
    else:
        message = " ".join(klog.strip_prefixes(stderr).split())
        quoted = re.search(r'err="(.*)"$', message)
        if quoted:
            message = quoted.group(1).replace('\\"', '"')
        message = message.removeprefix('"command failed" ')
    return message.replace(str(scratch) + "/", "").replace(str(scratch), ".")


def split_documents(stream: str) -> list[str]:
    """The documents of kustomize's output (separated by `---` lines)."""
    documents: list[str] = []
    current: list[str] = []
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
