"""`status`: readiness of the Flux objects and of the canary of a stack, as one table.

    python -m progressive_delivery status --stack staging

The table comes from readiness.py, the hints below it from known_failures.py.
When the cluster cannot be used, one line says why and what to run: a k3d
cluster that is gone, or stopped, is told apart from an unreachable one.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping

from . import k3d
from .config import Settings, SettingsError, load_stack
from .known_failures import diagnose
from .kube import ClusterUnreachable, KubeError
from .kubeconfig import KubeconfigSource, choose_kubeconfig, kubeconfig_path
from .process import Runner, run_process
from .readiness import Listing, all_ready, collect, render, table_rows

EXIT_READY, EXIT_NOT_READY, EXIT_UNUSABLE = 0, 1, 2

EXIT_CODES = ("Exit codes: 0 every object is Ready; 1 something is not Ready (or missing); 2 nothing could be "
              "shown: the stack's settings, the kubeconfig or kubectl cannot be used, or the cluster is "
              "gone, stopped or does not answer.")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `status` command."""
    parser = subparsers.add_parser(
        "status", help="readiness of the Flux objects and the canary of a stack",
        description="Show the readiness of the stack's GitRepository, Kustomizations, HelmReleases, image "
                    "automation objects and the echo-version Canary. " + EXIT_CODES)
    parser.add_argument("--stack", required=True, help="stack to inspect (Pulumi.<stack>.yaml)")
    parser.add_argument("--kubeconfig", metavar="FILE",
                        help="kubeconfig of the cluster (default: `k3d kubeconfig get <clusterName>` of the stack)")
    parser.set_defaults(handler=handle)


def unreachable_reason(error: ClusterUnreachable, source: KubeconfigSource, runner: Runner, stack: str) -> str:
    """Why the API server does not answer: a k3d cluster gone or stopped says so, with the command to run."""
    if source.kind == "k3d":
        try:
            k3d.require_running(runner, source.value, stack)
        except KubeError as known:
            return str(known)
    return f"the API server does not answer ({error}); is the cluster running?"


def read_cluster(settings: Settings, source: KubeconfigSource, runner: Runner) -> list[Listing]:
    """Every kind's objects; raises KubeError with the one line to print."""
    with kubeconfig_path(source, runner, settings.stack) as path:
        try:
            return collect(source.kubectl(runner, path))
        except ClusterUnreachable as error:
            reason = unreachable_reason(error, source, runner, settings.stack)
            raise KubeError(f"cannot reach the cluster of stack '{settings.stack}' ({source.describe()}): "
                            f"{reason}") from None


def handle(args: argparse.Namespace, runner: Runner = run_process,
           env: Mapping[str, str] | None = None, out: Callable[[str], None] = print) -> int:
    """Run `status` from parsed arguments; return the exit code."""
    env = os.environ if env is None else env
    try:
        settings = load_stack(args.stack, env=env)
        listings = read_cluster(settings, choose_kubeconfig(settings, args.kubeconfig), runner)
    except (SettingsError, KubeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_UNUSABLE
    rows = table_rows(listings)
    out(render(rows))
    for hint in diagnose(listings, settings):
        out(f"hint: {hint}")
    return EXIT_READY if all_ready(rows) else EXIT_NOT_READY
