"""Rules for the names and texts a stack's settings hold: each returns a problem sentence, or None.

They follow the system that reads the value: DNS for host names, k3d and
Docker for cluster names, GitHub for owners and repositories, git for branch
names (refname.py), URL paths for the app's prefix. Only ASCII counts as letters and
digits: YAML happily carries full-width digits or a trailing newline, and
none of those systems accepts them.
"""

from __future__ import annotations

import os
import re
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", re.ASCII)
_CLUSTER_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", re.ASCII)
_OWNER = re.compile(r"[A-Za-z0-9]+(-[A-Za-z0-9]+)*", re.ASCII)
_REPOSITORY = re.compile(r"[A-Za-z0-9._-]{1,100}", re.ASCII)
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~-]+", re.ASCII)


def hygiene_problem(value: Any) -> str | None:
    """Control characters or surrounding whitespace, which no setting may carry."""
    if not isinstance(value, str):
        return None
    if _CONTROL.search(value):
        return "it contains a control character (a line break, tab or similar)"
    if value != value.strip():
        return "it has leading or trailing whitespace"
    return None


def cluster_name_problem(name: str) -> str | None:
    if len(name) > 32 or not _CLUSTER_NAME.fullmatch(name):
        return "use lower-case letters, digits and '-', at most 32 characters, starting and ending alphanumeric"
    return None


def hostname_problem(host: str) -> str | None:
    labels = host.split(".")
    if len(host) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in labels):
        return ("use a lower-case DNS name such as grafana.localhost: labels of letters, digits and '-', "
                "at most 63 characters each")
    return None


def owner_problem(owner: str) -> str | None:
    if len(owner) > 39 or not _OWNER.fullmatch(owner):
        return "letters, digits and single hyphens, not starting or ending with one, at most 39 characters"
    return None


def repository_name_problem(name: str) -> str | None:
    if name in (".", "..") or name.lower().endswith(".git") or not _REPOSITORY.fullmatch(name):
        return "use letters, digits, '.', '_' and '-' (at most 100 characters, not '.', '..' or ending in .git)"
    return None


def path_prefix_problem(prefix: str) -> str | None:
    segments = prefix[1:-1].split("/") if prefix.startswith("/") and prefix.endswith("/") else None
    if not segments or not all(_PATH_SEGMENT.fullmatch(s) and s not in (".", "..") for s in segments):
        return "use a path that starts and ends with '/' and has no '.' or '..' segment, e.g. /echo/"
    return None


def context_problem(context: str) -> str | None:
    return "a kubeconfig context name has no spaces or control characters" if re.search(r"\s", context) else None


def readable_file_problem(path: str) -> str | None:
    expanded = os.path.expanduser(path)
    if not os.path.isfile(expanded) or not os.access(expanded, os.R_OK):
        return "no readable file there; give the path of the cluster's kubeconfig"
    return None
