"""Flux's post-build substitution of one built object, with findings where Flux would fail.

As fluxcd/pkg@kustomize/v1.35.4:kustomize/kustomize_varsub.go does it: nothing happens without
spec.postBuild; variables come from the substituteFrom ConfigMaps and Secrets (data, newlines
removed; a missing one fails the Kustomization unless optional), then spec.postBuild.substitute
overrides them; a variable name that is not `^[_[:alpha:]][_[:alpha:][:digit:]]*$` fails the
whole substitution; objects labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled`
are left alone; with no variables at all nothing is substituted unless substituteStrategy is Always.
The YAML of each object is substituted (envsubst.py), then read back. Substitution is strict: a
variable without a value or default fails the whole Kustomization (kustomize-controller@v1.9.4:
internal/features/features.go:82-84 turns StrictPostBuildSubstitutions on by default, main.go:278
reads it, kustomization_controller.go:819 passes it; fluxcd/pkg@kustomize/v1.35.4:
kustomize/kustomize_varsub.go:199-205 then reports the variable as unset).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..access import YAML_LOADER, mapping, mappings, string_map, text
from ..model import Findings, KubeObject
from .envsubst import SubstitutionError, parse, substitute

SUBSTITUTE_KEY = "kustomize.toolkit.fluxcd.io/substitute"
VARIABLE_NAME = re.compile(r"^[_A-Za-z][_A-Za-z0-9]*$")


@dataclass
class Variables:
    """What a Kustomization substitutes: None when it has no postBuild (Flux substitutes nothing)."""

    values: dict[str, str] | None
    always: bool = False
    missing_sources: list[str] = field(default_factory=list)   # non-optional substituteFrom not found


def object_data(source: KubeObject) -> dict[str, str]:
    """The data of a ConfigMap or Secret as the cluster holds it (Secret data decoded; stringData counts,
    as the API server turns it into data)."""
    data = string_map(source.body, "data")
    if source.kind == "Secret":
        for key, value in data.items():
            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                data[key] = base64.b64decode("".join(value.split()), validate=True).decode()
        data.update(string_map(source.body, "stringData"))
    return data


def variables(kustomization: KubeObject, lookup: Any) -> Variables:
    """The variables of a Kustomization; `lookup(kind, namespace, name)` finds ConfigMaps and Secrets."""
    post = kustomization.spec.get("postBuild")
    if not isinstance(post, dict):
        return Variables(None)
    values: dict[str, str] = {}
    missing = []
    for ref in mappings(post, "substituteFrom"):
        kind, name = text(ref, "kind"), text(ref, "name")
        source = lookup(kind, kustomization.namespace, name)
        if source is None:
            if ref.get("optional") is not True:
                missing.append(f"{kind} {kustomization.namespace}/{name}")
            continue
        values.update({k: v.replace("\n", "") for k, v in object_data(source).items()})
    values.update({str(k): str(v).replace("\n", "") for k, v in mapping(post, "substitute").items()})
    return Variables(values, text(post, "substituteStrategy") == "Always", missing)


def disabled(body: dict[str, Any]) -> bool:
    meta = mapping(body, "metadata")
    return "disabled" in (mapping(meta, "labels").get(SUBSTITUTE_KEY), mapping(meta, "annotations").get(SUBSTITUTE_KEY))


def substitute_object(document_text: str, body: dict[str, Any], variables: Variables, obj: KubeObject,
                      owner: KubeObject, out: Findings, known: set[str]) -> dict[str, Any] | None:
    """The object after substitution (as built where Flux leaves it alone); None, with a finding, where
    the substitution fails the Kustomization.

    `known` names the variables the cluster normally provides: using one where the Kustomization
    substitutes nothing is reported, since Flux then leaves it in place.
    """
    where = f"Kustomization {owner.namespace}/{owner.name}"
    if variables.values is None or disabled(body):
        if variables.values is None and known:
            used = sorted(set(re.findall(r"(?<!\$)\$\{([_A-Za-z][_A-Za-z0-9]*)", document_text)) & known)
            if used:
                out.add(obj, f"uses ${{{', '.join(used)}}} but {where} has no postBuild, so Flux leaves it as "
                             "written; add postBuild.substituteFrom or escape it as $${...}")
        return body
    if not variables.values and not variables.always:
        return body
    try:
        result = substitute(document_text, variables.values)
    except SubstitutionError as error:
        out.add(obj, f"post-build substitution fails ({error}) in {_first_expression(document_text)}; Flux fails "
                     f"{where}; fix the expression or escape it as $${{...}}")
        return None
    if result.missing:
        names = ", ".join(sorted(set(result.missing)))
        out.add(obj, f"uses ${{{names}}}, which {where} does not define (it has: "
                     f"{', '.join(sorted(variables.values)) or 'nothing'}); Flux substitutes strictly, so {where} "
                     "fails and applies nothing; define the variable or give it a default: ${name:=default}")
        return None
    try:
        substituted = yaml.load(result.text, Loader=YAML_LOADER)
    except yaml.YAMLError as error:
        out.add(obj, f"is not valid YAML after post-build substitution ({getattr(error, 'problem', error)}); Flux "
                     f"fails {where}; quote the value around the variable")
        return None
    if not isinstance(substituted, dict):
        out.add(obj, f"is not an object after post-build substitution; Flux fails {where}; quote the value around "
                     "the variable")
        return None
    return substituted


def invalid_names(values: dict[str, str]) -> list[str]:
    """Variable names Flux rejects (it then fails the whole substitution)."""
    return sorted(name for name in values if not VARIABLE_NAME.match(name))


def _first_expression(document_text: str) -> str:
    """The line that does not parse on its own (else the first holding `${`), as written, for the message."""
    lines = [line.strip() for line in document_text.splitlines() if "${" in line]
    failing = next((line for line in lines if not _parses(line)), lines[0] if lines else "")
    return f"'{failing if len(failing) <= 80 else failing[:77] + '...'}'"


def _parses(line: str) -> bool:
    try:
        parse(line)
    except SubstitutionError:
        return False
    return True
