"""Validate stage: every object the tree applies or renders, against the cluster's schemas.

Objects that fail are reported here once and set apart: the rules only read valid objects. A
custom resource can only be applied when a CRD for its kind is installed (by the Flux install, the
tree or a chart); where a chart could not be rendered, a kind it may install is listed as not
checked instead of reported.
"""

from __future__ import annotations

from ..view import ClusterView


def validate_cluster(view: ClusterView) -> None:
    catalog = view.catalog
    catalog.add_crds((o.body, f"HelmRelease {o.rendered_by}" if o.rendered_by else o.path)
                     for o in view.all_of("CustomResourceDefinition") if o.from_tree)
    unknown: dict[str, set[str]] = {}          # kinds without a schema while charts are missing
    unconfirmed: dict[str, set[str]] = {}      # valid kinds whose CRD no rendered object installs
    for obj in view.all_of():
        if not obj.from_tree:
            continue
        if id(obj) in view.encrypted:          # what the cluster gets is decrypted: rules do not read it either
            view.invalid.add(id(obj))
            continue
        problems = view.validator.validate(obj.body)
        custom = view.validator.is_custom(obj.api_version)
        kind = f"{obj.kind}.{obj.group}"
        if problems and custom and view.unrendered and catalog.get(obj.group, obj.kind) is None:
            unknown.setdefault(kind, set()).add(obj.describe())
            view.invalid.add(id(obj))
            continue
        if not problems and custom and (obj.group, obj.kind) not in catalog.installed:
            if view.unrendered:
                unconfirmed.setdefault(kind, set()).add(obj.describe())
                continue
            problems = [f"no CRD for {obj.kind} ({obj.group}) is installed: nothing in the tree or its charts "
                        "installs one, so the cluster rejects it; add the release that brings the CRD"]
        for problem in problems:
            view.findings.add(obj, problem)
        if problems:
            view.invalid.add(id(obj))
    for kind, objects in sorted(unknown.items()):
        view.notices.append(f"{kind} is defined by no known CRD and a chart that was not rendered may install it: "
                            f"not validated: {', '.join(sorted(objects))}")
    for kind, objects in sorted(unconfirmed.items()):
        view.notices.append(f"{kind}: schema-valid, but whether a chart that was not rendered installs its CRD "
                            f"was not checked: {', '.join(sorted(objects))}")
