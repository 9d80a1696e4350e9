"""kubectl against one kubeconfig, and its failures told apart by what the user has to do.

kubectl's messages are the interface: a failed call becomes the KubeError
subclass that says whether the object is missing, its kind is not served yet,
the cluster does not answer, or the kubeconfig itself cannot be used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import klog
from .process import Runner, ToolMissing


class KubeError(Exception):
    """The cluster cannot be used; the message says what to do."""


class ClusterUnreachable(KubeError):
    """No answer from the API server, or no kubeconfig for it."""


class KubeconfigUnusable(KubeError):
    """kubectl cannot use the kubeconfig (unreadable, not a kubeconfig, credentials refused), or is missing."""


class NotFound(KubeError):
    """The object does not exist."""


class UnknownKind(KubeError):
    """The API server does not serve that kind (its CRD is not installed yet)."""


_UNREACHABLE_MARKERS = (
    "unable to connect to the server", "connection refused", "no such host", "i/o timeout",
    "context deadline exceeded", "client.timeout exceeded", "did not answer within",
    "the server is currently unable to handle the request", "no configuration has been provided",
    "dial tcp", "tls handshake timeout", "connection reset by peer", "was refused",
)
# kubectl's loader and authentication failures (client-go tools/clientcmd; seen with kubectl 1.32).
_UNUSABLE_MARKERS = (
    "error loading config file", "invalid configuration", "current-context must exist", "cannot locate",
    "must be logged in to the server", "(unauthorized)",
)


def classify_error(stderr: str) -> type[KubeError]:
    """Which KubeError a failed kubectl call stands for, from its message."""
    text = stderr.lower()
    if "the server doesn't have a resource type" in text or "no matches for kind" in text:
        return UnknownKind
    if "(notfound)" in text or ("error from server" in text and " not found" in text):
        return NotFound
    if any(marker in text for marker in _UNUSABLE_MARKERS):
        return KubeconfigUnusable
    if any(marker in text for marker in _UNREACHABLE_MARKERS):
        return ClusterUnreachable
    return KubeError


def error_message(stderr: str) -> str:
    """The line of kubectl's stderr meant for people (its last one that is not a klog record)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    plain = [line for line in lines if not klog.is_record(line)]
    return (plain or lines or [""])[-1]


@dataclass
class Kubectl:
    """kubectl with one kubeconfig and a bounded request time."""

    runner: Runner
    kubeconfig: Path | None = None
    request_timeout: str = "10s"

    def argv(self, *args: str) -> list[str]:
        base = ["kubectl"]
        if self.kubeconfig is not None:
            base += ["--kubeconfig", str(self.kubeconfig)]
        return [*base, f"--request-timeout={self.request_timeout}", *args]

    def json(self, *args: str) -> Any:
        """`kubectl ARGS -o json`, parsed; raises a KubeError subclass on failure."""
        try:
            result = self.runner(self.argv(*args, "-o", "json"), capture=True, timeout=60)
        except ToolMissing:
            raise KubeconfigUnusable("kubectl is not installed or not on PATH; install kubectl") from None
        if result.returncode != 0:
            error = classify_error(result.stderr)
            raise error(error_message(result.stderr) or f"kubectl exited with {result.returncode}")
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise KubeError(f"kubectl returned output that is not JSON: {exc}") from None

    def get_json(self, *args: str) -> Any:
        """`kubectl get ARGS -o json`, parsed."""
        return self.json("get", *args)

    def current_server(self) -> str:
        """API server of the kubeconfig's current context, as kubectl's own loader reads it (offline).

        `config view --minify` prints only the current context, with secrets
        redacted; it fails on a file that is not a kubeconfig or has no usable
        current context.
        """
        view = self.json("config", "view", "--minify")
        clusters = view.get("clusters") if isinstance(view, dict) else None
        first = clusters[0] if isinstance(clusters, list) and clusters else None
        cluster = first.get("cluster") if isinstance(first, dict) else None
        server = cluster.get("server") if isinstance(cluster, dict) else None
        if not server:
            raise KubeconfigUnusable("its current context names no cluster with a server address")
        return str(server)
