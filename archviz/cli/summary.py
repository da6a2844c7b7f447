"""archviz summary: the per-layer table with totals."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from archviz.cli.common import (BatchOption, InputOption, SetOption, SpecArgument, analyze, clean_errors, emit)


class Format(str, Enum):
    table = "table"
    markdown = "markdown"
    csv = "csv"
    json = "json"
    html = "html"


class Units(str, Enum):
    auto = "auto"
    raw = "raw"


def summary(
    spec: SpecArgument = None,
    input: InputOption = None,
    batch: BatchOption = 1,
    set_: SetOption = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    columns: Annotated[str | None, typer.Option(
        "--columns", "-c", help="Comma-separated columns (see 'archviz summary --help-columns'); "
        "default: name,op,output_shape,params,params_pct,macs,macs_pct,receptive_field.", show_default=False)] = None,
    flops: Annotated[bool, typer.Option("--flops", help="Add the FLOPs column (2 x MACs).")] = False,
    units: Annotated[Units, typer.Option(
        "--units", help="auto: short units (M, G) in the table; raw: exact integers with separators.")] = Units.auto,
    convention: Annotated[str | None, typer.Option(
        "--convention", help="Also total the work under a named convention (see 'archviz conventions').",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to a file instead of stdout.",
                                             show_default=False)] = None,
    width: Annotated[int | None, typer.Option("--width", help="Table width in characters (default: terminal, "
                                              "or the table's natural width when piped).", show_default=False)] = None,
) -> None:
    """Per-layer shapes, params, MACs and receptive fields, with stage subtotals and totals.

    Examples:

      archviz summary specs/vgg16.yaml

      archviz summary vgg16 --input 3x227x227 --batch 32 --flops

      archviz summary vgg16 --set num_classes=10 --format json
    """
    from archviz.conventions import get_convention
    from archviz.render import formats
    from archviz.render.columns import select

    network, analysis = analyze(spec, input, batch, set_)
    chosen = select(columns, flops)
    convention_totals = None
    convention_line = None
    if convention is not None:
        chosen_convention = get_convention(convention)
        convention_line = (f"{chosen_convention.tool} ({chosen_convention.unit})", chosen_convention.total(analysis))
    if format is Format.json:
        from archviz.conventions import CONVENTIONS

        convention_totals = {name: c.total(analysis) for name, c in CONVENTIONS.items()}
        emit(formats.to_json(analysis, convention_totals), out)
    elif format is Format.csv:
        emit(formats.to_csv(analysis, chosen), out)
    elif format is Format.markdown:
        emit(formats.to_markdown(analysis, chosen, human_units=units is Units.auto and False), out)
    elif format is Format.html:
        emit(formats.to_html_table(analysis, chosen, human_units=units is Units.auto), out)
    else:
        from archviz.render.table import render_summary

        text = render_summary(analysis, chosen, human_units=units is Units.auto, convention_line=convention_line,
                              width=width, color=False if out is not None else None)
        emit(text, out)


def register(app: typer.Typer) -> None:
    app.command("summary")(clean_errors(summary))
