"""`python -m progressive_delivery check`: check a Flux tree offline (pins online when there is network)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="check the Flux tree in platform/ for every stack (or any Flux tree)",
        description="Build every Flux Kustomization as Flux does, render every HelmRelease, validate every object "
                    "strictly and check that objects refer to each other. Exit 0 when clean, 1 with findings, "
                    "2 when an input cannot be read.")
    parser.add_argument("--platform", type=Path, default=None, metavar="DIR",
                        help="the Flux tree (default: platform/ in the project)")
    parser.add_argument("--stack", action="append", default=None, metavar="NAME",
                        help="check this stack only (repeatable; default: every Pulumi.<stack>.yaml)")
    parser.add_argument("--cluster-path", default=None, metavar="PATH",
                        help="check any Flux tree as the cluster bootstrapped at PATH (e.g. clusters/production), "
                             "without Pulumi stacks")
    parser.add_argument("--kube-version", default=None, metavar="X.Y[.Z]",
                        help="Kubernetes version of --cluster-path (default: that of the program's k3s image)")
    parser.add_argument("--charts", type=Path, default=None, metavar="DIR",
                        help="a directory of chart archives <chart>-<version>.tgz (default: $PD_CHARTS_DIR)")
    parser.add_argument("--crds", type=Path, default=None, metavar="DIR",
                        help="more CustomResourceDefinitions to validate custom resources with")
    parser.add_argument("--offline", action="store_true",
                        help="use no network (no chart downloads, pins not verified; also PD_OFFLINE=1)")
    parser.add_argument("--budget", action="store_true",
                        help="also print the worst case from a new image to its canary's start, per Canary")
    parser.add_argument("--timings", action="store_true", help="also print how long each stage took")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..config import PROJECT_ROOT
    from . import InputError, check_platform

    platform_dir = args.platform or PROJECT_ROOT / "platform"
    try:
        report = check_platform(platform_dir, args.stack, args.crds, cluster_path=args.cluster_path,
                                kube_version=args.kube_version, charts_dir=args.charts,
                                online=False if args.offline else None)
    except InputError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.format(budget=args.budget))
    if args.timings:
        print("timings: " + ", ".join(f"{stage} {seconds:.2f}s" for stage, seconds in report.timings.items()))
    return 0 if report.ok else 1
