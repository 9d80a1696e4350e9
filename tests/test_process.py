"""The real command runner."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from progressive_delivery.process import ToolMissing, run_process


def test_run_process_reports_a_missing_tool_and_passes_stdin():
    with pytest.raises(ToolMissing, match="not installed"):
        run_process(["pd-no-such-program-here"])
    result = run_process(["cat"], stdin="hello")
    assert (result.returncode, result.stdout) == (0, "hello")


def test_run_process_adds_env_and_bounds_the_time():
    result = run_process(["sh", "-c", 'printf %s "$PD_PROBE"'], env={"PD_PROBE": "x"})
    assert result.stdout == "x"
    slow = run_process(["sleep", "5"], timeout=0.2)
    assert slow.returncode == 124 and "did not answer within 0.2 seconds" in slow.stderr


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie waiting for its reaper has stopped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_timeout_stops_what_the_command_started(tmp_path):
    pidfile = tmp_path / "child.pid"
    result = run_process(["sh", "-c", f'sleep 30 & echo $! > "{pidfile}"; wait'], timeout=1.0)
    assert result.returncode == 124
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
