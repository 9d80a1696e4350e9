"""Readiness of a cluster's Flux objects and echo-version Canary, as the rows of one table.

Listing goes through kubectl (`collect`); summarising and rendering are pure
functions over `kubectl get <kind> -A -o json`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .canary import read_canary
from .kube import ClusterUnreachable, KubeconfigUnusable, Kubectl, KubeError, UnknownKind
from .text import clip

DETAIL_WIDTH = 72


@dataclass(frozen=True)
class Kind:
    """A kind listed by the status, by its kubectl resource name."""

    name: str
    resource: str


KINDS = (
    Kind("GitRepository", "gitrepositories.source.toolkit.fluxcd.io"),
    Kind("Kustomization", "kustomizations.kustomize.toolkit.fluxcd.io"),
    Kind("HelmRelease", "helmreleases.helm.toolkit.fluxcd.io"),
    Kind("ImageRepository", "imagerepositories.image.toolkit.fluxcd.io"),
    Kind("ImagePolicy", "imagepolicies.image.toolkit.fluxcd.io"),
    Kind("ImageUpdateAutomation", "imageupdateautomations.image.toolkit.fluxcd.io"),
    Kind("Canary", "canaries.flagger.app"),
)


@dataclass(frozen=True)
class Listing:
    """The objects of one kind, or why they could not be listed."""

    kind: str
    items: list[Mapping[str, Any]] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class Row:
    """One line of the table."""

    kind: str
    name: str
    ready: bool
    state: str
    detail: str = ""


def _short_revision(revision: str) -> str:
    """`main@sha1:0123456789abcdef...` -> `main@sha1:0123456`."""
    head, sep, digest = revision.rpartition(":")
    return f"{head}{sep}{digest[:7]}" if sep and len(digest) > 12 else revision


def ready_condition(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The Ready condition of a Flux object, if it has one yet."""
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == "Ready"), None)


def object_name(obj: Mapping[str, Any]) -> str:
    """`namespace/name` of an object."""
    metadata = obj.get("metadata") or {}
    return f"{metadata.get('namespace', '-')}/{metadata.get('name', '?')}"


def _flux_detail(kind: str, status: Mapping[str, Any]) -> str:
    """What each Flux kind has to say when Ready."""
    if kind == "GitRepository":
        return _short_revision(str((status.get("artifact") or {}).get("revision", "")))
    if kind == "Kustomization":
        revision = status.get("lastAppliedRevision")
        return f"applied {_short_revision(revision)}" if revision else ""
    if kind == "HelmRelease":
        history = status.get("history") or []
        if history:
            latest = history[0]
            return f"{latest.get('chartName', 'chart')} {latest.get('chartVersion', '')}".strip()
        return str(status.get("lastAttemptedRevision") or "")
    if kind == "ImageRepository":
        scan = status.get("lastScanResult") or {}
        return f"{scan.get('tagCount', 0)} tags, scanned {scan.get('scanTime', 'never')}"
    if kind == "ImagePolicy":
        ref = status.get("latestRef") or {}
        if ref.get("tag"):
            return f"latest image {ref.get('name', '')}:{ref['tag']}"
        return f"latest image {status.get('latestImage', '-')}"
    if kind == "ImageUpdateAutomation":
        commit = str(status.get("lastPushCommit") or "")[:7]
        if status.get("lastPushTime"):
            return f"last push {status['lastPushTime']} ({commit})"
        return "no push yet"
    return ""


def summarise(kind: str, obj: Mapping[str, Any]) -> Row:
    """Readiness of one object from its JSON."""
    name = object_name(obj)
    if kind == "Canary":
        canary = read_canary(obj)
        detail = f"weight {canary.weight}%, failed checks {canary.failed_checks}"
        if canary.rolled_back:
            detail += ", last release rolled back"
        return Row(kind, name, canary.settled, canary.phase, detail)
    if (obj.get("spec") or {}).get("suspend"):
        return Row(kind, name, False, "Suspended", "resume with `flux resume`")
    condition = ready_condition(obj)
    if condition is None:
        return Row(kind, name, False, "Pending", "no Ready condition yet")
    status = obj.get("status") or {}
    generation, observed = (obj.get("metadata") or {}).get("generation"), status.get("observedGeneration")
    if condition.get("status") == "True":
        if generation is not None and observed is not None and observed < generation:
            return Row(kind, name, False, "Reconciling", f"generation {generation} not observed yet")
        return Row(kind, name, True, "Ready", _flux_detail(kind, status))
    state = "Reconciling" if condition.get("status") == "Unknown" else "NotReady"
    reason = condition.get("reason", "")
    message = " ".join(str(condition.get("message", "")).split())
    return Row(kind, name, False, state, f"{reason}: {message}" if reason else message)


def rows_for(listing: Listing) -> list[Row]:
    """Rows of one kind; every kind is expected at least once."""
    if listing.error is not None:
        return [Row(listing.kind, "-", False, "Missing", listing.error)]
    if not listing.items:
        return [Row(listing.kind, "-", False, "Missing", "no object of this kind yet")]
    return sorted((summarise(listing.kind, item) for item in listing.items), key=lambda row: row.name)


def table_rows(listings: Sequence[Listing]) -> list[Row]:
    return [row for listing in listings for row in rows_for(listing)]


def render(rows: Sequence[Row]) -> str:
    """A compact table: kind, namespace/name, state, detail."""
    header = Row("KIND", "NAME", True, "STATE", "DETAIL")
    table = [header, *rows]
    kind_width = max(len(r.kind) for r in table)
    name_width = max(len(r.name) for r in table)
    state_width = max(len(r.state) for r in table)
    lines = [f"{r.kind:<{kind_width}}  {r.name:<{name_width}}  {r.state:<{state_width}}  "
             f"{clip(r.detail, DETAIL_WIDTH)}".rstrip() for r in table]
    not_ready = sum(1 for r in rows if not r.ready)
    lines.append(f"{len(rows) - not_ready}/{len(rows)} ready" if rows else "nothing found")
    return "\n".join(lines)


def all_ready(rows: Sequence[Row]) -> bool:
    return bool(rows) and all(r.ready for r in rows)


def collect(kubectl: Kubectl) -> list[Listing]:
    """The objects of every kind.

    A kind whose controller is not installed, or that cannot be listed, is a
    Listing with an error; ClusterUnreachable and KubeconfigUnusable concern
    every kind alike and propagate.
    """
    listings: list[Listing] = []
    for kind in KINDS:
        try:
            document = kubectl.get_json(kind.resource, "--all-namespaces")
        except UnknownKind:
            listings.append(Listing(kind.name, error="kind not served yet (its controller is not installed)"))
            continue
        except (ClusterUnreachable, KubeconfigUnusable):
            raise
        except KubeError as error:
            listings.append(Listing(kind.name, error=str(error)))
            continue
        items = document.get("items") if isinstance(document, dict) else None
        listings.append(Listing(kind.name, [item for item in items or [] if isinstance(item, dict)]))
    return listings

