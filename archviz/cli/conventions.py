"""archviz conventions: one network's work under every named counting convention."""

from __future__ import annotations

import sys
from enum import Enum
from typing import Annotated

import typer

from archviz.cli.common import (
    BatchOption,
    InputOption,
    SetOption,
    SpecArgument,
    UntilOption,
    WidthOption,
    analyze,
    clean_errors,
)


class Format(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def conventions(
    spec: SpecArgument = None,
    input: InputOption = None,
    batch: BatchOption = 1,
    set_: SetOption = None,
    until: UntilOption = None,
    per_layer: Annotated[bool, typer.Option("--per-layer", help="One row per layer, one column per convention.")]
    = False,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    width: WidthOption = None,
) -> None:
    """The network's work under each tool's convention: MACs vs FLOPs, with or without bias,
    activations and pooling, each defined once (docs/conventions.md).

    Examples:

      archviz conventions vgg16

      archviz conventions vgg16 --set torchvision_layout=true   # torchvision's exact layout

      archviz conventions resnet18 --per-layer --format csv
    """
    import csv
    import io
    import json

    from archviz.conventions import CONVENTIONS
    from archviz.render.formats import csv_safe
    from archviz.render.units import exact, human

    _, analysis = analyze(spec, input, batch, set_, until)
    if per_layer:
        header = ["layer", "op", *CONVENTIONS]
        rows = [(r.name, r.op, [c.per_layer(r) for c in CONVENTIONS.values()]) for r in analysis.layers]
        if format is Format.json:
            typer.echo(json.dumps([dict(zip(header, [name, op, *counts])) for name, op, counts in rows], indent=2))
        elif format is Format.csv:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(header)
            writer.writerows([[csv_safe(v) for v in (name, op, *counts)] for name, op, counts in rows])
            sys.stdout.write(buffer.getvalue())
        else:
            from rich.table import Table
            from rich.text import Text

            from archviz.render.table import hidden_rows, render_rich

            table = Table(title=f"{analysis.name}: work per layer under each convention", header_style="bold")
            table.add_column("Layer", no_wrap=True)
            table.add_column("Op")
            for name in CONVENTIONS:
                table.add_column(name, justify="right", no_wrap=True)
            hidden = hidden_rows(len(rows))  # rich lays out ~1 ms a row: the first and last 500 of a long one
            for index, (name, op, counts) in enumerate(rows):
                if index in hidden:
                    if index == hidden.start:
                        table.add_row(Text(f"… {len(hidden):,} layers (csv and json list every one)"), style="dim")
                    continue
                table.add_row(Text(name), Text(op), *(Text(exact(v)) for v in counts))
            table.add_row(Text("total", style="bold"), Text(""),
                          *(Text(exact(c.total(analysis)), style="bold") for c in CONVENTIONS.values()))
            sys.stdout.write(render_rich(table, width=width))
        return

    totals = [(c, c.total(analysis)) for c in CONVENTIONS.values()]
    if format is Format.json:
        typer.echo(json.dumps({
            "name": analysis.name, "input_shape": list(analysis.input_shape), "batch": analysis.batch,
            "conventions": [{"name": c.name, "tool": c.tool, "unit": c.unit, "total": total, "counts": c.counts,
                             "leaves_out": c.leaves_out} for c, total in totals],
        }, indent=2))
        return
    if format is Format.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["name", "tool", "unit", "total", "counts", "leaves_out"])
        for c, total in totals:
            writer.writerow([c.name, c.tool, c.unit, total, c.counts, c.leaves_out])
        sys.stdout.write(buffer.getvalue())
        return
    from rich.table import Table
    from rich.text import Text

    from archviz.render.table import fit_by_dropping, render_rich, terminal_width

    def build(left_out: frozenset[str]) -> Table:
        table = Table(title=f"{analysis.name} at {'x'.join(map(str, analysis.input_shape))}, batch {analysis.batch}: "
                      "one network, many 'FLOPs'", header_style="bold")
        columns = [(header, header not in left_out) for header in ("Tool", "Unit", "Short", "Counts", "Leaves out")]
        shown = {header for header, keep in columns if keep}
        table.add_column("Convention", no_wrap=True)
        if "Tool" in shown:
            table.add_column("Tool", max_width=24)
        table.add_column("Unit", no_wrap=True)
        table.add_column("Total", justify="right", no_wrap=True)
        if "Short" in shown:
            table.add_column("", justify="right", no_wrap=True)
        if "Counts" in shown:
            table.add_column("Counts", max_width=44)
        if "Leaves out" in shown:
            table.add_column("Leaves out", max_width=36)
        for c, total in totals:
            cells = [Text(c.name, style="bold")]
            cells += [Text(c.tool)] if "Tool" in shown else []
            cells += [Text(c.unit), Text(exact(total))]
            cells += [Text(human(total))] if "Short" in shown else []
            cells += [Text(c.counts)] if "Counts" in shown else []
            cells += [Text(c.leaves_out)] if "Leaves out" in shown else []
            table.add_row(*cells)
        return table

    target = terminal_width(width)
    table, dropped = fit_by_dropping(build, ("Short", "Tool", "Leaves out", "Counts"), target)
    parts: list[object] = [table]
    if dropped:
        names = ", ".join("short total" if name == "Short" else name.lower() for name in dropped)
        parts.append(Text(f"(narrow terminal: left out {names}; widen it, --width, or --format json)", style="dim"))
    sys.stdout.write(render_rich(*parts, width=target))


def register(app: typer.Typer) -> None:
    app.command("conventions")(clean_errors(conventions))
