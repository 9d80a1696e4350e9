"""`python -m progressive_delivery check`: check the platform tree offline."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="check the Flux tree in platform/ for every stack, offline",
        description="Build every Flux Kustomization of each stack, validate every object strictly and check "
                    "that objects refer to each other. Exit 0 when clean, 1 with findings, 2 when the input "
                    "cannot be read.")
    parser.add_argument("--platform", type=Path, default=None, metavar="DIR",
                        help="the Flux tree (default: platform/ in the project)")
    parser.add_argument("--stack", action="append", default=None, metavar="NAME",
                        help="check this stack only (repeatable; default: every Pulumi.<stack>.yaml)")
    parser.add_argument("--budget", action="store_true",
                        help="also print the worst-case image-to-canary latency and the clean canary duration")
    parser.add_argument("--crds", type=Path, default=None, metavar="DIR",
                        help="CustomResourceDefinitions to validate custom resources with "
                             "(default: $PD_CRDS_DIR, else ../shared/crds)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..config import PROJECT_ROOT
    from . import InputError, check_platform

    platform_dir = args.platform or PROJECT_ROOT / "platform"
    try:
        report = check_platform(platform_dir, args.stack, args.crds)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.format(budget=args.budget))
    return 0 if report.ok else 1

