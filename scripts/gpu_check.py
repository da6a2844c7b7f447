"""The GPU check behind scripts/gpu-check.sh: verify every spec on CUDA, benchmark VGG16 and VGG19.

Writes results.json (everything, per layer) and results.md (a short table naming the device) into
--out. Run it through scripts/gpu-check.sh, which sets up Python and bounds the time.

    python scripts/gpu_check.py --out reports/gpu
    python scripts/gpu_check.py --out /tmp/check --device cpu --batch 2   # a dry run without a GPU
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch

import archviz
from archviz.backends.pytorch.bench import benchmark
from archviz.backends.pytorch.verify import verify

# A second input size per spec, beside its default (vgg16-dense needs >= 224, cifar is 32-based).
SECOND_INPUT = {"vgg16-cifar10": (3, 40, 40), "inception-block": (192, 32, 32)}
BENCHMARKS = (("vgg16", "fp32", False), ("vgg16", "bf16", True), ("vgg19", "fp32", False), ("vgg19", "bf16", True))


def environment(device: str) -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda_runtime": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "platform": platform.platform(),
        "device": device,
        "archviz": archviz.__version__,
        "commit": os.environ.get("ARCHVIZ_COMMIT") or _run(["git", "rev-parse", "--short", "HEAD"]),
        "date_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    if device == "cuda":
        props = torch.cuda.get_device_properties(0)
        info.update({
            "gpu": torch.cuda.get_device_name(0),
            "gpu_memory_bytes": props.total_memory,
            "multiprocessors": props.multi_processor_count,
            "driver": _run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]),
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        })
    return info


def _run(command: list[str]) -> str | None:
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=20, check=True).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def verify_all(device: str, batch: int, names: list[str]) -> list[dict[str, Any]]:
    rows = []
    for name in names:
        network = archviz.load(name)
        default = tuple(network.input_shape)
        second = SECOND_INPUT.get(name, (default[0], 256, 256))
        for shape in (default, second):
            started = time.perf_counter()
            result = verify(network, shape, batch, device)
            rows.append({
                "spec": name, "input": list(shape), "batch": batch, "ok": result.ok, "counts": result.counts(),
                "mismatches": [{"layer": layer, "quantity": c.quantity, "expected": c.expected, "measured": c.measured}
                               for layer, c in result.mismatches()],
                "seconds": round(time.perf_counter() - started, 3),
            })
            print(f"verify {name} {'x'.join(map(str, shape))}: {'ok' if result.ok else 'MISMATCH'} "
                  f"{result.counts()}", flush=True)
    return rows


def benchmark_all(device: str, batch: int, warmup: int, iterations: int, names: list[str],
                  save: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for name, dtype, channels_last in BENCHMARKS:
        if name not in names:
            continue
        result = benchmark(name, None, batch, device, dtype, channels_last=channels_last, warmup=warmup,
                           iterations=iterations)
        rows.append(result.as_dict())
        share = f", {100 * result.share_of_peak:.1f}% of peak" if result.share_of_peak is not None else ""
        print(f"benchmark {name} {dtype}{' channels_last' if channels_last else ''} batch {batch}: "
              f"{1000 * result.seconds:.2f} ms, {result.images_per_second:,.0f} images/s, "
              f"{result.flops_per_second / 1e12:.1f} TFLOP/s{share}", flush=True)
        save(rows)
        if device == "cuda":
            torch.cuda.empty_cache()
    return rows


def markdown(env: dict[str, Any], verified: list[dict[str, Any]], benchmarks: list[dict[str, Any]]) -> str:
    device = env.get("gpu") or platform.processor() or env["device"]
    lines = [
        f"# GPU check: {device}",
        "",
        f"- device: {device}" + (f", {env['gpu_memory_bytes'] / 2**30:.0f} GiB, {env['multiprocessors']} SMs"
                                 if "gpu_memory_bytes" in env else ""),
        (f"- driver {env.get('driver')}, CUDA runtime {env.get('cuda_runtime')}, cuDNN {env.get('cudnn')}, "
        f"torch {env['torch']}, Python {env['python']}"),
        f"- archviz {env['archviz']} at commit {env.get('commit')}, run {env['date_utc']} UTC",
        "- produced by `bash scripts/gpu-check.sh`; every number below was measured in that run",
        "",
        "## Verification on the device (archviz against PyTorch)",
        "",
        "| spec | input | batch | result | agree | differ | not checked |",
        "| --- | --- | ---: | --- | ---: | ---: | ---: |",
    ]
    for row in verified:
        counts = row["counts"]
        lines.append(f"| {row['spec']} | {'x'.join(map(str, row['input']))} | {row['batch']} | "
                     f"{'ok' if row['ok'] else '**MISMATCH**'} | {counts['ok']} | {counts['mismatch']} | "
                     f"{counts['not checked']} |")
    lines += [
        "",
        "## Forward-pass benchmarks",
        "",
        (f"Median of {env.get('iterations', 'the')} timed passes after warm-up, timed with "
        f"{benchmarks[0]['timer'] if benchmarks else '-'}; FLOPs are archviz's (2 x MACs of conv and dense)."),
        "",
        "| spec | dtype | layout | batch | latency (ms) | images/s | achieved TFLOP/s | peak used | share of peak |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for row in benchmarks:
        peak = row["peak"]
        lines.append(
            f"| {row['spec']} | {row['dtype']} | {'channels_last' if row['channels_last'] else 'NCHW'} | "
            f"{row['batch']} | {1000 * row['seconds']:.2f} | {row['images_per_second']:,.0f} | "
            f"{row['flops_per_second'] / 1e12:.1f} | "
            + (f"{peak['precision']} {peak['flops_per_second'] / 1e12:.1f} TFLOP/s | {100 * row['share_of_peak']:.1f}% |"
               if peak else "- | - |"))
    lines += ["", "Per-layer times are in results.json (`benchmarks[*].layers`).", ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--specs", help="Comma-separated specs to verify (default: every built-in).")
    parser.add_argument("--bench-specs", default="vgg16,vgg19", help="Which of vgg16,vgg19 to benchmark.")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: CUDA is not available; this check needs a GPU (or --device cpu for a dry run)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    env = environment(args.device)
    env["iterations"] = args.iterations
    print(json.dumps(env), flush=True)
    method = {"warmup": args.warmup, "iterations": args.iterations, "benchmark_batch": args.batch,
              "verify_batch": 2}

    def save(verified: list[dict[str, Any]], benchmarks: list[dict[str, Any]]) -> None:
        # Written after every stage, so a run cut off by the timeout still leaves what it measured.
        results = {"environment": env, "method": method, "verify": verified, "benchmarks": benchmarks}
        (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        (args.out / "results.md").write_text(markdown(env, verified, benchmarks), encoding="utf-8")

    names = args.specs.split(",") if args.specs else archviz.builtin_names()
    verified = verify_all(args.device, 2, names)
    save(verified, [])
    benchmark_all(args.device, args.batch, args.warmup, args.iterations, args.bench_specs.split(","),
                  lambda rows: save(verified, rows))
    failed = [row for row in verified if not row["ok"]]
    print(f"wrote {args.out}/results.json and results.md; {len(verified) - len(failed)} verified, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
