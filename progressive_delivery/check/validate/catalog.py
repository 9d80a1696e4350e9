"""Custom resource kinds the checker knows: vendored schemas of the pinned components, plus CRDs.

The vendored file (crd-schemas.json, written by regenerate.py) holds the served versions of every
kind of Flux v2.9, Flagger 1.44 and Istio 1.31. CustomResourceDefinitions met in the tree, in
rendered charts or in --crds add the kinds they define (a vendored kind keeps its vendored schema).
A kind is *installed* when Flux itself serves it (the Flux install every cluster gets) or a CRD for
it is applied; only installed kinds can be applied to the cluster.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..access import mapping, mappings, text

VENDORED_FILE = Path(__file__).with_name("crd-schemas.json")
FLUX_GROUP_SUFFIX = ".toolkit.fluxcd.io"


@dataclass(frozen=True)
class CustomKind:
    """One custom resource kind: scope, the schema of each served version, and where it is defined."""

    group: str
    kind: str
    namespaced: bool
    versions: dict[str, dict[str, Any]]
    origin: str


@functools.lru_cache(maxsize=1)
def vendored_data() -> dict[str, Any]:
    """The vendored schemas (read once per process)."""
    data: dict[str, Any] = json.loads(VENDORED_FILE.read_text(encoding="utf-8"))
    return data


def vendored_kinds() -> dict[tuple[str, str], CustomKind]:
    data = vendored_data()
    kinds = {}
    for key, entry in data["kinds"].items():
        group, _, kind = key.rpartition("/")
        upstream = data["sources"].get(entry["source"], {}).get("upstream", entry["source"])
        kinds[(group, kind)] = CustomKind(group, kind, entry["scope"] == "Namespaced",
                                          {v: data["schemas"][d] for v, d in entry["versions"].items()},
                                          f"vendored from {upstream}")
    return kinds


def crd_kind(body: dict[str, Any], origin: str) -> CustomKind | None:
    """The kind a CustomResourceDefinition object defines (None when it names no group and kind)."""
    spec = mapping(body, "spec")
    group, kind = text(spec, "group"), text(spec, "names", "kind")
    if not group or not kind:
        return None
    versions = {text(v, "name"): mapping(v, "schema", "openAPIV3Schema") for v in mappings(spec, "versions")
                if v.get("served", True) is not False and text(v, "name")}
    return CustomKind(group, kind, text(spec, "scope", default="Namespaced") == "Namespaced", versions, origin)


@dataclass
class Catalog:
    """Known and installed custom resource kinds of one cluster."""

    kinds: dict[tuple[str, str], CustomKind] = field(default_factory=vendored_kinds)
    installed: dict[tuple[str, str], str] = field(default_factory=dict)   # (group, kind) -> what installs it

    def __post_init__(self) -> None:
        for group, kind in self.kinds:
            if group.endswith(FLUX_GROUP_SUFFIX) or group == "source.extensions.fluxcd.io":
                self.installed[(group, kind)] = "the Flux install"

    def add_crds(self, objects: Iterable[tuple[dict[str, Any], str]]) -> None:
        """Record the CRDs among (body, origin) pairs: their kinds become installed (and known)."""
        for body, origin in objects:
            if body.get("kind") != "CustomResourceDefinition":
                continue
            found = crd_kind(body, origin)
            if found is None:
                continue
            key = (found.group, found.kind)
            self.kinds.setdefault(key, found)
            self.installed.setdefault(key, origin)

    def get(self, group: str, kind: str) -> CustomKind | None:
        return self.kinds.get((group, kind))

    def api_versions(self) -> list[str]:
        """What Helm's .Capabilities.APIVersions holds for the installed kinds (group/version[/Kind])."""
        found = []
        for (group, kind), _ in sorted(self.installed.items()):
            known = self.kinds.get((group, kind))
            for version in sorted(known.versions) if known else []:
                found += [f"{group}/{version}", f"{group}/{version}/{kind}"]
        return sorted(set(found))
