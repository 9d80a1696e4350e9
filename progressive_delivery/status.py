"""`status`: readiness of the Flux objects and of the canary of a stack, as one table.

    python -m progressive_delivery status --stack staging

Exit codes: 0 every object Ready, 1 something is not, 2 the cluster cannot be
reached. Summarising is pure (`summarise`, `render`) over `kubectl -o json`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .config import SettingsError, load_stack
from .kube import (
    ClusterUnreachable,
    Kubectl,
    KubeError,
    Runner,
    UnknownKind,
    choose_kubeconfig,
    kubeconfig_path,
    run_process,
)

EXIT_READY, EXIT_NOT_READY, EXIT_UNREACHABLE = 0, 1, 2
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
# Canary phases of a settled canary: the last analysis promoted (or there was none yet).
SETTLED_PHASES = ("Initialized", "Succeeded")


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


def _ready_condition(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == "Ready"), None)


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
    metadata = obj.get("metadata") or {}
    name = f"{metadata.get('namespace', '-')}/{metadata.get('name', '?')}"
    status = obj.get("status") or {}
    if kind == "Canary":
        phase = str(status.get("phase") or "Initializing")
        weight, failed = int(status.get("canaryWeight") or 0), int(status.get("failedChecks") or 0)
        detail = f"weight {weight}%, failed checks {failed}"
        if phase == "Failed":
            detail += ", last release rolled back"
        return Row(kind, name, phase in SETTLED_PHASES, phase, detail)
    if (obj.get("spec") or {}).get("suspend"):
        return Row(kind, name, False, "Suspended", "resume with `flux resume`")
    condition = _ready_condition(obj)
    if condition is None:
        return Row(kind, name, False, "Pending", "no Ready condition yet")
    generation, observed = metadata.get("generation"), status.get("observedGeneration")
    if condition.get("status") == "True":
        if generation is not None and observed is not None and observed < generation:
            return Row(kind, name, False, "Reconciling", f"generation {generation} not observed yet")
        return Row(kind, name, True, "Ready", _flux_detail(kind, status))
    state = "Reconciling" if condition.get("status") == "Unknown" else "NotReady"
    reason = condition.get("reason", "")
    message = " ".join(str(condition.get("message", "")).split())
    return Row(kind, name, False, state, f"{reason}: {message}" if reason else message)


def rows_for(kind: str, listing: Mapping[str, Any] | None, error: str | None = None) -> list[Row]:
    """Rows of one kind from `kubectl get <kind> -A -o json`; every kind is expected at least once."""
    if error is not None:
        return [Row(kind, "-", False, "Missing", error)]
    items = (listing or {}).get("items") or []
    if not items:
        return [Row(kind, "-", False, "Missing", "no object of this kind yet")]
    return sorted((summarise(kind, item) for item in items), key=lambda row: row.name)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def render(rows: Sequence[Row]) -> str:
    """A compact table: kind, namespace/name, state, detail."""
    header = Row("KIND", "NAME", True, "STATE", "DETAIL")
    table = [header, *rows]
    kind_width = max(len(r.kind) for r in table)
    name_width = max(len(r.name) for r in table)
    state_width = max(len(r.state) for r in table)
    lines = [f"{r.kind:<{kind_width}}  {r.name:<{name_width}}  {r.state:<{state_width}}  "
             f"{_clip(r.detail, DETAIL_WIDTH)}".rstrip() for r in table]
    not_ready = sum(1 for r in rows if not r.ready)
    lines.append(f"{len(rows) - not_ready}/{len(rows)} ready" if rows else "nothing found")
    return "\n".join(lines)


def exit_code(rows: Sequence[Row]) -> int:
    return EXIT_READY if rows and all(r.ready for r in rows) else EXIT_NOT_READY


def collect(kubectl: Kubectl) -> list[Row]:
    """Rows of every kind; raises ClusterUnreachable when the API server does not answer."""
    rows: list[Row] = []
    for kind in KINDS:
        try:
            listing = kubectl.get_json(kind.resource, "--all-namespaces")
        except UnknownKind:
            rows += rows_for(kind.name, None, "kind not served yet (its controller is not installed)")
            continue
        except ClusterUnreachable:
            raise
        except KubeError as error:
            rows += rows_for(kind.name, None, str(error))
            continue
        rows += rows_for(kind.name, listing)
    return rows


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `status` command."""
    parser = subparsers.add_parser(
        "status", help="readiness of the Flux objects and the canary of a stack",
        description="Show the readiness of the stack's GitRepository, Kustomizations, HelmReleases, image "
                    "automation objects and the echo-version Canary. Exit codes: 0 all Ready, "
                    "1 something is not Ready, 2 the cluster cannot be reached or the stack's settings "
                    "cannot be read.")
    parser.add_argument("--stack", required=True, help="stack to inspect (Pulumi.<stack>.yaml)")
    parser.add_argument("--kubeconfig", metavar="FILE",
                        help="kubeconfig of the cluster (default: `k3d kubeconfig get <clusterName>` of the stack)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace, runner: Runner = run_process,
           env: Mapping[str, str] | None = None, out: Callable[[str], None] = print) -> int:
    """Run `status` from parsed arguments; return the exit code."""
    env = os.environ if env is None else env
    try:
        settings = load_stack(args.stack, env=env)
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    source = choose_kubeconfig(settings.cluster.name, args.kubeconfig)
    try:
        with kubeconfig_path(source, runner, settings.stack) as path:
            try:
                rows = collect(Kubectl(runner, path))
            except ClusterUnreachable as error:
                raise ClusterUnreachable(
                    f"the API server does not answer ({error}); is the cluster running (`k3d cluster list`)? "
                    f"create it with `pulumi up --stack {settings.stack}`") from None
    except ClusterUnreachable as error:
        print(f"error: cannot reach the cluster of stack '{settings.stack}' ({source.describe()}): {error}",
              file=sys.stderr)
        return EXIT_UNREACHABLE
    except KubeError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNREACHABLE
    out(render(rows))
    return exit_code(rows)
