"""The values helm-controller installs a HelmRelease's chart with.

fluxcd/pkg@chartutil/v1.27.1:chartutil/values.go ChartValuesFromReferences (helm-controller v1.6.3):
each valuesFrom reference in order reads a ConfigMap or Secret key (valuesKey, default
`values.yaml`) of the HelmRelease's namespace; without targetPath the key holds a YAML document
merged into the result; with targetPath the result is first merged with spec.values and the key's
text is set at that path the way `helm --set` does (`--set-string` for a quoted value,
`--set-literal` with `literal: true`); spec.values are merged last. Merging replaces everything but
nested maps (chartutil/merge.go MergeMaps). A missing ConfigMap, Secret or key fails the release
unless the reference is optional.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import yaml

from ..access import YAML_LOADER, mappings, text
from ..build.substitute import object_data
from ..model import KubeObject

DEFAULT_VALUES_KEY = "values.yaml"
Lookup = Callable[[str, str, str], KubeObject | None]


class ValuesError(Exception):
    """helm-controller cannot compose the values (the message says which reference and why)."""


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """MergeMaps: a copy of base with override merged in (only maps merge; anything else replaces)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _set_path(result: dict[str, Any], path: str, value: str, literal: bool) -> dict[str, Any]:
    import helm_python

    quoted = len(value) >= 1 and value[0] == value[-1] and value[0] in ("'", '"')
    try:
        if literal:
            escaped = value
            for char in ("\\", ",", "[", "]", "{", "}"):
                escaped = escaped.replace(char, "\\" + char)
            parsed = helm_python.parse_set_string_values(f"{path}={escaped}")
        elif quoted:
            parsed = helm_python.parse_set_string_values(f"{path}={value.strip(chr(39) + chr(34))}")
        else:
            parsed = helm_python.parse_set_string(f"{path}={value}")
    except helm_python.HelmError as error:
        raise ValuesError(f"targetPath '{path}' cannot be set: {error}") from None
    return merge(result, parsed)


def release_values(release: KubeObject, lookup: Lookup) -> dict[str, Any]:
    """The HelmRelease's values; ValuesError when helm-controller would fail to compose them."""
    spec_values = release.spec.get("values")
    values = copy.deepcopy(spec_values) if isinstance(spec_values, dict) else {}
    result: dict[str, Any] = {}
    for ref in mappings(release.spec, "valuesFrom"):
        kind, name = text(ref, "kind"), text(ref, "name")
        key = text(ref, "valuesKey", default=DEFAULT_VALUES_KEY)
        optional = ref.get("optional") is True
        source = lookup(kind, release.namespace, name) if kind in ("ConfigMap", "Secret") else None
        if source is None:
            if optional:
                continue
            raise ValuesError(f"valuesFrom {kind} {release.namespace}/{name} does not exist")
        data = object_data(source)
        if key not in data:
            if optional:
                continue
            raise ValuesError(f"valuesFrom {kind} {release.namespace}/{name} has no key '{key}'")
        if text(ref, "targetPath"):
            result = _set_path(merge(result, values), text(ref, "targetPath"), data[key], ref.get("literal") is True)
            continue
        try:
            document = yaml.load(data[key], Loader=YAML_LOADER) or {}
        except yaml.YAMLError as error:
            raise ValuesError(f"valuesFrom {kind} {release.namespace}/{name} key '{key}' is not YAML "
                              f"({getattr(error, 'problem', error)})") from None
        if not isinstance(document, dict):
            raise ValuesError(f"valuesFrom {kind} {release.namespace}/{name} key '{key}' is not a mapping of values")
        result = merge(result, document)
    return merge(result, values)

