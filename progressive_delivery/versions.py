"""Which echo-version tags each environment's image policy picks.

Staging takes releases and release candidates (x.y.z, x.y.z-rc.N);
production, and any other stack, takes releases only. The ImagePolicies in
platform/apps/<env> encode the same rule (the checker verifies that the first
version of each stack passes them); the settings and `release` use this
module, and the tests hold the image workflow's version check to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STABLE = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
_RELEASE_CANDIDATE = r"-rc\.(0|[1-9]\d*)"


@dataclass(frozen=True)
class VersionPolicy:
    """The tags an environment's ImagePolicy picks: x.y.z, and x.y.z-rc.N where allowed."""

    environment: str
    release_candidates: bool

    @property
    def pattern(self) -> re.Pattern[str]:
        suffix = f"({_RELEASE_CANDIDATE})?" if self.release_candidates else ""
        return re.compile(f"^{_STABLE}{suffix}$")

    def accepts(self, tag: str) -> bool:
        return bool(self.pattern.match(tag))

    def describe(self) -> str:
        return "x.y.z and x.y.z-rc.N" if self.release_candidates else "x.y.z"


def policy_for(stack: str) -> VersionPolicy:
    """Staging takes release candidates; production and any other stack take releases only."""
    return VersionPolicy(stack, release_candidates=stack == "staging")
