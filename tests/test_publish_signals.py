"""`python -m progressive_delivery publish` stopped while git talks to a remote that never answers:
the deploy key's directory is removed and no git or ssh process outlives the command."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import publish_harness as h
import pytest

from progressive_delivery.config import PROJECT_ROOT

# Stands in for ssh: records who it is, then hangs like a server that never answers.
HANGING_SSH = """#!/bin/sh
echo "$$" > "$PD_TEST_SSH_PID.tmp" && mv "$PD_TEST_SSH_PID.tmp" "$PD_TEST_SSH_PID"
exec sleep 120
"""


def process_group(pid: int) -> int | None:
    """The process group of a live (not zombie) process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None if fields[0] == "Z" else int(fields[2])


def live_members(group: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()) and process_group(int(entry.name)) == group:
            members.append(int(entry.name))
    return members


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_stopped_publish_leaves_no_key_and_no_process(tmp_path: Path, signum: int, code: int) -> None:
    source = h.write_tree(tmp_path / "platform", h.PLATFORM)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text(HANGING_SSH)
    (bin_dir / "ssh").chmod(0o755)
    temp = tmp_path / "tmp"
    temp.mkdir()
    pid_file = tmp_path / "ssh.pid"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(temp),
           "PD_TEST_SSH_PID": str(pid_file), "PD_TEST_KEY": h.generate_key(tmp_path)}
    command = subprocess.Popen(
        [sys.executable, "-m", "progressive_delivery", "publish", "--source", str(source), "--no-check",
         "--remote", "ssh://git@127.0.0.1:9/acme/site.git", "--ssh-key-env", "PD_TEST_KEY"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(pid_file.exists), "the stand-in ssh never started"
        ssh = int(pid_file.read_text())
        group = process_group(ssh)
        assert group is not None and group != os.getpgid(command.pid)  # git runs in its own process group
        workspaces = list(temp.glob("pd-publish-*"))
        assert len(workspaces) == 1 and (workspaces[0] / "auth" / "deploy_key").is_file()

        command.send_signal(signum)
        _, stderr = command.communicate(timeout=20)
    finally:
        if command.poll() is None:
            command.kill()
            command.communicate()

    try:
        assert command.returncode == code, stderr
        assert "Traceback" not in stderr
        assert list(temp.iterdir()) == []
        assert wait_for(lambda: not live_members(group), timeout=5), f"left running: {live_members(group)}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # only when the assertion above failed: leave nothing behind
