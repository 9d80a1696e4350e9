"""`release`: build echo-version at a version, push it to the stack's registry, follow the canary.

    python -m progressive_delivery release --stack staging 1.2.0 [--faulty] [--watch]

The version must be one the stack's image policy picks (versions.py) and
higher than the current one, the highest such tag already in the registry
(registry.py); otherwise Flux would never deploy it. The image is built and
pushed by a plan of commands (image_build.py); with `--watch` the Flagger
Canary is followed (canary_watch.py) until the version is promoted (exit 0) or
rolled back (exit 1). `pulumi up` pushes the first image with `--initial`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack

from .canary_watch import CanaryWatch, Outcome, follow, poll_canary, timeout_message
from .config import APP_NAME, Settings, SettingsError, load_stack
from .contract import APP_NAMESPACE
from .image_build import FAULT_DELAY_SECONDS, FAULT_ERROR_RATE, ReleasePlan, build_plan, execute
from .kube import ClusterUnreachable, KubeconfigUnusable, Kubectl, KubeError
from .kubeconfig import KubeconfigSource, choose_kubeconfig, kubeconfig_path
from .process import Runner, run_process
from .registry import (
    MissingCredential,
    RegistryEndpoint,
    RegistryError,
    RegistryUnreachable,
    list_tags,
    registry_endpoint,
    registry_password,
)
from .versions import VersionRefused, check_newer, current_version, parse_release, policy_for

DEFAULT_TIMEOUT_MINUTES = 20
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2


class ReleaseRefused(Exception):
    """The release cannot go ahead as asked (exit 2); the message says what to change."""


# Everything that refuses a release before a command runs (exit 2).
REFUSALS = (SettingsError, ReleaseRefused, VersionRefused, MissingCredential)

TagLister = Callable[[RegistryEndpoint], list[str]]


def _positive_minutes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of minutes") from None
    if not 1 <= value <= 240:
        raise argparse.ArgumentTypeError(f"{value} is out of range: give 1 to 240 minutes")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `release` command."""
    parser = subparsers.add_parser(
        "release", help="build and push echo-version at a version; optionally follow its canary",
        description="Build applications/echo-version at VERSION, push it to the stack's registry, and "
                    "(with --watch) follow the Flagger canary until it is promoted or rolled back. "
                    "Exit codes: 0 pushed (or promoted), 1 failed (build, push, rollback, timeout), "
                    "2 refused before anything ran (version, settings, registry unreachable or without its "
                    "credential, kubeconfig or cluster unusable for --watch).")
    parser.add_argument("version", metavar="VERSION", help="semantic version, e.g. 1.2.0 or 1.2.0-rc.1 (staging)")
    parser.add_argument("--stack", required=True,
                        help="stack whose registry receives the image (Pulumi.<stack>.yaml)")
    parser.add_argument("--faulty", action="store_true",
                        help=f"bake in errors ({FAULT_ERROR_RATE}) and latency ({FAULT_DELAY_SECONDS}s) "
                             "so that Flagger rolls the release back")
    parser.add_argument("--watch", action="store_true", help="follow the canary until promoted or rolled back")
    parser.add_argument("--expect-rollback", action="store_true",
                        help="with --watch: succeed (exit 0) when Flagger rolls the release back, fail when it "
                             "promotes it (to prove a faulty release is stopped)")
    parser.add_argument("--timeout", type=_positive_minutes, default=DEFAULT_TIMEOUT_MINUTES, metavar="MIN",
                        help=f"minutes to watch before giving up (default: {DEFAULT_TIMEOUT_MINUTES})")
    parser.add_argument("--kubeconfig", metavar="FILE",
                        help="kubeconfig of the cluster (default: `k3d kubeconfig get <clusterName>` of the stack)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands instead of running them")
    parser.add_argument("--initial", action="store_true",
                        help="first image of a new stack (used by `pulumi up`): push unless the tag exists")
    parser.set_defaults(handler=handle)


def registry_tags(endpoint: RegistryEndpoint, initial: bool, sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Registry tags; a fresh local registry gets a few seconds to start when `initial`."""
    attempts = 10 if initial else 1
    for attempt in range(attempts):
        try:
            return list_tags(endpoint)
        except RegistryUnreachable:
            if attempt == attempts - 1:
                raise
            sleep(3)
    return []


def prepare(settings: Settings, version_text: str, faulty: bool, initial: bool, dry_run: bool,
            env: Mapping[str, str], out: Callable[[str], None], tags_of: TagLister) -> ReleasePlan | None:
    """Validate the release and return its plan (None: nothing to do); raises one of REFUSALS."""
    policy = policy_for(settings.stack)
    version = parse_release(version_text, policy)
    repository = settings.registry.push_repository(settings.cluster.name)
    endpoint = registry_endpoint(settings, registry_password(settings, env))
    tags: list[str] | None = None
    try:
        tags = tags_of(endpoint)
    except RegistryUnreachable as error:
        if settings.registry.is_local and not dry_run:
            raise ReleaseRefused(
                f"Cannot reach the registry of stack '{settings.stack}' at {endpoint.base_url} ({error}); "
                f"create it first with `pulumi up --stack {settings.stack}`.") from None
        out(f"warning: cannot reach {endpoint.base_url} ({error}); not checking that {version} is newer")
    except RegistryError as error:
        if settings.registry.is_local:
            raise ReleaseRefused(f"The registry at {endpoint.base_url} did not list the tags of {repository}: "
                                 f"{error}.") from None
        out(f"warning: cannot list the tags of {repository} ({error}); not checking that {version} is newer")
    if tags is not None:
        if initial and version_text in tags:
            out(f"{repository}:{version_text} is already in the registry; nothing to do")
            return None
        if not initial:
            check_newer(version, current_version(tags, policy), repository)
    return build_plan(settings, version_text, faulty)


def watch(version: str, minutes: int, kubectl: Kubectl, source: KubeconfigSource, stack: str,
          out: Callable[[str], None], expect_rollback: bool = False) -> int:
    """Follow the canary of `version`: 0 for the expected outcome (promotion, or a rollback when
    `expect_rollback`), 1 for the other one, a timeout or a canary that cannot be followed."""
    out(f"following Canary {APP_NAMESPACE}/{APP_NAME} of {version} ({source.describe()}; "
        f"up to {minutes} min; Flux picks the new tag within a few minutes)")
    canary_watch = CanaryWatch(version)
    try:
        for event in follow(poll_canary(kubectl, time.monotonic() + minutes * 60), canary_watch):
            out(event.line())
    except (ClusterUnreachable, KubeconfigUnusable) as error:
        out(f"error: pushed, but cannot follow the canary: {error}")
        return EXIT_FAILED
    if canary_watch.outcome is Outcome.PROMOTED:
        out(f"{version} promoted: it now serves all traffic")
        if expect_rollback:
            out(f"error: {version} was promoted, but a rollback was expected")
        return EXIT_FAILED if expect_rollback else EXIT_OK
    if canary_watch.outcome is Outcome.ROLLED_BACK:
        primary = canary_watch.last.primary_tag if canary_watch.last else None
        out(f"{version} rolled back by Flagger: the primary still runs {primary or 'the previous version'}")
        return EXIT_OK if expect_rollback else EXIT_FAILED
    out(f"error: {timeout_message(canary_watch, minutes, stack)}")
    return EXIT_FAILED


def _print(line: str) -> None:
    stream = sys.stderr if line.startswith(("error:", "warning:")) else sys.stdout
    print(line, file=stream, flush=True)


def _show(plan: ReleasePlan, args: argparse.Namespace, out: Callable[[str], None]) -> int:
    out(f"would release {plan.image}:")
    for step in plan.steps:
        out(f"  {step.display()}")
    if args.watch:
        out(f"  then follow Canary {APP_NAMESPACE}/{APP_NAME} until {args.version} is promoted or rolled back")
    return EXIT_OK


def handle(args: argparse.Namespace, runner: Runner = run_process, env: Mapping[str, str] | None = None,
           tags_of: TagLister | None = None, out: Callable[[str], None] = _print) -> int:
    """Run `release` from parsed arguments; return the exit code."""
    env = os.environ if env is None else env
    if args.expect_rollback and not args.watch:
        out("error: --expect-rollback needs --watch")
        return EXIT_REFUSED
    try:
        settings = load_stack(args.stack, env=env)
        plan = prepare(settings, args.version, args.faulty, args.initial, args.dry_run, env, out,
                       tags_of or (lambda endpoint: registry_tags(endpoint, args.initial)))
    except REFUSALS as error:
        out(f"error: {error}")
        return EXIT_REFUSED
    if plan is None:
        return EXIT_OK
    if args.dry_run:
        return _show(plan, args, out)
    with ExitStack() as cleanup:
        if args.watch:
            # The cluster must be followable before anything is built and pushed.
            try:
                source = choose_kubeconfig(settings, args.kubeconfig)
            except KubeError as error:
                out(f"error: cannot follow the canary: {error}")
                return EXIT_REFUSED
            try:
                kubeconfig = cleanup.enter_context(kubeconfig_path(source, runner, settings.stack))
            except KubeError as error:
                out(f"error: cannot follow the canary ({source.describe()}): {error}")
                return EXIT_REFUSED
        if execute(plan, runner, env, out, quiet=args.initial) != 0:
            return EXIT_FAILED
        out(f"pushed {plan.image}")
        if not args.watch:
            out(f"Flux image automation deploys it within a few minutes; follow it with --watch or "
                f"`python -m progressive_delivery status --stack {settings.stack}`")
            return EXIT_OK
        return watch(args.version, args.timeout, source.kubectl(runner, kubeconfig), source, settings.stack, out,
                     expect_rollback=args.expect_rollback)
