"""The rich terminal table of a summary (reads an Analysis; computes nothing)."""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
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


# The summary's box: no edges or column lines; a rule under the header and at each section's end
# (above a stage's subtotal, so that the sum reads as one, as in a ledger, also where colour is off).
SUMMARY_BOX = box.Box(
    "    \n"
    "    \n"
    " ── \n"
    "    \n"
    " ── \n"
    "    \n"
    "    \n"
    "    \n"
)
# Columns whose labels may wrap at spaces ("global avgpool"); every other column keeps each cell
# on one line: a number or shape is never cut, and the Layer column is at least as wide as its
# longest name (only a subtotal's label may wrap there, as a last resort).
WRAPPING = ("op", "type", "stage", "inputs")
GAP = 3  # cells between two columns: a padding space each side of rich's (blank) column line


@dataclass(frozen=True)
class SummaryRow:
    """One row of the summary table: a layer, a stage's subtotal, the gap after it, or the
    placeholder for the layers a long table leaves out."""

    kind: str  # layer, subtotal, gap, hidden
    cells: tuple[str, ...]


def summary_rows(analysis: Analysis, columns: Sequence[Column], human_units: bool) -> list[SummaryRow]:
    stages = analysis.stage_totals()
    subtotal = dict(stages)
    # a stage's subtotal follows its last layer: once, even when its name returns after another stage
    last_of = {record.stage: index for index, record in enumerate(analysis.layers)}
    hidden = hidden_layers(analysis)
    rows: list[SummaryRow] = []
    for index, record in enumerate(analysis.layers):
        if index in hidden:
            if index == hidden.start:
                rows.append(SummaryRow("hidden", (f"… {len(hidden):,} layers",) + ("",) * (len(columns) - 1)))
            continue
        rows.append(SummaryRow("layer", tuple(cell_text(c, record, analysis, human_units) for c in columns)))
        if last_of[record.stage] == index and record.stage is not None and len(stages) > 1:
            rows.append(SummaryRow("subtotal", tuple(_subtotal_cell(c, record.stage, subtotal[record.stage],
                                                                    analysis, human_units) for c in columns)))
            rows.append(SummaryRow("gap", ("",) * len(columns)))
    if rows and rows[-1].kind == "gap":  # the totals follow, after the table's own blank line
        rows.pop()
    return rows


def _subtotal_cell(column: Column, stage: str, sums: dict[str, int], analysis: Analysis, human_units: bool) -> str:
    if column.key == "name":
        return f"{stage} total"
    if column.key in ("params", "macs", "flops", "buffers"):
        value = sums[column.key]
        return units.human(value) if human_units else units.exact(value)
    if column.key == "params_pct":
        return units.percent(sums["params"], analysis.totals.params)
    if column.key == "macs_pct":
        return units.percent(sums["macs"], analysis.totals.macs)
    return ""


def _longest_word(text: str) -> int:
    return max((cell_len(word) for word in text.split()), default=0)


def column_widths(columns: Sequence[Column], rows: Sequence[SummaryRow], width: int | None,
                  whole_subtotals: bool = True) -> list[int]:
    """Each column's width: its widest cell, then, while the table is wider than ``width``, the
    widest wrapping column narrowed a cell at a time, never below its longest word. With
    ``whole_subtotals`` off (the last resort, once every column that may go has gone), a
    subtotal's label may wrap too ('classifier' over 'total'); a layer name never does. A table
    that does not fit at those minimums keeps them."""
    natural, minimum = [], []
    for position, column in enumerate(columns):
        texts = [column.header, *(row.cells[position] for row in rows if row.kind != "hidden")]
        widest = max(cell_len(text) for text in texts)
        natural.append(widest)
        if column.key in WRAPPING:
            minimum.append(max(_longest_word(text) for text in texts))
        elif column.key == "name" and not whole_subtotals:
            minimum.append(max(_longest_word(row.cells[position]) if row.kind == "subtotal"
                               else cell_len(row.cells[position]) for row in rows))
        else:
            minimum.append(widest)
    for row in rows:
        if row.kind == "hidden":  # the placeholder sits in the first column, which widens for it
            natural[0] = max(natural[0], cell_len(row.cells[0]))
            minimum[0] = max(minimum[0], cell_len(row.cells[0]))
    widths = list(natural)
    if width is not None:
        excess = table_width(widths) - width
        while excess > 0:
            slack = [(widths[i], i) for i in range(len(widths)) if widths[i] > minimum[i]]
            if not slack:
                break
            _, widest = max(slack)
            widths[widest] -= 1
            excess -= 1
    return widths


def table_width(widths: Sequence[int]) -> int:
    """The cells a summary table with these column widths takes."""
    return sum(widths) + GAP * (len(widths) - 1)


def minimum_width(columns: Sequence[Column], rows: Sequence[SummaryRow]) -> int:
    return table_width(column_widths(columns, rows, 0))


def summary_table(analysis: Analysis, columns: list[Column], human_units: bool = True,
                  widths: Sequence[int] | None = None, rows: Sequence[SummaryRow] | None = None) -> Table:
    """The per-layer table, its columns ``widths`` wide (None: their natural widths)."""
    rows = summary_rows(analysis, columns, human_units) if rows is None else rows
    widths = column_widths(columns, rows, None) if widths is None else widths
    table = Table(
        title=Text(f"{analysis.name}\n", style="bold"),  # a blank line under it, as the edgeless box has none
        caption=None,
        box=SUMMARY_BOX,
        show_edge=False,
        show_footer=False,
        header_style="bold",
        pad_edge=False,
    )
    for column, column_width in zip(columns, widths):
        numeric = column.kind in NUMERIC
        table.add_column(column.header, justify="right" if numeric else "left", width=column_width,
                         no_wrap=column.key not in (*WRAPPING, "name"), overflow="fold")
    for position, row in enumerate(rows):
        before_subtotal = position + 1 < len(rows) and rows[position + 1].kind == "subtotal"
        if row.kind == "subtotal":
            # the most read rows: bold (where colour is on) under a rule, never dim
            table.add_row(*(Text(cell, style="bold") for cell in row.cells))
        elif row.kind == "hidden":
            table.add_row(*(Text(cell) for cell in row.cells), style="dim", end_section=True)
        else:
            table.add_row(*(Text(cell) for cell in row.cells), end_section=before_subtotal)
    return table


def facts_table(analysis: Analysis, convention_line: tuple[str, int] | None = None,
                width: int | None = None) -> Table:
    """The totals block; ``width`` wide where given (the layer table's width), its values
    wrapping at spaces."""
    table = Table(box=None, show_header=False, pad_edge=False, width=width)
    table.add_column("what", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold", ratio=1)
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


# Left out first when a table is too wide, least needed first: the shares (the counts beside them
# say the same), then the receptive-field columns, then the labels; name, shape and counts stay.
DROP_ORDER = ("macs_pct", "params_pct", "padding", "stride", "receptive_field", "stage", "inputs", "type", "op")


def facts_minimum(analysis: Analysis, convention_line: tuple[str, int] | None) -> int:
    """The narrowest the totals block can be without breaking a word."""
    facts = summary_facts(analysis, convention_line)
    label = max(cell_len(name) for name, _ in facts)
    return label + 2 + max(_longest_word(value) for _, value in facts)


def fit_columns(columns: Sequence[Column], rows: Sequence[SummaryRow], width: int) -> list[int]:
    """Positions of the columns kept: the least needed left out (DROP_ORDER) until the table fits
    ``width`` with every name, number and word whole. At least two columns stay."""
    kept = list(range(len(columns)))
    for key in DROP_ORDER:
        if minimum_width(*_project(columns, rows, kept)) <= width:
            break
        if len(kept) > 2:
            kept = [i for i in kept if columns[i].key != key]
    return kept


def _project(columns: Sequence[Column], rows: Sequence[SummaryRow],
             kept: Sequence[int]) -> tuple[list[Column], list[SummaryRow]]:
    return ([columns[i] for i in kept],
            [SummaryRow(row.kind, tuple(row.cells[i] for i in kept)) for row in rows])


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def render_summary(
    analysis: Analysis,
    columns: list[Column],
    human_units: bool = True,
    convention_line: tuple[str, int] | None = None,
    width: int | None = None,
    color: bool | None = None,
) -> str:
    """The summary table followed by the totals, both the same width.

    In a terminal narrower than the table, labels wrap at spaces, then the least important
    columns are left out (and named in a note, by their headers) rather than cutting a number
    or splitting a layer name; what still does not fit keeps its narrowest whole width.
    """
    is_tty = sys.stdout.isatty() if color is None else color
    target = width if width is not None else (shutil.get_terminal_size((100, 24)).columns if is_tty else None)
    all_rows = summary_rows(analysis, columns, human_units)
    kept = list(range(len(columns))) if target is None else fit_columns(columns, all_rows, target)
    shown, rows = _project(columns, all_rows, kept)
    widths = column_widths(shown, rows, target)
    if target is not None and table_width(widths) > target:
        widths = column_widths(shown, rows, target, whole_subtotals=False)
    block = max(table_width(widths), facts_minimum(analysis, convention_line))
    widths[0] += block - table_width(widths)  # a totals block wider than a narrow table widens its names
    renderables: list[object] = [summary_table(analysis, shown, human_units, widths, rows), Text(""),
                                 facts_table(analysis, convention_line, block)]
    hidden = hidden_layers(analysis)
    if hidden:
        first, last = analysis.layers[hidden.start].name, analysis.layers[hidden.stop - 1].name
        renderables.append(Text(f"({len(hidden):,} of {len(analysis.layers):,} layers not shown, {first} to {last}; "
                                "--format csv, json or markdown lists every layer)", style="dim"))
    left_out = [column.header for position, column in enumerate(columns) if position not in kept]
    if left_out:
        needed = max(minimum_width(columns, all_rows), facts_minimum(analysis, convention_line))
        renderables.append(Text(f"({_and(left_out)} left out to fit {target} columns: --width {needed} or a "
                                "terminal that wide shows them; --columns chooses columns)", style="dim"))
    return render_rich(*renderables, width=block, color=color)
