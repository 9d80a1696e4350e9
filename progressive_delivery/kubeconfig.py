"""The kubeconfig of a stack's cluster: an explicit file, checked, or the stack's k3d cluster, in a private file.

`--kubeconfig FILE` is checked before use: a missing file, a directory, an
unreadable file or one kubectl's own loader does not take is a one-line
KubeconfigUnusable. Without it, `k3d kubeconfig get <cluster>` of the stack's
own cluster is used (never KUBECONFIG, which may point at the other stack),
written to a private (0600) temporary file `pd-kubeconfig-*` that is removed
on every way out: return, error, Ctrl-C, and SIGTERM or SIGHUP (which the CLI
raises as an exception). It is never printed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import k3d
from .kube import KubeconfigUnusable, Kubectl
from .process import Runner, signals_held
from .settings import ExistingClusterSettings, Settings
from .text import clip

TEMPORARY_PREFIX = "pd-kubeconfig-"


@dataclass(frozen=True)
class KubeconfigSource:
    """Where the kubeconfig comes from: a file (with its context), or the stack's k3d cluster."""

    kind: str  # "file" | "k3d"
    value: str  # the file, or the k3d cluster name
    context: str | None = None

    def describe(self) -> str:
        if self.kind == "file":
            return f"kubeconfig {self.value}" + (f" (context {self.context})" if self.context else "")
        return f"k3d cluster {self.value}"

    def kubectl(self, runner: Runner, path: Path) -> Kubectl:
        """kubectl for this source, given the kubeconfig file it resolved to."""
        return Kubectl(runner, path, context=self.context)


def choose_kubeconfig(settings: Settings, explicit: str | None) -> KubeconfigSource:
    """--kubeconfig wins; else the stack's own k3d cluster, or an existing cluster's kubeconfigPath."""
    cluster = settings.cluster
    context = cluster.context if isinstance(cluster, ExistingClusterSettings) else None
    if explicit is not None:
        if not explicit.strip():
            raise KubeconfigUnusable("--kubeconfig was given an empty path; name a kubeconfig file, or leave the "
                                     "option out to use the stack's own cluster")
        return KubeconfigSource("file", explicit, context)
    if not isinstance(cluster, ExistingClusterSettings):
        return KubeconfigSource("k3d", cluster.name)
    if cluster.kubeconfig_path:
        return KubeconfigSource("file", os.path.expanduser(cluster.kubeconfig_path), context)
    raise KubeconfigUnusable(
        f"stack '{settings.stack}' keeps its cluster's kubeconfig as a secret: write it to a private file with "
        f"`(umask 077; pulumi stack output kubeconfig --show-secrets --stack {settings.stack} > FILE)` and pass "
        "--kubeconfig FILE")


def check_file(path: Path, runner: Runner) -> None:
    """Raise KubeconfigUnusable, in one line, unless kubectl can use `path` as a kubeconfig."""
    what = f"--kubeconfig {path}"
    fix = "give the kubeconfig of the stack's cluster, or leave --kubeconfig out to use the stack's k3d cluster"
    if not path.exists():
        raise KubeconfigUnusable(f"{what}: no such file; {fix}")
    if path.is_dir():
        raise KubeconfigUnusable(f"{what} is a directory; {fix}")
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise KubeconfigUnusable(f"{what} cannot be read ({error.strerror}); {fix}") from None
    try:
        Kubectl(runner, path).current_server()
    except KubeconfigUnusable as error:
        reason = str(error).removeprefix("error: ")
        raise KubeconfigUnusable(f"{what} is not a kubeconfig kubectl can use ({clip(reason, 160)}); {fix}") from None


@contextmanager
def private_file(text: str) -> Iterator[Path]:
    """`text` in a new private file (mkstemp creates it 0600), removed on every exit.

    Stop signals are held back from the file's creation until its removal is guaranteed.
    """
    path: Path | None = None
    try:
        with signals_held():
            descriptor, name = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, suffix=".yaml")
            path = Path(name)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        yield path
    finally:
        if path is not None:
            with signals_held():
                path.unlink(missing_ok=True)


@contextmanager
def kubeconfig_path(source: KubeconfigSource, runner: Runner, stack: str) -> Iterator[Path]:
    """The kubeconfig file to pass to kubectl; raises a KubeError subclass saying what to do."""
    if source.kind == "file":
        path = Path(source.value)
        check_file(path, runner)
        yield path
        return
    with private_file(k3d.kubeconfig(runner, source.value, stack)) as path:
        yield path
