"""Flux image automation: repositories, policies, automations and the setter markers in the files."""

from __future__ import annotations

import re

from .access import mapping, mappings, text
from .envsubst import SubstitutionError, substitute
from .gotemplate import template_problems
from .model import Findings, KubeObject
from .semver_range import RangeError, parse_range
from .tree import Marker, is_under, normalise
from .view import StackView, containers, pod_template, selector_matches

MARKER_FIELDS = ("tag", "name", "digest")
_NEW_TAG = re.compile(r"""^\s*(?:-\s*)?newTag:\s*["']?(?P<tag>[^"'\s#]+)""")


def _pushed_branch(view: StackView, automation: KubeObject, source: KubeObject | None) -> str | None:
    git = mapping(automation.spec, "git")
    push = text(git, "push", "branch")
    checkout = text(git, "checkout", "ref", "branch")
    source_branch = text(source.spec, "ref", "branch") if source is not None else ""
    return push or checkout or source_branch or None


def _source(view: StackView, automation: KubeObject) -> KubeObject | None:
    ref = mapping(automation.spec, "sourceRef")
    return view.get(text(ref, "kind", default="GitRepository"), text(ref, "namespace", default=automation.namespace),
                    text(ref, "name"))


def check_automations(view: StackView, out: Findings) -> None:
    for repository in view.subjects("ImageRepository"):
        for field in ("secretRef", "certSecretRef", "proxySecretRef"):
            name = text(repository.spec, field, "name")
            if name and view.get("Secret", repository.namespace, name) is None:
                out.add(repository, f"{field} names Secret {repository.namespace}/{name}, which neither "
                                    "the tree nor the program creates (the program creates "
                                    "flux-system/echo-version-registry); fix the name")
    for policy in view.subjects("ImagePolicy"):
        ref = mapping(policy.spec, "imageRepositoryRef")
        namespace = text(ref, "namespace", default=policy.namespace)
        if view.get("ImageRepository", namespace, text(ref, "name")) is None:
            known = ", ".join(f"{r.namespace}/{r.name}" for r in view.of_kind("ImageRepository")) or "none"
            out.add(policy, f"imageRepositoryRef names ImageRepository {namespace}/{ref.get('name')}, which is not "
                            f"in the tree (ImageRepositories: {known}); fix the name")
    for automation in view.subjects("ImageUpdateAutomation"):
        ref = mapping(automation.spec, "sourceRef")
        source = _source(view, automation)
        if source is None:
            out.add(automation, f"sourceRef {ref.get('kind') or 'GitRepository'} "
                                f"{ref.get('namespace') or automation.namespace}/{ref.get('name')} does not exist; "
                                "use the GitRepository flux-system/flux-system the program creates")
        branch = _pushed_branch(view, automation, source)
        if source is not None and branch and branch != view.branch:
            out.add(automation, f"pushes to branch '{branch}' but Flux syncs '{view.branch}'; updates would never "
                                "be deployed; push to the synced branch")
        update_path = text(automation.spec, "update", "path", default=".")
        if not (view.tree.root / normalise(update_path)).is_dir():
            out.add(automation, f"update.path '{update_path}' does not exist in the tree (paths are relative to "
                                "the repository root, the platform directory); fix it")
        template = text(automation.spec, "git", "commit", "messageTemplate")
        if template:
            for problem in template_problems(template):
                out.add(automation, f"git.commit.messageTemplate {problem}")


def _appliers(view: StackView, policy: KubeObject, marker: Marker) -> list[KubeObject]:
    found = []
    for automation in view.of_kind("ImageUpdateAutomation"):
        if automation.namespace != policy.namespace:
            continue
        if not selector_matches(mapping(automation.spec, "policySelector"), policy.labels):
            continue
        update_path = normalise(text(automation.spec, "update", "path", default="."))
        if not is_under(marker.path, update_path):
            continue
        source = _source(view, automation)
        if source is None or (source.namespace, source.name) != ("flux-system", "flux-system"):
            continue
        found.append(automation)
    return found


def check_markers(view: StackView, out: Findings) -> None:
    for marker in view.tree.markers:
        if marker.path not in view.reachable:
            continue
        parts = marker.parts
        if not marker.ref or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in MARKER_FIELDS):
            out.add(None, f"line {marker.line}: malformed marker; write "
                          '{"$imagepolicy": "<namespace>:<policy>[:tag|name|digest]"}',
                    path=marker.path, kind="ImagePolicy", name=marker.ref or "?")
            continue
        namespace, name = parts[0], parts[1]
        policy = view.get("ImagePolicy", namespace, name)
        if policy is None:
            known = ", ".join(f"{p.namespace}:{p.name}" for p in view.of_kind("ImagePolicy")) or "none"
            out.add(None, f"line {marker.line}: marker names ImagePolicy {namespace}/{name}, which is not in the "
                          f"tree (policies: {known}); fix the marker", path=marker.path, kind="ImagePolicy",
                    namespace=namespace, name=name)
            continue
        if not _appliers(view, policy, marker):
            automations = ", ".join(
                f"{a.namespace}/{a.name} (update.path {text(a.spec, 'update', 'path', default='.')})"
                for a in view.of_kind("ImageUpdateAutomation")) or "none"
            out.add(None, f"line {marker.line}: no ImageUpdateAutomation applies this marker: one must live in "
                          f"{namespace}, select the policy's labels, sync from GitRepository flux-system and have "
                          f"this file under update.path (automations: {automations})",
                    path=marker.path, kind="ImagePolicy", namespace=namespace, name=name)
        _check_marker_image(view, marker, policy, out)


def _check_marker_image(view: StackView, marker: Marker, policy: KubeObject, out: Findings) -> None:
    """A tag marker on a kustomize `images` entry: its image must be the policy's repository."""
    found = view.tree.kustomization(marker.path.rsplit("/", 1)[0] if "/" in marker.path else ".")
    if not found or found[0] != marker.path:
        return
    ref = mapping(policy.spec, "imageRepositoryRef")
    repository = view.get("ImageRepository", text(ref, "namespace", default=policy.namespace), text(ref, "name"))
    if repository is None:
        return
    for entry in mappings(found[1], "images"):
        image = _expand(view, text(entry, "newName") or text(entry, "name"))
        if image is not None and image != repository.spec.get("image"):
            out.add(None, f"line {marker.line}: images entry '{entry.get('name')}' deploys {image} but the marker's "
                          f"policy follows {repository.spec.get('image')} (ImageRepository "
                          f"{repository.namespace}/{repository.name}); make them the same repository",
                    path=marker.path, kind="ImagePolicy", namespace=policy.namespace, name=policy.name)


def _expand(view: StackView, text: str) -> str | None:
    try:
        return substitute(text, view.values).text
    except SubstitutionError:
        return None


def check_image_entries(view: StackView, out: Findings) -> None:
    """Every kustomize `images` entry of the stack changes at least one container image."""
    images: list[str] = []
    for workload in view.tree_objects():
        template = pod_template(workload)
        if template is not None:
            images += [text(c, "image") for c in containers(template)]
    for path in sorted(view.reachable):
        if not path.rsplit("/", 1)[-1].startswith(("kustomization.", "Kustomization")):
            continue
        content = next((d for d in view.tree.files.get(path, []) if isinstance(d, dict)), {})
        for entry in mappings(content, "images"):
            if not text(entry, "name"):
                continue
            name = _expand(view, text(entry, "newName") or text(entry, "name"))
            if name is None:
                continue
            if not any(i == name or i.startswith(f"{name}:") or i.startswith(f"{name}@") for i in images):
                out.add(None, f"images entry '{entry['name']}' matches no container image, so its newName/newTag "
                              "never apply; set name to the image the workload uses", path=path,
                        kind="images", name=text(entry, "name"))


def _start_tags(view: StackView, policy: KubeObject) -> list[tuple[str, str, str]]:
    """(tag, where it is written, path) of the tags the stack starts with for a policy: the program's
    appVersion and every `newTag` a tag marker of the policy sits on."""
    tags = []
    if view.app_version:
        tags.append((view.app_version, f"appVersion in Pulumi.{view.stack}.yaml (the first image the program "
                                       "pushes)", policy.path))
    for marker in view.tree.markers:
        parts = marker.parts
        if marker.path not in view.reachable or parts[:2] != [policy.namespace, policy.name] or parts[2:] not in (
                [], ["tag"]):
            continue
        try:
            line = (view.tree.root / marker.path).read_text(encoding="utf-8").splitlines()[marker.line - 1]
        except (OSError, UnicodeDecodeError, IndexError):
            continue
        match = _NEW_TAG.match(line)
        if match:
            tags.append((match.group("tag"), f"the newTag on line {marker.line} of {marker.path}", marker.path))
    return tags


def _tag_problem(policy: KubeObject, tag: str) -> str | None:
    """Why the policy never selects `tag` (None when it may)."""
    filters = mapping(policy.spec, "filterTags")
    pattern, extract = text(filters, "pattern"), text(filters, "extract")
    value = tag
    if pattern:
        # Flux compiles the pattern with Go's RE2; Python's `re` with ASCII classes reads the patterns
        # such filters use (anchors, classes, groups, named groups) the same way.
        try:
            match = re.search(pattern, tag, re.ASCII)
        except re.error as error:
            return f"filterTags.pattern '{pattern}' is not a valid regular expression ({error}); fix it"
        if match is None:
            return f"filterTags.pattern '{pattern}' rejects it; widen the pattern"
        if extract:
            template = re.sub(r"\$\{?(\w+)\}?", lambda m: "\\g<" + m.group(1) + ">", extract)
            try:
                value = match.expand(template)
            except (re.error, IndexError) as error:
                return f"filterTags.extract '{extract}' does not fit the pattern ({error}); fix it"
    semver = mapping(policy.spec, "policy", "semver")
    if "range" in semver:
        try:
            allowed = parse_range(text(semver, "range")).allows(value)
        except RangeError as error:
            return f"policy.semver.range: {error}"
        if not allowed:
            shown = f"'{value}' (extracted)" if value != tag else "it"
            return (f"policy.semver.range '{text(semver, 'range')}' excludes {shown}"
                    + ("; a pre-release tag needs a range with a pre-release such as '>=0.0.0-0'"
                       if "-" in value else "; widen the range"))
    return None


def check_start_tags(view: StackView, out: Findings) -> None:
    """The stack's ImagePolicies accept the tag it starts with, else Flux never deploys the first image."""
    for policy in view.subjects("ImagePolicy"):
        for tag, where, path in _start_tags(view, policy):
            problem = _tag_problem(policy, tag)
            if problem:
                out.add(policy, f"never selects tag '{tag}' ({where}): {problem}, or change the tag",
                        path=path)
