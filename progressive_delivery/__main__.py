"""Command line: `python -m progressive_delivery <command> ...`.

Each command lives in its own module, which exposes `register(subparsers)`;
the registered handler returns the process exit code. SIGTERM and SIGHUP
end a command the way Ctrl-C does: as an exception, so every `finally` and
context manager runs (temporary key and kubeconfig files are removed, child
processes are stopped) before the process exits with 128 + the signal number.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Sequence
from types import FrameType

# command name -> module that implements it
COMMANDS = {
    "check": "progressive_delivery.check.cli",
    "publish": "progressive_delivery.publish",
    "release": "progressive_delivery.release",
    "status": "progressive_delivery.status",
}


class Terminated(BaseException):
    """The process was asked to stop (SIGTERM or SIGHUP); raised where the main thread is."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signum)


def stop_on_termination_signals() -> None:
    """Turn SIGTERM and SIGHUP into `Terminated`, so cleanup code runs as on Ctrl-C."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m progressive_delivery", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stop_on_termination_signals()
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 128 + signal.SIGINT
    except Terminated as stop:
        print(f"stopped by {stop}", file=sys.stderr)
        return 128 + stop.signum


if __name__ == "__main__":
    sys.exit(main())
