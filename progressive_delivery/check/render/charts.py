"""Where the chart of a HelmRelease comes from: an archive directory, the user's cache, or its repository.

Offline (CI, tests) charts come from a directory of `<chart>-<version>.tgz` archives (`--charts DIR`
or $PD_CHARTS_DIR). Online the pinned version is pulled from the HelmRepository (HTTP index or OCI)
or OCIRepository and kept, with its sha256 digest, under $XDG_CACHE_HOME (default ~/.cache)
/progressive-delivery/charts, where later offline runs find it. The version is the one named as
written, else the highest one the release's constraint allows (as source-controller picks it; a
constraint it cannot parse fails the release, ChartRef.problem); when none is at hand, the nearest
version available is used instead and the caller says so.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..model import InputError
from ..semver_range import RangeError, best, maybe_version, parse_range
from .repository import (
    Network,
    NotFound,
    OciRef,
    Unreachable,
    Unverified,
    index_entries,
    oci_tags,
    pull_http,
    pull_oci,
)

CHARTS_ENV = "PD_CHARTS_DIR"
_ARCHIVE = re.compile(r"^(?P<name>.+?)-(?P<version>v?\d+\.\d+\.\d+[^/]*?)\.tgz$")


@dataclass(frozen=True)
class ChartRef:
    """The chart a HelmRelease asks for."""

    name: str
    constraint: str               # a version or a Masterminds constraint ("*" for any)
    repository: str               # https://... (index) or oci://host/path of the chart itself
    oci: bool = False
    insecure: bool = False
    tree_path: str = ""           # a chart directory of the tree itself (GitRepository of this repository)
    tag: bool = False             # the constraint is a tag, matched only as written
    version_field: str = "chart.spec.version"   # where the constraint is written, for messages

    @property
    def key(self) -> str:
        return hashlib.sha256(self.repository.encode()).hexdigest()[:16]

    def pick(self, versions: list[str]) -> str | None:
        """The version source-controller picks among `versions`: the constraint as written when offered
        (fluxcd/source-controller@v1.9.1:internal/helm/repository/chart_repository.go:202-209,
        oci_chart_repository.go:246-256), else the highest the constraint allows. RangeError when the
        constraint does not parse (chart_repository.go:217-221 fails the HelmChart then)."""
        if self.constraint in versions:
            return self.constraint
        return None if self.tag else best(versions, self.constraint)

    def problem(self) -> str | None:
        """Why source-controller cannot pick a version with this constraint, or None."""
        if self.tag or self.tree_path:
            return None
        try:
            parse_range(self.constraint)
        except RangeError as error:
            return (f"{self.version_field} '{self.constraint}' is not a semver version or range ({error}), so "
                    "source-controller cannot pick the chart's version; pin a version (1.2.3) or a range "
                    "(1.2.x, >=1.2.0 <2.0.0)")
        return None


@dataclass
class Located:
    """A chart found: its archive bytes (or directory), version, and whether it is the version asked for."""

    version: str
    where: str
    exact: bool
    data: bytes = b""
    directory: Path | None = None
    archive: Path | None = None       # the file the data was read from (an archive directory or the cache)


def archive_directory(charts_dir: Path | None) -> Path | None:
    """The chart archive directory: `charts_dir` (--charts), else $PD_CHARTS_DIR; InputError when it is
    not a directory."""
    where, given = ("--charts", str(charts_dir)) if charts_dir is not None else \
        (f"${CHARTS_ENV}", os.environ.get(CHARTS_ENV, ""))
    if not given:
        return None
    if not Path(given).is_dir():
        raise InputError(f"{where} {given}: no such chart directory; pass a directory of <chart>-<version>.tgz "
                         "archives")
    return Path(given)


def nearest(versions: list[str], constraint: str) -> str | None:
    """The version closest to an exact pin (same major and minor first, lower before higher), or the
    highest version for a range."""
    parsed = [(v, p) for v in versions if (p := maybe_version(v)) is not None]
    if not parsed:
        return None
    wanted = maybe_version(constraint.strip().lstrip("=").strip())
    if wanted is None:
        return max(parsed, key=lambda item: (item[1].major, item[1].minor, item[1].patch))[0]
    return min(parsed, key=lambda item: (abs(item[1].major - wanted.major), abs(item[1].minor - wanted.minor),
                                         abs(item[1].patch - wanted.patch), item[1].compare(wanted) > 0))[0]


@dataclass
class ChartSources:
    """Finds chart archives for one check run."""

    archives: Path | None
    cache: Path | None
    network: Network
    tree_root: Path | None = None
    _local: dict[str, dict[str, Path]] | None = None
    _indexes: dict[str, dict[str, list[dict]]] = field(default_factory=dict)

    def local_versions(self, ref: ChartRef) -> dict[str, Path]:
        """version -> archive of the chart in the archive directory and the cache."""
        if self._local is None:
            self._local = {}
            for path in sorted(self.archives.glob("*.tgz")) if self.archives and self.archives.is_dir() else []:
                match = _ARCHIVE.match(path.name)
                if match:
                    self._local.setdefault(match["name"], {})[match["version"]] = path
        return {**self.cached_versions(ref), **self._local.get(ref.name, {})}

    def cached_versions(self, ref: ChartRef) -> dict[str, Path]:
        """version -> archive pulled from the chart's own repository earlier (and still matching its digest)."""
        folder = self.cache / ref.key if self.cache else None
        found = {}
        for path in sorted(folder.glob(f"{ref.name}-*.tgz")) if folder and folder.is_dir() else []:
            match = _ARCHIVE.match(path.name)
            digest = path.with_name(path.name + ".sha256")
            if match and match["name"] == ref.name and digest.is_file() and digest.read_text().strip() == \
                    hashlib.sha256(path.read_bytes()).hexdigest():
                found[match["version"]] = path
        return found

    def locate(self, ref: ChartRef) -> Located | None:
        if ref.tree_path:
            assert self.tree_root is not None
            return Located("", f"the tree ({ref.tree_path})", True, directory=self.tree_root / ref.tree_path)
        local = self.local_versions(ref)
        try:
            exact = ref.pick(list(local))
        except RangeError:
            exact = None
        if exact is not None:
            return _read(local[exact], exact, self.cache, True)
        pulled = self._pull(ref)
        if pulled is not None:
            return pulled
        closest = nearest(list(local), ref.constraint)
        return None if closest is None else _read(local[closest], closest, self.cache, False)

    def online_versions(self, ref: ChartRef) -> list[str]:
        """The versions the repository offers (Unreachable, NotFound or Unverified when it cannot say)."""
        if ref.oci:
            return oci_tags(self.network, OciRef.parse(ref.repository, ref.insecure))
        if ref.repository not in self._indexes:
            self._indexes[ref.repository] = index_entries(self.network, ref.repository)
        return [str(e.get("version")) for e in self._indexes[ref.repository].get(ref.name, [])]

    def _pull(self, ref: ChartRef) -> Located | None:
        if not self.network.enabled:
            return None
        try:
            version = ref.pick(self.online_versions(ref))
            if version is None:
                return None
            if ref.oci:
                data = pull_oci(self.network, OciRef.parse(ref.repository, ref.insecure), version)
            else:
                entry = next(e for e in self._indexes[ref.repository][ref.name] if str(e.get("version")) == version)
                data = pull_http(self.network, ref.repository, entry)
        except (Unreachable, NotFound, Unverified, RangeError):
            return None
        self._store(ref, version, data)
        return Located(version, ref.repository, True, data=data)

    def _store(self, ref: ChartRef, version: str, data: bytes) -> None:
        if self.cache is None:
            return
        try:
            folder = self.cache / ref.key
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{ref.name}-{version}.tgz").write_bytes(data)
            (folder / f"{ref.name}-{version}.tgz.sha256").write_text(hashlib.sha256(data).hexdigest() + "\n")
            (folder / "repository").write_text(ref.repository + "\n")
        except OSError:
            pass                # a cache that cannot be written only costs a download next time


def _read(path: Path, version: str, cache: Path | None, exact: bool) -> Located:
    where = "the chart cache" if cache is not None and cache in path.parents else str(path.parent)
    try:
        return Located(version, where, exact, data=path.read_bytes(), archive=path)
    except OSError as error:
        raise InputError(f"{path}: cannot be read ({error.strerror or error}); fix its permissions or remove "
                         "it") from None
