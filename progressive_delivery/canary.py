"""What a Flagger Canary's status says: the one reading shared by `status` and `release --watch`.

Fields and phases as Flagger defines them (fluxcd/flagger@v1.44.0:
pkg/apis/flagger/v1beta1/status.go): `status.phase` (Initializing,
Initialized, Waiting, Progressing, WaitingPromotion, Promoting, Finalising,
Succeeded, Failed, Terminating, Terminated), `status.canaryWeight`,
`status.failedChecks`; the analysed Deployment is `spec.targetRef.name`, and
Flagger runs the serving copy as `<target>-primary`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import APP_NAME

# A settled canary: the last analysis promoted (or there was none yet).
SETTLED_PHASES = frozenset({"Initialized", "Succeeded"})
# An analysis under way.
PROGRESS_PHASES = frozenset({"Progressing", "WaitingPromotion", "Promoting", "Finalising"})
# The last analysis failed and Flagger rolled the canary back.
ROLLED_BACK_PHASE = "Failed"


@dataclass(frozen=True)
class CanaryStatus:
    """A Canary's phase, traffic weight and failed checks, and the Deployments it analyses."""

    phase: str
    weight: int
    failed_checks: int
    target: str

    @property
    def settled(self) -> bool:
        return self.phase in SETTLED_PHASES

    @property
    def progressing(self) -> bool:
        return self.phase in PROGRESS_PHASES

    @property
    def rolled_back(self) -> bool:
        return self.phase == ROLLED_BACK_PHASE

    @property
    def succeeded(self) -> bool:
        return self.phase == "Succeeded"

    @property
    def primary(self) -> str:
        """The Deployment Flagger serves traffic from."""
        return f"{self.target}-primary"


def _number(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def read_canary(canary: Mapping[str, Any]) -> CanaryStatus:
    """The status of a Canary from its JSON (`kubectl get canary -o json`); a new Canary is Initializing."""
    status = canary.get("status") or {}
    target = ((canary.get("spec") or {}).get("targetRef") or {}).get("name") or APP_NAME
    return CanaryStatus(
        phase=str(status.get("phase") or "Initializing"),
        weight=_number(status.get("canaryWeight")),
        failed_checks=_number(status.get("failedChecks")),
        target=str(target),
    )
