"""Where the project lives and what it is called."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PROJECT = "progressive-delivery"
PROJECT_ROOT = Path(__file__).resolve().parent.parent
PLATFORM_DIR = PROJECT_ROOT / "platform"
APP_NAME = "echo-version"
APP_SOURCE = PROJECT_ROOT / "applications" / APP_NAME
# Marks what a stack owns: its k3d containers (a Docker label) and Flux's namespace (a Kubernetes label).
STACK_LABEL = f"{PROJECT}.stack"


def cache_directory(kind: str, env: Mapping[str, str] | None = None) -> Path:
    """The user's cache of `kind` (downloads kept between runs): under $XDG_CACHE_HOME, else ~/.cache."""
    environment = os.environ if env is None else env
    base = environment.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / PROJECT / kind
