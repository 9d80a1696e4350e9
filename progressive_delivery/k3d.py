"""What k3d says about a stack's cluster: its kubeconfig, and whether the cluster exists and runs.

k3d behaviour relied on (k3d-io/k3d@v5.8.3, the same in v5.7.0 and v5.9.0):
- `k3d kubeconfig get NAME` fails alike for a missing cluster and for a Docker
  that does not answer (pkg/client/cluster.go `ClusterGet` logs the runtime
  error and returns "No nodes found for given cluster"), so that failure alone
  never says the cluster is gone.
- `k3d cluster list -o json` exits non-zero when the runtime cannot list its
  containers, and otherwise prints every cluster with `name`, `serversCount`
  and `serversRunning` (cmd/cluster/clusterList.go): a listing without the
  name is k3d saying the cluster does not exist.
- info-level logs go to stdout, warnings and errors to stderr, and LOG_LEVEL
  sets the level (cmd/root.go), so the commands run with LOG_LEVEL=warn.
"""

from __future__ import annotations

import json
from enum import Enum

from .kube import ClusterUnreachable, KubeError
from .process import Result, Runner, ToolMissing

QUIET = {"LOG_LEVEL": "warn"}
TIMEOUT_SECONDS = 30


class ClusterGone(ClusterUnreachable):
    """k3d lists no cluster of that name; the message names the command that creates it."""


class ClusterState(Enum):
    RUNNING = "running"
    STOPPED = "stopped"
    ABSENT = "absent"


def _k3d(runner: Runner, *args: str) -> Result:
    try:
        return runner(["k3d", *args], env=QUIET, capture=True, timeout=TIMEOUT_SECONDS)
    except ToolMissing:
        raise KubeError("k3d is not installed, so the stack's k3d cluster cannot be looked up; install k3d, "
                        "or pass --kubeconfig FILE") from None


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def cluster_state(runner: Runner, name: str) -> ClusterState:
    """Whether k3d has the cluster, and whether a server of it runs; ClusterUnreachable when k3d cannot tell."""
    result = _k3d(runner, "cluster", "list", "--output", "json")
    if result.returncode != 0:
        reason = _first_line(result.stderr) or f"exit code {result.returncode}"
        raise ClusterUnreachable(f"k3d cannot list its clusters ({reason}); is Docker running?")
    try:
        clusters = json.loads(result.stdout)
    except json.JSONDecodeError:
        clusters = None
    if not isinstance(clusters, list):
        raise KubeError("`k3d cluster list --output json` printed no cluster list; check the k3d installation")
    for cluster in clusters:
        if isinstance(cluster, dict) and cluster.get("name") == name:
            running = cluster.get("serversRunning") or 0
            if not isinstance(running, int):
                raise KubeError(f"`k3d cluster list --output json` printed serversRunning={running!r} for "
                                f"'{name}', not a count; check the k3d installation")
            return ClusterState.RUNNING if running > 0 else ClusterState.STOPPED
    return ClusterState.ABSENT


def require_running(runner: Runner, name: str, stack: str) -> None:
    """Return when the cluster runs; otherwise raise the error that says how to bring it back."""
    state = cluster_state(runner, name)
    if state is ClusterState.ABSENT:
        raise ClusterGone(
            f"k3d cluster '{name}' of stack '{stack}' does not exist (k3d lists no cluster of that name): it was "
            f"deleted, or the stack was never brought up; `pulumi up --stack {stack}` creates it")
    if state is ClusterState.STOPPED:
        raise ClusterUnreachable(f"k3d cluster '{name}' is stopped; start it with `k3d cluster start {name}`")


def kubeconfig(runner: Runner, name: str, stack: str) -> str:
    """The cluster's kubeconfig as k3d writes it (credentials included: never print it)."""
    result = _k3d(runner, "kubeconfig", "get", name)
    if result.returncode == 0 and result.stdout.strip():
        return result.stdout
    require_running(runner, name, stack)
    reason = _first_line(result.stderr) or "no kubeconfig returned"
    raise ClusterUnreachable(f"cannot read the kubeconfig of k3d cluster '{name}' ({reason}); "
                             "pass --kubeconfig FILE")
