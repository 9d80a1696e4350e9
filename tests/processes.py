"""The project's commands run as real processes, and what tests ask about the processes they leave."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from progressive_delivery.config import PROJECT_ROOT


def start_command(*argv: str, env: dict | None = None, **popen) -> subprocess.Popen:
    """`python -m progressive_delivery <argv>` started with `env` added, its output captured as text."""
    return subprocess.Popen([sys.executable, "-m", "progressive_delivery", *argv], cwd=PROJECT_ROOT,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def stop_with(process: subprocess.Popen, signum: int, timeout: float) -> tuple[str, str]:
    """Send `signum` and collect the output; a process still running afterwards (a failed test) is killed."""
    try:
        process.send_signal(signum)
        return process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll `condition` until it holds (True) or `timeout` seconds pass (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def process_group(pid: int) -> int | None:
    """The process group of a live (not zombie) process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] == "Z" else int(fields[2])


def live_members(group: int) -> list[int]:
    """The live processes of process group `group`, this one left out."""
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()) and process_group(int(entry.name)) == group:
            members.append(int(entry.name))
    return members
