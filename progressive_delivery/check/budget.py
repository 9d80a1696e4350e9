"""Timing budget of a release, computed from the intervals and analysis settings in the tree.

Worst-case latency from a pushed image to the start of its canary: the
image is pushed just after a scan, so it waits a full
ImageRepository.interval; the ImageUpdateAutomation commits on its next run
(ImageUpdateAutomation.interval); Flux fetches the commit on the next
GitRepository interval (the program's GIT_SYNC_INTERVAL_SECONDS); a new
revision triggers every Kustomization at once, but one whose dependencies have
not yet applied that revision retries after kustomize-controller's
--requeue-dependency (30s by default), once per level of its dependsOn chain;
Flagger notices the changed Deployment on its next check of the Canary
(analysis.interval).

Duration of a clean canary, with I = analysis.interval (Flagger's default 60s):
  I x (1 + N + 3)
where 1 tick initialises (the canary Deployment is scaled up and must be
ready), N ticks are analysis steps, and 3 ticks promote (copy the spec to
the primary, wait for its rollout and route all traffic back to it, scale the
canary down). N is ceil(maxWeight / stepWeight) for progressive traffic
shifting, len(stepWeights) when explicit steps are given, `iterations` for
A/B testing and blue/green, and 0 with skipAnalysis.
"""

from __future__ import annotations

import math
import re

from .access import mapping, sequence
from .model import KubeObject
from .view import StackView

DEFAULT_ANALYSIS_INTERVAL = 60.0
# kustomize-controller's --requeue-dependency default: how long a Kustomization
# waits before looking again at dependencies not yet at the new revision.
REQUEUE_DEPENDENCY_SECONDS = 30.0
INITIALISATION_TICKS = 1
PROMOTION_TICKS = 3
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: object) -> float | None:
    """Seconds in a Go duration string such as 1m30s; None when it is not one."""
    value = str(text or "").strip()
    if not value:
        return None
    if value == "0":
        return 0.0
    parts = _DURATION.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def analysis_steps(analysis: dict, skip: bool) -> tuple[int, str]:
    """Number of analysis ticks of a clean canary and how it was derived."""
    if skip:
        return 0, "skipAnalysis"
    weights = sequence(analysis, "stepWeights")
    if weights:
        return len(weights), f"{len(weights)} stepWeights"
    iterations = analysis.get("iterations")
    if isinstance(iterations, int) and iterations > 0:
        return iterations, f"{iterations} iterations"
    step, maximum = analysis.get("stepWeight"), analysis.get("maxWeight", 50)
    if not isinstance(maximum, (int, float)):
        maximum = 50
    if isinstance(step, (int, float)) and step > 0:
        steps = math.ceil(float(maximum) / float(step))
        return steps, f"{steps} steps (maxWeight {maximum} / stepWeight {step})"
    return 0, "no analysis steps"


def _interval(obj: KubeObject, field: str = "interval") -> float | None:
    return parse_duration(obj.spec.get(field))


def _longest(objects: list[KubeObject]) -> KubeObject | None:
    timed = [o for o in objects if _interval(o) is not None]
    return max(timed, key=lambda o: _interval(o) or 0.0) if timed else None


def dependency_depth(view: StackView, applied_by: str) -> int:
    """Length of the longest dependsOn chain below the Flux Kustomization `namespace/name`."""
    by_name = {f"{k.namespace}/{k.name}": k for k in view.flux_kustomizations()}

    def depth(key: str, seen: frozenset[str]) -> int:
        kustomization = by_name.get(key)
        if kustomization is None or key in seen:
            return 0
        below = [depth(f"{mapping(d).get('namespace') or kustomization.namespace}/{mapping(d).get('name')}",
                       seen | {key})
                 for d in sequence(kustomization.spec, "dependsOn")]
        return 1 + max(below) if below else 0

    return depth(applied_by, frozenset())


def budget_lines(view: StackView) -> list[str]:
    """The --budget lines of one stack."""
    from ..config import GIT_SYNC_INTERVAL_SECONDS

    lines: list[str] = []
    repository = _longest(list(view.of_kind("ImageRepository")))
    automation = _longest(list(view.of_kind("ImageUpdateAutomation")))
    canaries = sorted(view.of_kind("Canary"), key=lambda c: (c.namespace, c.name))
    if not canaries:
        return ["  budget: no Canary in the tree"]
    for canary in canaries:
        analysis = mapping(canary.spec, "analysis")
        interval = parse_duration(analysis.get("interval")) or DEFAULT_ANALYSIS_INTERVAL
        where = f"{canary.namespace}/{canary.name}"
        if repository is not None and automation is not None:
            parts = [
                (_interval(repository) or 0.0, f"ImageRepository {repository.namespace}/{repository.name} interval"),
                (_interval(automation) or 0.0,
                 f"ImageUpdateAutomation {automation.namespace}/{automation.name} interval"),
                (float(GIT_SYNC_INTERVAL_SECONDS), "GitRepository flux-system interval"),
            ]
            levels = dependency_depth(view, canary.applied_by)
            if levels:
                parts.append((levels * REQUEUE_DEPENDENCY_SECONDS,
                              f"{levels} x dependency requeue of Kustomization {canary.applied_by}"))
            parts.append((interval, f"Canary {where} analysis.interval"))
            total = sum(seconds for seconds, _ in parts)
            detail = " + ".join(f"{label} {format_duration(seconds)}" for seconds, label in parts)
            lines.append(f"  budget: new image -> canary {where} starts: at most {format_duration(total)} "
                         f"({detail})")
        else:
            lines.append(f"  budget: new image -> canary {where}: no image automation in the tree")
        steps, how = analysis_steps(analysis, bool(canary.spec.get("skipAnalysis")))
        ticks = INITIALISATION_TICKS + steps + PROMOTION_TICKS
        lines.append(f"  budget: clean canary {where}: {format_duration(interval * ticks)} (analysis.interval "
                     f"{format_duration(interval)} x ({INITIALISATION_TICKS} initialisation + {how} + "
                     f"{PROMOTION_TICKS} promotion))")
    return lines
