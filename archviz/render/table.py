"""The rich terminal table of a summary (reads an Analysis; computes nothing)."""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Callable, Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from archviz.analysis import Analysis
from archviz.render import units
from archviz.render.columns import Column, cell_text
from archviz.render.facts import summary_facts

NUMERIC = ("count", "percent", "field", "bytes")
# rich lays a table out at about a millisecond a row: a longer network shows its first and last
# layers and says how many it leaves out (csv, json and markdown list every layer).
MAX_TABLE_ROWS = 1000


def hidden_layers(analysis: Analysis) -> range:
    """Positions of the layers the table leaves out (empty unless there are over MAX_TABLE_ROWS)."""
    return hidden_rows(len(analysis.layers))


def hidden_rows(count: int) -> range:
    """Of ``count`` per-layer rows, the positions a table leaves out: all but the first and last 500."""
    if count <= MAX_TABLE_ROWS:
        return range(0)
    return range(MAX_TABLE_ROWS // 2, count - MAX_TABLE_ROWS // 2)


def summary_table(analysis: Analysis, columns: list[Column], human_units: bool = True) -> Table:
    table = Table(
        title=Text(f"{analysis.name}", style="bold"),
        caption=None,
        box=box.SIMPLE_HEAD,
        show_footer=False,
        header_style="bold",
        pad_edge=False,
    )
    for column in columns:
        numeric = column.kind in NUMERIC
        table.add_column(column.header, justify="right" if numeric else "left",
                         no_wrap=numeric or column.kind == "shape", overflow="fold")
    stages = analysis.stage_totals()
    subtotal = {stage: sums for stage, sums in stages}
    current = object()
    hidden = hidden_layers(analysis)
    for index, record in enumerate(analysis.layers):
        if index in hidden:
            if index == hidden.start:
                table.add_row(Text(f"… {len(hidden):,} layers"), style="dim", end_section=True)
            continue
        if record.stage != current:
            current = record.stage
        table.add_row(*(Text(cell_text(c, record, analysis, human_units)) for c in columns))
        last_of_stage = index + 1 == len(analysis.layers) or analysis.layers[index + 1].stage != record.stage
        if last_of_stage and record.stage is not None and len(stages) > 1:
            sums = subtotal[record.stage]
            cells = []
            for column in columns:
                if column.key == "name":
                    cells.append(Text(f"{record.stage} total", style="italic"))
                elif column.key in ("params", "macs", "flops", "buffers"):
                    value = sums[column.key]
                    cells.append(Text(units.human(value) if human_units else units.exact(value), style="italic"))
                elif column.key == "params_pct":
                    cells.append(Text(units.percent(sums["params"], analysis.totals.params), style="italic"))
                elif column.key == "macs_pct":
                    cells.append(Text(units.percent(sums["macs"], analysis.totals.macs), style="italic"))
                else:
                    cells.append(Text(""))
            table.add_row(*cells, style="dim", end_section=True)
    return table


def facts_table(analysis: Analysis, convention_line: tuple[str, int] | None = None) -> Table:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for label, value in summary_facts(analysis, convention_line):
        table.add_row(Text(label), Text(value))
    return table


def keep_words_whole(table: Table) -> None:
    """Give each wrapping column of ``table`` its longest word as minimum width.

    rich narrows wrapping columns below their longest word when a table is wider than the
    console (and then breaks words, e.g. 'multiply-accumul' / 'ates'); with this minimum they
    wrap at spaces only, and the table keeps the width that takes.
    """
    for column in table.columns:
        if column.no_wrap or column.width is not None:
            continue
        texts = [str(column.header), *(str(cell) for cell in column.cells)]
        longest = max((len(word) for text in texts for word in text.split()), default=1)
        column.min_width = max(column.min_width or 0, longest)


def fit_by_dropping(build: Callable[[frozenset[str]], Table], drop_order: Sequence[str],
                    width: int | None) -> tuple[Table, list[str]]:
    """The table ``build(left_out)`` makes, leaving out the columns of ``drop_order`` one at a
    time until it fits ``width`` with every word and number whole (None: no limit)."""
    probe = Console(width=10_000, file=io.StringIO())
    dropped: list[str] = []
    table = build(frozenset())
    for header in drop_order:
        keep_words_whole(table)
        if width is None or probe.measure(table).minimum <= width:
            break
        dropped.append(header)
        table = build(frozenset(dropped))
    return table, dropped


def terminal_width(width: int | None, color: bool | None = None) -> int | None:
    """The width a table must fit: ``width``, else the terminal's; None when piped (natural width)."""
    if width is not None:
        return width
    is_tty = sys.stdout.isatty() if color is None else color
    return shutil.get_terminal_size((100, 24)).columns if is_tty else None


def render_rich(*renderables: object, width: int | None = None, color: bool | None = None) -> str:
    """Render rich objects to text. Piped output gets no colour and the widest renderable's natural
    width; a terminal (or ``width``) gets its own width, but never less than the renderables'
    minimum, so no number or word is ever cut or broken (labels wrap at spaces instead)."""
    is_tty = sys.stdout.isatty() if color is None else color
    for renderable in renderables:
        if isinstance(renderable, Table):
            keep_words_whole(renderable)
    probe = Console(width=10_000, file=io.StringIO())
    if width is None and not is_tty:
        width = max([80, *(probe.measure(r).maximum for r in renderables)])  # type: ignore[arg-type]
    else:
        # A number is never cut: below the narrowest width the renderables take without cutting
        # a number or breaking a word (their measured minimum), keep that width and let the
        # terminal wrap the line. Commands drop columns or wrap labels before it comes to this.
        wanted = width if width is not None else shutil.get_terminal_size((100, 24)).columns
        width = max([wanted, *(probe.measure(r).minimum for r in renderables)])  # type: ignore[arg-type]
    console = Console(width=width, file=io.StringIO(), force_terminal=is_tty, color_system="auto" if is_tty else None,
                      no_color=not is_tty, highlight=False, emoji=False, markup=False, soft_wrap=False)
    for renderable in renderables:
        console.print(renderable)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    if not is_tty:  # rich pads every line to the full width; piped text should not carry that
        text = "\n".join(line.rstrip() for line in text.split("\n"))
    if not _can_draw_lines(getattr(sys.stdout, "encoding", None)):
        text = text.translate(_ascii_lines())  # rules and borders in ASCII, not as \u2500 escapes
    return text


def _can_draw_lines(encoding: str | None) -> bool:
    """Whether standard output's encoding has the box-drawing characters (not ascii, not latin-1)."""
    if encoding is None or encoding.lower().replace("-", "").replace("_", "") in ("utf8", "utf16", "utf32"):
        return True
    try:
        "\u2500\u2502\u253c\u2026".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _ascii_lines() -> dict[int, str]:
    """Box-drawing characters (U+2500-U+257F) as - | +, and rich's ellipsis as '...'."""
    import unicodedata

    table = {0x2026: "..."}
    for code in range(0x2500, 0x2580):
        name = unicodedata.name(chr(code), "")
        horizontal, vertical = "HORIZONTAL" in name, "VERTICAL" in name
        table[code] = "-" if horizontal and not vertical else "|" if vertical and not horizontal else "+"
    return table


DROP_ORDER = ("receptive_field", "stride", "padding", "macs_pct", "params_pct", "stage", "inputs", "type", "op")


def fit_columns(analysis: Analysis, columns: list[Column], width: int, human_units: bool,
                convention_line: tuple[str, int] | None) -> tuple[list[Column], list[str]]:
    """Drop the least important columns until the table fits ``width`` without cutting a number."""
    probe = Console(width=10_000, file=io.StringIO())
    kept = list(columns)
    dropped: list[str] = []
    for key in DROP_ORDER:
        if probe.measure(summary_table(analysis, kept, human_units)).minimum <= width:
            break
        if any(c.key == key for c in kept) and len(kept) > 2:
            kept = [c for c in kept if c.key != key]
            dropped.append(key)
    return kept, dropped


def render_summary(
    analysis: Analysis,
    columns: list[Column],
    human_units: bool = True,
    convention_line: tuple[str, int] | None = None,
    width: int | None = None,
    color: bool | None = None,
) -> str:
    """The summary table followed by the totals.

    In a terminal narrower than the table, the least important columns are left out (and
    named in a note) rather than cutting numbers; what still does not fit keeps its natural width.
    """
    is_tty = sys.stdout.isatty() if color is None else color
    target = width if width is not None else (shutil.get_terminal_size((100, 24)).columns if is_tty else None)
    note = None
    if target is not None:
        columns, dropped = fit_columns(analysis, columns, target, human_units, convention_line)
        if dropped:
            note = Text(f"(narrow terminal: left out {', '.join(dropped)}; widen it or choose --columns)",
                        style="dim")
        probe = Console(width=10_000, file=io.StringIO())
        target = max(target, probe.measure(summary_table(analysis, columns, human_units)).minimum)
    renderables: list[object] = [summary_table(analysis, columns, human_units), facts_table(analysis, convention_line)]
    hidden = hidden_layers(analysis)
    if hidden:
        first, last = analysis.layers[hidden.start].name, analysis.layers[hidden.stop - 1].name
        renderables.append(Text(f"({len(hidden):,} of {len(analysis.layers):,} layers not shown, {first} to {last}; "
                                "--format csv, json or markdown lists every layer)", style="dim"))
    if note is not None:
        renderables.append(note)
    return render_rich(*renderables, width=target, color=color)
