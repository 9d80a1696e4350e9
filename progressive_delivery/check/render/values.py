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

from ..access import YAML_LOADER, mapping, mappings, text
from ..build.substitute import object_data
from ..load.tree import SourceTree, normalise
from ..model import KubeObject

DEFAULT_VALUES_KEY = "values.yaml"
_FAILS = "source-controller cannot package the chart, so helm-controller fails this release"
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


def values_files(release: KubeObject, chart_files: dict[str, str], tree: SourceTree | None) -> dict[str, Any]:
    """chart.spec.valuesFiles merged in order, as source-controller packages the chart; ValuesError naming the
    file when one is missing or is not YAML.

    The paths name files of the chart (`values.yaml` being its defaults), or for a chart of this repository
    files of the repository (fluxcd/source-controller@v1.9.1: internal/helm/chart/builder_remote.go:238-269,
    builder_local.go:150-156 and 202-234, the work directory being the source artifact:
    internal/controller/helmchart_controller.go:808-811).
    """
    spec = mapping(release.spec, "chart", "spec")
    merged: dict[str, Any] = {}
    for name in (n for n in spec.get("valuesFiles") or [] if isinstance(n, str)):
        where = normalise(name) if tree is not None else name
        if tree is None and name == DEFAULT_VALUES_KEY:
            continue                                 # the chart's defaults, merged in by Helm
        data = chart_files.get(name) if tree is None else _tree_file(tree, where)
        if data is None:
            if spec.get("ignoreMissingValuesFiles") is not True:
                holder = "the chart" if tree is None else "this repository's artifact"
                raise ValuesError(f"chart.spec.valuesFiles names {name}, which {holder} does not hold: {_FAILS}; "
                                  "fix the path or set ignoreMissingValuesFiles")
            continue
        try:
            document = yaml.load(data, Loader=YAML_LOADER)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = f" line {mark.line + 1}:" if mark is not None else ""
            raise ValuesError(f"chart.spec.valuesFiles {where} is not valid YAML ({line.strip()} "
                              f"{getattr(error, 'problem', None) or error}): {_FAILS}; fix the file") from None
        merged = merge(merged, document if isinstance(document, dict) else {})
    return merged


def _tree_file(tree: SourceTree, rel: str) -> str | None:
    """A file of the artifact by its repository path (None when the artifact has none there)."""
    if rel.startswith("..") or rel not in tree.files:
        return None
    if rel in tree.texts:
        return tree.texts[rel]
    try:
        return (tree.root / rel).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
