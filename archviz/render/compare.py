"""Rendering a comparison: rows of the paper's Table 1 and Table 2 plus size and compute."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict

from archviz.comparison import NetworkColumn
from archviz.render import units
from archviz.render.facts import SHORT_DTYPE


def _split_pool(entries: tuple[str, ...]) -> tuple[list[str], str | None]:
    if entries and entries[-1] == "maxpool":
        return list(entries[:-1]), "maxpool"
    return list(entries), None


def comparison_rows(columns: list[NetworkColumn]) -> list[tuple[str, list[str]]]:
    """(row label, one cell per network) in the paper's order, then the numbers."""
    dtype = SHORT_DTYPE[columns[0].dtype]  # compare analyses every network in one dtype
    rows: list[tuple[str, list[str]]] = [
        ("weight layers", [str(c.weight_layers) for c in columns]),
        ("input (CxHxW)", [units.shape(c.input_shape) for c in columns]),
    ]
    depth = max(len(c.stages) for c in columns)
    for index in range(depth):
        label = next((stage for c in columns if index < len(c.stages) and (stage := c.stages[index][0])),
                     f"stage {index + 1}")
        cells, pools = [], []
        for c in columns:
            if index < len(c.stages):
                body, pool = _split_pool(c.stages[index][1])
                cells.append("\n".join(body))
                pools.append(pool or "")
            else:
                cells.append("")
                pools.append("")
        rows.append((label, cells))
        if any(pools):
            rows.append(("", pools))
    rows += [
        ("params (millions, Table 2)", [units.millions(c.params) for c in columns]),
        ("params", [units.exact(c.params) for c in columns]),
        ("buffers", [units.exact(c.buffers) for c in columns]),
        ("MACs", [units.exact(c.macs) for c in columns]),
        ("FLOPs (2 x MACs)", [units.human(c.flops) for c in columns]),
        (f"param memory {dtype}", [units.human_bytes(c.param_bytes) for c in columns]),
        (f"activation memory {dtype}", [units.human_bytes(c.activation_bytes) for c in columns]),
        ("training memory (estimate)", ["-" if c.training_bytes_estimate is None
                                        else units.human_bytes(c.training_bytes_estimate) for c in columns]),
        ("params in dense layers", [units.percent(c.dense_params, c.params) for c in columns]),
        ("MACs in conv layers", [units.percent(c.conv_macs, c.macs) for c in columns]),
    ]
    return rows


def compare_table(columns: list[NetworkColumn], part: str = ""):  # type: ignore[no-untyped-def]
    """The side-by-side table: one column per network, every cell kept whole (no_wrap)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"ConvNet configurations side by side{part}", header_style="bold", show_lines=True)
    table.add_column("", style="bold")  # labels wrap at spaces in a narrow terminal; numbers never do
    for c in columns:
        table.add_column(c.name, justify="center", no_wrap=True)
    for label, cells in comparison_rows(columns):
        table.add_row(Text(label), *(Text(cell) for cell in cells))
    return table


def render_compare(columns: list[NetworkColumn], width: int | None = None, color: bool | None = None) -> str:
    """The table at ``width`` (default: the terminal's; piped: its natural width).

    Where all networks side by side do not fit, they are split into as few tables as fit, one
    after the other, each with the row labels, rather than cutting a number.
    """
    import io
    import shutil
    import sys

    from rich.console import Console
    from rich.text import Text

    from archviz.render.table import render_rich

    is_tty = sys.stdout.isatty() if color is None else color
    target = width if width is not None else (shutil.get_terminal_size((100, 24)).columns if is_tty else None)
    if target is None:
        return render_rich(compare_table(columns), color=color)
    probe = Console(width=10_000, file=io.StringIO())
    per_table = len(columns)
    while per_table > 1 and probe.measure(compare_table(columns[:per_table])).minimum > target or \
            per_table > 1 and any(probe.measure(compare_table(columns[i:i + per_table])).minimum > target
                                  for i in range(0, len(columns), per_table)):
        per_table -= 1
    if per_table == len(columns):
        return render_rich(compare_table(columns), width=target, color=color)
    parts: list[object] = []
    for start in range(0, len(columns), per_table):
        chunk = columns[start:start + per_table]
        parts.append(compare_table(chunk, f" ({start + 1}-{start + len(chunk)} of {len(columns)})"))
    parts.append(Text(f"(narrow terminal: {len(columns)} networks in {len(parts)} tables; widen it for one)",
                      style="dim"))
    return render_rich(*parts, width=target, color=color)


def compare_markdown(columns: list[NetworkColumn]) -> str:
    from archviz.render.formats import markdown_escape

    lines = ["| | " + " | ".join(markdown_escape(c.name) for c in columns) + " |",
             "|---|" + "|".join(":---:" for _ in columns) + "|"]
    for label, cells in comparison_rows(columns):
        lines.append(f"| {markdown_escape(label)} | "
                     + " | ".join("<br>".join(markdown_escape(part) for part in cell.split("\n")) for cell in cells)
                     + " |")
    return "\n".join(lines) + "\n"


def compare_json(columns: list[NetworkColumn]) -> str:
    return json.dumps([asdict(c) for c in columns], indent=2) + "\n"


def compare_csv(columns: list[NetworkColumn]) -> str:
    from archviz.render.formats import csv_safe

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    fields = [f for f in asdict(columns[0]) if f != "stages"]
    writer.writerow(fields)
    for c in columns:
        row = asdict(c)
        writer.writerow([csv_safe("x".join(map(str, row[f])) if isinstance(row[f], (list, tuple)) else row[f])
                         for f in fields])
    return buffer.getvalue()
