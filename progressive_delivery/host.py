"""The machine a k3d stack runs on: Docker answers, k3d is a supported release, the host ports are free."""

from __future__ import annotations

import errno
import socket
from typing import TYPE_CHECKING

from . import pins
from .cluster import IDENTITY_LABEL, server_labels
from .process import Runner, ToolMissing
from .settings import K3dClusterSettings, Settings

if TYPE_CHECKING:
    from .preflight import Context


def k3d_machine_problems(context: Context) -> list[str]:
    """Docker, k3d and the host ports; one line per problem."""
    docker = docker_problem(context.runner)
    if docker:
        return [docker, *k3d_version_problems(context.runner)]
    return [*k3d_version_problems(context.runner), *port_problems(context.settings, context.runner)]


def docker_problem(runner: Runner) -> str | None:
    try:
        result = runner(["docker", "info", "--format", "{{.ServerVersion}}"], capture=True, timeout=30)
    except ToolMissing:
        return "docker is not installed or not on PATH; install Docker (24 or newer) and start it"
    if result.returncode != 0 or not result.stdout.strip():
        reason = (result.stderr.strip().splitlines() or ["no answer"])[-1]
        return f"Docker does not answer ({reason}); start Docker (Docker Desktop, colima or dockerd)"
    return None


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


def port_problems(settings: Settings, runner: Runner) -> list[str]:
    """Host ports that are taken, unless this stack's own cluster holds them."""
    cluster = settings.cluster
    assert isinstance(cluster, K3dClusterSettings)
    if (server_labels(runner, cluster.name) or {}).get(IDENTITY_LABEL) == settings.stack:
        return []
    ports = {"httpPort": cluster.http_port, "apiPort": cluster.api_port}
    if settings.registry.is_local and settings.registry.port:
        ports["registryPort"] = settings.registry.port
    return [f"progressive-delivery:{setting}: port {port} on 127.0.0.1 is already in use; stop what holds it "
            f"or choose another port (`pulumi config set progressive-delivery:{setting} <port>`)"
            for setting, port in ports.items() if not port_is_free(port)]


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            return error.errno not in (errno.EADDRINUSE, errno.EACCES)
    return True
