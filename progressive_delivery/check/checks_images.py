"""Flux image automation: repositories, policies, automations and the setter markers in the files."""

from __future__ import annotations

from typing import Optional

from .envsubst import SubstitutionError, substitute
from .gotemplate import template_problems
from .model import Findings, KubeObject
from .tree import Marker, is_under, normalise
from .view import StackView, containers, pod_template, selector_matches

MARKER_FIELDS = ("tag", "name", "digest")


def _pushed_branch(view: StackView, automation: KubeObject, source: Optional[KubeObject]) -> Optional[str]:
    git = automation.spec.get("git") or {}
    push = (git.get("push") or {}).get("branch")
    checkout = ((git.get("checkout") or {}).get("ref") or {}).get("branch")
    source_branch = ((source.spec.get("ref") or {}).get("branch")) if source is not None else None
    return push or checkout or source_branch


def _source(view: StackView, automation: KubeObject) -> Optional[KubeObject]:
    ref = automation.spec.get("sourceRef") or {}
    return view.get(str(ref.get("kind") or "GitRepository"), str(ref.get("namespace") or automation.namespace),
                    str(ref.get("name", "")))


def check_automations(view: StackView, out: Findings) -> None:
    for repository in view.of_kind("ImageRepository"):
        for field in ("secretRef", "certSecretRef", "proxySecretRef"):
            ref = repository.spec.get(field)
            if isinstance(ref, dict) and ref.get("name") and view.get(
                    "Secret", repository.namespace, str(ref["name"])) is None:
                out.add(repository, f"{field} names Secret {repository.namespace}/{ref['name']}, which neither "
                                    "the tree nor the program creates (the program creates "
                                    "flux-system/echo-version-registry); fix the name")
    for policy in view.of_kind("ImagePolicy"):
        ref = policy.spec.get("imageRepositoryRef") or {}
        namespace = str(ref.get("namespace") or policy.namespace)
        if view.get("ImageRepository", namespace, str(ref.get("name", ""))) is None:
            known = ", ".join(f"{r.namespace}/{r.name}" for r in view.of_kind("ImageRepository")) or "none"
            out.add(policy, f"imageRepositoryRef names ImageRepository {namespace}/{ref.get('name')}, which is not "
                            f"in the tree (ImageRepositories: {known}); fix the name")
    for automation in view.of_kind("ImageUpdateAutomation"):
        ref = automation.spec.get("sourceRef") or {}
        source = _source(view, automation)
        if source is None:
            out.add(automation, f"sourceRef {ref.get('kind') or 'GitRepository'} "
                                f"{ref.get('namespace') or automation.namespace}/{ref.get('name')} does not exist; "
                                "use the GitRepository flux-system/flux-system the program creates")
        branch = _pushed_branch(view, automation, source)
        if source is not None and branch and branch != view.branch:
            out.add(automation, f"pushes to branch '{branch}' but Flux syncs '{view.branch}'; updates would never "
                                "be deployed; push to the synced branch")
        update_path = str((automation.spec.get("update") or {}).get("path") or ".")
        if not (view.tree.root / normalise(update_path)).is_dir():
            out.add(automation, f"update.path '{update_path}' does not exist in the tree (paths are relative to "
                                "the repository root, the platform directory); fix it")
        template = ((automation.spec.get("git") or {}).get("commit") or {}).get("messageTemplate")
        if template:
            for problem in template_problems(str(template)):
                out.add(automation, f"git.commit.messageTemplate {problem}")


def _appliers(view: StackView, policy: KubeObject, marker: Marker) -> list[KubeObject]:
    found = []
    for automation in view.of_kind("ImageUpdateAutomation"):
        if automation.namespace != policy.namespace:
            continue
        if not selector_matches(automation.spec.get("policySelector") or {}, policy.labels):
            continue
        update_path = normalise(str((automation.spec.get("update") or {}).get("path") or "."))
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
                f"{a.namespace}/{a.name} (update.path {(a.spec.get('update') or {}).get('path') or '.'})"
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
    ref = policy.spec.get("imageRepositoryRef") or {}
    repository = view.get("ImageRepository", str(ref.get("namespace") or policy.namespace), str(ref.get("name")))
    if repository is None:
        return
    for entry in found[1].get("images") or []:
        if not isinstance(entry, dict):
            continue
        image = _expand(view, str(entry.get("newName") or entry.get("name") or ""))
        if image is not None and image != repository.spec.get("image"):
            out.add(None, f"line {marker.line}: images entry '{entry.get('name')}' deploys {image} but the marker's "
                          f"policy follows {repository.spec.get('image')} (ImageRepository "
                          f"{repository.namespace}/{repository.name}); make them the same repository",
                    path=marker.path, kind="ImagePolicy", namespace=policy.namespace, name=policy.name)


def _expand(view: StackView, text: str) -> Optional[str]:
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
            images += [str(c.get("image", "")) for c in containers(template)]
    for path in sorted(view.reachable):
        if not path.rsplit("/", 1)[-1].startswith(("kustomization.", "Kustomization")):
            continue
        content = next((d for d in view.tree.files.get(path, []) if isinstance(d, dict)), {})
        for entry in content.get("images") or []:
            if not isinstance(entry, dict) or not entry.get("name"):
                continue
            name = _expand(view, str(entry.get("newName") or entry["name"]))
            if name is None:
                continue
            if not any(i == name or i.startswith(f"{name}:") or i.startswith(f"{name}@") for i in images):
                out.add(None, f"images entry '{entry['name']}' matches no container image, so its newName/newTag "
                              "never apply; set name to the image the workload uses", path=path,
                        kind="images", name=str(entry["name"]))


def run(view: StackView, out: Findings) -> None:
    check_automations(view, out)
    check_markers(view, out)
    check_image_entries(view, out)
