"""The project's stack files (`Pulumi.<stack>.yaml`): reading them, and keeping stacks apart.

Stacks run side by side on one machine, so no two may share a k3d cluster,
a host port, an existing cluster's kubeconfig context or a repository.
`collisions` compares one stack's settings with what the other stack files
say, and names both sides of every clash.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .project import PROJECT, PROJECT_ROOT
from .setting_reader import SettingReader
from .settings import LOCAL_REGISTRY, host_port_keys

PREFIX = f"{PROJECT}:"


class StackFileError(Exception):
    """A stack file cannot be read; the message names the file."""


def stack_file(stack: str, root: Path = PROJECT_ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def available_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def read_stack_file(stack: str, root: Path = PROJECT_ROOT) -> dict[str, Any]:
    """Raw `progressive-delivery:` values of a stack file (secure values excluded)."""
    return {key[len(PREFIX):]: value for key, value in _stack_config(stack, root).items()
            if isinstance(key, str) and key.startswith(PREFIX) and not _is_secure(value)}


def plain_secrets(stack: str, keys: Sequence[str], root: Path = PROJECT_ROOT) -> list[str]:
    """Full keys among `keys` (e.g. `github:token`) that the stack file holds in plain text."""
    try:
        config = _stack_config(stack, root)
    except StackFileError:
        return []
    return [name for name in keys if name in config and not _is_secure(config[name])]


def _stack_config(stack: str, root: Path) -> dict[Any, Any]:
    """The `config:` mapping of a stack file, every namespace; StackFileError naming the file otherwise."""
    path = stack_file(stack, root)
    if not path.is_file():
        known = ", ".join(available_stacks(root)) or "none"
        raise StackFileError(f"{path.name}: no such stack file (known stacks: {known})")
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as error:
        raise StackFileError(f"{path.name}: cannot be read: {error}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path.name}: not valid YAML: {' '.join(str(error).split())}") from None
    config = (document.get("config") or {}) if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise StackFileError(f"{path.name}: 'config' must be a mapping of settings")
    return config


def _is_secure(value: Any) -> bool:
    """An encrypted value (`{secure: ...}`), which only Pulumi can read."""
    return isinstance(value, dict) and set(value) == {"secure"}


@dataclass(frozen=True)
class Footprint:
    """What a stack holds on the machine or on GitHub that no other stack may hold too."""

    stack: str
    cluster: tuple[str, str]                 # ("k3d", name) or ("existing", "<kubeconfigPath>#<context>")
    ports: dict[int, str]                    # host port -> setting
    repository: tuple[str, str]              # (owner or "", name)


def footprint_of(stack: str, value: Callable[[str], Any], owner_from_env: str) -> Footprint:
    """The footprint of a stack whose settings `value(name)` returns, defaults applied."""
    if str(value("clusterProvider")) == "k3d":
        cluster = ("k3d", str(value("clusterName")))
        ports = {}
        local = str(value("imageRepository")) == LOCAL_REGISTRY
        for key in host_port_keys(local):
            try:
                ports[int(str(value(key)))] = key
            except ValueError:
                continue
    else:
        where = value("kubeconfigPath")
        cluster = ("existing", f"{where}#{value('kubeContext') or ''}" if where else f"inline:{stack}")
        ports = {}
    owner = str(value("repositoryOwner") or owner_from_env)
    return Footprint(stack, cluster, ports, (owner.lower(), str(value("repositoryName")).lower()))


def collisions(mine: Footprint, others: list[Footprint], key: Callable[[str], str]) -> list[tuple[str, str]]:
    """(setting, problem) for everything `mine` shares with another stack; `key` formats a setting name."""
    found: list[tuple[str, str]] = []
    for other in others:
        where = f"stack '{other.stack}' ({stack_file(other.stack).name})"
        if mine.cluster == other.cluster and mine.cluster[0] == "k3d":
            found.append(("clusterName", f"'{mine.cluster[1]}' is also the k3d cluster of {where}; stacks never "
                                         "share a cluster: choose another name"))
        elif mine.cluster == other.cluster:
            found.append(("kubeconfigPath", f"this kubeconfig and context also reach the cluster of {where}; "
                                            "two stacks on one cluster would fight over Flux: use another cluster"))
        for port, setting in mine.ports.items():
            if port in other.ports:
                found.append((setting, f"port {port} is also {key(other.ports[port])} of {where}; stacks run side "
                                       "by side, so every host port must be distinct: choose a free port"))
        if mine.repository == other.repository and all(mine.repository):
            found.append(("repositoryName", f"'{mine.repository[0]}/{mine.repository[1]}' is also the repository "
                                            f"of {where}; each stack needs its own: choose another name"))
    return found


def other_footprints(stack: str, owner_from_env: str, defaults: Mapping[str, Any],
                     root: Path = PROJECT_ROOT) -> list[Footprint]:
    """Footprints of every other stack file that can be read (unreadable ones are checked on their own)."""
    found = []
    for other in available_stacks(root):
        if other == stack:
            continue
        try:
            raw = read_stack_file(other, root)
        except StackFileError:
            continue
        found.append(footprint_of(other, SettingReader(other, raw, defaults).value, owner_from_env))
    return found
