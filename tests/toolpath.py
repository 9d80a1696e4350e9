"""A PATH holding the system's programs except the ones a test pretends are not installed.

Tests of "docker is missing" must not find a real docker in /usr/bin (where a
distribution package puts it), so the system directories are mirrored without
the named programs instead of being put on PATH as they are.
"""

from __future__ import annotations

import os
from pathlib import Path

SYSTEM_DIRECTORIES = ("/usr/local/bin", "/usr/bin", "/bin")
ABSENT = ("docker", "k3d", "kubectl", "pulumi")


def system_path_without(directory: Path, absent: tuple[str, ...] = ABSENT) -> str:
    """A directory of links to the system programs except `absent`; returned as a PATH entry."""
    directory.mkdir(parents=True, exist_ok=True)
    for system in SYSTEM_DIRECTORIES:
        if not os.path.isdir(system):
            continue
        for entry in os.scandir(system):
            link = directory / entry.name
            if entry.name not in absent and not link.exists() and not link.is_symlink():
                link.symlink_to(entry.path)
    return str(directory)
