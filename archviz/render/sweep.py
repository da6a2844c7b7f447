"""Sweep rows as CSV, JSON (both streamed, one row at a time) or a rich table. Computes nothing.

CSV and JSON carry every column as exact integers (input and output shapes as ``CxHxW`` text
in CSV, lists in JSON); the table shows the main totals with short units.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from archviz.render import units
from archviz.render.formats import csv_safe

JSON_SCHEMA_VERSION = 1
SHAPES = ("input", "output_shape")
TABLE_TOTALS = (
    ("params", "Params", units.human),
    ("macs", "MACs", units.human),
    ("activation_bytes", "Activations", units.human_bytes),
    ("training_bytes_estimate", "Training memory", units.human_bytes),
    ("output_shape", "Output", units.shape),
)


def csv_lines(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """The header, then one line per row (``\\n`` endings), as the rows arrive."""
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    yield buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([_csv_cell(key, row.get(key)) for key in columns])
        yield buffer.getvalue()


def _csv_cell(key: str, value: Any) -> Any:
    if value is None:
        return ""
    if key in SHAPES:
        return units.shape(value)
    return csv_safe(value)


def json_chunks(header: dict[str, Any], columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    """One JSON document, ``{...header, "columns": [...], "rows": [...]}``, one row per line."""
    opening = json.dumps({"schema_version": JSON_SCHEMA_VERSION, **header, "columns": list(columns)},
                         ensure_ascii=False)
    yield opening[:-1] + ', "rows": [\n'
    first = True
    for row in rows:
        item = {key: (list(row[key]) if key in SHAPES and row.get(key) is not None else row.get(key))
                for key in columns}
        yield ("" if first else ",\n") + json.dumps(item, ensure_ascii=False)
        first = False
    yield ("" if first else "\n") + "]}\n"


def render_table(title: str, varied: Sequence[str], rows: Iterable[dict[str, Any]], width: int | None = None,
                 color: bool | None = None, dtype: str = "float32") -> str:
    """A rich table: the varied values, input, batch, the main totals, and errors where a variant failed.

    The memory columns are in ``dtype``; a note under the table says so, with the training
    estimate's assumptions."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from archviz.analysis import TRAINING_ASSUMPTIONS
    from archviz.render.table import fit_by_dropping, render_rich, terminal_width
    from archviz.render.theme import printable

    cells_per_row: list[list[Text]] = []
    failed = 0
    for row in rows:
        cells = [Text(printable(str(row[name]), 40)) for name in varied]
        cells += [Text(units.shape(row["input"])), Text(str(row["batch"]))]
        if row.get("error"):
            failed += 1
            cells += [Text("-") for _ in TABLE_TOTALS] + [Text(printable(row["error"], 400), style="red")]
        else:
            cells += [Text("-" if row[key] is None else format_(row[key])) for key, _, format_ in TABLE_TOTALS]
            cells.append(Text(""))
        cells_per_row.append(cells)
    total_headers = [header for _, header, _ in TABLE_TOTALS]

    def build(left_out: frozenset[str]) -> Table:
        table = Table(title=Text(printable(title, 80), style="bold"), box=box.SIMPLE_HEAD, header_style="bold",
                      pad_edge=False)
        for name in varied:
            table.add_column(printable(name, 40), no_wrap=True)
        table.add_column("Input", no_wrap=True)
        table.add_column("Batch", justify="right", no_wrap=True)
        kept = [index for index, header in enumerate(total_headers) if header not in left_out]
        for index in kept:
            table.add_column(total_headers[index], justify="right", no_wrap=True)
        table.add_column("Error")
        fixed = len(varied) + 2
        for cells in cells_per_row:
            table.add_row(*cells[:fixed], *(cells[fixed + index] for index in kept), cells[-1])
        return table

    # in a narrow terminal the least needed totals go before any number is cut
    table, dropped = fit_by_dropping(build, ("Training memory", "Output", "Activations"), terminal_width(width, color))
    note = Text(f"{table.row_count:,} variants, {failed:,} not valid networks" if failed
                else f"{table.row_count:,} variants", style="dim")
    memory = Text(f"memory in {dtype}; training memory: {TRAINING_ASSUMPTIONS[dtype]}", style="dim")
    parts: list[object] = [table, note, memory]
    if dropped:
        parts.append(Text(f"(narrow terminal: left out {', '.join(d.lower() for d in dropped)}; widen it, --width, "
                          "or --format csv)", style="dim"))
    return render_rich(*parts, width=width, color=color)
