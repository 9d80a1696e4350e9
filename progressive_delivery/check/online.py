"""Pins verified online: every chart version the tree pins, the Flux release and the CRD sources exist.

With network, each HelmRelease's chart version must be offered by its repository (HTTP index or OCI
tags), each stack's fluxVersion must be a Flux release with an install manifest, and each upstream
file the vendored schemas came from must still be there. A missing one is a finding naming the file
that pins it and what does exist; one the server would not show (401/403, a private repository) or
answered garbled is a note, not a finding. Offline the step is reported as skipped, in one line.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from .model import Finding
from .render.charts import ChartRef, ChartSources
from .render.repository import Network, NotFound, Unreachable, Unverified
from .render.stage import chart_ref
from .semver_range import maybe_version
from .validate.catalog import VENDORED_FILE, vendored_data
from .view import ClusterView

FLUX_INSTALL = "https://github.com/fluxcd/flux2/releases/download/{version}/install.yaml"
FLUX_RELEASES = "https://api.github.com/repos/fluxcd/flux2/releases?per_page=20"
SHOWN_VERSIONS = 6


def _newest(versions: list[str]) -> str:
    parsed = sorted((v for v in versions if maybe_version(v)), key=lambda v: _order(v), reverse=True)
    return ", ".join(parsed[:SHOWN_VERSIONS]) or "none"


def _order(version: str) -> tuple[int, int, int, bool]:
    parsed = maybe_version(version)
    assert parsed is not None
    return parsed.major, parsed.minor, parsed.patch, not parsed.pre


def verify(views: list[ClusterView], sources: ChartSources,
           flux_versions: dict[str, str]) -> tuple[list[Finding], list[str]]:
    """Findings for pins that do not exist, and `note:` lines for what could not be verified."""
    network = sources.network
    if not network.enabled:
        return [], [f"pins not verified online ({network.reason or 'offline'}); run with network before publishing"]
    findings: list[Finding] = []
    notes: list[str] = []
    try:
        _chart_pins(views, sources, findings, notes)
        known = _Verified(sources.cache.parent / "verified-urls" if sources.cache else None)
        for stack, version in sorted(flux_versions.items()):
            url = FLUX_INSTALL.format(version=version)
            if version and not known.exists(network, url, notes):
                findings.append(Finding(stack, f"Pulumi.{stack}.yaml", "setting", "", "fluxVersion",
                                        f"Flux {version} has no release install manifest (recent releases: "
                                        f"{_flux_releases(sources)}); pin a released version"))
        for name, source in sorted(vendored_data()["sources"].items()):
            url = source.get("url")
            if url and not known.exists(network, url, notes):
                vendored = f"progressive_delivery/check/validate/{VENDORED_FILE.name}"
                findings.append(Finding(views[0].target.name, vendored, "source", "", name,
                                        f"{url} no longer exists; regenerate the schemas from the pinned releases"))
    except Unreachable as offline:
        notes.append(f"pins not fully verified online ({offline}); run with network before publishing")
    return findings, notes


def _chart_pins(views: list[ClusterView], sources: ChartSources, findings: list[Finding], notes: list[str]) -> None:
    """A finding per HelmRelease whose chart version its repository does not offer."""
    seen: set[tuple[str, ChartRef]] = set()
    for view in views:
        for release in view.from_tree("HelmRelease"):
            ref = chart_ref(release, view)
            if isinstance(ref, str) or ref.tree_path or ref.problem() or (release.path, ref) in seen:
                continue                     # (an invalid constraint is the render stage's finding)
            seen.add((release.path, ref))
            if ref.pick(list(sources.cached_versions(ref))):
                continue                     # pulled from that repository before: it exists
            try:
                offered = sources.online_versions(ref)
            except NotFound as missing:
                findings.append(Finding(view.target.name, release.path, "HelmRelease", release.namespace,
                                        release.name, f"chart repository cannot be read: {missing}"))
                continue
            except Unverified as why:
                notes.append(f"HelmRelease {release.namespace}/{release.name}: chart {ref.name} {ref.constraint} "
                             f"not verified online ({why}); check that {ref.repository} offers it")
                continue
            if ref.pick(offered) is None:
                findings.append(Finding(view.target.name, release.path, "HelmRelease", release.namespace,
                                        release.name, f"chart {ref.name} {ref.constraint} does not exist in "
                                        f"{ref.repository} (newest: {_newest(offered)}); pin one that does"))


class _Verified:
    """URLs of pinned releases found to exist, remembered in the user's cache (a pin does not vanish)."""

    def __init__(self, path: Path | None):
        self.path = path
        try:
            self.urls = set(path.read_text().split()) if path and path.is_file() else set()
        except OSError:
            self.urls = set()

    def exists(self, network: Network, url: str, notes: list[str]) -> bool:
        """Whether the URL exists; True, with a note, when the server would not say."""
        if url in self.urls:
            return True
        try:
            if not network.exists(url):
                return False
        except Unverified as why:
            notes.append(f"{url} not verified online ({why})")
            return True
        self.urls.add(url)
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self.path.write_text("\n".join(sorted(self.urls)) + "\n")
        return True


def _flux_releases(sources: ChartSources) -> str:
    try:
        data, _ = sources.network.get(FLUX_RELEASES, {"Accept": "application/vnd.github+json"})
        return _newest([str(r.get("tag_name", "")).lstrip("v") for r in json.loads(data)]) or "unknown"
    except (NotFound, Unreachable, Unverified, ValueError):
        return "unknown"
