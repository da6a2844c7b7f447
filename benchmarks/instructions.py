"""Instructions per VGG16 re-analysis, counted by valgrind's callgrind: a measure no load disturbs.

    python benchmarks/instructions.py                    # this checkout
    python benchmarks/instructions.py --tree /tmp/old    # another checkout (a git worktree)

The 2-vCPU VM archviz is developed on changes speed under its feet (the same loop takes 80 or
150 µs from one minute to the next), so before/after claims for the in-process paths are backed
by instruction counts as well as times. Each route runs CALLS times at input shapes never seen
before (heights x widths); the count of a run that only loads the network is subtracted.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import sys
sys.path.insert(0, sys.argv[1])
import archviz
network = archviz.load("vgg16")
network.analyze()
route = {"analyze": network.analyze, "totals_at": getattr(network, "totals_at", None),
         "load only": lambda shape: None}[sys.argv[2]]
for index in range(int(sys.argv[3])):
    route((3, 200 + index // 40, 200 + index % 40))  # never the same shape twice
"""


def instructions(tree: Path, route: str, calls: int) -> int:
    result = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                             "-c", PROBE, str(tree), route, str(calls)], capture_output=True, text=True, check=True)
    match = re.search(r"Collected : (\d+)", result.stderr)
    if match is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{result.stderr[-2000:]}")
    return int(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install -y valgrind)")
    base = instructions(args.tree.resolve(), "load only", args.calls)
    for route in ("analyze", "totals_at"):
        per_call = (instructions(args.tree.resolve(), route, args.calls) - base) / args.calls
        print(f"{route}: {per_call / 1e6:.3f} M instructions per call")


if __name__ == "__main__":
    main()
