"""What ``archviz summary`` does once its arguments are parsed, without typer.

The typer command (:mod:`archviz.cli.summary`) and the fast path (:mod:`archviz.cli.fast`) both
call :func:`summarize`, so the two cannot drift apart: the fast path only has to parse the
arguments the way typer would. Imports are deferred to the format that needs them, because
start-up is most of a summary's time (``--format json`` should not pay for rich, nor the table
for the conventions).
"""

from __future__ import annotations

from pathlib import Path

from archviz.cli.shared import analyze, emit

# The values of the typer command's --format and --units choices, in its order (the help lists
# them so); tests/test_performance_paths.py checks the typer enums against these.
FORMATS = ("table", "markdown", "csv", "json", "html")
UNITS = ("auto", "raw")
DTYPES = ("float32", "bfloat16", "float16", "int8")  # the typer command's --dtype choices (archviz.cli.common.Dtype)


def summarize(
    spec: str | None,
    input_text: str | None = None,
    batch: int = 1,
    sets: list[str] | None = None,
    format: str = "table",
    columns: str | None = None,
    flops: bool = False,
    units: str = "auto",
    convention: str | None = None,
    out: Path | None = None,
    width: int | None = None,
    until: str | None = None,
    dtype: str = "float32",
) -> None:
    """Analyse the spec and print (or write to ``out``) the summary in ``format``.

    User errors are raised as :class:`archviz.errors.ArchvizError`, in this order: the spec and
    its input, then the columns, then the convention; the caller words them (report_error).
    """
    if format not in FORMATS or units not in UNITS:
        raise ValueError(f"format {format!r}, units {units!r}")  # a caller's bug, not a user error
    network, analysis = analyze(spec, input_text, batch, sets, until, dtype)
    note = network.input_size_note(analysis)
    if note is not None:
        import dataclasses

        analysis = dataclasses.replace(analysis, notes=(*analysis.notes, note))
        if format == "csv":  # CSV has one row per layer and nowhere else to say it
            import sys

            print(f"note: {note}", file=sys.stderr)
    chosen = None
    # json lists every column whatever --columns says, but an unknown column is still an error;
    # without --columns there is nothing to check and the column table need not be imported.
    if format != "json" or columns is not None:
        from archviz.render.columns import select

        chosen = select(columns, flops)
    convention_line = None
    if convention is not None:
        from archviz.conventions import get_convention

        chosen_convention = get_convention(convention)
        convention_line = (f"{chosen_convention.tool} ({chosen_convention.unit})", chosen_convention.total(analysis))
    if format == "json":
        from archviz.conventions import CONVENTIONS
        from archviz.render.formats import to_json

        emit(to_json(analysis, {name: c.total(analysis) for name, c in CONVENTIONS.items()}), out)
        return
    assert chosen is not None
    if format == "csv":
        from archviz.render.formats import to_csv

        emit(to_csv(analysis, chosen), out)
    elif format == "markdown":
        from archviz.render.formats import to_markdown

        # markdown has always printed exact integers whatever --units says (the snapshots pin it)
        emit(to_markdown(analysis, chosen, human_units=False), out)
    elif format == "html":
        from archviz.render.formats import to_html_table

        emit(to_html_table(analysis, chosen, human_units=units == "auto"), out)
    else:
        from archviz.render.table import render_summary

        # a file gets no colour codes even when stdout is a terminal
        text = render_summary(analysis, chosen, human_units=units == "auto", convention_line=convention_line,
                              width=width, color=False if out is not None else None)
        emit(text, out)
