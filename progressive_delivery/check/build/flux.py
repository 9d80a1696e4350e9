"""Build stage: every Flux Kustomization of a cluster, from the one that syncs its cluster path down.

kustomize-controller v1.9.4 (internal/controller/kustomization_controller.go): a Kustomization
whose source is this repository is built at spec.path (joined securely to the artifact root), with
the generated kustomization (generator.py), each object is substituted (substitute.py), and
spec.commonMetadata labels and annotations are set on every object before it is applied. Every
Kustomization found that way is built in turn. A Kustomization that fails its schema is never
applied by the cluster, so it is not built (the validate stage reports it); one whose source is
another repository or artifact is listed as not checked. An object the controller decrypts (SOPS)
is kept for references to it but not validated: its encrypted values are not what the cluster gets.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..access import mapping, mappings, string_map, text
from ..load.tree import normalise
from ..model import CLUSTER, KubeObject
from ..view import ClusterView
from .artifacts import ArtifactError, compose
from .kustomize import Artifact, BuildRequest, BuildResult, Kustomizer, drop_origin
from .substitute import Variables, invalid_names, substitute_object, variables

NO_GENERATOR = "no ArtifactGenerator of the cluster produces it"
DECRYPT_KEY = "kustomize.toolkit.fluxcd.io/decrypt"
GENERATOR_FIELDS = ("targetNamespace", "namePrefix", "nameSuffix", "patches", "components",
                    "ignoreMissingComponents", "images", "buildMetadata")


@dataclass
class _Item:
    kustomization: KubeObject
    request: BuildRequest


@dataclass
class _Walk:
    view: ClusterView
    artifact: Artifact
    source: tuple[str, str, str]          # (kind, namespace, name) of the tree's own source
    workdir: Path
    done: set[tuple[str, str]] = field(default_factory=set)
    composed: dict[tuple[str, str], Artifact | str] = field(default_factory=dict)
    deferred: list[KubeObject] = field(default_factory=list)      # waiting for their ArtifactGenerator
    final: bool = False                                          # nothing else will be built


def build_cluster(view: ClusterView, kustomizer: Kustomizer, artifact: Artifact, workdir: Path) -> None:
    """Add every object the cluster's Kustomizations apply to the view."""
    for obj in view.target.provided:
        view.add(obj)
    root = view.target.sync_object("Kustomization")
    ref = mapping(root.spec, "sourceRef")
    walk = _Walk(view, artifact, (text(ref, "kind"), root.namespace, text(ref, "name")), workdir)
    pending = [item for item in [_schedule(walk, root)] if item]
    waiting: list[tuple[_Item, BuildResult]] = []
    while pending or waiting:
        results = kustomizer.run([item.request for item in pending]) if pending else {}
        waiting += [(item, results[item.request]) for item in pending]
        pending = []
        progress = True
        while progress and waiting:
            progress = False
            for entry in list(waiting):
                others = len(waiting) > 1 or bool(pending)
                if others and _variables(view, entry[0]).missing_sources:
                    continue                      # its ConfigMap may come from another build: later
                waiting.remove(entry)
                pending += _apply(walk, *entry)
                progress = True
        if not pending and waiting:               # nothing else will provide the missing sources
            pending += _apply(walk, *waiting.pop(0))
        if not pending and not waiting and walk.deferred and not walk.final:
            walk.final = True                     # every generator there is has been applied
            deferred, walk.deferred = walk.deferred, []
            for kustomization in deferred:
                walk.done.discard((kustomization.namespace, kustomization.name))
                pending += [item for item in [_schedule(walk, kustomization)] if item]


def _variables(view: ClusterView, item: _Item) -> Variables:
    return variables(item.kustomization, view.get)


def _schedule(walk: _Walk, kustomization: KubeObject) -> _Item | None:
    key = (kustomization.namespace, kustomization.name)
    if key in walk.done:
        return None
    walk.done.add(key)
    view, spec = walk.view, kustomization.spec
    if kustomization.from_tree and view.validator.validate(kustomization.body):
        view.notices.append(f"Kustomization {key[0]}/{key[1]} fails its schema, so the cluster never applies it: "
                            f"what it would apply ({text(spec, 'path', default='./')}) is not checked")
        return None
    ref = mapping(spec, "sourceRef")
    source = (text(ref, "kind"), text(ref, "namespace", default=kustomization.namespace), text(ref, "name"))
    artifact: Artifact | str = walk.artifact
    if source[0] == "ExternalArtifact":
        artifact = _external(walk, source[1], source[2])
        if artifact == NO_GENERATOR and not walk.final:
            walk.deferred.append(kustomization)
            return None
    elif source != walk.source:
        artifact = "it is not this repository"
    if isinstance(artifact, str):
        view.notices.append(f"Kustomization {key[0]}/{key[1]}: what it applies from {source[0]} {source[1]}/"
                            f"{source[2]} is not checked: {artifact}")
        return None
    options = {f: spec[f] for f in GENERATOR_FIELDS if f in spec}
    inputs = _inputs_digest(walk, text(spec, "path")) if artifact is walk.artifact else ""
    request = BuildRequest(artifact, text(spec, "path"), json.dumps(options, sort_keys=True), inputs)
    return _Item(kustomization, request)


def _inputs_digest(walk: _Walk, path: str) -> str:
    """A digest of what a build of `path` in the tree reads (so that unrelated edits keep it cached)."""
    digest = hashlib.sha256()
    for rel in walk.view.tree.build_inputs(normalise(path)):
        digest.update(f"{rel}\0{walk.artifact.file_digest(rel)}\n".encode())
    return digest.hexdigest()


def _external(walk: _Walk, namespace: str, name: str) -> Artifact | str:
    """The ExternalArtifact an ArtifactGenerator of the cluster composes from this repository, or why not."""
    if (namespace, name) not in walk.composed:
        generator = next((g for g in walk.view.valid("ArtifactGenerator") if g.namespace == namespace and any(
            text(a, "name") == name for a in mappings(g.spec, "artifacts"))), None)
        aliases = {text(s, "alias") for s in mappings(generator.spec if generator else {}, "sources")
                   if (text(s, "kind"), text(s, "namespace", default=namespace), text(s, "name")) == walk.source}
        if generator is None:
            return NO_GENERATOR
        else:
            try:
                walk.composed[(namespace, name)] = compose(generator, name, walk.artifact, aliases, Path(
                    tempfile.mkdtemp(prefix="external-", dir=walk.workdir)))
            except ArtifactError as error:
                walk.composed[(namespace, name)] = f"{generator.describe()}: {error}"
    return walk.composed[(namespace, name)]


def _apply(walk: _Walk, item: _Item, result: BuildResult) -> list[_Item]:
    """Add a build's objects to the view; return the builds of the Kustomizations it applies.

    Where Flux fails the Kustomization (its build, its variables or the substitution of one object),
    it applies nothing of it: the view gets none of its objects and records it as failed.
    """
    view, owner = walk.view, item.kustomization
    out = view.findings
    path = text(owner.spec, "path", default="./")
    if result.error:
        out.add(owner, f"Flux cannot build path '{path}': {result.error}")
        return _fail(view, owner, "its build fails")
    artifact = item.request.artifact
    found = _variables(view, item)
    for source in found.missing_sources:
        out.add(owner, f"postBuild.substituteFrom {source} does not exist, so Flux fails this Kustomization; "
                       "create it, fix the name or mark it optional: true")
    if found.values and invalid_names(found.values):
        out.add(owner, f"post-build variable names {', '.join(invalid_names(found.values))} are invalid (letters, "
                       "digits and '_', not starting with a digit); Flux fails the whole substitution")
    if found.missing_sources or (found.values and invalid_names(found.values)):
        return _fail(view, owner, "its post-build variables cannot be read")
    applied_by = f"{owner.namespace}/{owner.name}"
    objects: list[KubeObject] = []
    for document in result.documents:
        origin = artifact.tree_path(document.origin) if document.origin else normalise(path)
        obj = KubeObject(document.body, origin, applied_by)
        if not (obj.name and obj.kind and obj.api_version):
            out.add(owner, f"builds an object without apiVersion, kind or metadata.name (from {origin}); Flux "
                           "fails this Kustomization; complete the object")
            continue
        body = substitute_object(document.text, document.body, found, obj, owner, out, set(view.target.values))
        if body is not None:
            if not result.keeps_origin:
                drop_origin(body)
            _set_common_metadata(body, mapping(owner.spec, "commonMetadata"))
            objects.append(KubeObject(body, origin, applied_by))
            if _decrypted(owner, body):
                view.encrypted.add(id(objects[-1]))
                view.notices.append(f"{objects[-1].describe()} ({origin}) is SOPS-encrypted; kustomize-controller "
                                    f"decrypts it (spec.decryption of Kustomization {applied_by}): not validated")
    if len(objects) < len(result.documents):
        return _fail(view, owner, "an object of it cannot be built or substituted")
    if artifact.origins is None:
        view.reachable |= view.tree.reachable_files(normalise(path))
    else:
        view.reachable |= set(artifact.origins.values())
    applied = [obj for obj in objects if _add(walk, obj)]
    return [next_item for obj in applied if (next_item := _schedule(walk, obj))]


def _add(walk: _Walk, obj: KubeObject) -> bool:
    """Add one applied object to the view; whether it is a Flux Kustomization to build next."""
    view = walk.view
    previous = view.add(obj)
    if previous is not None and previous is not obj:
        view.findings.add(obj, f"is also applied by Kustomization {previous.applied_by} (from {previous.path}); two "
                               "Kustomizations would fight over it; keep one")
        return False
    if obj.kind == "ArtifactGenerator" and view.validator.validate(obj.body) == []:
        for output in mappings(obj.spec, "artifacts"):
            view.add(KubeObject({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
                                 "metadata": {"name": text(output, "name"), "namespace": obj.namespace}},
                                f"(created by source-watcher for {obj.describe()})", CLUSTER))
    return obj.kind == "Kustomization" and obj.group == "kustomize.toolkit.fluxcd.io"


def _fail(view: ClusterView, owner: KubeObject, why: str) -> list[_Item]:
    """Record a Kustomization Flux fails: it applies nothing, so nothing of it is checked."""
    key = f"{owner.namespace}/{owner.name}"
    view.failed[key] = why
    view.notices.append(f"Kustomization {key} applies nothing while {why}: what it would apply is not checked")
    return []


def _decrypted(owner: KubeObject, body: dict[str, Any]) -> bool:
    """Whether kustomize-controller decrypts the object before it applies it: provider sops, a `sops` field
    with a `mac`, no `decrypt: disabled` annotation (fluxcd/kustomize-controller@v1.9.4:
    internal/decryptor/decryptor.go:206-209, 628-660, 1049-1061)."""
    annotation = str(mapping(body, "metadata", "annotations").get(DECRYPT_KEY, ""))
    return text(owner.spec, "decryption", "provider") == "sops" and bool(mapping(body, "sops").get("mac")) \
        and annotation.lower() != "disabled"


def _set_common_metadata(body: dict[str, Any], common: dict[str, Any]) -> None:
    """spec.commonMetadata on an object (fluxcd/pkg ssa/utils SetCommonMetadata: set, overwriting)."""
    for key in ("labels", "annotations"):
        values = string_map(common, key)
        if values:
            metadata = body.setdefault("metadata", {})
            metadata[key] = {**mapping(metadata, key), **values}
