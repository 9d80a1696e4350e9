"""Following the echo-version Canary after a release until Flagger promotes or rolls back the new version.

The Canary is polled with kubectl; each change of phase, weight or failed
checks becomes a line, and the watch ends with the outcome. A phase counts for
the released version only once the analysed Deployment runs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from .canary import CanaryStatus, read_canary
from .config import APP_NAME
from .contract import APP_NAMESPACE
from .image_ref import image_tag, is_app_image
from .kube import ClusterUnreachable, KubeconfigUnusable, Kubectl, KubeError, NotFound, UnknownKind

POLL_SECONDS = 5.0


class Outcome(Enum):
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled back"


@dataclass(frozen=True)
class CanarySnapshot:
    """What the Canary and its Deployments say at one moment."""

    time: datetime
    canary: CanaryStatus | None = None  # None when the Canary could not be read (see `error`)
    canary_tag: str | None = None  # image tag of the target Deployment (what Flux deployed)
    primary_tag: str | None = None  # image tag of the primary Deployment (what serves traffic)
    error: str | None = None

    def key(self) -> tuple[object, ...]:
        return (self.canary, self.canary_tag, self.error)


def _deployment_tag(deployments: Mapping[str, Any], name: str) -> str | None:
    """Tag of the echo-version container of Deployment `name` (the first container when none is)."""
    for item in deployments.get("items") or []:
        if (item.get("metadata") or {}).get("name") != name:
            continue
        containers = ((item.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        images = [str(c.get("image", "")) for c in containers]
        chosen = next((image for image in images if is_app_image(image)), images[0] if images else "")
        return image_tag(chosen)
    return None


def snapshot_from(canary: Mapping[str, Any], deployments: Mapping[str, Any], when: datetime) -> CanarySnapshot:
    """A snapshot from `kubectl get canary -o json` and `kubectl get deployments -o json`."""
    status = read_canary(canary)
    return CanarySnapshot(when, status, canary_tag=_deployment_tag(deployments, status.target),
                          primary_tag=_deployment_tag(deployments, status.primary))


@dataclass(frozen=True)
class WatchEvent:
    """A change worth a line; `outcome` is set on the last one."""

    snapshot: CanarySnapshot
    outcome: Outcome | None = None

    def line(self) -> str:
        s = self.snapshot
        stamp = s.time.strftime("%H:%M:%S")
        if s.canary is None:
            return f"{stamp}  {s.error or 'no Canary status'}"
        text = (f"{stamp}  {s.canary.phase:<16} weight {s.canary.weight:>3}%  failed checks "
                f"{s.canary.failed_checks}  canary image {s.canary_tag or '-'}")
        return f"{text}  -> {self.outcome.value}" if self.outcome else text


class CanaryWatch:
    """Decides, snapshot by snapshot, whether `version` was promoted or rolled back.

    A phase counts for this version only once the target Deployment runs it;
    Failed counts only after the analysis of this version was seen progressing
    (a Failed phase left by an earlier release must not end the watch).
    """

    def __init__(self, version: str):
        self.version = version
        self.progressed = False
        self.last: CanarySnapshot | None = None
        self.outcome: Outcome | None = None

    def observe(self, snapshot: CanarySnapshot) -> WatchEvent | None:
        changed = self.last is None or snapshot.key() != self.last.key()
        self.last = snapshot
        if snapshot.canary is not None:
            self.outcome = self._judge(snapshot, snapshot.canary)
        if changed or self.outcome:
            return WatchEvent(snapshot, self.outcome)
        return None

    def _judge(self, snapshot: CanarySnapshot, status: CanaryStatus) -> Outcome | None:
        deployed = snapshot.canary_tag == self.version
        if deployed and status.progressing:
            self.progressed = True
        if status.succeeded and (snapshot.primary_tag == self.version or (deployed and self.progressed)):
            return Outcome.PROMOTED
        if status.rolled_back and deployed and self.progressed:
            return Outcome.ROLLED_BACK
        return None


def follow(snapshots: Iterable[CanarySnapshot], watch: CanaryWatch) -> Iterator[WatchEvent]:
    """Events for each change, ending with the outcome (or not, when the snapshots run out)."""
    for snapshot in snapshots:
        event = watch.observe(snapshot)
        if event:
            yield event
        if watch.outcome:
            return


def timeout_message(watch: CanaryWatch, minutes: int, stack: str) -> str:
    """Why the watch ended without an outcome, and where to look."""
    last = watch.last
    where = f"check `python -m progressive_delivery status --stack {stack}`"
    if last is None or last.canary is None:
        seen = last.error if last and last.error else "nothing observed"
        return f"timed out after {minutes} min waiting for {watch.version} ({seen}); {where}"
    if last.canary_tag != watch.version:
        return (f"timed out after {minutes} min: Flux has not deployed {watch.version} yet (the Deployment "
                f"runs {last.canary_tag or 'no image'}); {where} (ImagePolicy, ImageUpdateAutomation)")
    return (f"timed out after {minutes} min: the canary of {watch.version} is still {last.canary.phase} at "
            f"weight {last.canary.weight}%; {where}, or watch longer with --timeout")


def poll_canary(kubectl: Kubectl, deadline: float, interval: float | None = None,
                clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep,
                now: Callable[[], datetime] = datetime.now) -> Iterator[CanarySnapshot]:
    """Snapshots of the Canary every `interval` (default POLL_SECONDS) seconds until `deadline` (a `clock` value).

    A cluster that does not answer the first poll raises ClusterUnreachable; later
    outages are reported as snapshots and polling goes on. A kubeconfig kubectl
    cannot use (or no kubectl) raises KubeconfigUnusable at once: waiting does not mend it.
    """
    pause = POLL_SECONDS if interval is None else interval
    first = True
    while clock() < deadline:
        try:
            canary = kubectl.get_json("canaries.flagger.app", APP_NAME, "-n", APP_NAMESPACE)
            deployments = kubectl.get_json("deployments", "-n", APP_NAMESPACE)
            yield snapshot_from(canary, deployments, now())
        except NotFound:
            yield CanarySnapshot(now(), error=f"waiting: Canary {APP_NAMESPACE}/{APP_NAME} does not exist yet")
        except UnknownKind:
            yield CanarySnapshot(now(), error="waiting: Flagger is not installed yet (no Canary kind)")
        except KubeconfigUnusable:
            raise
        except ClusterUnreachable:
            if first:
                raise
            yield CanarySnapshot(now(), error="waiting: the cluster does not answer")
        except KubeError as error:
            yield CanarySnapshot(now(), error=f"waiting: {error}")
        first = False
        sleep(pause)
