"""Running commands, and kubectl against a stack's cluster.

Every external command of the `release` and `status` commands goes through
one `Runner`, so tests replace it without Docker, k3d or a cluster. The
kubeconfig comes from `--kubeconfig FILE`, or else from `k3d kubeconfig get
<cluster>` of the stack's own cluster (never from KUBECONFIG, which may point
at the other stack), written to a private (0600) temporary file that is
removed afterwards, never printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from . import klog


@dataclass(frozen=True)
class Result:
    """Exit code and (when captured) output of one command."""

    returncode: int
    stdout: str = ""
    stderr: str = ""


class Runner(Protocol):
    """Runs one command; `stdin` feeds secrets that must not appear on the command line."""

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                 stdin: str | None = None, capture: bool = True,
                 timeout: float | None = None) -> Result: ...


class ToolMissing(Exception):
    """A required program is not installed."""

    def __init__(self, program: str):
        self.program = program
        super().__init__(f"'{program}' is not installed or not on PATH")


def run_process(argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                stdin: str | None = None, capture: bool = True,
                timeout: float | None = None) -> Result:
    """The real runner: `env` is added to the current environment."""
    try:
        completed = subprocess.run(
            list(argv), env={**os.environ, **env} if env else None, input=stdin, text=True,
            capture_output=capture, timeout=timeout, check=False,
            stdin=None if stdin is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise ToolMissing(argv[0]) from None
    except subprocess.TimeoutExpired:
        return Result(124, "", f"{argv[0]} did not answer within {timeout:g} seconds")
    return Result(completed.returncode, completed.stdout or "", completed.stderr or "")


# --------------------------------------------------------------------------- kubeconfig

class KubeError(Exception):
    """The cluster cannot be used; the message says what to do."""


class ClusterUnreachable(KubeError):
    """No answer from the API server, or no kubeconfig for it."""


class NotFound(KubeError):
    """The object does not exist."""


class UnknownKind(KubeError):
    """The API server does not serve that kind (its CRD is not installed yet)."""


@dataclass(frozen=True)
class KubeconfigSource:
    """Where the kubeconfig comes from: an explicit file, or the stack's k3d cluster."""

    kind: str  # "file" | "k3d"
    value: str  # the file, or the k3d cluster name

    def describe(self) -> str:
        if self.kind == "file":
            return f"kubeconfig {self.value}"
        return f"k3d cluster {self.value}"


def choose_kubeconfig(cluster_name: str, explicit: str | None) -> KubeconfigSource:
    """--kubeconfig wins, else the stack's own k3d cluster."""
    if explicit:
        return KubeconfigSource("file", explicit)
    return KubeconfigSource("k3d", cluster_name)


@contextmanager
def kubeconfig_path(source: KubeconfigSource, runner: Runner, stack: str) -> Iterator[Path]:
    """The kubeconfig file to pass to kubectl."""
    if source.kind == "file":
        path = Path(source.value)
        if not path.is_file():
            raise ClusterUnreachable(f"--kubeconfig {path}: no such file; give the kubeconfig of the "
                                     f"stack's cluster")
        yield path
        return
    try:
        result = runner(["k3d", "kubeconfig", "get", source.value], capture=True, timeout=30)
    except ToolMissing:
        raise ClusterUnreachable(
            "k3d is not installed, so the kubeconfig of k3d cluster "
            f"'{source.value}' cannot be read; install k3d, or pass --kubeconfig FILE") from None
    if result.returncode != 0 or not result.stdout.strip():
        reason = _first_line(result.stderr) or "no kubeconfig returned"
        raise ClusterUnreachable(
            f"cannot read the kubeconfig of k3d cluster '{source.value}' ({reason}); create the "
            f"cluster with `pulumi up --stack {stack}`, or pass --kubeconfig FILE")
    descriptor, name = tempfile.mkstemp(prefix="pd-kubeconfig-", suffix=".yaml")
    path = Path(name)
    try:
        os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(result.stdout)
        yield path
    finally:
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- kubectl

_UNREACHABLE_MARKERS = (
    "unable to connect to the server", "connection refused", "no such host", "i/o timeout",
    "context deadline exceeded", "client.timeout exceeded", "did not answer within",
    "the server is currently unable to handle the request", "no configuration has been provided",
    "dial tcp", "tls handshake timeout", "connection reset by peer", "was refused",
)


def classify_error(stderr: str) -> type[KubeError]:
    """Which KubeError a failed kubectl call stands for, from its message."""
    text = stderr.lower()
    if "the server doesn't have a resource type" in text or "no matches for kind" in text:
        return UnknownKind
    if "(notfound)" in text or ("error from server" in text and " not found" in text):
        return NotFound
    if any(marker in text for marker in _UNREACHABLE_MARKERS):
        return ClusterUnreachable
    return KubeError


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


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

    def get_json(self, *args: str) -> Any:
        """`kubectl get ... -o json`, parsed; raises a KubeError subclass on failure."""
        try:
            result = self.runner(self.argv("get", *args, "-o", "json"), capture=True, timeout=60)
        except ToolMissing:
            raise KubeError("kubectl is not installed or not on PATH; install kubectl") from None
        if result.returncode != 0:
            error = classify_error(result.stderr)
            raise error(error_message(result.stderr) or f"kubectl exited with {result.returncode}")
        try:
            return json.loads(result.stdout)
        except json.JSONDecodeError as exc:
            raise KubeError(f"kubectl returned output that is not JSON: {exc}") from None
