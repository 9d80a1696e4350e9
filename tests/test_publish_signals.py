"""`python -m progressive_delivery publish` stopped while git talks to a remote that never answers:
the deploy key's directory is removed and no git or ssh process outlives the command."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

import publish_harness as h
import pytest
from processes import live_members, process_group, start_command, stop_with, wait_for

# Stands in for ssh: records who it is, then hangs like a server that never answers.
HANGING_SSH = """#!/bin/sh
echo "$$" > "$PD_TEST_SSH_PID.tmp" && mv "$PD_TEST_SSH_PID.tmp" "$PD_TEST_SSH_PID"
exec sleep 120
"""


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
    env = {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "TMPDIR": str(temp),
           "PD_TEST_SSH_PID": str(pid_file), "PD_TEST_KEY": h.generate_key(tmp_path)}
    command = start_command("publish", "--source", str(source), "--no-check",
                            "--remote", "ssh://git@127.0.0.1:9/acme/site.git", "--ssh-key-env", "PD_TEST_KEY",
                            env=env)
    try:
        assert wait_for(pid_file.exists), "the stand-in ssh never started"
        ssh = int(pid_file.read_text())
        group = process_group(ssh)
        assert group is not None and group != os.getpgid(command.pid)  # git runs in its own process group
        workspaces = list(temp.glob("pd-publish-*"))
        assert len(workspaces) == 1 and (workspaces[0] / "auth" / "deploy_key").is_file()
    finally:
        _, stderr = stop_with(command, signum, timeout=20)

    try:
        assert command.returncode == code, stderr
        assert "Traceback" not in stderr
        assert list(temp.iterdir()) == []
        assert wait_for(lambda: not live_members(group), timeout=5), f"left running: {live_members(group)}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # only when the assertion above failed: leave nothing behind
