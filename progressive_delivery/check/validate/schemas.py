"""Strict schema validation: core kinds with kubernetes-validate, custom resources with the catalog.

Unknown fields are errors everywhere: kubernetes-validate's strict schemas forbid them for core
kinds (for the cluster's Kubernetes minor), and custom resource schemas are made strict the way the
API server prunes (an object schema without `additionalProperties` or
`x-kubernetes-preserve-unknown-fields` rejects properties it does not list). Custom resource
metadata is validated as Kubernetes ObjectMeta.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

from ..model import InputError
from .catalog import Catalog

_DEFINITIONS = "/api/_definitions.json"
OBJECT_META = {"$ref": f"{_DEFINITIONS}#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
CLUSTER_SCOPED_CORE = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
    "StorageClass", "PriorityClass", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding", "APIService", "IngressClass", "RuntimeClass", "CSIDriver", "CSINode",
    "VolumeAttachment", "FlowSchema", "PriorityLevelConfiguration", "CertificateSigningRequest",
    "ComponentStatus", "DeviceClass", "ClusterTrustBundle", "VolumeAttributesClass", "IPAddress", "ServiceCIDR",
})


def strict_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a structural CRD schema that rejects unknown fields as the API server prunes them."""
    schema = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if not isinstance(node, dict):
            return
        if node.get("x-kubernetes-int-or-string"):
            node.pop("type", None)
            node.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
        if node.get("nullable") and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for child in (node.get("properties") or {}).values():
            walk(child)
        for key in ("items", "additionalProperties"):
            walk(node.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            for child in node.get(key) or []:
                walk(child)
        if node.get("x-kubernetes-embedded-resource"):
            node.setdefault("properties", {}).update({
                "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}})
        types: list[Any] = node["type"] if isinstance(node.get("type"), list) else [node.get("type")]
        if ("object" in types and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")):
            node["additionalProperties"] = False

    walk(schema)
    properties = schema.setdefault("properties", {})
    properties["metadata"] = OBJECT_META
    properties.setdefault("apiVersion", {"type": "string"})
    properties.setdefault("kind", {"type": "string"})
    properties.pop("status", None)
    return schema


@dataclass(frozen=True)
class CoreSchemas:
    """kubernetes-validate's strict schemas of one Kubernetes minor: the $ref registry, the schema files and
    the API groups Kubernetes itself serves (from the definitions' group-version-kinds)."""

    registry: Registry
    directory: Path
    groups: frozenset[str]


@functools.lru_cache(maxsize=4)
def core_schemas(minor: str) -> CoreSchemas:
    """The strict schemas kubernetes-validate ships for Kubernetes `minor` (e.g. "1.33")."""
    base = Path(str(importlib.resources.files("kubernetes_validate").joinpath("kubernetes-json-schema")))
    directory = base / f"v{minor}.0-local-strict"
    if not directory.is_dir():
        shipped = sorted(p.name.split("-")[0][1:].rsplit(".", 1)[0] for p in base.glob("v*-local-strict"))
        raise InputError(f"Kubernetes {minor}: kubernetes-validate has no schemas for it (it has "
                         f"{', '.join(shipped[-4:])}); pick a k3s image of one of those minors")
    definitions = json.loads((directory / "_definitions.json").read_text())
    groups = {str(gvk.get("group", "")) for schema in definitions.get("$defs", {}).values()
              for gvk in schema.get("x-kubernetes-group-version-kind", [])}
    registry = Registry().with_resource(_DEFINITIONS, Resource.from_contents(definitions)).crawl()
    return CoreSchemas(registry, directory, frozenset(groups))


_API_FILE_PART = re.compile(r"^([^./]*)(?:\.[^/]*)?/")


def _core_file(kind: str, api_version: str) -> str:
    """kubernetes-validate's file name for a kind: deployment-apps-v1.json, ingress-networking-v1.json."""
    return f"{kind.lower()}-{_API_FILE_PART.sub(lambda m: m.group(1) + '-', api_version)}.json"


# Compiled validators of core kinds, by (minor, apiVersion, kind): shared by every check in a process.
_CORE: dict[tuple[str, str, str], Any] = {}


@dataclass
class Validator:
    """Validates objects strictly against one cluster's schemas (Kubernetes minor and custom kinds)."""

    minor: str
    catalog: Catalog
    _custom: dict[tuple[str, str], Any] = field(default_factory=dict)

    def is_custom(self, api_version: str) -> bool:
        """Whether the API group is not one Kubernetes itself serves."""
        return api_version.rpartition("/")[0] not in core_schemas(self.minor).groups

    def is_namespaced(self, api_version: str, kind: str) -> bool:
        known = self.catalog.get(api_version.rpartition("/")[0], kind)
        return known.namespaced if known else kind not in CLUSTER_SCOPED_CORE

    def validate(self, body: dict[str, Any]) -> list[str]:
        """Problems with one object, each saying what to change; [] when valid."""
        api_version, kind = str(body.get("apiVersion") or ""), str(body.get("kind") or "")
        if not api_version or not kind:
            return ["has no apiVersion or kind; every object needs both"]
        group, _, version = api_version.rpartition("/")
        if self.is_custom(api_version):
            known = self.catalog.get(group, kind)
            if known is None:
                others = sorted(k for g, k in self.catalog.kinds if g == group)
                hint = f" (the group has {', '.join(others)})" if others else ""
                return [f"unknown kind: no CRD defines {kind} in {group}{hint}; the tree, its charts and the "
                        "Flux install must install a CRD for every custom resource"]
            if version not in known.versions:
                served = ", ".join(f"{group}/{v}" for v in sorted(known.versions))
                return [f"{api_version} is not served for {kind} (served: {served}; {known.origin}); update "
                        "apiVersion and migrate the fields"]
            validator = self._custom_validator(group, kind, version)
        else:
            validator = self._core_validator(api_version, kind)
            if validator is None:
                return [f"{api_version} {kind} is not served by Kubernetes {self.minor}; use a current apiVersion"]
        by_path: dict[str, list[Any]] = {}
        for error in validator.iter_errors(body):
            by_path.setdefault(".".join(str(p) for p in error.absolute_path) or "(top level)", []).append(error)
        return [f"invalid {where}: {_short(best_match(errors).message)}; fix it to match the {api_version} {kind} "
                "schema" for where, errors in sorted(by_path.items())[:3]]

    def _core_validator(self, api_version: str, kind: str) -> Any:
        key = (self.minor, api_version, kind)
        if key not in _CORE:
            core = core_schemas(self.minor)
            path = core.directory / _core_file(kind, api_version)
            _CORE[key] = _compile(json.loads(path.read_text()), core.registry) if path.is_file() else None
        return _CORE[key]

    def _custom_validator(self, group: str, kind: str, version: str) -> Any:
        key = (f"{group}/{version}", kind)
        if key not in self._custom:
            known = self.catalog.get(group, kind)
            assert known is not None
            self._custom[key] = _compiled_custom(json.dumps(known.versions[version], sort_keys=True), self.minor)
        return self._custom[key]


@functools.lru_cache(maxsize=256)
def _compiled_custom(schema_json: str, minor: str) -> Any:
    """A validator for a custom resource schema (cached by content: both stacks share them)."""
    return _compile(strict_schema(json.loads(schema_json)), core_schemas(minor).registry)


def _compile(schema: dict[str, Any], registry: Registry) -> Any:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema, registry=registry)


def _short(message: str, limit: int = 200) -> str:
    message = " ".join(message.split())
    return message if len(message) <= limit else message[:limit - 3] + "..."
