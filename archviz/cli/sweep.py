"""archviz sweep: one row of totals per combination of variable values, input shapes and batches."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from archviz.cli.common import (
    BatchOption,
    Dtype,
    DtypeOption,
    SetOption,
    SpecArgument,
    WidthOption,
    clean_errors,
    parse_sets,
    write_output,
)
from archviz.cli.shared import DEFAULT_SPEC, stream_output
from archviz.errors import SpecError

if TYPE_CHECKING:
    from archviz.sweep import SweepPlan

CHART_FORMATS = ("svg", "png", "pdf")
MAX_CHART_POINTS = 100_000  # the chart keeps two numbers and a label per variant


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def sweep(
    spec: SpecArgument = None,
    vary: Annotated[list[str] | None, typer.Option(
        "--vary", "-v", help="NAME=V1,V2,... (repeatable): a spec variable, 'input' (CxHxW, HxW or S) or "
        "'batch'. A..B or A..B:STEP is an integer range. Every combination is one row.",
        show_default=False)] = None,
    batch: BatchOption = 1,
    set_: SetOption = None,
    format: Annotated[Format, typer.Option("--format", "-f", help="table, or csv/json streamed row by row.")] = Format.table,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write to a file instead of stdout.",
                                             show_default=False)] = None,
    chart: Annotated[Path | None, typer.Option(
        "--chart", help="Also draw params against MACs (log axes), each variant labelled by its varied values: "
        ".svg, .png or .pdf.",
        show_default=False)] = None,
    dtype: DtypeOption = Dtype.float32,
    width: WidthOption = None,
    progress: Annotated[bool | None, typer.Option(
        "--progress/--no-progress", help="Progress bar on stderr (default: when stderr is a terminal and the "
        "sweep is long).", show_default=False)] = None,
) -> None:
    """Totals of every variant of a grid: width x input size x classes, and so on.

    One row per combination. A variant that is not a valid network gets its error in the 'error' column.

    Rows stream: csv and json output of any length runs in constant memory (--chart keeps two numbers per row).

    Examples:

      archviz sweep vgg16 --vary width=0.5,1,2 --vary input=3x224x224,3x160x160 --vary num_classes=10,1000

      archviz sweep vgg16 --vary input=32..512:32 --format csv --out sizes.csv

      archviz sweep resnet18 --vary width=0.25,0.5,1,2 --vary input=64..256:64 --chart pareto.svg
    """
    from archviz.sweep import MAX_TABLE_ROWS, SweepPoints, parse_vary, plan_sweep, run_sweep

    if chart is not None and chart.suffix.lower().lstrip(".") not in CHART_FORMATS:
        raise SpecError(f"--chart is written as {', '.join(CHART_FORMATS)}. Received: {str(chart)!r}",
                        hint="name the chart file .svg, .png or .pdf")
    if chart is not None:
        from archviz.optional import require

        require("matplotlib", "the sweep's --chart")  # before the sweep: its rows are printed as they come
    plan = plan_sweep(spec or DEFAULT_SPEC, parse_vary(vary or []), batch, dtype=dtype.value, **parse_sets(set_))
    if chart is not None and plan.size > MAX_CHART_POINTS:
        raise SpecError(f"--chart keeps every variant's point, and this grid has {plan.size:,} variants; the chart's "
                        f"limit is {MAX_CHART_POINTS:,}", hint="chart a coarser grid (A..B:STEP); csv and json stream any size")
    if format is Format.table and plan.size > MAX_TABLE_ROWS:
        raise SpecError(f"a table is laid out whole, and this grid has {plan.size:,} variants; the table's limit "
                        f"is {MAX_TABLE_ROWS:,}", hint="use --format csv or --format json, which stream any number of rows")
    show = progress if progress is not None else (sys.stderr.isatty() and plan.size >= 10_000)
    with _Progress(plan.size, show) as advance, stream_output(out) as stream:
        rows = run_sweep(plan, advance)
        points = SweepPoints.for_plan(plan)
        if chart is not None:
            rows = points.collect(rows)
        _write(plan, rows, format, stream, color=False if out is not None else None, width=width)
        if chart is not None:
            # Still inside the --out block: a chart that cannot be written leaves no --out file either.
            from archviz.render.sweep_chart import render_sweep_chart

            write_output(chart, render_sweep_chart(points, plan.network.name, fmt=chart.suffix.lower().lstrip(".")))


def _write(plan: SweepPlan, rows: Iterator[dict[str, Any]], format: Format, stream: TextIO,
           color: bool | None, width: int | None = None) -> None:
    from archviz.render import sweep as render

    if format is Format.table:
        varied = [name for name, _ in plan.variables]
        text = render.render_table(plan.network.name, varied, rows, width=width, color=color, dtype=plan.dtype)
        stream.write(text if text.endswith("\n") else text + "\n")
        return
    from archviz.analysis import TRAINING_ASSUMPTIONS

    header = {"name": plan.network.name, "spec": plan.network.document.file, "variants": plan.size,
              "dtype": plan.dtype, "training_assumptions": TRAINING_ASSUMPTIONS[plan.dtype]}
    chunks = render.csv_lines(plan.columns, rows) if format is Format.csv else \
        render.json_chunks(header, plan.columns, rows)
    stream.writelines(chunks)


class _Progress:
    """A rich progress bar on stderr, or nothing; used as ``with _Progress(total, show) as advance``."""

    def __init__(self, total: int, show: bool) -> None:
        self.total, self.show = total, show
        self.bar: Any = None

    def __enter__(self) -> Any:
        if not self.show:
            return None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                            console=Console(file=sys.stderr), transient=True)
        self.bar.start()
        task = self.bar.add_task("sweep", total=self.total)
        return lambda done: self.bar.update(task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def register(app: typer.Typer) -> None:
    app.command("sweep")(clean_errors(sweep))
