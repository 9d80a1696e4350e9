"""Helpers for the command resources that run on the machine executing `pulumi up`.

Scripts take every parameter through environment variables, never through
string interpolation, so values cannot break the quoting; secrets go through
environment variables marked secret, never on a command line.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

import pulumi

from .project import PROJECT_ROOT

# `bash -c SCRIPT`: strict mode is set by the scripts themselves.
BASH = ["/bin/bash", "-c"]
STRICT = "set -euo pipefail\n"
# Environment variable that carries a cluster's kubeconfig (a secret) into a script.
KUBECONFIG_VARIABLE = "PD_KUBECONFIG"
# Script lines defining `k`: kubectl with that kubeconfig in a private file removed on exit,
# the context in KUBE_CONTEXT when set, and a bounded request time.
KUBECTL_FROM_ENVIRONMENT = f"""
kubeconfig=$(mktemp)
trap 'rm -f "$kubeconfig"' EXIT
chmod 600 "$kubeconfig"
printf '%s\\n' "${KUBECONFIG_VARIABLE}" > "$kubeconfig"
k() {{ kubectl --kubeconfig "$kubeconfig" ${{KUBE_CONTEXT:+--context "$KUBE_CONTEXT"}} --request-timeout=30s "$@"; }}
"""


def kubectl_environment(kubeconfig: pulumi.Input[str], context: str | None) -> dict[str, pulumi.Input[str]]:
    """What KUBECTL_FROM_ENVIRONMENT reads: the kubeconfig, marked secret, and the context when one is set."""
    environment: dict[str, pulumi.Input[str]] = {KUBECONFIG_VARIABLE: pulumi.Output.secret(kubeconfig)}
    if context:
        environment["KUBE_CONTEXT"] = context
    return environment


def project_python() -> str:
    """The interpreter running the program, relative to the project when it lives there.

    Pulumi runs the program from its `venv`, so this is `venv/bin/python` on
    every machine and the command inputs carry no absolute path.
    """
    executable = Path(sys.executable)
    # Resolve the directory (a checkout reached through a symlink), not the
    # interpreter itself: a venv's python is a symlink out of the venv.
    located = executable.parent.resolve() / executable.name
    try:
        return located.relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return "python3"


def cli(*args: str) -> str:
    """Command line running this project's CLI with the program's interpreter."""
    return shlex.join([project_python(), "-m", "progressive_delivery", *args])


def script(body: str) -> str:
    """A bash script in strict mode."""
    return STRICT + body.strip() + "\n"


def relative_to_project(path: Path) -> str:
    """A project path as a relative POSIX path (command resources run in the project)."""
    return Path(os.path.relpath(path, PROJECT_ROOT)).as_posix()
