"""Regenerate the vendored custom resource schemas from CustomResourceDefinitions.

    python -m progressive_delivery.check.validate.regenerate --crds DIR [--url URL ...] [--output FILE]

Reads the CRDs of the components the platform pins (Flux, Flagger, Istio: the groups in
VENDORED_GROUPS) from YAML files in DIR and from release URLs, keeps the served versions' schemas
without descriptions, CEL rules, defaults and list/map hints (the checker does not use them), and
writes one JSON file: every kind with its scope and versions, each distinct schema once, and where
each came from. A SOURCES.md beside the CRD files (a table `| file | owner/repo @ commit : path |`)
names the upstream of each file; a URL is its own record. Unreadable input is one line on stderr and
exit code 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from ..access import YAML_LOADER
from .catalog import VENDORED_FILE

# API groups of the pinned components: Flux's controllers, Flagger and Istio.
VENDORED_GROUPS = re.compile(r"^([a-z]+\.toolkit\.fluxcd\.io|source\.extensions\.fluxcd\.io|flagger\.app|"
                             r"[a-z]+\.istio\.io)$")
DROPPED_KEYS = {"description", "x-kubernetes-validations", "default", "example", "x-kubernetes-list-type",
                "x-kubernetes-list-map-keys", "x-kubernetes-map-type"}
_SOURCE_ROW = re.compile(r"^\|\s*(?P<file>[^|\s]+\.ya?ml)\s*\|\s*(?P<upstream>[^|]+?)\s*\|\s*$")
_UPSTREAM = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)\s*@\s*(?P<commit>[0-9a-f]{7,40})\b.*?:\s*(?P<path>\S+)$")


class RegenerateError(Exception):
    """Input that cannot be read; the message names it."""


def slim(node: Any) -> Any:
    """A schema without the keys validation does not use (a property *named* like one is kept)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                out[key] = {name: slim(child) for name, child in value.items()}
            elif key not in DROPPED_KEYS:
                out[key] = slim(value)
        return out
    if isinstance(node, list):
        return [slim(item) for item in node]
    return node


def read_sources(directory: Path) -> dict[str, dict[str, str]]:
    """file -> {"upstream": ..., "url": ...} from the SOURCES.md table of a CRD directory."""
    path = directory / "SOURCES.md"
    if not path.is_file():
        return {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise RegenerateError(f"{path}: cannot be read ({error})") from None
    sources = {}
    for line in text.splitlines():
        row = _SOURCE_ROW.match(line.strip())
        if not row:
            continue
        record = {"upstream": row.group("upstream")}
        parts = _UPSTREAM.match(row.group("upstream"))
        if parts:
            record["url"] = (f"https://github.com/{parts.group('repo')}/blob/{parts.group('commit')}/"
                             f"{parts.group('path')}")
        sources[row.group("file")] = record
    return sources


def _documents(text: str, where: str) -> Iterator[dict[str, Any]]:
    try:
        for document in yaml.load_all(text, Loader=YAML_LOADER):
            if isinstance(document, dict) and document.get("kind") == "CustomResourceDefinition":
                yield document
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise RegenerateError(f"{where}:{line} is not valid YAML ({getattr(error, 'problem', error)})") from None


def read_inputs(crds: Path | None, urls: list[str]) -> Iterator[tuple[str, dict[str, str], dict[str, Any]]]:
    """(source name, source record, CRD) for every CRD of the inputs."""
    if crds is not None:
        if not crds.is_dir():
            raise RegenerateError(f"{crds}: not a directory of CustomResourceDefinition files")
        sources = read_sources(crds)
        for path in sorted(crds.glob("*.y*ml")):
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                raise RegenerateError(f"{path}: cannot be read ({error})") from None
            record = sources.get(path.name, {"upstream": f"{path.name} (no SOURCES.md entry)"})
            for document in _documents(text, str(path)):
                yield path.name, record, document
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (URLs given by the user)
                text = response.read().decode("utf-8")
        except (OSError, ValueError, UnicodeDecodeError) as error:
            raise RegenerateError(f"{url}: cannot be downloaded ({error})") from None
        for document in _documents(text, url):
            yield url, {"upstream": url, "url": url}, document


def generate(crds: Path | None, urls: list[str]) -> dict[str, Any]:
    """The vendored data: kinds, distinct schemas and sources."""
    kinds: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    sources: dict[str, dict[str, str]] = {}
    for name, record, crd in read_inputs(crds, urls):
        spec: dict[str, Any] = crd["spec"] if isinstance(crd.get("spec"), dict) else {}
        group, names = spec.get("group"), spec.get("names")
        if not isinstance(group, str) or not isinstance(names, dict) or not isinstance(names.get("kind"), str):
            raise RegenerateError(f"{name}: a CustomResourceDefinition without spec.group or spec.names.kind")
        if not VENDORED_GROUPS.match(group):
            continue
        versions = {}
        for version in spec.get("versions") or []:
            if not isinstance(version, dict) or not version.get("served", True):
                continue
            schema = slim(((version.get("schema") or {}).get("openAPIV3Schema")) or {})
            digest = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()[:16]
            schemas[digest] = schema
            versions[str(version.get("name"))] = digest
        kinds[f"{group}/{names['kind']}"] = {"scope": spec.get("scope", "Namespaced"), "plural": names.get("plural"),
                                             "source": name, "versions": versions}
        sources[name] = record
    if not kinds:
        raise RegenerateError("no CustomResourceDefinition of " + VENDORED_GROUPS.pattern + " in the inputs")
    return {"generated_by": "python -m progressive_delivery.check.validate.regenerate",
            "sources": dict(sorted(sources.items())), "kinds": dict(sorted(kinds.items())),
            "schemas": dict(sorted(schemas.items()))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crds", type=Path, metavar="DIR", help="a directory of CRD YAML files (with SOURCES.md)")
    parser.add_argument("--url", action="append", default=[], help="a release URL serving CRD YAML (repeatable)")
    parser.add_argument("--output", type=Path, default=VENDORED_FILE, help=f"default: {VENDORED_FILE}")
    args = parser.parse_args(argv)
    if args.crds is None and not args.url:
        parser.error("give --crds DIR or --url URL")
    try:
        data = generate(args.crds, args.url)
        args.output.write_text(json.dumps(data, sort_keys=False, separators=(",", ":")) + "\n", encoding="utf-8")
    except RegenerateError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: {args.output}: cannot be written ({error})", file=sys.stderr)
        return 2
    print(f"{args.output}: {len(data['kinds'])} kinds, {len(data['schemas'])} schemas, "
          f"{len(data['sources'])} sources")
    return 0


if __name__ == "__main__":
    sys.exit(main())
