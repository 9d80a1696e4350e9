"""check_platform: build every stack's view of the tree and run every check on it."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from . import checks_canary, checks_flux, checks_images, checks_mesh, checks_workloads
from .access import YAML_LOADER, mapping, mappings, text
from .budget import budget_lines
from .build import Builder, BuildRequest, BuiltDocument, flux_options, strip_origin
from .envsubst import SubstitutionError, invalid_names, substitute
from .guard import guarded
from .model import Findings, InputError, KubeObject, Report
from .network import Services
from .provided import PROGRAM, provided_objects
from .schemas import Validator, load_crds
from .tree import load_tree, normalise
from .view import StackView

CRDS_ENV = "PD_CRDS_DIR"
DISABLED = "disabled"
SUBSTITUTE_KEY = "kustomize.toolkit.fluxcd.io/substitute"


def default_crds_dir(project_root: Path) -> tuple[Path | None, str | None]:
    """CRD directory from PD_CRDS_DIR or <project>/../shared/crds; a warning when there is none."""
    env = os.environ.get(CRDS_ENV)
    candidate = Path(env) if env else project_root.parent / "shared" / "crds"
    if candidate.is_dir():
        return candidate, None
    return None, (f"no CRD directory ({CRDS_ENV} or {candidate} does not exist): custom resources are not "
                  "validated against their schemas; pass --crds DIR to validate them")


@dataclass
class _Pending:
    """A Flux Kustomization whose path still has to be built."""

    kustomization: KubeObject
    request: BuildRequest
    variables: dict[str, str] | None
    quiet: bool = False        # postBuild is malformed (reported once): no per-object substitution findings


@dataclass
class _Stack:
    view: StackView
    out: Findings
    pending: list[_Pending] = field(default_factory=list)
    done: set[tuple[str, str]] = field(default_factory=set)
    built_paths: list[str] = field(default_factory=list)


def _load_settings(stack: str, project_root: Path):
    from ..config import SettingsError, load_stack

    try:
        return load_stack(stack, project_root)
    except SettingsError as error:
        raise InputError(str(error)) from None


def check_platform(platform_dir: Path, stacks: Sequence[str] | None = None, crds_dir: Path | None = None,
                   project_root: Path | None = None) -> Report:
    """Check the platform tree for the given stacks (default: every Pulumi.<stack>.yaml).

    Raises InputError when the tree or a stack cannot be read.
    """
    from ..config import GIT_SYNC_INTERVAL_SECONDS, PROJECT_ROOT, available_stacks

    project_root = project_root or PROJECT_ROOT
    platform_dir = Path(platform_dir)
    warnings: list[str] = []
    if crds_dir is not None:
        if not Path(crds_dir).is_dir():
            raise InputError(f"{crds_dir}: no such CRD directory; pass --crds with a directory of "
                             "CustomResourceDefinition YAML files")
    else:
        crds_dir, warning = default_crds_dir(project_root)
        if warning:
            warnings.append(warning)
    names = list(stacks) if stacks else available_stacks(project_root)
    if not names:
        raise InputError(f"no stacks: {project_root} holds no Pulumi.<stack>.yaml; pass --stack NAME")
    tree = load_tree(platform_dir)
    validator = Validator(load_crds(Path(crds_dir) if crds_dir else None))
    builder = Builder(platform_dir, tree)
    states: list[_Stack] = []
    for stack in names:
        settings = _load_settings(stack, project_root)
        cluster_dir = f"clusters/{stack}"
        if not (platform_dir / cluster_dir).is_dir():
            raise InputError(f"{cluster_dir}: missing in {platform_dir}; each stack needs a directory of Flux "
                             f"Kustomizations there (the program applies ./{cluster_dir})")
        view = StackView(stack=stack, values=settings.flux_substitutions(), branch=settings.repository.branch,
                         tree=tree, validator=validator, app_version=settings.app_version)
        provided = provided_objects(view.values, view.branch, f"{GIT_SYNC_INTERVAL_SECONDS}s")
        for obj in provided:
            view.add(obj)
        root_kustomization = next(o for o in provided if o.kind == "Kustomization")
        root_kustomization.body["spec"]["path"] = f"./{cluster_dir}"
        state = _Stack(view, Findings(stack))
        state.pending.append(_Pending(root_kustomization, BuildRequest(
            cluster_dir, "{}", f"Kustomization flux-system/flux-system {PROGRAM}"), None))
        states.append(state)

    for _ in range(10):
        requests = [p.request for s in states for p in s.pending]
        if not requests:
            break
        builder.build_all(requests)
        for state in states:
            pending, state.pending = state.pending, []
            for item in pending:
                _apply(state, item, builder.build(item.request))
                state.built_paths.append(item.request.path)
            for kustomization in list(state.view.flux_kustomizations()):
                _schedule(state, kustomization)

    report = Report(stacks=names, warnings=warnings)
    for state in states:
        view = state.view
        for path in state.built_paths:
            view.reachable |= tree.reachable_files(path)
        _validate(state)
        out = state.out
        services = guarded(out, "Services", lambda view=view: Services(view)) or Services()
        for name, check in _checks(view, services, out):
            guarded(out, name, check)
        report.findings.extend(out.items)
        report.budgets[view.stack] = guarded(out, "the --budget figures", lambda view=view: budget_lines(view)) or []
    return report


def _schedule(state: _Stack, kustomization: KubeObject) -> None:
    """Queue the build of a Flux Kustomization's path when it comes from this tree's repository."""
    key = (kustomization.namespace, kustomization.name)
    if key in state.done or kustomization.applied_by == "program":
        return
    state.done.add(key)
    view, spec = state.view, kustomization.spec
    ref = mapping(spec, "sourceRef")
    if (ref.get("kind"), ref.get("name"), ref.get("namespace") or kustomization.namespace) != (
            "GitRepository", "flux-system", "flux-system"):
        return
    path = normalise(text(spec, "path", default="."))
    if path.startswith("..") or not (view.tree.root / path).is_dir():
        return
    post = spec.get("postBuild")
    variables: dict[str, str] | None = None
    quiet = False
    if post:
        variables = {}
        shapes = _post_build_shape(post)
        if shapes:
            # Check the objects as if the intended settings were substituted, to report the cause only.
            quiet = True
            variables.update(view.values)
            if not view.validator.crds.available:      # else the schema finding reports it already
                state.out.add(kustomization, f"postBuild is malformed ({shapes}); write postBuild: "
                                             "{substituteFrom: [{kind: ConfigMap, name: cluster-settings}]}")
        for item in mappings(post, "substituteFrom"):
            kind, name = text(item, "kind"), text(item, "name")
            source = view.get(kind, kustomization.namespace, name)
            if source is None:
                if not item.get("optional"):
                    state.out.add(kustomization, f"postBuild.substituteFrom {kind} {kustomization.namespace}/{name} "
                                                 "does not exist (the program creates ConfigMap "
                                                 "flux-system/cluster-settings); fix the name")
                continue
            variables.update(_data(source))
        variables.update({str(k): str(v).replace("\n", "") for k, v in mapping(post, "substitute").items()})
        bad = invalid_names(variables)
        if bad:
            state.out.add(kustomization, f"post-build variable names {', '.join(bad)} are invalid (letters, digits "
                                         "and '_', not starting with a digit); Flux fails the whole substitution")
            variables = {k: v for k, v in variables.items() if k not in bad}
    requested_by = f"Kustomization {kustomization.namespace}/{kustomization.name} in {kustomization.path}"
    state.pending.append(_Pending(kustomization, BuildRequest(path, flux_options(spec), requested_by), variables,
                                  quiet))


def _post_build_shape(post: object) -> str:
    """What is wrong with the shape of a postBuild field ("" when it is fine)."""
    if not isinstance(post, dict):
        return f"it is a {type(post).__name__}, not a mapping"
    problems = []
    sources = post.get("substituteFrom")
    if sources is not None and (not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources)):
        problems.append("substituteFrom must be a list of {kind, name}")
    if post.get("substitute") is not None and not isinstance(post.get("substitute"), dict):
        problems.append("substitute must be a mapping of names to values")
    return "; ".join(problems)


def _data(source: KubeObject) -> dict[str, str]:
    values = {str(k): str(v).replace("\n", "") for k, v in mapping(source.body, "data").items()}
    if source.kind == "Secret":
        decoded = {}
        for key, value in values.items():
            try:
                decoded[key] = base64.b64decode(value).decode().replace("\n", "")
            except (ValueError, UnicodeDecodeError):
                decoded[key] = value
        values = decoded
        values.update({str(k): str(v).replace("\n", "") for k, v in mapping(source.body, "stringData").items()})
    return values


def _apply(state: _Stack, item: _Pending, documents: list[BuiltDocument]) -> None:
    """Turn a build's documents into objects of the view, substituting as Flux does."""
    view, out = state.view, state.out
    owner = item.kustomization
    applied_by = f"{owner.namespace}/{owner.name}"
    for document in documents:
        body = _parse(document.text)
        if not isinstance(body, dict):
            continue
        meta = mapping(body, "metadata")
        disabled = DISABLED in (mapping(meta, "labels").get(SUBSTITUTE_KEY),
                                mapping(meta, "annotations").get(SUBSTITUTE_KEY))
        path = document.origin or view.tree.find_source(
            text(body, "kind"), text(meta, "namespace"), text(meta, "name"), [item.request.path]) or item.request.path
        body = strip_origin(body)
        if not disabled:
            body = _substitute(document.text, item.variables, KubeObject(body, path, applied_by), owner,
                               Findings(out.stack) if item.quiet else out) or body
        obj = KubeObject(strip_origin(body), path, applied_by)
        previous = view.add(obj)
        if previous is not None:
            out.add(obj, f"is also defined in {previous.path} (applied by Kustomization {previous.applied_by}); "
                         "two Flux Kustomizations would fight over it; keep one")


def _parse(text: str):
    try:
        return yaml.load(text, Loader=YAML_LOADER)
    except yaml.YAMLError:
        return None


def _substitute(text: str, variables: dict[str, str] | None, obj: KubeObject, owner: KubeObject,
                out: Findings) -> dict | None:
    """The object after Flux's post-build substitution (None when it is unchanged or broken)."""
    try:
        result = substitute(text, variables or {})
    except SubstitutionError as error:
        if variables:
            origin = (" (it may come from an images entry or a patch of a kustomization.yaml)"
                      if str(error).startswith("unclosed") else "")
            out.add(obj, f"post-build substitution fails: {error}{origin}; fix the expression or escape it as "
                         "$${...}")
        return None
    if not variables:
        if result.used:
            names = ", ".join(sorted(set(result.used)))
            out.add(obj, f"uses ${{{names}}} but Kustomization {owner.namespace}/{owner.name} has no post-build "
                         "substitution, so Flux leaves it as is; add postBuild.substituteFrom ConfigMap "
                         "cluster-settings or escape it as $${...}")
        return None
    if result.missing:
        names = ", ".join(sorted(set(result.missing)))
        known = ", ".join(sorted(variables))
        out.add(obj, f"uses ${{{names}}}, which Kustomization {owner.namespace}/{owner.name} does not define "
                     f"(it has: {known}); Flux substitutes an empty string; add the value or write "
                     "${name:=default}")
    body = _parse(result.text)
    if not isinstance(body, dict):
        out.add(obj, "is not valid YAML after post-build substitution; quote the value around the variable")
        return None
    return body


def _checks(view: StackView, services: Services, out: Findings) -> list[tuple[str, Callable[[], None]]]:
    """Every cross-object check of one stack, by name (each runs guarded, see guard.py)."""
    return [
        ("Flux Kustomizations", lambda: checks_flux.check_kustomizations(view, out)),
        ("HelmReleases", lambda: checks_flux.check_helm_releases(view, out)),
        ("Flux sources", lambda: checks_flux.check_sources(view, out)),
        ("namespaces", lambda: checks_workloads.check_namespaces(view, out)),
        ("pod templates", lambda: checks_workloads.check_pods(view, out)),
        ("HorizontalPodAutoscalers", lambda: checks_workloads.check_autoscalers(view, out)),
        ("Istio Gateways", lambda: checks_mesh.check_gateways(view, out)),
        ("sidecar injection", lambda: checks_mesh.check_injection(view, out)),
        ("VirtualServices", lambda: checks_mesh.check_virtual_services(view, services, out)),
        ("Canaries", lambda: checks_canary.check_canaries(view, services, out)),
        ("MetricTemplates", lambda: checks_canary.check_metric_templates(view, services, out)),
        ("Flagger", lambda: checks_canary.check_flagger(view, services, out)),
        ("image automation", lambda: checks_images.check_automations(view, out)),
        ("image policy markers", lambda: checks_images.check_markers(view, out)),
        ("kustomize images entries", lambda: checks_images.check_image_entries(view, out)),
        ("image policy start tags", lambda: checks_images.check_start_tags(view, out)),
    ]


def _validate(state: _Stack) -> None:
    """Schema findings; objects with one are left out of the cross-object checks (see StackView.invalid)."""
    for obj in state.view.tree_objects():
        problems = state.view.validator.validate(obj.body)
        for problem in problems:
            state.out.add(obj, problem)
        if problems:
            state.view.invalid.add(id(obj))
