"""Running external commands through one replaceable `Runner`.

Every command of `release` and `status` (docker, k3d, kubectl) goes through a
Runner, so tests replace it without Docker, k3d or a cluster. Secrets reach a
command on its stdin, never on its command line.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import AnyStr, Protocol

# How long a killed command's leader gets to be reaped.
REAP_SECONDS = 10.0


@dataclass(frozen=True)
class Result:
    """Exit code and (when captured) output of one command."""

    returncode: int
    stdout: str = ""
    stderr: str = ""


class Runner(Protocol):
    """Runs one command; `stdin` feeds secrets that must not appear on the command line."""

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                 stdin: str | None = None, capture: bool = True,
                 timeout: float | None = None) -> Result: ...


class ToolMissing(Exception):
    """A required program is not installed."""

    def __init__(self, program: str):
        self.program = program
        super().__init__(f"'{program}' is not installed or not on PATH")


def run_process(argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                stdin: str | None = None, capture: bool = True,
                timeout: float | None = None) -> Result:
    """The real runner: `env` is added to the current environment.

    The command runs in a process group of its own, stopped whole on a timeout or
    an interruption (see communicate_in_group), so nothing it started (a
    credential plugin, a build helper) outlives it.
    """
    pipe = subprocess.PIPE if capture else None
    try:
        process = subprocess.Popen(list(argv), env={**os.environ, **env} if env else None, text=True,
                                   stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                   stdout=pipe, stderr=pipe, start_new_session=True)
    except FileNotFoundError:
        raise ToolMissing(argv[0]) from None
    try:
        stdout, stderr = communicate_in_group(process, stdin, timeout)
    except subprocess.TimeoutExpired:
        return Result(124, "", f"{argv[0]} did not answer within {timeout:g} seconds")
    return Result(process.returncode, stdout or "", stderr or "")


def communicate_in_group(process: subprocess.Popen, input: AnyStr | None,
                         timeout: float | None) -> tuple[AnyStr, AnyStr]:
    """`process.communicate()` for a process started in a new session: on a timeout (re-raised as
    TimeoutExpired) or an interruption (Ctrl-C, SIGTERM raised as an exception) its whole group is
    stopped first, so nothing it started outlives it."""
    try:
        return process.communicate(input=input, timeout=timeout)
    except BaseException:
        _stop_group(process)
        raise


def _stop_group(process: subprocess.Popen) -> None:
    """Kill the process group `process` leads (it was started in a new session) and reap the leader."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.communicate(timeout=REAP_SECONDS)


_HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold back Ctrl-C, SIGTERM and SIGHUP (main thread only); a held signal is delivered on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
