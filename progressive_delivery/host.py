"""The machine `pulumi up` runs on: the tools it needs answer at a supported release, and a k3d stack's
host ports are free."""

from __future__ import annotations

import errno
import json
import shutil
import socket

from . import pins
from .config import key
from .preflight_context import Context
from .process import Runner, ToolMissing
from .project import STACK_LABEL

# The oldest Docker Engine the program is written for (its BuildKit builds the echo-version image).
MINIMUM_DOCKER = 24


def tool_problems(context: Context) -> list[str]:
    """Docker (it builds the first image), kubectl (the platform check), git and ssh (publishing)."""
    problems = [problem] if (problem := docker_problem(context.runner)) else []
    problems += kubectl_problems(context.runner)
    for tool, purpose in (("git", "publishing platform/"), ("ssh", "publishing over SSH with the deploy key")):
        if shutil.which(tool) is None:
            problems.append(f"{tool} is not installed or not on PATH; install it ({purpose} needs it)")
    return problems


def k3d_machine_problems(context: Context) -> list[str]:
    """The k3d release, and the host ports of a k3d stack."""
    return [*k3d_version_problems(context.runner), *port_problems(context)]


def docker_problem(runner: Runner) -> str | None:
    try:
        result = runner(["docker", "info", "--format", "{{.ServerVersion}}"], capture=True, timeout=30)
    except ToolMissing:
        return "docker is not installed or not on PATH; install Docker (24 or newer) and start it"
    if result.returncode != 0 or not result.stdout.strip():
        reason = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        return f"Docker does not answer ({reason}); start Docker (Docker Desktop, colima or dockerd)"
    version = result.stdout.strip()
    major = version.split(".", 1)[0]
    if major.isdigit() and int(major) < MINIMUM_DOCKER:
        return f"Docker {version} is older than {MINIMUM_DOCKER}; update Docker (k3d and the image build need it)"
    return None


def kubectl_problems(runner: Runner) -> list[str]:
    minimum = pins.pin("kubectl").minimum
    try:
        result = runner(["kubectl", "version", "--client", "-o", "json"], capture=True, timeout=30)
    except ToolMissing:
        return [f"kubectl is not installed or not on PATH; install kubectl {minimum} or newer (the platform "
                "check builds the Flux tree with its kustomize)"]
    try:
        found = str(json.loads(result.stdout)["clientVersion"]["gitVersion"])
    except (ValueError, KeyError, TypeError):
        return [f"cannot tell the kubectl version (`kubectl version --client` failed); install kubectl "
                f"{minimum} or newer"]
    return [problem] if (problem := pins.version_problem("kubectl", found)) else []


def k3d_version_problems(runner: Runner) -> list[str]:
    wanted = pins.pin("k3d").version
    try:
        result = runner(["k3d", "version"], capture=True, timeout=30)
    except ToolMissing:
        return [f"k3d is not installed or not on PATH; install k3d {wanted}"]
    found = pins.find_version(result.stdout) if result.returncode == 0 else None
    if found is None:
        return [f"cannot tell the k3d version (`k3d version` printed {result.stdout.strip()[:80]!r}); "
                f"install k3d {wanted}"]
    return [problem] if (problem := pins.version_problem("k3d", found)) else []


def port_problems(context: Context) -> list[str]:
    """Host ports that are taken, unless this stack's own cluster holds them."""
    settings = context.settings
    if (context.server_labels or {}).get(STACK_LABEL) == settings.stack:
        return []
    return [f"{key(setting)}: port {port} on 127.0.0.1 is already in use; stop what holds it or choose "
            f"another port (`pulumi config set {key(setting)} <port>`)"
            for setting, port in settings.host_ports().items() if not port_is_free(port)]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.errno not in (errno.EADDRINUSE, errno.EACCES)
    return True
