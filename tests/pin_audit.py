"""Finds every pinned version in a checkout and lists where it disagrees with progressive_delivery/pins.py.

Each function takes the checkout's root and returns one line per problem:
the file, what it pins, and what the record pins instead (or that the record
lacks it). Shared by the tests of the real tree and of small example trees.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

from progressive_delivery import pins

OWN_IMAGES = {"echo-version"}  # the project's own image: its tags are the app's versions, not pins
NOT_RECORDED = "is not in progressive_delivery/pins.py"
# Repositories whose tags appear in URLs, and the pin each tag must equal.
URL_REPOSITORIES = {"fluxcd/flux2": "flux", "fluxcd/flagger": "flagger", "istio/istio": "istio",
                    "k3d-io/k3d": "k3d", "k3s-io/k3s": "k3s", "pulumi/pulumi": "pulumi-cli"}
# Chart repositories whose release tags are <chart>-<version>.
CHART_RELEASE_REPOSITORIES = {"grafana-community/helm-charts", "prometheus-community/helm-charts"}
# `<TOOL>_VERSION` settings in workflows, and the pin each must equal.
VERSION_VARIABLES = {"PULUMI": "pulumi-cli", "K3D": "k3d", "KUBECTL": "kubectl", "FLUX": "flux", "K3S": "k3s",
                     "ISTIO": "istio"}
_REST = r"[^\s'\"]*"
_URL_TAGS = tuple(re.compile(p + _REST) for p in (
    r"https://github\.com/(?P<repo>[\w.-]+/[\w.-]+)/releases/download/(?P<tag>[^/\s'\"]+)/",
    r"https://github\.com/(?P<repo>[\w.-]+/[\w.-]+)/(?:blob|raw|tree)/(?P<tag>[^/\s'\"]+)/",
    r"https://raw\.githubusercontent\.com/(?P<repo>[\w.-]+/[\w.-]+)/(?:refs/tags/)?(?P<tag>[^/\s'\"]+)/",
))


def same(found: str, pinned: str) -> bool:
    """Equal versions, with or without a leading v, git (+k3s1) or image (-k3s1) style."""
    def norm(v: str) -> str:
        return v.strip().lstrip("vV").replace("+", "-")
    return norm(found) == norm(pinned)


def recorded_version(name: str) -> str | None:
    """The version the record pins for `name`, or None when the record does not name it."""
    try:
        return pins.pin(name).version
    except KeyError:
        return None


def load_all(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def strings(node: Any, skip: Callable[[Any], bool] = lambda _: False) -> Iterator[str]:
    """Every string inside `node` (dicts' values, lists' items), leaving out the nodes `skip` says."""
    if skip(node):
        return
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value, skip)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value, skip)
    elif isinstance(node, str):
        yield node


def dicts(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from dicts(value)


def yaml_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def url_problems(where: str, text: str) -> list[str]:
    """Release downloads and raw files by tag, held to the pin of their repository."""
    problems = []
    for pattern in _URL_TAGS:
        for match in pattern.finditer(text):
            repo, tag, url = match.group("repo"), match.group("tag"), match.group(0)
            if "$" in tag or "{" in tag or not re.search(r"\d+\.\d+", tag):
                continue
            if repo in CHART_RELEASE_REPOSITORIES:
                chart, _, version = tag.rpartition("-")
                name = f"chart:{chart}"
            else:
                name, version = URL_REPOSITORIES.get(repo, ""), tag
            pinned = recorded_version(name)
            if pinned is None:
                problems.append(f"{where}: {url} pins {repo} {tag}, which {NOT_RECORDED}")
            elif not same(version, pinned):
                problems.append(f"{where}: {url} is at {tag}; the record pins {name} {pinned}")
    return problems


def platform_documents(root: Path) -> list[tuple[str, Any]]:
    """Every document under platform/, inline kustomize patches included as {"_target", "_patch"}."""
    documents: list[tuple[str, Any]] = []
    for path in yaml_files(root / "platform"):
        where = path.relative_to(root).as_posix()
        for document in load_all(path):
            documents.append((where, document))
            if isinstance(document, dict) and str(document.get("apiVersion", "")).startswith("kustomize.config"):
                for patch in document.get("patches") or []:
                    if isinstance(patch, dict) and isinstance(patch.get("patch"), str):
                        documents += [(f"{where} (patch)", {"_target": patch.get("target") or {}, "_patch": inner})
                                      for inner in yaml.safe_load_all(patch["patch"])]
    return documents


def _named(documents: list[tuple[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in documents
            if isinstance(d, dict) and d.get("kind") == kind and isinstance(d.get("metadata"), dict)}


def _chart_spec(document: dict[str, Any]) -> dict[str, Any]:
    return (((document.get("spec") or {}).get("chart") or {}).get("spec")) or {}


def chart_problems(root: Path) -> list[str]:
    """HelmReleases (and overlays patching them) at the recorded chart versions, from the recorded sources."""
    documents = _unwrapped(root)
    repositories, oci_repositories = _named(documents, "HelmRepository"), _named(documents, "OCIRepository")
    chart_of: dict[str, str] = {}
    problems: list[str] = []

    def compare(where: str, chart: str, version: Any) -> None:
        try:
            record = pins.chart(chart)
        except KeyError:
            problems.append(f"{where}: chart {chart} {NOT_RECORDED}")
            return
        if not isinstance(version, str) or not same(version, record.version):
            problems.append(f"{where}: chart {chart} at {version!r}; the record pins {record.version}")

    def source(where: str, chart: str, url: str, oci: bool) -> None:
        try:
            record = pins.chart(chart)
        except KeyError:
            return
        allowed = ({record.oci, f"{record.oci}/{chart}"} if record.oci else set()) if oci else {record.source}
        if url.rstrip("/") not in allowed:
            problems.append(f"{where}: chart {chart} comes from {url}; the record's "
                            f"{'OCI' if oci else 'chart'} repository for it is {', '.join(sorted(allowed)) or 'none'}")

    releases = [(w, d) for w, d in documents if isinstance(d, dict) and d.get("kind") == "HelmRelease"]
    for where, document in releases:
        name, spec = document.get("metadata", {}).get("name", "?"), document.get("spec") or {}
        chart_spec, chart_ref = _chart_spec(document), spec.get("chartRef") or {}
        if chart_spec.get("chart"):
            chart_of[name] = chart_spec["chart"]
            compare(f"{where} HelmRelease {name}", chart_spec["chart"], chart_spec.get("version"))
            ref = chart_spec.get("sourceRef") or {}
            repository = repositories.get(ref.get("name", "")) if ref.get("kind") == "HelmRepository" else None
            if repository:
                rspec = repository.get("spec") or {}
                source(where, chart_spec["chart"], rspec.get("url", ""), rspec.get("type") == "oci")
        elif chart_ref.get("kind") == "OCIRepository":
            oci = oci_repositories.get(chart_ref.get("name", ""))
            if oci is None:
                problems.append(f"{where}: HelmRelease {name} refers to an OCIRepository not under platform/")
                continue
            url = (oci.get("spec") or {}).get("url", "")
            chart_of[name] = url.rstrip("/").rsplit("/", 1)[-1]
            compare(f"{where} OCIRepository {oci['metadata']['name']}", chart_of[name],
                    ((oci.get("spec") or {}).get("ref") or {}).get("tag"))
            source(where, chart_of[name], url, True)
    for where, document in releases:  # overlay patches written as partial HelmReleases
        chart_spec, name = _chart_spec(document), document.get("metadata", {}).get("name", "")
        if "version" in chart_spec and not chart_spec.get("chart") and name in chart_of:
            compare(f"{where} HelmRelease {name}", chart_of[name], chart_spec["version"])
    for where, document in documents:  # inline JSON 6902 patches of a version
        operations = document.get("_patch") if isinstance(document, dict) else None
        for operation in operations if isinstance(operations, list) else []:
            if isinstance(operation, dict) and str(operation.get("path", "")).endswith("/chart/spec/version"):
                target = document["_target"].get("name", "")
                compare(f"{where} {target}", chart_of.get(target, target), operation.get("value"))
    return problems


def _unwrapped(root: Path) -> list[tuple[str, Any]]:
    """platform/ documents, inline strategic-merge patches as documents of their own."""
    return [(w, d["_patch"] if isinstance(d, dict) and isinstance(d.get("_patch"), dict) else d)
            for w, d in platform_documents(root)]


def tree_problems(root: Path) -> list[str]:
    """Versioned URLs, grafana.com dashboard revisions and image overrides under platform/."""
    problems: list[str] = []
    for where, document in platform_documents(root):
        for text in strings(document):
            problems += url_problems(where, text)
        for node in dicts(document):
            if "gnetId" in node:
                name, revision = f"grafana-dashboard:{node['gnetId']}", str(node.get("revision"))
                pinned = recorded_version(name)
                if pinned is None:
                    problems.append(f"{where}: grafana.com dashboard {node['gnetId']} rev {revision} {NOT_RECORDED}")
                elif not same(revision, pinned):
                    problems.append(f"{where}: {name} revision {revision}; the record pins {pinned}")
            if isinstance(node.get("repository"), str) and isinstance(node.get("tag"), str | int | float):
                problems.append(f"{where}: image {node['repository']}:{node['tag']} {NOT_RECORDED}")
            if "newTag" in node and node.get("name") not in OWN_IMAGES:
                problems.append(f"{where}: image {node.get('name')}:{node['newTag']} {NOT_RECORDED}")
    return problems


def stack_problems(root: Path) -> list[str]:
    """Each Pulumi.<stack>.yaml names the recorded Flux release and k3s image."""
    expected = {"progressive-delivery:fluxVersion": pins.pin("flux").version,
                "progressive-delivery:k3sImage": pins.k3s_image()}
    problems = []
    for path in sorted(root.glob("Pulumi.*.yaml")):
        config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        problems += [f"{path.name}: {key} is {config.get(key)!r}; the record pins {value}"
                     for key, value in expected.items() if config.get(key) != value]
    project = root / "Pulumi.yaml"
    required = (yaml.safe_load(project.read_text()) or {}).get("requiredPulumiVersion") if project.is_file() else None
    if required is not None and required != pins.pulumi_version_range():
        problems.append(f"Pulumi.yaml: requiredPulumiVersion is {required!r}; the record gives "
                        f"{pins.pulumi_version_range()!r}")
    return problems


def workflow_problems(root: Path) -> list[str]:
    """Actions at their recorded major (or its commit), and every tool version a workflow installs."""
    problems = []
    for path in yaml_files(root / ".github" / "workflows"):
        where = path.relative_to(root).as_posix()
        for workflow in load_all(path):
            for node in dicts(workflow):
                problems += _uses_problems(where, node) + _env_problems(where, node)
            for text in strings(workflow):
                problems += url_problems(where, text)
                problems += [f"{where}: {image}; the record pins {pins.k3s_image()}"
                             for image in re.findall(r"rancher/k3s:[\w.+-]+", text) if image != pins.k3s_image()]
                if "k3d-io/k3d" in text:
                    k3d = pins.pin("k3d").version
                    problems += [f"{where}: k3d TAG={tag}; the record pins k3d {k3d}"
                                 for tag in re.findall(r"\bTAG=[\"']?(v?\d[\w.-]*)", text) if not same(tag, k3d)]
    return problems


def _uses_problems(where: str, node: dict[str, Any]) -> list[str]:
    uses = node.get("uses")
    if not isinstance(uses, str) or uses.startswith(("./", "docker://")):
        return []
    action, _, ref = uses.partition("@")
    repo = "/".join(action.split("/")[:2])
    try:
        record = pins.pin(f"action:{repo}")
    except KeyError:
        return [f"{where}: {uses} {NOT_RECORDED}"]
    problems = []
    if ref not in (record.version, record.digest):
        problems.append(f"{where}: {uses}; the record pins {repo}@{record.version} (commit {record.digest})")
    if repo == "pulumi/actions":
        cli = pins.pin("pulumi-cli").version
        version = (node.get("with") or {}).get("pulumi-version")
        if version is None or not same(str(version), cli):
            problems.append(f"{where}: {uses} installs Pulumi CLI {version!r}; set `pulumi-version: {cli}`")
    return problems


def _env_problems(where: str, node: dict[str, Any]) -> list[str]:
    env = node.get("env")
    if not isinstance(env, dict):
        return []
    problems = []
    for key, value in env.items():
        tool = str(key).removesuffix("_VERSION")
        name = VERSION_VARIABLES.get(tool) if tool != str(key) else None
        if name is None or "$" in str(value):
            continue
        record = pins.pin(name)
        if record.version and not same(str(value), record.version):
            problems.append(f"{where}: {key}={value}; the record pins {name} {record.version}")
        elif not record.version and (problem := pins.version_problem(name, str(value))):
            problems.append(f"{where}: {key}={value}: {problem}")
    return problems


def dockerfile_problems(root: Path) -> list[str]:
    """The echo-version image is built FROM the recorded base, and names no other python tag."""
    dockerfile = root / "applications" / "echo-version" / "Dockerfile"
    text = dockerfile.read_text()
    arguments = dict(re.findall(r"^\s*ARG\s+(\w+)=(\S+)", text, re.MULTILINE))
    record, where = pins.pin("image:python"), dockerfile.relative_to(root).as_posix()
    froms = re.findall(r"^\s*FROM\s+(?:--\S+\s+)*(\S+)", text, re.MULTILINE)
    problems = [] if froms else [f"{where}: no FROM"]
    for image in froms:
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: arguments.get(m.group(1), m.group(0)), image)
        name, _, digest = image.partition("@")
        if re.sub(r"^(docker\.io/)?(library/)?", "", name) != pins.base_image() or digest not in ("", record.digest):
            problems.append(f"{where}: FROM {image}; the record pins {pins.base_image()} (@{record.digest})")
    for tag in sorted(set(re.findall(r"(?<![\w/-])(?:docker\.io/library/)?python:([\w.-]+)", text))):
        if tag != record.version:
            problems.append(f"{where}: names python:{tag}; the record pins python:{record.version}")
    return problems


def requirement_problems(root: Path) -> list[str]:
    """PyPI packages pinned exactly (name==version) in every requirements file."""
    problems = []
    for path in sorted(root.rglob("requirements*.txt")):
        if {".venv", "venv"} & set(path.relative_to(root).parts):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith(("#", "-r ", "-c ", "--")) and not re.fullmatch(
                    r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[\w,-]+\])?==[\w.+!-]+(\s*;.+)?", line):
                problems.append(f"{path.relative_to(root)}:{number}: {line!r} is not an exact pin (name==version)")
    return problems
