"""Time checking the whole platform tree for every stack: a few runs, min and median, and how they split.

    python benchmarks/check_benchmark.py [--runs N] [--platform DIR] [--charts DIR]

Each run is a fresh process (as `check` and `publish` run), timed from the start of the interpreter to
the report: imports, schema loading, every kustomize build, every chart render, validation, the rules.
The split is the checker's own stage timings (load, build, render, validate, rules); the network is
off (no pins verified, charts from --charts or $PD_CHARTS_DIR). A repeat inside one process, where
unchanged builds and renders are reused, is shown too.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_RUN = """
import json, sys, time
from pathlib import Path
from progressive_delivery.check import check_platform
report = check_platform(Path(sys.argv[1]), online=False)
start = time.perf_counter()
check_platform(Path(sys.argv[1]), online=False)
print(json.dumps({"timings": report.timings, "again": time.perf_counter() - start, "findings": len(report.findings),
                  "stacks": report.stacks}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--platform", type=Path, default=ROOT / "platform")
    parser.add_argument("--charts", type=Path, default=None, help="chart archives (default: $PD_CHARTS_DIR)")
    args = parser.parse_args()
    env = dict(os.environ, PD_OFFLINE="1")
    if args.charts:
        env["PD_CHARTS_DIR"] = str(args.charts.resolve())
    totals, repeats, splits = [], [], []
    result: dict = {}
    for _ in range(args.runs):
        start = time.perf_counter()
        output = subprocess.run([sys.executable, "-c", _RUN, str(args.platform.resolve())], cwd=ROOT, env=env,
                                capture_output=True, text=True, check=True).stdout
        result = json.loads(output.splitlines()[-1])
        totals.append(time.perf_counter() - start - result["again"])       # the process up to its first report
        repeats.append(result["again"])
        splits.append(result["timings"])
    print(f"check_platform on {args.platform} for stacks {','.join(result['stacks'])}: {args.runs} runs, "
          f"{result['findings']} findings, charts from {env.get('PD_CHARTS_DIR', 'nowhere (none rendered)')}")
    print(f"  fresh process: min {min(totals):.2f}s  median {statistics.median(totals):.2f}s")
    stages = ", ".join(f"{stage} {statistics.median(s[stage] for s in splits):.2f}s" for stage in splits[0])
    print(f"  split (median): {stages}")
    print(f"  repeated in the same process: min {min(repeats):.2f}s  median {statistics.median(repeats):.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
