"""What must hold before `pulumi up` creates anything: every problem found, each on one line.

On `up`, before the first resource is registered, the program checks the
machine and the accounts the stack needs: Docker answers, k3d is present at
a supported release, the stack's host ports are free (or held by this
stack's own cluster), the cluster of an existing-cluster stack answers and
lets these credentials install the platform, and the GitHub token is valid
with the scopes the settings need. In a preview only what needs neither
Docker nor a cluster runs (the token). `PD_PREFLIGHT=0` turns it all off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from . import github_access, host
from .process import Runner, run_process
from .settings import K3dClusterSettings, Settings

SWITCH = "PD_PREFLIGHT"


class PreflightFailed(Exception):
    """One or more prerequisites are missing; the message has one line per problem."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"Preflight found {len(self.problems)} problem(s); nothing was created:\n{lines}\n"
                         f"(set {SWITCH}=0 to skip these checks, e.g. offline)")


def enabled(env: Mapping[str, str]) -> bool:
    return env.get(SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


@dataclass
class Context:
    """What the checks may use: the settings, the token, whether this is a preview, and a command runner."""

    settings: Settings
    token: str
    preview: bool
    api_url: str = github_access.DEFAULT_API_URL
    runner: Runner = run_process
    kubeconfig: str | None = None      # an existing cluster's kubeconfig content


Check = Callable[[Context], list[str]]


def checks_for(context: Context) -> list[Check]:
    """The checks that apply to this stack and this kind of run."""
    chosen: list[Check] = [token_check]
    if context.preview:
        return chosen
    if isinstance(context.settings.cluster, K3dClusterSettings):
        chosen.insert(0, host.k3d_machine_problems)
    else:
        from . import existing_cluster

        chosen.insert(0, existing_cluster.preflight_problems)
    return chosen


def token_check(context: Context) -> list[str]:
    return github_access.token_problems(context.settings, context.token, context.api_url)


def run(context: Context, env: Mapping[str, str] | None = None) -> None:
    """Run every applicable check; raise PreflightFailed listing all problems, or return."""
    if not enabled(os.environ if env is None else env):
        return
    problems = [problem for check in checks_for(context) for problem in check(context)]
    if problems:
        raise PreflightFailed(problems)
