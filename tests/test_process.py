"""The real command runner."""

from __future__ import annotations

import pytest
from processes import process_group, wait_for

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


def test_a_timeout_stops_what_the_command_started(tmp_path):
    pidfile = tmp_path / "child.pid"
    result = run_process(["sh", "-c", f'sleep 30 & echo $! > "{pidfile}"; wait'], timeout=1.0)
    assert result.returncode == 124
    child = int(pidfile.read_text())
    assert wait_for(lambda: process_group(child) is None, timeout=5), f"process {child} outlived its command"
