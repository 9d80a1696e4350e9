"""What a preflight check may use: the settings, the token, the kind of run, a command runner."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from .cluster import server_labels
from .github_access import DEFAULT_API_URL
from .process import Runner, run_process
from .settings import K3dClusterSettings, Settings


@dataclass
class Context:
    """The inputs of every check; `kubeconfig` is an existing cluster's, as text (never logged)."""

    settings: Settings
    token: str
    preview: bool
    api_url: str = DEFAULT_API_URL
    runner: Runner = run_process
    kubeconfig: str | None = None

    @cached_property
    def server_labels(self) -> dict[str, str] | None:
        """Labels of the k3d stack's server container, asked of Docker once per run: {} when there is none,
        None when Docker cannot tell (see cluster.server_labels)."""
        assert isinstance(self.settings.cluster, K3dClusterSettings), "only a k3d stack has a server container"
        return server_labels(self.runner, self.settings.cluster.name)
