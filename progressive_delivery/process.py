"""Running external commands through one replaceable `Runner`.

Every command of `release` and `status` (docker, k3d, kubectl) goes through a
Runner, so tests replace it without Docker, k3d or a cluster. Secrets reach a
command on its stdin, never on its command line.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


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

    An exception while the command runs (Ctrl-C, or SIGTERM raised as one)
    kills the command before it propagates (`subprocess.run` does so).
    """
    try:
        completed = subprocess.run(
            list(argv), env={**os.environ, **env} if env else None, input=stdin, text=True,
            capture_output=capture, timeout=timeout, check=False,
            stdin=None if stdin is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise ToolMissing(argv[0]) from None
    except subprocess.TimeoutExpired:
        return Result(124, "", f"{argv[0]} did not answer within {timeout:g} seconds")
    return Result(completed.returncode, completed.stdout or "", completed.stderr or "")
