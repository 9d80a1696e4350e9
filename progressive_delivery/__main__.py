"""Command line: `python -m progressive_delivery <command> ...`.

Each command lives in its own module, which exposes `register(subparsers)`;
the registered handler returns the process exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# command name -> module that implements it
COMMANDS = {
    "check": "progressive_delivery.check.cli",
    "publish": "progressive_delivery.publish",
    "release": "progressive_delivery.release",
    "status": "progressive_delivery.status",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m progressive_delivery", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMANDS.values():
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
