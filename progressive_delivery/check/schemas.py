"""Strict schema validation: core kinds with kubernetes-validate, custom resources with real CRDs.

Unknown fields are errors everywhere: kubernetes-validate's strict schemas
forbid them for core kinds, and CRD schemas are made strict the way the API
server prunes (every object schema without `additionalProperties` or
`x-kubernetes-preserve-unknown-fields` rejects properties it does not list).
Custom resource metadata is validated as Kubernetes ObjectMeta.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

from .access import YAML_LOADER

KUBERNETES_VERSION = "1.33"
_DEFINITIONS = "/api/_definitions.json"
OBJECT_META = {"$ref": f"{_DEFINITIONS}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
CLUSTER_SCOPED_CORE = {
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "StorageClass", "PriorityClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "APIService", "IngressClass",
    "RuntimeClass", "CSIDriver", "CSINode", "VolumeAttachment", "FlowSchema", "PriorityLevelConfiguration",
    "CertificateSigningRequest", "ComponentStatus",
}


@dataclass
class CustomResourceDefinitions:
    """Served versions and strict schemas of the CRDs in a directory."""

    directory: Path | None
    kinds: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)   # (group, kind) -> versions
    scopes: dict[tuple[str, str], str] = field(default_factory=dict)
    groups: set[str] = field(default_factory=set)
    compiled: dict[tuple[str, str], Any] = field(default_factory=dict)   # validators, built on first use

    @property
    def available(self) -> bool:
        return self.directory is not None


@functools.lru_cache(maxsize=4)
def _load_crds(directory: str, stamp: float) -> CustomResourceDefinitions:
    crds = CustomResourceDefinitions(Path(directory))
    for path in sorted(Path(directory).glob("*.y*ml")):
        with path.open(encoding="utf-8") as handle:
            for doc in yaml.load_all(handle, Loader=YAML_LOADER):
                if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
                    continue
                spec = doc.get("spec") or {}
                group, kind = spec.get("group", ""), (spec.get("names") or {}).get("kind", "")
                versions = {v["name"]: (v.get("schema") or {}).get("openAPIV3Schema") or {}
                            for v in spec.get("versions") or [] if v.get("served", True)}
                crds.kinds[(group, kind)] = versions
                crds.scopes[(group, kind)] = spec.get("scope", "Namespaced")
                crds.groups.add(group)
    return crds


def load_crds(directory: Path | None) -> CustomResourceDefinitions:
    """The CRDs of a directory (cached per process while the directory is unchanged)."""
    if directory is None:
        return CustomResourceDefinitions(None)
    stamp = max([p.stat().st_mtime for p in directory.glob("*.y*ml")] or [0.0])
    return _load_crds(str(directory.resolve()), stamp)


def strict_schema(schema: dict[str, Any], root: bool = True) -> dict[str, Any]:
    """A copy of a structural CRD schema that rejects unknown fields like the API server prunes them."""
    schema = copy.deepcopy(schema)

    def walk(node: dict[str, Any]) -> None:
        if not isinstance(node, dict):
            return
        if node.get("x-kubernetes-int-or-string"):
            node.pop("type", None)
            node.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
        if node.get("nullable"):
            kind = node.get("type")
            if isinstance(kind, str):
                node["type"] = [kind, "null"]
        properties = node.get("properties")
        if isinstance(properties, dict):
            for child in properties.values():
                walk(child)
        if isinstance(node.get("items"), dict):
            walk(node["items"])
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"])
        is_object = node.get("type") == "object" or (isinstance(node.get("type"), list) and "object" in node["type"])
        if node.get("x-kubernetes-embedded-resource"):
            node.setdefault("properties", {}).update({
                "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}})
        if is_object and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False

    walk(schema)
    if root:
        properties = schema.setdefault("properties", {})
        properties["metadata"] = OBJECT_META
        properties.setdefault("apiVersion", {"type": "string"})
        properties.setdefault("kind", {"type": "string"})
        properties.pop("status", None)
    return schema


@functools.lru_cache(maxsize=1)
def _core_registry() -> tuple[Registry, Path]:
    import importlib.resources

    base = importlib.resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")
    directory = Path(str(base)) / f"v{KUBERNETES_VERSION}.0-local-strict"
    if not directory.is_dir():
        raise RuntimeError(f"kubernetes-validate has no strict schemas for Kubernetes {KUBERNETES_VERSION}")
    definitions = json.loads((directory / "_definitions.json").read_text())
    resource = Resource.from_contents(definitions)
    return Registry().with_resource(_DEFINITIONS, resource).crawl(), directory


def _core_file_name(kind: str, api_version: str) -> str:
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return f"{kind.lower()}-{api}.json"


def _is_core_group(group: str) -> bool:
    return group == "" or "." not in group or group.endswith(".k8s.io")


_CORE_VALIDATORS: dict[tuple[str, str], Any] = {}


class Validator:
    """Validates objects strictly; compiles one validator per apiVersion and kind, once per process
    (core kinds) or per loaded CRD directory (custom resources)."""

    def __init__(self, crds: CustomResourceDefinitions):
        self.crds = crds

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        group = api_version.rpartition("/")[0]
        if (group, kind) in self.crds.scopes:
            return self.crds.scopes[(group, kind)] == "Namespaced"
        return kind not in CLUSTER_SCOPED_CORE

    def is_custom(self, api_version: str) -> bool:
        group = api_version.rpartition("/")[0]
        return group in self.crds.groups or not _is_core_group(group)

    def validate(self, body: dict[str, Any]) -> list[str]:
        """Problems with one object, each a sentence saying what to change; [] when valid."""
        api_version, kind = str(body.get("apiVersion", "")), str(body.get("kind", ""))
        if not api_version or not kind:
            return ["has no apiVersion or kind; every object needs both"]
        group, _, version = api_version.rpartition("/")
        if self.is_custom(api_version):
            if not self.crds.available:
                return []
            versions = self.crds.kinds.get((group, kind))
            if versions is None:
                known = sorted(k for g, k in self.crds.kinds if g == group)
                hint = f" (the group serves {', '.join(known)})" if known else ""
                return [f"unknown API: no CRD serves kind {kind} in group {group or 'core'}{hint}; "
                        "check the kind and apiVersion"]
            if version not in versions:
                served = ", ".join(f"{group}/{v}" for v in sorted(versions))
                return [f"removed/unknown API version {api_version}: the CRDs serve {kind} only as {served}; "
                        "update apiVersion and migrate the fields"]
        validator = self._validator(api_version, kind, group, version)
        if validator is None:
            return [f"removed/unknown API version {api_version}: Kubernetes {KUBERNETES_VERSION} does not serve "
                    f"kind {kind} in it; use a current apiVersion"]
        problems = []
        for error in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))[:3]:
            where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
            problems.append(f"invalid {where}: {_short(error.message)}; fix it to match the {api_version} "
                            f"{kind} schema")
        return problems

    def _validator(self, api_version: str, kind: str, group: str, version: str):
        key = (api_version, kind)
        cache = self.crds.compiled if self.is_custom(api_version) else _CORE_VALIDATORS
        if key not in cache:
            registry, core_dir = _core_registry()
            if self.is_custom(api_version):
                schema = strict_schema(self.crds.kinds[(group, kind)][version])
            else:
                path = core_dir / _core_file_name(kind, api_version)
                schema = json.loads(path.read_text()) if path.is_file() else None
            if schema is None:
                cache[key] = None
            else:
                cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
                cache[key] = cls(schema, registry=registry)
        return cache[key]


def _short(message: str, limit: int = 200) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[:limit - 3] + "..."
