"""The summary table in a terminal, measured: it fits the width, never splits a layer name, says by
their headers which columns it left out (and every column is either shown or named), draws stage
subtotals bold under a rule, and its totals block is exactly as wide as the table."""

from __future__ import annotations

import re
from functools import cache

import pytest
from rich.cells import cell_len

import archviz
from archviz.analysis import Analysis
from archviz.render.columns import COLUMNS, DEFAULT_COLUMNS, select
from archviz.render.table import render_summary

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# the networks the terminal was looked at with, vit-b16 for the longest layer name of the
# built-ins (encoder_layer_10.self_attention) and keras-seed-vgg16 for the longest spec name
SPECS = ("vgg16", "vgg16-bn", "resnet18", "inception-block", "resnet50", "vit-b16", "keras-seed-vgg16")
WIDTHS = (80, 120, 200)
HEADERS = [COLUMNS[key].header for key in DEFAULT_COLUMNS]
NOTE = re.compile(r"\((?P<left_out>[^()]+?) left out to fit (?P<width>\d+) columns: --width (?P<needed>\d+) ")


@cache
def analysis_of(name: str) -> Analysis:
    return archviz.load(name).analyze()


@cache
def rendered(name: str, width: int, color: bool = False) -> str:
    return render_summary(analysis_of(name), select(None), width=width, color=color)


def header_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("Layer "))


def left_out(text: str) -> list[str]:
    """The headers the note names, in order ('% params, % MACs and RF' -> three)."""
    found = NOTE.search(" ".join(text.split()))  # the note wraps at the block's width
    if found is None:
        return []
    return re.split(r", | and ", found["left_out"])


def shown_headers(text: str) -> list[str]:
    return re.split(r"\s{2,}", header_line(text).strip())


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", SPECS)
def test_fits_the_width_and_keeps_every_layer_name_whole(name: str, width: int) -> None:
    text = rendered(name, width)
    lines = text.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    first_cells = {line.split("  ")[0].strip() for line in lines}
    for record in analysis_of(name).layers:
        assert record.name in first_cells, f"{record.name} is not whole on a line of its own row"
    # every subtotal label on one line, ahead of its numbers ("classifier total" was two lines);
    # a network of one stage has none
    stages = analysis_of(name).stage_totals()
    for stage, _ in stages if len(stages) > 1 else []:
        assert any(line.startswith(f"{stage} total ") for line in lines), stage


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", SPECS)
def test_every_column_is_shown_or_named_by_its_header(name: str, width: int) -> None:
    text = rendered(name, width)
    shown, named = shown_headers(text), left_out(text)
    assert sorted(shown + named) == sorted(HEADERS), (shown, named)  # resnet18 at 80 lost MACs unnamed
    assert not any(key in text for key in ("receptive_field", "params_pct", "macs_pct"))


@pytest.mark.parametrize("name", SPECS)
def test_the_note_names_the_width_that_shows_every_column(name: str) -> None:
    text = rendered(name, 80)
    found = NOTE.search(" ".join(text.split()))
    if found is None:
        assert shown_headers(text) == HEADERS
        return
    needed = int(found["needed"])
    assert int(found["width"]) == 80 < needed
    assert shown_headers(render_summary(analysis_of(name), select(None), width=needed, color=False)) == HEADERS
    assert left_out(render_summary(analysis_of(name), select(None), width=needed - 1, color=False))


def test_narrow_vgg16_names_the_headers_it_leaves_out() -> None:
    # the default columns' widest cells at 80 columns (rich's 3-cell gaps between columns):
    # Layer 16 ('classifier total'), Op 9, Output shape 12, Params 7, % params 8, MACs 7, % MACs 6,
    # RF 6 = 71 + 7 gaps x 3 = 92; without the two shares, 71 - 14 + 5 x 3 = 72
    text = rendered("vgg16", 80)
    assert left_out(text) == ["% params", "% MACs"]
    assert shown_headers(text) == ["Layer", "Op", "Output shape", "Params", "MACs", "RF"]
    assert cell_len(header_line(text)) == 72
    assert NOTE.search(" ".join(text.split()))["needed"] == "92"  # type: ignore[index]
    assert shown_headers(rendered("vgg16", 120)) == HEADERS


def test_the_op_column_narrows_before_a_column_is_left_out() -> None:
    # resnet18's widest op is 'global avgpool' (14); at 80 columns it wraps at its space and the
    # MACs column stays, with 'avgpool' (7) under 'conv7-64'-wide labels (the widest word 'conv3-128', 9)
    text = rendered("resnet18", 80)
    assert "MACs" in shown_headers(text)
    avgpool = [line for line in text.splitlines() if line.startswith("avgpool ")]
    assert len(avgpool) == 1 and "global" in avgpool[0] and "global avgpool" not in avgpool[0]
    assert any(line.split() == ["avgpool"] for line in text.splitlines())
    assert "global avgpool" in rendered("resnet18", 120)


@pytest.mark.parametrize("name", ["vgg16", "resnet18"])
def test_subtotals_are_bold_under_a_rule_not_dim(name: str) -> None:
    coloured = rendered(name, 120, color=True).splitlines()
    subtotals = [i for i, line in enumerate(coloured) if ANSI.sub("", line).startswith(tuple(
        f"{stage} total " for stage, _ in analysis_of(name).stage_totals()))]
    assert len(subtotals) == len(analysis_of(name).stage_totals())
    for i in subtotals:
        codes = set(re.findall(r"\x1b\[([0-9;]*)m", coloured[i]))
        assert "1" in codes  # bold
        assert not any(set(code.split(";")) & {"2", "3"} for code in codes)  # neither dim nor italic
        assert set(ANSI.sub("", coloured[i - 1]).strip()) == {"─"}  # the rule above it


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", SPECS)
def test_the_totals_block_is_as_wide_as_the_table(name: str, width: int) -> None:
    # with colour forced nothing is stripped: each line carries the width its block gives it
    lines = [ANSI.sub("", line) for line in rendered(name, width, color=True).splitlines()]
    rule = next(line for line in lines if line.startswith("─"))
    table = cell_len(rule)
    assert cell_len(header_line("\n".join(lines))) == table
    facts: list[str] = []
    for line in lines[next(i for i, line in enumerate(lines) if line.startswith("Input ")):]:
        if line.startswith("("):  # the notes after the block
            break
        facts.append(line)
    assert len(facts) >= 10
    assert {cell_len(line) for line in facts} == {table}
    # and the words of the longest value wrap at that width, not at the terminal's
    assert max(cell_len(line.rstrip()) for line in facts) > table - 20


def test_a_name_wider_than_the_terminal_stays_whole() -> None:
    name = "a_layer_name_that_is_much_longer_than_forty_columns"
    analysis = archviz.loads(f"name: long\ninput: [3, 8, 8]\nlayers:\n  - relu: {{name: {name}}}\n"
                             "  - conv2d: {filters: 4, kernel: 3}\n").analyze()
    text = render_summary(analysis, select(None), width=40, color=False)
    assert any(line.startswith(name + " ") for line in text.splitlines())
    assert left_out(text)  # the columns it could leave out, it left out and named
