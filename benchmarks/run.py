"""Every performance measurement of archviz, side by side with the peers installed here.

    python benchmarks/run.py                      # everything (peers take a few minutes)
    python benchmarks/run.py --only cold,sweep    # some sections
    python benchmarks/run.py --quick              # fewer runs and sizes: a smoke test
    python benchmarks/run.py --json reports/benchmarks.json

Sections (see reports/benchmarks.md for the results and what they mean):

- cold: ``archviz summary vgg16 --format json`` as a whole process, against the peers' routes
  (import torch, build VGG16 on the CPU, count: torchinfo, fvcore, ptflops, thop,
  FlopCounterMode on the meta device) and against ``python -c pass`` and ``import torch``; also
  the rich table (``archviz summary vgg16``), by the fast path and by the typer app.
  Wall time, CPU time (user + sys) and peak RSS per process, medians over interleaved runs.
- reanalysis: a loaded VGG16 analysed again at a new input shape, in process (archviz's full
  analysis and its totals-only path; each peer re-counting its model at a new input size).
- sweep: variants per second of ``archviz.iter_sweep`` over a width x classes x input grid
  (inputs innermost), over spec variables only (a new network per variant: replayed, see
  archviz/spec/replay.py), with two structures (batch_norm), against the baseline of a full
  expansion per variant, the CLI streaming
  10,000 and 100,000 rows of CSV (time and peak memory), and each peer building and counting
  one variant after another.
- scaling: load + analyse generated stacks of 10 to 20,000 layers (the limit); cost per layer.
- import: ``archviz summary resnet50.onnx --format json`` as a whole process, against onnx-tool's
  profile of the same file and the torchinfo route on torchvision's module (import torch and
  torchvision, build resnet50, summary). torchvision needs its own venv here (torch 2.14.1):
  ``--torchvision-python PATH`` names its interpreter, which also exports the ONNX file (legacy
  exporter, eval mode, no constant folding: BatchNorm kept). Skipped without it.

Peers that are not installed are skipped. Nothing is asserted: this is a measurement.
Before timing, archviz's modules are byte-compiled (as ``pip install`` of a wheel does; this
checkout is an editable install and the environment sets PYTHONDONTWRITEBYTECODE).
"""

from __future__ import annotations

import argparse
import compileall
import gc
import importlib.metadata
import importlib.util
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PEERS_SCRIPT = ROOT / "benchmarks" / "peers.py"
PEERS = ("torchinfo", "fvcore", "ptflops", "thop", "flopcounter")
PEER_MODULES = {"torchinfo": "torchinfo", "fvcore": "fvcore", "ptflops": "ptflops", "thop": "thop",
                "flopcounter": "torch"}
SECTIONS = ("cold", "reanalysis", "sweep", "scaling", "import")
TYPER_APP = "import sys; from archviz.cli.main import app; sys.argv[0] = 'archviz'; app()"
SWEEP_GRID = ["--vary", "width=0.25,0.5,0.75,1,1.5", "--vary", "num_classes=10,100,1000,10000"]


# -- measuring processes ------------------------------------------------------------------------

def run_process(command: Sequence[str], cwd: Path = ROOT, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (MB) of one child process, and its stdout."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err,
                                   env={**os.environ, **env} if env else None)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({process.returncode}): {stderr.decode()[-2000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
            "stdout": stdout}


def interleaved(commands: dict[str, list[str]], runs: dict[str, int],
                envs: dict[str, dict[str, str]] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Run every command ``runs[name]`` times, round-robin, so a busy machine slows all alike."""
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
    for round_ in range(max(runs.values())):
        for name, command in commands.items():
            if round_ < runs[name]:
                results[name].append(run_process(command, env=(envs or {}).get(name)))
        print(f"  round {round_ + 1}/{max(runs.values())}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return results


def medians(samples: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: statistics.median(s[key] for s in samples) for key in ("wall", "cpu", "rss_mb")} | {
        "runs": len(samples)}


def archviz_command(*args: str) -> list[str]:
    """The installed console script when there is one (not a pyenv shim), else the same entry point."""
    script = Path(sys.executable).parent / "archviz"
    if script.is_file():
        return [str(script), *args]
    return [sys.executable, "-c", "import sys; from archviz.cli.main import run; sys.argv[0] = 'archviz'; run()",
            *args]


def installed(route: str) -> bool:
    return importlib.util.find_spec(PEER_MODULES[route]) is not None


def version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


# -- sections ---------------------------------------------------------------------------------

EXPORT_RESNET50 = (
    "import sys, torch, torchvision; m = torchvision.models.resnet50().eval(); "
    "torch.onnx.export(m, (torch.zeros(1, 3, 224, 224),), sys.argv[1], dynamo=False, do_constant_folding=False)"
)
ONNX_TOOL_PROFILE = (
    "import sys, onnx_tool; m = onnx_tool.Model(sys.argv[1]); m.graph.shape_infer(); m.graph.profile(); "
    "print(int(m.graph.macs[0] if hasattr(m.graph.macs, '__len__') else m.graph.macs), int(m.graph.params))"
)
TORCHINFO_RESNET50 = (
    "import torch, torchvision; from torchinfo import summary; "
    "s = summary(torchvision.models.resnet50(), (1, 3, 224, 224), verbose=0); print(s.total_mult_adds, s.total_params)"
)


def import_speed(runs: int, peer_runs: int, torchvision_python: str | None) -> dict[str, Any] | None:
    """A model file on the main path: archviz reading resnet50.onnx against the peers' routes."""
    if torchvision_python is None:
        print("import: skipped (no --torchvision-python to export resnet50 and run torchinfo)", file=sys.stderr)
        return None
    folder = Path(tempfile.mkdtemp(prefix="archviz-import-bench-"))
    path = folder / "resnet50.onnx"
    run_process([torchvision_python, "-c", EXPORT_RESNET50, str(path)])
    commands = {"archviz summary resnet50.onnx --format json": archviz_command("summary", str(path), "--format", "json"),
                "python -c pass": [sys.executable, "-c", "pass"]}
    counts = dict.fromkeys(commands, runs)
    if importlib.util.find_spec("onnx_tool") is not None:
        commands["onnx-tool profile (same file)"] = [sys.executable, "-c", ONNX_TOOL_PROFILE, str(path)]
        counts["onnx-tool profile (same file)"] = peer_runs
    has_torchinfo = subprocess.run([torchvision_python, "-c", "import torchinfo"], capture_output=True,
                                   check=False).returncode == 0
    if has_torchinfo:
        commands["torchinfo on torchvision's resnet50"] = [torchvision_python, "-c", TORCHINFO_RESNET50]
        counts["torchinfo on torchvision's resnet50"] = peer_runs
    print(f"import: {', '.join(commands)}", file=sys.stderr)
    raw = interleaved(commands, counts)
    table = {name: medians(samples) for name, samples in raw.items()}
    totals = json.loads(raw["archviz summary resnet50.onnx --format json"][0]["stdout"])["totals"]
    table["archviz summary resnet50.onnx --format json"]["printed"] = f"params {totals['params']:,}, MACs {totals['macs']:,}"
    for name in commands:
        if name.startswith(("onnx-tool", "torchinfo")):
            table[name]["printed"] = raw[name][0]["stdout"].decode().strip()
    table["file_mb"] = path.stat().st_size / 1e6
    path.unlink()
    folder.rmdir()
    return table


def cold(runs: int, peer_runs: int, peers: Sequence[str]) -> dict[str, Any]:
    json_summary = archviz_command("summary", "vgg16", "--format", "json")
    # a user's spec is parsed on every run; the built-ins ship parsed (archviz/spec/preparsed.py)
    user_copy = Path(tempfile.mkdtemp(prefix="archviz-bench-"))
    (user_copy / "base").mkdir()
    for name in ("vgg16.yaml", "base/vgg.yaml"):
        (user_copy / name).write_bytes((ROOT / "archviz" / "specs" / name).read_bytes())
    commands = {
        "archviz summary --format json": json_summary,
        "  the same, a user's copy of vgg16.yaml": archviz_command("summary", str(user_copy / "vgg16.yaml"),
                                                                   "--format", "json"),
        "archviz summary (rich table)": archviz_command("summary", "vgg16"),
        # what the table cost before archviz.cli.fast took it: the same command through the typer app
        "  the same, through typer": [sys.executable, "-c", TYPER_APP, "summary", "vgg16"],
        "python -c pass": [sys.executable, "-c", "pass"],
    }
    counts = {name: runs for name in commands}
    for route in (*peers, "import-torch"):
        commands[route] = [sys.executable, str(PEERS_SCRIPT), route]
        counts[route] = peer_runs
    print(f"cold: {', '.join(commands)}", file=sys.stderr)
    raw = interleaved(commands, counts)
    table = {name: medians(samples) for name, samples in raw.items()}
    params = json.loads(raw["archviz summary --format json"][0]["stdout"])["totals"]["params"]
    table["archviz summary --format json"]["printed"] = f"params {params:,}"
    tables = {raw[name][0]["stdout"] for name in ("archviz summary (rich table)", "  the same, through typer")}
    if len(tables) != 1 or f"{params:,}".encode() not in next(iter(tables)):
        raise RuntimeError("the fast path's table is not the typer app's: the two routes are not comparable")
    table["archviz summary (rich table)"]["printed"] = "same bytes as typer"
    for route in peers:
        table[route]["printed"] = f"{json.loads(raw[route][0]['stdout'])['count']:,}"
    return table


def reanalysis(repeat: int, peers: Sequence[str], peer_counts: int) -> dict[str, Any]:
    import archviz

    network = archviz.load("vgg16")
    # a new input shape at every call of every repeat (analyze remembers records by shape)
    shapes = [(3, 200 + index // 64, 136 + index % 128) for index in range(repeat * 64)]
    network.analyze()

    def per_call(function: Callable[[tuple[int, ...]], Any], calls: int = 64) -> float:
        times = []
        for round_ in range(repeat):
            start = time.perf_counter()
            for shape in shapes[round_ * 64:round_ * 64 + calls]:
                function(shape)
            times.append((time.perf_counter() - start) / calls)
        return statistics.median(times)

    result: dict[str, Any] = {
        "layers": len(network.layers),
        "archviz analyze()": per_call(network.analyze),
        "archviz totals_at()": per_call(network.totals_at),
        "archviz load + analyze (no YAML cache)": per_call(lambda s: archviz.load("vgg16").analyze(s), 8),
    }
    for route in peers:
        print(f"reanalysis: {route}", file=sys.stderr)
        output = run_process([sys.executable, str(PEERS_SCRIPT), route, "--reanalyse", str(peer_counts)])
        result[route] = statistics.median(json.loads(output["stdout"])["seconds"])
    return result


def sweep(quick: bool, peers: Sequence[str], peer_counts: int) -> dict[str, Any]:
    import archviz

    def rate(vary: dict[str, Any], repeat: int) -> dict[str, float]:
        seconds = []
        for _ in range(repeat):
            start = time.perf_counter()
            count = sum(1 for _ in archviz.iter_sweep("vgg16", vary=vary))
            seconds.append(time.perf_counter() - start)
        best = statistics.median(seconds)
        return {"variants": count, "seconds": best, "per_second": count / best}

    def full_expansions(vary: dict[str, list[Any]], repeat: int) -> dict[str, float]:
        """The same variants as rate(), each expanded from the document (no replay): the baseline."""
        from archviz.network import network_from_document

        document = archviz.load("vgg16").document
        names = list(vary)
        seconds = []
        count = 0
        for _ in range(repeat):
            start = time.perf_counter()
            count = 0
            for values in itertools.product(*vary.values()):
                network_from_document(document, dict(zip(names, values))).totals_at()
                count += 1
            seconds.append(time.perf_counter() - start)
        best = statistics.median(seconds)
        return {"variants": count, "seconds": best, "per_second": count / best}

    sizes = 50 if quick else 500
    classes = list(range(1, 101 if quick else 1001))
    grid = {"width": [0.25, 0.5, 0.75, 1, 1.5], "num_classes": [10, 100, 1000, 10000],
            "input": list(range(32, 32 + sizes))}
    widths = {"width": [0.25, 0.5, 0.75, 1, 1.5], "num_classes": classes[:200]}
    structures = {"batch_norm": [False, True], "width": [0.5, 1], "num_classes": classes[:250]}
    print("sweep: in process", file=sys.stderr)
    result: dict[str, Any] = {
        "grid (variables x inputs, inputs innermost)": rate(grid, 3),
        "variables only: num_classes=1..N": rate({"num_classes": classes}, 3),
        "variables only: width x num_classes": rate(widths, 3),
        "variables only: batch_norm x width x num_classes (two structures)": rate(structures, 3),
        "baseline, a full expansion per variant: num_classes=1..N": full_expansions(
            {"num_classes": classes[:100]}, 3),
        "baseline, a full expansion per variant: batch_norm x width x num_classes": full_expansions(
            {"batch_norm": [False, True], "width": [0.5, 1], "num_classes": classes[:25]}, 3),
    }
    for rows, inputs in ((10_000, "32..531"), (100_000, "32..5031")):
        if quick and rows > 10_000:
            continue
        print(f"sweep: CLI, {rows:,} rows of CSV", file=sys.stderr)
        samples = [run_process(archviz_command("sweep", "vgg16", *SWEEP_GRID, "--vary", f"input={inputs}",
                                               "--format", "csv", "--no-progress"))
                   for _ in range(1 if rows > 10_000 else 3)]
        lines = samples[0]["stdout"].count(b"\n") - 1
        assert lines == rows, (lines, rows)
        summary = medians(samples)
        summary["per_second"] = rows / summary["wall"]
        result[f"CLI, {rows:,} rows of CSV"] = summary
    for route in peers:
        print(f"sweep: {route}", file=sys.stderr)
        output = run_process([sys.executable, str(PEERS_SCRIPT), route, "--variants", str(peer_counts)])
        seconds = statistics.median(json.loads(output["stdout"])["seconds"])
        result[route] = {"seconds_per_variant": seconds, "per_second": 1 / seconds}
    return result


def _load_and_analyse(spec: Path, size: int) -> tuple[float, float, float]:
    import archviz

    start = time.perf_counter()
    network = archviz.load(spec)
    middle = time.perf_counter()
    network.analyze()
    end = time.perf_counter()
    network.totals_at()
    last = time.perf_counter()
    assert len(network.layers) == size
    return middle - start, end - middle, last - end


def scaling(quick: bool) -> dict[int, dict[str, float]]:
    sizes = (10, 100, 1_000, 10_000) if quick else (10, 100, 1_000, 10_000, 20_000)  # 20,000: the layer limit
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for size in sizes:
            spec = Path(folder) / f"stack-{size}.yaml"
            spec.write_text(f"name: stack-{size}\ninput: [8, 16, 16]\nlayers:\n"
                            f"  - {{layers: [conv2d: {{filters: 8, kernel: 3, padding: 1}}, relu], "
                            f"repeat: {size // 2}}}\n")
            repeat = max(3, min(50, 20_000 // size))
            load, analyze, totals = [], [], []
            for _ in range(repeat):
                gc.collect()  # the previous repeat's garbage is not this one's work
                times = _load_and_analyse(spec, size)
                load.append(times[0])
                analyze.append(times[1])
                totals.append(times[2])
            rows[size] = {"load_s": statistics.median(load), "analyze_s": statistics.median(analyze),
                          "totals_s": statistics.median(totals)}
            print(f"scaling: {size:,} layers", file=sys.stderr)
    return rows


# -- reporting --------------------------------------------------------------------------------

def machine() -> dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), None)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip()
    return {
        "cpu": model, "cores": os.cpu_count(), "memory_mb": memory, "os": platform.platform(),
        "python": platform.python_version(), "archviz_commit": commit,
        "versions": {name: version(name) for name in ("torch", "torchinfo", "fvcore", "ptflops", "thop", "pyyaml",
                                                      "typer", "rich")},
        "load_average_start": os.getloadavg(),
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    print(f"\n## {title}\n")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in
                                enumerate(zip(row, widths))) + " |")


def report_import(table: dict[str, Any]) -> None:
    base = table["archviz summary resnet50.onnx --format json"]
    rows = [[name, ms(m["wall"]), f"{m['wall'] / base['wall']:.1f}x", ms(m["cpu"]), f"{m['rss_mb']:.0f} MB",
             str(m["runs"]), m.get("printed", "")] for name, m in table.items() if name != "file_mb"]
    print_table(f"A {table['file_mb']:.0f} MB resnet50.onnx, cold, whole process (medians; ratio = route / archviz)",
                ["route", "wall", "ratio", "CPU", "peak RSS", "runs", "printed"], rows)


def report(results: dict[str, Any]) -> None:
    info = results["machine"]
    print(f"# archviz benchmarks\n\n{info['cpu']}, {info['cores']} cores, {info['memory_mb']:,} MB, "
          f"Python {info['python']}, torch {info['versions']['torch']}, commit {info['archviz_commit']}, "
          f"load average {info['load_average_start'][0]:.2f} at the start, "
          f"{info.get('load_average_end', (0,))[0]:.2f} at the end")
    if "cold" in results:
        cold_ = results["cold"]
        base = cold_["archviz summary --format json"]
        rows = []
        for name, m in cold_.items():
            rows.append([name, ms(m["wall"]), f"{m['wall'] / base['wall']:.1f}x", ms(m["cpu"]),
                         f"{m['rss_mb']:.0f} MB", f"{m['rss_mb'] / base['rss_mb']:.1f}x", str(m["runs"]),
                         m.get("printed", "")])
        print_table("Cold start, whole process (medians; ratio = route / archviz json)",
                    ["route", "wall", "ratio", "CPU", "peak RSS", "ratio", "runs", "printed"], rows)
    if "reanalysis" in results:
        r = results["reanalysis"]
        base = r["archviz totals_at()"]
        rows = [[name, us(value), f"{value / base:,.1f}x"] for name, value in r.items() if name != "layers"]
        print_table(f"Re-analysis of a loaded VGG16 ({r['layers']} layers) at a new input shape, in process "
                    "(median per call; ratio = / totals_at)", ["what", "per call", "ratio"], rows)
    if "sweep" in results:
        s = results["sweep"]
        rows = []
        for name, m in s.items():
            extra = f"{m['variants']:,} variants in {m['seconds']:.2f} s" if "variants" in m else \
                f"wall {m['wall']:.2f} s, peak RSS {m['rss_mb']:.0f} MB" if "wall" in m else \
                f"{m['seconds_per_variant'] * 1e3:,.0f} ms per variant"
            rows.append([name, f"{m['per_second']:,.1f}", extra])
        print_table("Sweeps of VGG16 variants (one core)", ["what", "variants/s", "detail"], rows)
    if "scaling" in results:
        sc = results["scaling"]
        rows = []
        previous: tuple[int, float] | None = None
        for size, m in sc.items():
            size = int(size)
            both = m["load_s"] + m["analyze_s"]
            # the marginal cost per layer between this size and the previous one: constant if linear
            marginal = us((both - previous[1]) / (size - previous[0])) if previous else "-"
            rows.append([f"{size:,}", ms(m["load_s"]), ms(m["analyze_s"]), ms(m["totals_s"]), us(both / size),
                         marginal, us(m["totals_s"] / size)])
            previous = (size, both)
        print_table("Linear scaling: load + analyse a stack of N layers (medians)",
                    ["layers", "load (YAML + expand)", "analyze", "totals_at", "load+analyze per layer",
                     "marginal per layer", "totals_at per layer"], rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: " + ", ".join(SECTIONS))
    parser.add_argument("--runs", type=int, default=20, help="cold runs of archviz and the interpreter")
    parser.add_argument("--peer-runs", type=int, default=10, help="cold runs of each peer")
    parser.add_argument("--peer-counts", type=int, default=8, help="in-process counts per peer")
    parser.add_argument("--no-peers", action="store_true", help="measure archviz only")
    parser.add_argument("--quick", action="store_true", help="few runs and small sizes (a smoke test)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    parser.add_argument("--no-compile", action="store_true", help="do not byte-compile archviz first")
    parser.add_argument("--torchvision-python", default=os.environ.get("ARCHVIZ_TORCHVISION_PYTHON"),
                        help="an interpreter with torch, torchvision (and torchinfo) for the import section")
    args = parser.parse_args()
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    if args.quick:
        args.runs, args.peer_runs, args.peer_counts = 5, 2, 2
    if not args.no_compile:
        compileall.compile_dir(ROOT / "archviz", quiet=1)
    peers = [] if args.no_peers else [p for p in PEERS if installed(p)]
    skipped = [p for p in PEERS if p not in peers]
    if skipped and not args.no_peers:
        print(f"not installed, skipped: {', '.join(skipped)}", file=sys.stderr)
    results: dict[str, Any] = {"machine": machine(), "peers": peers}
    if "cold" in sections:
        results["cold"] = cold(args.runs, args.peer_runs, peers)
    if "reanalysis" in sections:
        results["reanalysis"] = reanalysis(5 if args.quick else 25, peers, args.peer_counts)
    if "sweep" in sections:
        results["sweep"] = sweep(args.quick, peers, args.peer_counts)
    if "scaling" in sections:
        results["scaling"] = scaling(args.quick)
    if "import" in sections:
        measured = import_speed(args.runs, args.peer_runs, args.torchvision_python)
        if measured is not None:
            results["import"] = measured
    results["machine"]["load_average_end"] = os.getloadavg()
    report(results)
    if "import" in results:
        report_import(results["import"])
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str) + "\n")


if __name__ == "__main__":
    main()
