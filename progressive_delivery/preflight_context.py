"""What a preflight check may use: the settings, the token, the kind of run, a command runner."""

from __future__ import annotations

from dataclasses import dataclass

from .github_access import DEFAULT_API_URL
from .process import Runner, run_process
from .settings import Settings


@dataclass
class Context:
    """The inputs of every check; `kubeconfig` is an existing cluster's, as text (never logged)."""

    settings: Settings
    token: str
    preview: bool
    api_url: str = DEFAULT_API_URL
    runner: Runner = run_process
    kubeconfig: str | None = None
