"""Time checking the whole platform tree for every stack: a few runs, min and median.

    python benchmarks/check_benchmark.py [--runs N] [--platform DIR]

Each run is a fresh process (as `check` and `publish` run), timed from the import of the checker to
its report: imports, CRD and schema loading, every kustomize build, substitution, validation and
checks. A repeat inside one process, where unchanged builds and loaded schemas are reused, is shown too.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_RUN = """
import sys, time
start = time.perf_counter()
from pathlib import Path
from progressive_delivery.check import check_platform
from progressive_delivery.config import available_stacks
report = check_platform(Path(sys.argv[1]), available_stacks())
first = time.perf_counter() - start
start = time.perf_counter()
check_platform(Path(sys.argv[1]), available_stacks())
print(first, time.perf_counter() - start, len(report.findings), ",".join(report.stacks))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--platform", type=Path, default=ROOT / "platform")
    args = parser.parse_args()
    cold, warm = [], []
    findings, stacks = 0, ""
    for _ in range(args.runs):
        result = subprocess.run([sys.executable, "-c", _RUN, str(args.platform.resolve())], cwd=ROOT,
                                capture_output=True, text=True, check=True)
        first, second, count, stacks = result.stdout.split()
        cold.append(float(first))
        warm.append(float(second))
        findings = int(count)
    print(f"check_platform on {args.platform} for stacks {stacks}: {args.runs} runs, {findings} findings")
    print(f"  fresh process: min {min(cold):.2f}s  median {statistics.median(cold):.2f}s")
    print(f"  repeated in the same process: min {min(warm):.2f}s  median {statistics.median(warm):.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
