"""Which echo-version tags each environment's image policy picks, and which version may be released next.

Staging takes releases and release candidates (x.y.z, x.y.z-rc.N);
production, and any other stack, takes releases only. The ImagePolicies in
platform/apps/<env> encode the same rule (the checker verifies that the first
version of each stack passes them); the settings and `release` use this
module, and the tests hold the image workflow's version check to it. Flux
deploys the highest tag the policy picks, so a release must be above it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import semver

_STABLE = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
_RELEASE_CANDIDATE = r"-rc\.(0|[1-9]\d*)"


class VersionRefused(ValueError):
    """The version cannot be released to this stack; the message says what to give instead."""


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


def parse_release(text: str, policy: VersionPolicy) -> semver.Version:
    """The version parsed, or VersionRefused naming what is wrong with it."""
    if not semver.Version.is_valid(text):
        hint = " (without the leading 'v')" if text[:1] in "vV" and semver.Version.is_valid(text[1:]) else ""
        raise VersionRefused(f"'{text}' is not a semantic version: give MAJOR.MINOR.PATCH such as 1.2.0"
                             f"{hint}, or 1.2.0-rc.1 for a staging release candidate.")
    version = semver.Version.parse(text)
    if not policy.accepts(text):
        reason = f"the {policy.environment} image policy only picks {policy.describe()}"
        if version.prerelease and not policy.release_candidates:
            reason += (f", never the pre-release {text}; release it to staging, then release "
                       f"{version.finalize_version()} here")
        elif version.build:
            reason += ", without build metadata"
        raise VersionRefused(f"Refusing {text}: {reason}.")
    return version


def current_version(tags: Iterable[str], policy: VersionPolicy) -> str | None:
    """The highest tag the policy accepts: the version Flux runs once it caught up."""
    accepted = [tag for tag in tags if policy.accepts(tag)]
    return max(accepted, key=semver.Version.parse, default=None)


def check_newer(version: semver.Version, current: str | None, repository: str) -> None:
    """Refuse a version that is not above the current one (Flux picks the highest)."""
    if current is None or version > semver.Version.parse(current):
        return
    highest = semver.Version.parse(current)
    same = "is the current version" if version == highest else f"is not newer than {current}, the current version"
    raise VersionRefused(f"Refusing {version}: it {same} in {repository}; Flux deploys the highest "
                         f"version, so release a higher one such as {highest.bump_patch()}.")
