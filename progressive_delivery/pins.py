"""Every upstream version the project pins, each with where its existence was seen.

One record: the Flux release (and the sha256 of its install manifest), the
k3s image, k3d, Istio, every Helm chart, the echo-version base image, the
GitHub Actions of the workflows, the Pulumi CLI and kubectl. A pin names the
exact version the project uses; tools found on the user's machine also carry
a minimum and the releases to refuse. Other modules read the record through
`pin()` and the helpers below; the tests hold the tree, the stacks, the
workflows and the Dockerfile to it.

Evidence is written as `owner/repo@ref:path` (a file read at that tag,
branch or commit), a pull request or issue, or a release page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import semver


@dataclass(frozen=True)
class Refusal:
    """A release that must not be used, and why."""

    version: str
    reason: str


@dataclass(frozen=True)
class Pin:
    """One pinned version and the evidence that it exists."""

    name: str
    version: str
    evidence: tuple[str, ...]
    note: str = ""
    # Oldest version accepted on the user's machine (tools the program runs).
    minimum: str = ""
    why_minimum: str = ""
    refused: tuple[Refusal, ...] = ()
    # sha256 of the pinned artifact (manifest, image index) or the commit an action tag named.
    digest: str = ""
    # Where the artifact is fetched from: chart repository, OCI repository of the chart, image.
    source: str = ""
    oci: str = ""
    # How messages name the tool, when not by `name`.
    label: str = ""

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Download:
    """A file fetched by URL and the sha256 it must have."""

    url: str
    sha256: str


class UnknownPin(KeyError):
    """Raised for a name the record does not hold."""

    def __str__(self) -> str:
        return str(self.args[0])


_FLUX = "v2.9.5"
_FLAGGER = "1.44.0"
_ISTIO = "1.31.1"
_ISTIO_BLOG = "istio/istio.io@b2b22b52:content/en/blog/2026/retirement-of-gcp/index.md"


def _flux_controller(name: str, version: str) -> Pin:
    return Pin(
        f"flux:{name}", version,
        (f"controlplaneio-fluxcd/distribution@90e62d89:images/{_FLUX}/enterprise-alpine.yaml",),
        note=f"controller shipped by Flux {_FLUX}")


def _chart(name: str, version: str, evidence: tuple[str, ...], source: str, oci: str = "",
           note: str = "") -> Pin:
    return Pin(f"chart:{name}", version, evidence, note=note, source=source, oci=oci)


def _action(repo: str, major: str, commit: str, evidence: str) -> Pin:
    return Pin(f"action:{repo}", major, (evidence,), digest=commit,
               note=f"major tag; it named commit {commit[:12]} when read")


_ISTIO_CHART_EVIDENCE = (
    f"istio/istio.io@08fa3e14:content/en/news/releases/1.31.x/announcing-{_ISTIO}/index.md",
    "istio/istio@1.31.0-rc.0:manifests/charts/README.md (chart versions are set at release)",
    _ISTIO_BLOG,
)
_ISTIO_NOTE = ("chart version = Istio version; ../shared/charts has 1.31.0+a8d70121 (packaged from a 1.31.0 "
               "commit), so the offline render is of 1.31.0, not of 1.31.1's patch fixes")

_RECORD: tuple[Pin, ...] = (
    Pin("flux", _FLUX, (
        "https://github.com/fluxcd/flux2/releases/v2.9.5 (fluxcd/terraform-provider-flux#836, fluxcdbot, 2026-08-31)",
        "fluxcd/flux2@v2.9.4:.goreleaser.yml (install.yaml is a release asset listed in the checksums file)",
        "https://github.com/fluxcd/flux2/releases/download/v2.9.5/flux_2.9.5_checksums.txt (digest of install.yaml "
        "as quoted identically by several independent public projects; the file itself was not read)",
    ), note=("newest v2.9.x whose install.yaml sha256 is corroborated; v2.9.6 (2026-10-01) exists but its "
             "digest was seen in one place only; Flux 2.9 supports Kubernetes 1.31-1.36 "
             "(controlplaneio-fluxcd/distribution@17c5a0cf:releases/release-v2.9.md)"),
        digest="cc3dcd743af16215838b6937e1fce83745bf24c0dcc6c59737c59df15429caaf",
        source=f"https://github.com/fluxcd/flux2/releases/download/{_FLUX}/install.yaml"),
    _flux_controller("source-controller", "v1.9.5"),
    _flux_controller("kustomize-controller", "v1.9.5"),
    _flux_controller("helm-controller", "v1.6.4"),
    _flux_controller("notification-controller", "v1.9.4"),
    _flux_controller("image-reflector-controller", "v1.2.5"),
    _flux_controller("image-automation-controller", "v1.2.5"),
    _flux_controller("source-watcher", "v2.2.4"),
    Pin("k3s", "v1.36.4-k3s1", (
        "k3s-io/k3s#14545 ([release-1.36] Update to v1.36.4-k3s1)",
        "k3s-io/k3s#14553 ([main] Update stable to v1.36.4+k3s1, 2026-08-27)",
        "istio/istio.io@b65812cb:content/en/news/releases/1.31.x/announcing-1.31/_index.md (Kubernetes 1.32 to 1.36)",
    ), note=("Kubernetes 1.36, the k3s stable channel; git tag v1.36.4+k3s1, image tag v1.36.4-k3s1. "
             "Kubernetes 1.35+ kubelets refuse cgroup v1 hosts by default (kubernetes/kubernetes#134298)"),
        source="rancher/k3s"),
    Pin("k3d", "v5.9.0", (
        "k3d-io/k3d@v5.9.0 (15dd1e2d, 2026-06-02)",
        "k3d-io/k3d#1478, fixed by k3d-io/k3d#1479 (60695db8), first in k3d-io/k3d@v5.7.3",
        "k3d-io/k3d#1642, fixed by k3d-io/k3d#1646 (b481dca2), in v5.9.0 and not in v5.9.0-rc.0",
    ), minimum="v5.7.3", refused=(
        Refusal("v5.9.0-rc.0", "a pre-release superseded by v5.9.0, which fixes its registry handling "
                               "(k3d issue #1642)"),
    ), why_minimum="older releases cannot start k3s v1.30.3 and newer on cgroup v2 hosts (k3d issue #1478)"),
    Pin("istio", _ISTIO, (_ISTIO_CHART_EVIDENCE[0], _ISTIO_BLOG),
        note="supports Kubernetes 1.32-1.36; 1.31 charts are published only at blob.istio.io and ghcr.io"),
    _chart("base", _ISTIO, _ISTIO_CHART_EVIDENCE, "https://blob.istio.io/istio-release/charts",
           "oci://ghcr.io/istio/release/charts", _ISTIO_NOTE),
    _chart("istiod", _ISTIO, _ISTIO_CHART_EVIDENCE, "https://blob.istio.io/istio-release/charts",
           "oci://ghcr.io/istio/release/charts", _ISTIO_NOTE),
    _chart("gateway", _ISTIO, _ISTIO_CHART_EVIDENCE, "https://blob.istio.io/istio-release/charts",
           "oci://ghcr.io/istio/release/charts", _ISTIO_NOTE),
    Pin("flagger", f"v{_FLAGGER}", (f"fluxcd/flagger@v{_FLAGGER} (15bd6ad5, 2026-07-21)",),
        note="tag of raw files (dashboards, CRDs) read from the flagger repository"),
    _chart("flagger", _FLAGGER, (
        f"fluxcd/flagger@v{_FLAGGER}:charts/flagger/Chart.yaml",
        "fluxcd/flagger@8aa22374:index.yaml (gh-pages, digest bd3279b7)",
        f"fluxcd/flagger@v{_FLAGGER}:.github/workflows/release.yml (Publish signed Helm chart to GHCR)",
    ), "https://flagger.app", "oci://ghcr.io/fluxcd/charts",
        "the offline archive is repackaged from the same commit, so its sha256 differs from the index"),
    _chart("loadtester", "0.38.0", (
        f"fluxcd/flagger@v{_FLAGGER}:charts/loadtester/Chart.yaml",
        "fluxcd/flagger@8aa22374:index.yaml (gh-pages, digest 27d10319)",
    ), "https://flagger.app",
        note="not published as an OCI artifact (the release workflow pushes only charts/flagger to GHCR)"),
    _chart("grafana", "12.11.1", (
        "grafana-community/helm-charts@grafana-12.11.1:charts/grafana/Chart.yaml (app 13.2.0)",
        "grafana-community/helm-charts@9ab78dc8:index.yaml (gh-pages, digest 5dddbb4e)",
        "grafana-community/helm-charts@grafana-12.11.1:.github/workflows/release.yaml (Push charts to GHCR)",
    ), "https://grafana-community.github.io/helm-charts", "oci://ghcr.io/grafana-community/helm-charts"),
    _chart("prometheus", "29.27.0", (
        "prometheus-community/helm-charts@prometheus-29.27.0:charts/prometheus/Chart.yaml (app v3.14.0)",
        "prometheus-community/helm-charts@prometheus-29.27.0:.github/workflows/release.yaml (Push charts to GHCR)",
    ), "https://prometheus-community.github.io/helm-charts", "oci://ghcr.io/prometheus-community/charts",
        "the HTTP index is tens of megabytes; the OCI repository serves one chart"),
    Pin("image:python", "3.11.16-slim-bookworm", (
        "docker-library/repo-info@422f3cfe488dc9ae394c5058b27db617f72c91db:repos/python/remote/"
        "3.11.16-slim-bookworm.md (PYTHON_VERSION=3.11.16, built 2026-09-01)",
        "docker-library/official-images@37079fb3:library/python (3.11.16 tags; 3.11.17 not published)",
    ), note="base of echo-version; official images are rebuilt, the digest is the index of 2026-09-01",
        digest="sha256:c425d915a89a6dcd3183b1797ad9bd8878caff5a417f6371c8df93c8ea8b727f",
        source="docker.io/library/python"),
    _action("actions/checkout", "v7", "3d3c42e5aac5ba805825da76410c181273ba90b1", "actions/checkout@v7 (v7.0.1)"),
    _action("actions/setup-python", "v7", "5fda3b95a4ea91299a34e894583c3862153e4b97",
            "actions/setup-python@v7 (v7.0.0)"),
    _action("actions/upload-artifact", "v7", "bbbca2ddaa5d8feaa63e36b76fdaad77386f024f",
            "actions/upload-artifact@v7 (v7.0.0)"),
    _action("pulumi/actions", "v7", "8e5e406f4007fca908480587cb9893c07090f58d",
            "pulumi/actions@v7:action.yml (v7.0.0; input pulumi-version)"),
    _action("docker/setup-buildx-action", "v4", "37fe631027851001ddb9b187196cc803df7f5f0e",
            "docker/setup-buildx-action@v4 (v4.3.0)"),
    _action("docker/login-action", "v4", "4907a6ddec9925e35a0a9e82d7399ccc52663121",
            "docker/login-action@v4 (v4.1.0)"),
    _action("docker/build-push-action", "v7", "53b7df96c91f9c12dcc8a07bcb9ccacbed38856a",
            "docker/build-push-action@v7.3.0"),
    Pin("pulumi-cli", "3.272.0", (
        "pulumi/pulumi#23818 (fixes pulumi/pulumi#23817), merged as 5cd93859e8 on 2026-08-21",
        "pulumi/pulumi@5cd93859e8:CHANGELOG.md (last release 3.259.0, 2026-08-20) and sdk/.version (3.260.0)",
        "https://pypi.org/project/pulumi/3.272.0/ (CLI and SDK share version numbers)",
    ), minimum="3.260.0", why_minimum=(
        "older engines call Delete, one by one, on every object deleted_with a cluster being replaced "
        "instead of letting the cluster take them along"),
        label="Pulumi CLI",
        note="3.272.0 is the version CI installs; the SDK can refuse an older CLI with "
             "pulumi.runtime.require_pulumi_version(pulumi_version_range())"),
    Pin("kubectl", "", (
        "kubernetes/kubectl#1386 (kubectl 1.26 bundles kustomize v4.5.7; kustomize v5 from 1.27, "
        "kubernetes/kubernetes#116598)",
    ), minimum="1.27.0", why_minimum="kubectl kustomize needs kustomize v5",
        note="against a cluster, stay within one minor of its Kubernetes version"),
)

_BY_NAME = {p.name: p for p in _RECORD}
_VERSION_TOKEN = re.compile(r"v?\d+\.\d+(?:\.\d+)?(?:-[0-9A-Za-z.-]+)?")


def all_pins() -> tuple[Pin, ...]:
    """Every pin in the record, in record order."""
    return _RECORD


def pin(name: str) -> Pin:
    """The pin called `name` (e.g. "flux", "chart:flagger", "action:actions/checkout")."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise UnknownPin(f"no pin named {name!r} in progressive_delivery/pins.py; "
                         f"known: {', '.join(sorted(_BY_NAME))}") from None


def chart(name: str) -> Pin:
    """The pin of a Helm chart."""
    return pin(f"chart:{name}")


def flux_install() -> Download:
    """The pinned Flux install manifest and its sha256."""
    flux = pin("flux")
    return Download(flux.source, flux.digest)


def k3s_image() -> str:
    """The pinned k3s node image, e.g. rancher/k3s:v1.36.4-k3s1."""
    k3s = pin("k3s")
    return f"{k3s.source}:{k3s.version}"


def base_image() -> str:
    """The echo-version base image reference (name:tag)."""
    return f"python:{pin('image:python').version}"


def pulumi_version_range() -> str:
    """The CLI range for `pulumi.runtime.require_pulumi_version` or `requiredPulumiVersion`."""
    return f">={pin('pulumi-cli').minimum}"


def parse_version(text: str) -> semver.Version:
    """A version such as "v5.9.0", "5.9.0-rc.0" or "1.27" (missing parts are zero)."""
    candidate = text.strip()
    candidate = candidate[1:] if candidate[:1] in ("v", "V") else candidate
    try:
        return semver.Version.parse(candidate, optional_minor_and_patch=True)
    except ValueError:
        raise ValueError(f"{text!r} is not a version (expected something like v1.2.3)") from None


def find_version(output: str) -> str | None:
    """The first version-looking token in a tool's output (e.g. `k3d version v5.9.0`)."""
    match = _VERSION_TOKEN.search(output)
    return match.group(0) if match else None


def version_problem(name: str, found: str) -> str | None:
    """One line saying why `found` of tool `name` cannot be used, or None when it can.

    Refused releases are matched exactly; the minimum is compared on major.minor.patch,
    so vendor suffixes (v1.30.2-eks-...) do not count against a release.
    """
    record = pin(name)
    if not record.minimum and not record.refused:
        return None
    wanted = record.version or f"{record.minimum} or newer"
    try:
        version = parse_version(found)
    except ValueError as error:
        return f"{record.title}: {error}; install {record.title} {wanted}"
    for refusal in record.refused:
        if version == parse_version(refusal.version):
            return f"{record.title} {found} is refused: {refusal.reason}; install {record.title} {wanted}"
    if record.minimum and version.finalize_version() < parse_version(record.minimum):
        why = f": {record.why_minimum}" if record.why_minimum else ""
        return (f"{record.title} {found} is older than the minimum {record.minimum}{why}; "
                f"install {record.title} {wanted}")
    return None
