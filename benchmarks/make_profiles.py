"""pyinstrument profiles (text) of archviz's hot paths, written to benchmarks/profiles/.

    python benchmarks/make_profiles.py                          # this checkout: profiles/after-*.txt
    python benchmarks/make_profiles.py --tree OLD --tag before  # another checkout (a git worktree of an
                                                                # older commit): profiles/before-*.txt

Profiles:
- cli-summary-json: the whole ``archviz summary vgg16 --format json`` process (imports included);
- reanalysis: 2,000 analyses of a loaded VGG16 at new input shapes;
- expansion: 200 re-expansions of VGG16 with new variable values (``with_variables``);
- sweep: a 2,000-variant sweep (width x classes x input) where the checkout has archviz.sweep;
- variables-sweep: a 2,000-variant sweep over spec variables only (width x classes), where
  every variant is a new network.

The profiles written in benchmarks/profiles/ are the ones that guided the work; see
reports/benchmarks.md for what each showed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "profiles"

IN_PROCESS = {
    "reanalysis": """
        import archviz
        network = archviz.load("vgg16")
        network.analyze()
        with profiler:
            for i in range(2000):
                network.analyze((3, 200 + i % 64, 200 + i % 64))
    """,
    "expansion": """
        import archviz
        network = archviz.load("vgg16")
        with profiler:
            for i in range(200):
                network.with_variables(num_classes=10 + i)
    """,
    "sweep": """
        import archviz
        if hasattr(archviz, "iter_sweep"):
            grid = {"width": [0.5, 1], "num_classes": [10, 1000], "input": list(range(32, 532))}
            with profiler:
                for _ in archviz.iter_sweep("vgg16", vary=grid):
                    pass
    """,
    "variables-sweep": """
        import archviz
        if hasattr(archviz, "iter_sweep"):
            grid = {"width": [0.5, 1, 1.5, 2], "num_classes": list(range(10, 510))}
            with profiler:
                for _ in archviz.iter_sweep("vgg16", vary=grid):
                    pass
    """,
}
CLI = """
import sys
sys.argv = ["archviz", "summary", "vgg16", "--format", "json"]
from archviz.cli.main import run
try:
    run()
except SystemExit:
    pass
"""
HARNESS = """
import sys
from pyinstrument import Profiler
profiler = Profiler(interval=0.0002)
{body}
if profiler.last_session is not None:
    sys.stdout.write(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to profile (default: this one)")
    parser.add_argument("--tag", default="after", help="file name prefix (default: after)")
    args = parser.parse_args()
    tree = args.tree.resolve()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    OUT.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pyinstrument", "--interval", "0.0002", "-r", "text", "--no-color",
               "-o", str(OUT / f"{args.tag}-cli-summary-json.txt"), "-c", CLI]
    subprocess.run(command, cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    for name, body in IN_PROCESS.items():
        code = HARNESS.format(body=textwrap.dedent(body))
        result = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, check=True, capture_output=True,
                                text=True)
        if result.stdout.strip():
            (OUT / f"{args.tag}-{name}.txt").write_text(result.stdout)
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob(f'{args.tag}-*.txt')))}")


if __name__ == "__main__":
    main()
