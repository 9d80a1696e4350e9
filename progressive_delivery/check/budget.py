"""How long a new image takes to start its canary, and a clean canary run, from what the tree sets.

Worst case from a new image in the registry to the canary's start (Flagger's "New revision
detected", phase Progressing), as the pinned controllers behave:

1. image-reflector-controller scans an ImageRepository every spec.interval, so a tag pushed just
   after a scan waits a full interval (fluxcd/image-reflector-controller@debe2aa, v1.2.0+7:
   internal/controller/imagerepository_controller.go shouldScan/RequeueAfter, no jitter);
2. the ImagePolicy watches its ImageRepository and the ImageUpdateAutomation watches ImagePolicies
   for a new latest image, so both react at once: neither interval counts
   (image-reflector-controller internal/controller/imagepolicy_controller.go Watches(ImageRepository);
   fluxcd/image-automation-controller@v1.2.1 and @d36e2ea:
   internal/controller/imageupdateautomation_controller.go:155-158 Watches(ImagePolicy)). The
   automation is one of the policy's namespace whose spec.policySelector selects the policy's labels
   (none selects all: same file, 558-584 getPolicies);
3. source-controller fetches the pushed commit on the next poll of the GitRepository the target's
   Kustomization syncs from (its sourceRef; another kind of source gets no figure): its interval plus
   up to --interval-jitter-percentage (default 5%) of it (fluxcd/source-controller@39b711b1:
   internal/controller/gitrepository_controller.go:240 JitteredIntervalDuration;
   fluxcd/pkg@runtime/v0.110.1: runtime/jitter/interval.go:31 and jitter.go Percent);
4. a new revision reconciles every Kustomization of that source at once, but one whose dependsOn
   entry is not Ready at the same revision retries after --requeue-dependency (default 30s), with no
   watch on dependencies to wake it earlier; a dependsOn entry with readyExpr replaces that check
   (the AdditiveCELDependencyCheck feature gate is off by default), so an expression that does not
   look at revisions passes at once (fluxcd/kustomize-controller@v1.9.4: main.go:115,
   internal/controller/kustomization_controller.go:246-264 and 551-630,
   internal/controller/kustomization_manager.go:139-194, internal/features/features.go:90). The
   expression is evaluated (cel-python) with `self` and `dep` as the two states a new revision finds
   a dependency in: still Ready at the previous revision, and reconciling the new one (Ready Unknown,
   lastAttemptedRevision new, lastAppliedRevision old); only when it holds in both is the level free.
   An expression that does not compile stalls its Kustomization for good (readyexpr.py): the canary
   then never starts. Each dependency is assumed to apply its unchanged content within one requeue;
5. Flagger runs each Canary's check on a ticker of analysis.interval (default 60s, at least 10s)
   and notices the changed target on its next tick (fluxcd/flagger@v1.44.0:
   pkg/controller/scheduler.go:106-120, job.go Start, pkg/apis/flagger/v1beta1/canary.go:33,637-651).

A clean canary run takes analysis.interval x (1 + N + 3): the tick that detects the revision and
returns (scheduler.go:329-350), N ticks that shift traffic (ceil(maxWeight/stepWeight), the
stepWeights, or iterations), and three that promote: copy the spec to the primary (616-634), route
all traffic back and finalise, then scale the canary down (381-426).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from .access import mapping, mappings, sequence, text
from .model import KubeObject
from .readyexpr import compile_problem, holds
from .view import ClusterView, containers, pod_template, selector_matches

DEFAULT_ANALYSIS_INTERVAL = 60.0
MIN_ANALYSIS_INTERVAL = 10.0
DEFAULT_REQUEUE_DEPENDENCY = 30.0
DEFAULT_JITTER_PERCENT = 5.0
PROMOTION_TICKS = 3
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object) -> float | None:
    """Seconds of a Go duration such as 1m30s; None when it is not one."""
    written = str(value or "").strip()
    if written == "0":
        return 0.0
    parts = _DURATION.findall(written)
    if not parts or "".join(n + u for n, u in parts) != written:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


def format_duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds, 1), 60)
    shown = f"{rest:g}s" if rest or not minutes else ""
    return f"{int(minutes)}m{shown}" if minutes else shown


@dataclass(frozen=True)
class Step:
    """One wait on the way, in seconds, with what sets it."""

    what: str
    seconds: float


@dataclass
class CanaryBudget:
    canary: str                                   # namespace/name
    steps: list[Step] = field(default_factory=list)
    image_to_start: float | None = None           # None: see `missing` or `never`
    analysis_interval: float = DEFAULT_ANALYSIS_INTERVAL
    analysis_steps: int = 0
    clean_run: float = 0.0
    never: str = ""                               # why a new image never starts the canary
    missing: str = ""                             # why there is no figure (no automation, another source)

    def lines(self) -> list[str]:
        if self.never:
            first = f"  budget: new image -> canary {self.canary}: never starts: {self.never}"
        elif self.image_to_start is None:
            first = f"  budget: new image -> canary {self.canary}: {self.missing or 'no figure'}"
        else:
            detail = " + ".join(f"{s.what} {format_duration(s.seconds)}" for s in self.steps)
            first = (f"  budget: new image -> canary {self.canary} starts: at most "
                     f"{format_duration(self.image_to_start)} ({detail})")
        return [first, f"  budget: clean canary {self.canary}: {format_duration(self.clean_run)} (analysis.interval "
                       f"{format_duration(self.analysis_interval)} x (1 detection + {self.analysis_steps} steps + "
                       f"{PROMOTION_TICKS} promotion))"]


@dataclass
class Budget:
    """The budget of every Canary of a cluster."""

    canaries: list[CanaryBudget] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [line for c in self.canaries for line in c.lines()] or ["  budget: no Canary in the tree"]


def analysis_steps(analysis: dict) -> int:
    """Ticks that shift traffic in a clean run."""
    if sequence(analysis, "stepWeights"):
        return len(sequence(analysis, "stepWeights"))
    if isinstance(analysis.get("iterations"), int) and analysis["iterations"] > 0:
        return int(analysis["iterations"])
    step, maximum = analysis.get("stepWeight"), analysis.get("maxWeight", 50)
    if isinstance(step, (int, float)) and step > 0 and isinstance(maximum, (int, float)):
        return math.ceil(maximum / step)
    return 0


def controller_flag(view: ClusterView, deployment: str, flag: str) -> float | None:
    """A duration or number flag of a Flux controller Deployment the tree itself installs (tree mode)."""
    found = view.get("Deployment", "flux-system", deployment)
    for container in containers(pod_template(found) or {}) if found else []:
        for arg in sequence(container, "args"):
            name, _, value = str(arg).partition("=")
            if name.lstrip("-") == flag:
                return parse_duration(value) if not value.replace(".", "").isdigit() else float(value)
    return None


def _status(revision: str, attempted: str, ready: str) -> dict:
    return {"observedGeneration": 1, "lastAppliedRevision": revision, "lastAttemptedRevision": attempted,
            "conditions": [{"type": "Ready", "status": ready,
                            "reason": "ReconciliationSucceeded" if ready == "True" else "Progressing"}]}


def ready_at_once(expression: str, dependent: KubeObject, dependency: KubeObject | None) -> bool:
    """Whether a readyExpr passes as a new revision arrives (in both states the dependency may be in); an
    expression that fails to evaluate is retried by the controller like false."""
    def state(obj: KubeObject | None, status: dict) -> dict:
        body = obj.body if obj else {}
        return {**body, "metadata": {**mapping(body, "metadata"), "generation": 1}, "status": status}

    old, new = f"main@sha1:{'a' * 40}", f"main@sha1:{'b' * 40}"
    waiting = state(dependent, _status(old, old, "True"))
    return all(holds(expression, waiting, state(dependency, status)) is True
               for status in (_status(old, old, "True"), _status(old, new, "Unknown")))


@dataclass(frozen=True)
class Wait:
    """How long a Kustomization waits for its dependencies at a new revision."""

    seconds: float
    levels: int
    never: str = ""         # why it is never applied at all (a readyExpr on its way does not compile)


def dependency_wait(view: ClusterView, applied_by: str, requeue: float) -> Wait:
    """The wait of the Kustomization `namespace/name` for its dependencies at a new revision."""
    nodes = {f"{k.namespace}/{k.name}": k for k in view.flux_kustomizations()}
    never: list[str] = []

    def levels(key: str, seen: frozenset[str]) -> int:
        node = nodes.get(key)
        if node is None or key in seen:
            return 0
        deepest = 0
        for dep in mappings(node.spec, "dependsOn"):
            name = f"{text(dep, 'namespace', default=node.namespace)}/{text(dep, 'name')}"
            expression = text(dep, "readyExpr")
            if expression and compile_problem(expression):
                never.append(f"the readyExpr of Kustomization {key} for dependsOn {name} does not compile, so "
                             "Flux stalls it")
                continue
            if expression and ready_at_once(expression, node, nodes.get(name)):
                continue                  # readyExpr replaces the same-revision check and holds at once
            deepest = max(deepest, 1 + levels(name, seen | {key}))
        return deepest

    depth = levels(applied_by, frozenset())
    return Wait(depth * requeue, depth, never[0] if never else "")


def _repository_of(view: ClusterView, target: KubeObject) -> tuple[KubeObject, KubeObject] | None:
    """(ImageRepository, ImageUpdateAutomation) that bring new images of the target's containers."""
    images = {text(c, "image").rsplit("@", 1)[0] for c in containers(pod_template(target) or {})}
    repositories = {i if ":" not in i.rsplit("/", 1)[-1] else i.rsplit(":", 1)[0] for i in images}
    for repository in view.valid("ImageRepository"):
        if text(repository.spec, "image") not in repositories:
            continue
        for policy in view.valid("ImagePolicy"):
            ref = mapping(policy.spec, "imageRepositoryRef")
            if (text(ref, "namespace", default=policy.namespace), text(ref, "name")) != (repository.namespace,
                                                                                          repository.name):
                continue
            for automation in view.valid("ImageUpdateAutomation"):
                if automation.namespace == policy.namespace and selector_matches(
                        mapping(automation.spec, "policySelector"), policy.labels):
                    return repository, automation
    return None


def _git_source(view: ClusterView, applied_by: str) -> KubeObject | str:
    """The GitRepository the Kustomization `namespace/name` syncs from (its sourceRef), or why there is none."""
    namespace, _, name = applied_by.partition("/")
    kustomization = view.get("Kustomization", namespace, name)
    ref = mapping(kustomization.spec, "sourceRef") if kustomization else {}
    kind, where = text(ref, "kind"), f"{text(ref, 'namespace', default=namespace)}/{text(ref, 'name')}"
    if kind != "GitRepository":
        return f"Kustomization {applied_by} syncs from {kind or 'no source'} {where}, whose delay is not modelled"
    source = view.get("GitRepository", *where.split("/", 1))
    return source if source is not None else f"GitRepository {where} of Kustomization {applied_by} does not exist"


def _image_to_start(view: ClusterView, entry: CanaryBudget, target: KubeObject, requeue: float,
                    jitter: float) -> None:
    """Fill in the steps from a new image to the canary's start (or why there is no figure)."""
    found = _repository_of(view, target)
    source = _git_source(view, target.applied_by)
    if found is None or isinstance(source, str):
        entry.missing = "no image automation updates its target" if found is None else str(source)
        return
    wait = dependency_wait(view, target.applied_by, requeue)
    if wait.never:
        entry.never = wait.never
        return
    repository, automation = found
    git = (parse_duration(text(source.spec, "interval")) or 60.0) * (1 + jitter / 100)
    entry.steps = [
        Step(f"ImageRepository {repository.namespace}/{repository.name} scan interval",
             parse_duration(text(repository.spec, "interval")) or 0.0),
        Step(f"ImagePolicy and ImageUpdateAutomation {automation.namespace}/{automation.name} (react at once)", 0.0),
        Step(f"GitRepository {source.namespace}/{source.name} poll (interval + {jitter:g}% jitter)", git),
        Step(f"{wait.levels} x --requeue-dependency {format_duration(requeue)} of Kustomization {target.applied_by}",
             wait.seconds),
        Step(f"Flagger tick (analysis.interval of {entry.canary})", entry.analysis_interval),
    ]
    entry.image_to_start = sum(s.seconds for s in entry.steps)


def compute(view: ClusterView) -> Budget:
    """The budget of every valid Canary of the cluster."""
    requeue = controller_flag(view, "kustomize-controller", "requeue-dependency") or DEFAULT_REQUEUE_DEPENDENCY
    jitter = controller_flag(view, "source-controller", "interval-jitter-percentage")
    jitter = DEFAULT_JITTER_PERCENT if jitter is None else jitter
    budget = Budget()
    for canary in sorted(view.valid("Canary"), key=lambda c: (c.namespace, c.name)):
        analysis = mapping(canary.spec, "analysis")
        interval = parse_duration(text(analysis, "interval")) or DEFAULT_ANALYSIS_INTERVAL
        interval = max(interval, MIN_ANALYSIS_INTERVAL)
        steps = 0 if canary.spec.get("skipAnalysis") is True else analysis_steps(analysis)
        entry = CanaryBudget(f"{canary.namespace}/{canary.name}", analysis_interval=interval, analysis_steps=steps,
                             clean_run=interval * (1 + steps + PROMOTION_TICKS))
        ref = mapping(canary.spec, "targetRef")
        target = view.get(text(ref, "kind"), canary.namespace, text(ref, "name"))
        if target is not None:
            _image_to_start(view, entry, target, requeue, jitter)
        budget.canaries.append(entry)
    return budget
