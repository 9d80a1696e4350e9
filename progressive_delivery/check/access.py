"""Typed reads of nested fields of parsed YAML that may have any shape.

The tree is user input: a field that should hold a mapping may hold a
string or a list. Checks read nested fields only through these helpers, so
a wrong shape reads as "absent" (the schema validation reports the shape
itself) instead of failing.

    mapping(canary.body, "spec", "analysis")   # {} unless a mapping
    sequence(analysis, "webhooks")              # [] unless a list
    mappings(analysis, "webhooks")              # the list's mapping items only
"""

from __future__ import annotations

from typing import Any

import yaml

# The fastest safe YAML loader available (libyaml when installed).
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def value(data: Any, *path: str) -> Any:
    """The value at `path` under `data`, or None when a step is missing or not a mapping."""
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def mapping(data: Any, *path: str) -> dict[str, Any]:
    """The mapping at `path`, or {} when it is missing or not a mapping."""
    found = value(data, *path)
    return found if isinstance(found, dict) else {}


def string_map(data: Any, *path: str) -> dict[str, str]:
    """The mapping at `path` with keys and values as strings (labels, selectors, data), or {}."""
    return {str(k): str(v) for k, v in mapping(data, *path).items()}


def sequence(data: Any, *path: str) -> list[Any]:
    """The list at `path`, or [] when it is missing or not a list."""
    found = value(data, *path)
    return found if isinstance(found, list) else []


def mappings(data: Any, *path: str) -> list[dict[str, Any]]:
    """The mapping items of the list at `path` (other items are skipped)."""
    return [item for item in sequence(data, *path) if isinstance(item, dict)]


def text(data: Any, *path: str, default: str = "") -> str:
    """The scalar at `path` as a string; `default` when it is missing, empty or not a scalar."""
    found = value(data, *path)
    if found is None or found == "" or isinstance(found, (dict, list)):
        return default
    return str(found)
