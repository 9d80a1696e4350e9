"""Building echo-version at a version and pushing it: the commands as a plan, and the runner of the plan.

The plan is built by pure functions, so a dry run prints exactly what a real
run executes. An external registry is logged into with its own credential,
which reaches `docker login` on stdin only: a step names the environment
variable that feeds its stdin, never the value.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .config import APP_SOURCE, REGISTRY_PASSWORD_VARIABLE, Settings
from .process import Runner, ToolMissing

# Build arguments of a faulty release: enough errors and latency for Flagger to roll it back.
FAULT_ERROR_RATE = "0.5"
FAULT_DELAY_SECONDS = "0.5"

BUILD_OK, BUILD_FAILED = 0, 1
# Lines of a quiet step's output shown when it fails.
FAILURE_TAIL_LINES = 40


@dataclass(frozen=True)
class Step:
    """One command; `stdin_from` names the environment variable piped to its stdin."""

    summary: str
    argv: tuple[str, ...]
    stdin_from: str | None = None

    def display(self) -> str:
        shown = shlex.join(self.argv)
        return f"{shown} < ${self.stdin_from}" if self.stdin_from else shown


@dataclass(frozen=True)
class ReleasePlan:
    """The image to produce and the commands that produce it."""

    image: str
    steps: tuple[Step, ...]


def build_args(version: str, faulty: bool) -> dict[str, str]:
    """`--build-arg`s of the image: its version, and for a faulty release the injected faults."""
    args = {"APP_VERSION": version}
    if faulty:
        args.update(FAULT_ERROR_RATE=FAULT_ERROR_RATE, FAULT_DELAY_SECONDS=FAULT_DELAY_SECONDS)
    return args


def build_plan(settings: Settings, version: str, faulty: bool = False, context: str = str(APP_SOURCE)) -> ReleasePlan:
    """docker build, (login to an external registry,) push: the release of `version` to the stack's registry."""
    image = settings.image(version)
    build = ["docker", "build"]
    for name, value in build_args(version, faulty).items():
        build += ["--build-arg", f"{name}={value}"]
    build += ["--tag", image, context]
    steps = [Step(f"build {image}" + (" (faulty)" if faulty else ""), tuple(build))]
    registry = settings.registry
    if not registry.is_local:
        steps.append(Step(f"log in to {registry.server}",
                          ("docker", "login", registry.server, "--username", registry.username or "",
                           "--password-stdin"),
                          stdin_from=REGISTRY_PASSWORD_VARIABLE))
    steps.append(Step(f"push {image}", ("docker", "push", image)))
    return ReleasePlan(image, tuple(steps))


def execute(plan: ReleasePlan, runner: Runner, env: Mapping[str, str],
            out: Callable[[str], None] = print, quiet: bool = False) -> int:
    """Run the plan's steps in order; stop at the first failure (BUILD_FAILED).

    `quiet` keeps the tools' output (a whole build log) to itself and shows
    only its last lines when a step fails: what runs inside `pulumi up`
    prints one line per step, so no build log ends up in the stack's state.
    """
    for step in plan.steps:
        out(f"==> {step.summary}")
        stdin = env.get(step.stdin_from, "") if step.stdin_from else None
        try:
            result = runner(step.argv, stdin=stdin, capture=quiet)
        except ToolMissing as error:
            out(f"error: {error}; install Docker 24 or newer and start it")
            return BUILD_FAILED
        if result.returncode != 0:
            if quiet:
                for line in [*result.stdout.splitlines(), *result.stderr.splitlines()][-FAILURE_TAIL_LINES:]:
                    out(f"    {line}")
            out(f"error: `{step.argv[0]} {step.argv[1]}` failed with exit code {result.returncode}")
            return BUILD_FAILED
    return BUILD_OK
