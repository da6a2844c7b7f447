"""Rendering verification and benchmark results (reads plain records; computes nothing).

Marks: ``✓`` archviz and PyTorch agree, ``✗`` they differ, ``·`` PyTorch does not measure it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from archviz.backends.pytorch.records import QUANTITIES, Benchmark, Check, LayerTiming, Status, Verification
from archviz.render import units
from archviz.render.formats import markdown_escape
from archviz.render.table import hidden_rows, render_rich

MARKS = {Status.ok: "✓", Status.mismatch: "✗", Status.not_checked: "·"}
STYLES = {Status.ok: "green", Status.mismatch: "bold red", Status.not_checked: "dim"}
HEADERS = {"output_shape": "output shape", "params": "params", "buffers": "buffers", "flops": "FLOPs"}
def legend(framework: str = "PyTorch") -> str:
    return f"✓ agrees with {framework}   ✗ differs   · not measured by {framework} (not checked)"


LEGEND = legend()


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, tuple | list):
        return units.shape(value)
    if isinstance(value, int):
        return units.exact(value)
    return str(value)


def rate(flops_per_second: float) -> str:
    """1.234e12 -> '1.23 TFLOP/s'."""
    return units.human(round(flops_per_second), "FLOP/s")


def cell(check: Check, framework: str = "torch") -> str:
    """'✓ 1,792', '✗ 1,728 ≠ torch 1,792' or '· 0'."""
    mark = MARKS[check.status]
    if check.status is Status.mismatch:
        return f"{mark} {_value(check.expected)} ≠ {framework} {_value(check.measured)}"
    return f"{mark} {_value(check.expected)}"


def verification_table(result: Verification) -> Table:
    table = Table(title=Text(f"{result.spec}: archviz against {result.framework}", style="bold"), box=box.SIMPLE_HEAD,
                  header_style="bold", pad_edge=False, show_footer=True)
    table.add_column("layer", footer="total", no_wrap=True)
    table.add_column("op", footer="")
    totals = {check.quantity: check for check in result.totals}
    for quantity in QUANTITIES:
        total = totals[quantity]
        table.add_column(HEADERS[quantity], justify="left" if quantity == "output_shape" else "right", no_wrap=True,
                         footer=Text(cell(total), style=STYLES[total.status]))
    hidden = hidden_rows(len(result.layers))  # rich lays out ~1 ms a row: the first and last 500 of a long one
    for index, layer in enumerate(result.layers):
        if index in hidden:
            if index == hidden.start:
                differ = sum(check.status is Status.mismatch for left_out in result.layers[hidden.start:hidden.stop]
                             for check in left_out.checks)
                table.add_row(Text(f"… {len(hidden):,} layers ({differ:,} checks among them differ; json and "
                                   f"markdown list every layer)"), style="dim")
            continue
        cells = [Text(layer.name), Text(layer.op)]
        cells += [Text(cell(check), style=STYLES[check.status]) for check in layer.checks]
        table.add_row(*cells)
    return table


def verification_lines(result: Verification) -> list[str]:
    """The one-paragraph outcome under the table: what ran where, and every mismatch by name."""
    counts = result.counts()
    where = (f"{result.spec} at {units.shape(result.input_shape)}, batch {result.batch}, "
             f"on {result.device} ({result.dtype}, {result.measured_by})")
    lines = [legend(result.framework), ""]
    lines.append(f"{where}: {counts['ok']} checks agree, {counts['mismatch']} differ, "
                 f"{counts['not checked']} not checked; build {result.build_seconds:.3f} s, "
                 f"forward {result.forward_seconds:.3f} s.")
    if result.ok:
        lines.append("verified: every measured quantity agrees with the analysis.")
    else:
        lines.append("NOT verified:")
        for layer, check in result.mismatches():
            lines.append(f"  {layer}: {HEADERS[check.quantity]} archviz {_value(check.expected)}, "
                         f"{result.framework} {_value(check.measured)}" + (f" ({check.note})" if check.note else ""))
    return lines


def benchmark_facts(result: Benchmark) -> list[tuple[str, str]]:
    layout = "channels_last" if result.channels_last else "contiguous (NCHW)"
    peak = "-"
    if result.peak is not None and result.share_of_peak is not None:
        peak = (f"{100 * result.share_of_peak:.1f}% of {rate(result.peak.flops_per_second)} "
                f"({result.peak.device}, {result.peak.precision}; {result.peak.source})")
    return [
        ("device", f"{result.device}: {result.device_name}"
                   + (f", {result.threads} threads" if result.threads else "")),
        ("run", (f"batch {result.batch}, input {units.shape(result.input_shape)}, {result.dtype}, {layout}, "
                f"torch {result.torch_version}")),
        ("method", f"{result.warmup} warm-up + {result.iterations} timed passes; median; {result.timer}"),
        ("latency", (f"{1000 * result.seconds:.2f} ms per batch (min {1000 * result.seconds_min:.2f}, "
                    f"mean {1000 * result.seconds_mean:.2f})")),
        ("throughput", f"{result.images_per_second:,.1f} images/s"),
        ("achieved", (f"{rate(result.flops_per_second)} ({units.human(result.flops, 'FLOPs')} per batch, "
                     "archviz's count)")),
        ("share of peak", peak),
        ("sum of layers", f"{1000 * result.layer_seconds_sum:.2f} ms (timed with hooks)"),
    ]


def benchmark_table(result: Benchmark) -> Table:
    table = Table(title=Text(f"{result.spec}: measured speed per layer", style="bold"), box=box.SIMPLE_HEAD,
                  header_style="bold", pad_edge=False)
    for header in ("layer", "op", "ms", "time %", "FLOPs", "FLOP/s", "% peak"):
        table.add_column(header, justify="left" if header in ("layer", "op") else "right", no_wrap=True)
    for timing in result.layers:
        table.add_row(*_timing_cells(timing))
    return table


def _timing_cells(timing: LayerTiming) -> list[str]:
    return [
        timing.name, timing.op, f"{1000 * timing.seconds:.3f}", f"{100 * timing.share_of_time:.1f}",
        units.human(timing.flops) if timing.flops else "-",
        rate(timing.flops_per_second) if timing.flops_per_second else "-",
        f"{100 * timing.share_of_peak:.1f}" if timing.share_of_peak is not None else "-",
    ]


def facts_grid(facts: list[tuple[str, str]]) -> Table:
    grid = Table(box=None, show_header=False, pad_edge=False)
    grid.add_column("what", style="bold", no_wrap=True)
    grid.add_column("value", overflow="fold")
    for label, value in facts:
        grid.add_row(Text(label), Text(value))
    return grid


def render_text(result: Verification, bench: Benchmark | None = None, width: int | None = None,
                color: bool | None = None) -> str:
    """The terminal rendering: the verification table, its outcome, then the benchmark if any."""
    parts: list[Any] = [verification_table(result), Text("\n".join(verification_lines(result)))]
    if bench is not None:
        parts += [Text(""), facts_grid(benchmark_facts(bench)), Text(""), benchmark_table(bench)]
    return render_rich(*parts, width=width, color=color)


def render_json(result: Verification, bench: Benchmark | None = None) -> str:
    return json.dumps({"verification": result.as_dict(), "benchmark": bench.as_dict() if bench else None},
                      indent=2) + "\n"


def _code(text: str) -> str:
    """A spec string as a Markdown code span, shown as it is: the fence is longer than any run of
    backticks inside, so a name cannot close the span and let markup through."""
    fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(text.replace("|", "\\|") for text in cells) + " |"


def render_markdown(result: Verification, bench: Benchmark | None = None) -> str:
    lines = [f"## {markdown_escape(result.spec)}: archviz against {result.framework}", ""]
    lines.append(_md_row(["layer", "op", *(HEADERS[q] for q in QUANTITIES)]))
    lines.append(_md_row(["---", "---", *("---:" for _ in QUANTITIES)]))
    for layer in result.layers:
        lines.append(_md_row([_code(layer.name), layer.op, *(cell(c) for c in layer.checks)]))
    lines.append(_md_row(["**total**", "", *(cell(c) for c in result.totals)]))
    lines += ["", *(markdown_escape(line) for line in verification_lines(result))]
    if bench is not None:
        lines += ["", f"## {markdown_escape(bench.spec)}: measured speed", ""]
        lines += [f"- **{label}**: {value}" for label, value in benchmark_facts(bench)]
        lines += ["", _md_row(["layer", "op", "ms", "time %", "FLOPs", "FLOP/s", "% peak"]),
                  _md_row(["---", "---", "---:", "---:", "---:", "---:", "---:"])]
        for timing in bench.layers:
            lines.append(_md_row([_code(timing.name), *_timing_cells(timing)[1:]]))
    return "\n".join(lines) + "\n"
