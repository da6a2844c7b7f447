"""archviz summary: the per-layer table with totals (the typer command; the work is in
:mod:`archviz.cli.summarize`)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from archviz.cli.common import (
    BatchOption,
    Dtype,
    DtypeOption,
    InputOption,
    SetOption,
    SpecArgument,
    UntilOption,
    check_width,
    clean_errors,
)
from archviz.cli.shared import MAX_WIDTH, MIN_WIDTH

# the keys of archviz.render.columns.COLUMNS, written out so that the help does not import the
# analysis (tests/test_user_questions.py checks that they agree)
COLUMN_KEYS = ("name", "op", "type", "stage", "inputs", "output_shape", "params", "params_pct", "buffers", "macs",
               "macs_pct", "flops", "elementwise", "bias_adds", "activations", "activation_bytes", "receptive_field",
               "stride", "padding")


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
        "--columns", "-c", help=f"Comma-separated columns, from: {', '.join(COLUMN_KEYS)} (docs/conventions.md defines "
        "each); default: name,op,output_shape,params,params_pct,macs,macs_pct,receptive_field.",
        show_default=False)] = None,
    flops: Annotated[bool, typer.Option("--flops", help="Add the FLOPs column (2 x MACs).")] = False,
    units: Annotated[Units, typer.Option(
        "--units", help="auto: short units (M, G) in the table; raw: exact integers with separators.")] = Units.auto,
    convention: Annotated[str | None, typer.Option(
        "--convention", help="Also total the work under a named convention (see 'archviz conventions').",
        show_default=False)] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to a file instead of stdout.",
                                             show_default=False)] = None,
    width: Annotated[int | None, typer.Option("--width", callback=check_width, help=f"Table width in characters, {MIN_WIDTH}-{MAX_WIDTH} (default: terminal, "
                                              "or the table's natural width when piped).", show_default=False)] = None,
    until: UntilOption = None,
    dtype: DtypeOption = Dtype.float32,
) -> None:
    """Per-layer shapes, params, MACs and receptive fields, with stage subtotals and totals.

    Examples:

      archviz summary specs/vgg16.yaml

      archviz summary vgg16 --input 3x227x227 --batch 32 --flops

      archviz summary vgg16 --set num_classes=10 --format json

      archviz summary vgg16 --input 512 --batch 32 --dtype bfloat16

      archviz summary vgg16 --until relu4_3   # VGG16 as a backbone, to conv4_3's ReLU
    """
    from archviz.cli.summarize import summarize

    # the body is typer-free so that archviz.cli.fast can run it without importing typer
    summarize(spec, input, batch, set_, format.value, columns, flops, units.value, convention, out, width, until,
              dtype.value)


def register(app: typer.Typer) -> None:
    app.command("summary")(clean_errors(summary))
