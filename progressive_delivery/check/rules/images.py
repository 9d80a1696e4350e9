"""Flux image automation: repositories, policies, automations and the setter markers in the files."""

from __future__ import annotations

import re

from ..access import mapping, mappings, text
from ..load.tree import KUSTOMIZATION_FILES, Marker, is_under, normalise
from ..model import KubeObject
from ..semver_range import RangeError, parse_range
from ..view import ClusterView, containers, pod_template, selector_matches
from .registry import rule

MARKER_FIELDS = ("tag", "name", "digest")
# image-automation-controller's commit message data (fluxcd/image-automation-controller@v1.2.1:
# internal/source/source.go TemplateData); v1beta1's `.Updated` is gone.
TEMPLATE_ROOT_FIELDS = ("AutomationObject", "Changed", "Values")
_NEW_TAG = re.compile(r"""^\s*(?:-\s*)?newTag:\s*["']?(?P<tag>[^"'\s#]+)""")
_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
_ROOT_FIELD = re.compile(r"(?:^|[\s(|])(\$?)\.([A-Za-z_]\w*)")


def _source(view: ClusterView, automation: KubeObject) -> KubeObject | None:
    ref = mapping(automation.spec, "sourceRef")
    return view.get(text(ref, "kind", default="GitRepository"), text(ref, "namespace", default=automation.namespace),
                    text(ref, "name"))


def template_problems(template: str) -> list[str]:
    """Root fields of a commit message template the data does not have (outside range/with, where `.`
    is the data itself, and `$.` anywhere)."""
    problems: set[str] = set()
    blocks: list[str] = []
    for action in (a.strip() for a in _ACTION.findall(template)):
        keyword = action.split(" ", 1)[0]
        scoped = any(b in ("range", "with") for b in blocks)
        for dollar, name in _ROOT_FIELD.findall(action):
            if (dollar or not scoped) and name not in TEMPLATE_ROOT_FIELDS:
                problems.add(f".{name}")
        if keyword in ("range", "with", "if", "block", "define"):
            blocks.append(keyword)
        elif keyword == "end" and blocks:
            blocks.pop()
    return sorted(problems)


@rule("image automation")
def automations(view: ClusterView) -> None:
    for policy in view.from_tree("ImagePolicy"):
        ref = mapping(policy.spec, "imageRepositoryRef")
        namespace = text(ref, "namespace", default=policy.namespace)
        if not view.exists("ImageRepository", namespace, text(ref, "name")):
            known = ", ".join(f"{r.namespace}/{r.name}" for r in view.all_of("ImageRepository")) or "none"
            view.findings.add(policy, f"imageRepositoryRef names ImageRepository {namespace}/{text(ref, 'name')}, "
                                      f"which the cluster does not have (ImageRepositories: {known}); fix the name")
    for automation in view.from_tree("ImageUpdateAutomation"):
        source = _source(view, automation)
        ref = mapping(automation.spec, "sourceRef")
        if source is None:
            view.findings.add(automation, f"sourceRef {text(ref, 'kind', default='GitRepository')} "
                                          f"{text(ref, 'namespace', default=automation.namespace)}/{text(ref, 'name')} "
                                          "does not exist; use the GitRepository the cluster syncs from")
        git = mapping(automation.spec, "git")
        branch = (text(git, "push", "branch") or text(git, "checkout", "ref", "branch")
                  or (text(source.spec, "ref", "branch") if source else ""))
        if source is not None and branch and view.target.branch and branch != view.target.branch:
            view.findings.add(automation, f"pushes to branch '{branch}' but Flux syncs '{view.target.branch}'; "
                                          "updates would never be deployed; push to the synced branch")
        update_path = text(automation.spec, "update", "path", default=".")
        if not (view.tree.root / normalise(update_path)).is_dir():
            view.findings.add(automation, f"update.path '{update_path}' does not exist in the tree (it is relative "
                                          "to the repository root); fix it")
        for field in template_problems(text(git, "commit", "messageTemplate")):
            view.findings.add(automation, f"git.commit.messageTemplate uses {field}, which image.toolkit.fluxcd.io/v1 "
                                          f"does not offer (it has .{', .'.join(TEMPLATE_ROOT_FIELDS)})")


def _appliers(view: ClusterView, policy: KubeObject, marker: Marker) -> list[KubeObject]:
    root = view.target.sync_object("GitRepository")
    found = []
    for automation in view.valid("ImageUpdateAutomation"):
        source = _source(view, automation)
        if (automation.namespace == policy.namespace
                and selector_matches(mapping(automation.spec, "policySelector"), policy.labels)
                and is_under(marker.path, text(automation.spec, "update", "path", default="."))
                and source is not None and (source.namespace, source.name) == (root.namespace, root.name)):
            found.append(automation)
    return found


@rule("image policy markers")
def markers(view: ClusterView) -> None:
    for marker in (m for m in view.tree.markers if m.path in view.reachable):
        parts = marker.parts
        where = {"path": marker.path, "kind": "ImagePolicy"}
        if not marker.ref or len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] not in MARKER_FIELDS):
            view.findings.add(None, f"line {marker.line}: malformed marker; write "
                                    '{"$imagepolicy": "<namespace>:<policy>[:tag|name|digest]"}',
                              name=marker.ref or "?", **where)
            continue
        policy = view.get("ImagePolicy", parts[0], parts[1])
        if policy is None:
            known = ", ".join(f"{p.namespace}:{p.name}" for p in view.all_of("ImagePolicy")) or "none"
            view.findings.add(None, f"line {marker.line}: marker names ImagePolicy {parts[0]}/{parts[1]}, which the "
                                    f"cluster does not have (policies: {known}); fix the marker",
                              namespace=parts[0], name=parts[1], **where)
            continue
        _marker_image(view, marker, policy)
        if not _appliers(view, policy, marker):
            automations_ = ", ".join(f"{a.namespace}/{a.name} (update.path {text(a.spec, 'update', 'path')})"
                                     for a in view.all_of("ImageUpdateAutomation")) or "none"
            view.findings.add(None, f"line {marker.line}: no ImageUpdateAutomation applies this marker: one must live "
                                    f"in {parts[0]}, select the policy's labels, sync from this repository and have "
                                    f"the file under update.path (automations: {automations_})",
                              namespace=parts[0], name=parts[1], **where)


def _marker_image(view: ClusterView, marker: Marker, policy: KubeObject) -> None:
    """A marker on a kustomize `images` entry: the entry deploys the repository the policy follows."""
    directory = marker.path.rsplit("/", 1)[0] if "/" in marker.path else "."
    found = view.tree.kustomization(directory)
    ref = mapping(policy.spec, "imageRepositoryRef")
    repository = view.get("ImageRepository", text(ref, "namespace", default=policy.namespace), text(ref, "name"))
    if found is None or found[0] != marker.path or repository is None:
        return
    followed = text(repository.spec, "image")
    for entry in mappings(found[1], "images"):
        image = _expanded(text(entry, "newName") or text(entry, "name"), view.target.values)
        if "${" not in image and image != followed:
            view.findings.add(None, f"line {marker.line}: images entry '{text(entry, 'name')}' deploys {image} but the "
                                    f"marker's policy follows {followed} ({repository.describe()}); make them the "
                                    "same repository", path=marker.path, kind="ImagePolicy",
                              namespace=policy.namespace, name=policy.name)


def _deployed_images(view: ClusterView) -> list[str]:
    return [text(c, "image") for w in view.from_tree() for c in containers(pod_template(w) or {})]


@rule("kustomize images entries")
def image_entries(view: ClusterView) -> None:
    """Every kustomize `images` entry changes some container image, else its newTag never applies."""
    images = _deployed_images(view)
    values = view.target.values
    for path in sorted(view.reachable):
        if path.rsplit("/", 1)[-1] not in KUSTOMIZATION_FILES:
            continue
        content = next((d for d in view.tree.documents(path) if isinstance(d, dict)), {})
        for entry in mappings(content, "images"):
            name = text(entry, "name")
            if not name or "${" in name or any(i == name or i.startswith((f"{name}:", f"{name}@")) for i in images):
                continue
            replaced = text(entry, "newName")
            if replaced and any(i.startswith(_expanded(replaced, values)) for i in images):
                continue
            view.findings.add(None, f"images entry '{name}' matches no container image, so its newName/newTag never "
                                    "apply; set name to the image the workload uses", path=path, kind="images",
                              name=name)


def _expanded(value: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), value)


def _start_tags(view: ClusterView, policy: KubeObject) -> list[tuple[str, str, str]]:
    """(tag, where it is written, file) of the tags a cluster starts with for a policy."""
    tags = []
    if view.target.app_version:
        tags.append((view.target.app_version, f"appVersion in {view.target.settings_file} (the first image the "
                                              "program pushes)", policy.path))
    for marker in view.tree.markers:
        if marker.path in view.reachable and marker.parts[:2] == [policy.namespace, policy.name] and \
                marker.parts[2:] in ([], ["tag"]):
            match = _NEW_TAG.match(view.tree.line(marker.path, marker.line))
            if match:
                tags.append((match["tag"], f"the newTag on line {marker.line} of {marker.path}", marker.path))
    return tags


def tag_problem(policy: KubeObject, tag: str) -> str | None:
    """Why the policy never selects `tag` (None when it may). Flux compiles filterTags.pattern with Go's
    RE2; Python's `re` with ASCII classes reads such patterns (anchors, classes, groups) the same way."""
    filters = mapping(policy.spec, "filterTags")
    pattern, extract, value = text(filters, "pattern"), text(filters, "extract"), tag
    if pattern:
        try:
            match = re.search(pattern, tag, re.ASCII)
        except re.error as error:
            return f"filterTags.pattern '{pattern}' is not a valid regular expression ({error}); fix it"
        if match is None:
            return f"filterTags.pattern '{pattern}' rejects it; widen the pattern"
        if extract:
            try:
                value = match.expand(re.sub(r"\$\{?(\w+)\}?", lambda m: "\\g<" + m.group(1) + ">", extract))
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
            hint = ("a pre-release tag needs a range with a pre-release such as '>=0.0.0-0'" if "-" in value
                    else "widen the range")
            return f"policy.semver.range '{text(semver, 'range')}' excludes {shown}; {hint}"
    return None


@rule("image policy start tags")
def start_tags(view: ClusterView) -> None:
    """The cluster's ImagePolicies accept the tag it starts with, else Flux never deploys the first image."""
    for policy in view.from_tree("ImagePolicy"):
        for tag, where, path in _start_tags(view, policy):
            problem = tag_problem(policy, tag)
            if problem:
                view.findings.add(policy, f"never selects tag '{tag}' ({where}): {problem}, or change the tag",
                                  path=path)
