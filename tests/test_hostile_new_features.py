"""Hostile inputs to this session's new paths: the blocks graph's grouping of dotted names and
the blocks figure's fixed scale."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

import archviz
from archviz.errors import ArchvizError
from archviz.render.diagram import graph_source, group_blocks
from archviz.render.figure import MAX_WIDTH, render_blocks

WriteSpec = Callable[..., Path]


def _spec(names: list[str]) -> str:
    layers = "\n".join(f"  - conv2d: {{name: {name!r}, filters: 4, kernel: 3, padding: 1}}" for name in names)
    return f"archviz: 1\nname: dots\ninput: [3, 8, 8]\nlayers:\n{layers}\n  - flatten\n  - dense: {{units: 2}}\n"


def test_blocks_graph_names_with_empty_dotted_parts_keep_their_own_names(write_spec: WriteSpec) -> None:
    """'.x', 'x.', '.' and '..' are no block instance (an empty part names none): each is its own
    node under its own name; 'a..b' is in block 'a' and 'x..' in block 'x'. Was: blocks named ''
    (Graphviz refused the empty bold label) and ' (2)'."""
    names = [".", "a..b", ".x", "x.", "x..", ".."]
    network = archviz.load(write_spec(_spec(names)))
    blocks, owner = group_blocks(network.analyze())
    assert [block.name for block in blocks] == [".", "a", ".x", "x.", "x", "..", "dense_1"]
    assert owner["flatten_1"] == ".."  # a flatten folds into the layer before it
    assert all(block.name.strip() for block in blocks)


def test_blocks_graph_node_names_never_collide_with_the_input_or_each_other(write_spec: WriteSpec) -> None:
    """A block 'input' (from 'input.c') stays apart from the input endpoint, and an interrupted
    block's '(2)' never merges with a layer really named 'a (2)'. Was: the input's edge went
    missing and the two 'a (2)' became one node."""
    network = archviz.load(write_spec(_spec(["input.c", "a.x", "b", "a.y", "a (2)"])))
    analysis = network.analyze()
    blocks, owner = group_blocks(analysis)
    names = [block.name for block in blocks]
    assert len(set(names)) == len(names) == 6
    assert "input" not in names
    assert owner["input"] == "input" and owner["input.c"] != "input"
    assert owner["a.y"] != owner["a (2)"]
    dot = graph_source(analysis, network, detail="blocks")
    assert "\tin -> b0" in dot
    assert dot.count("\tb3 [label") == 1 and dot.count("\tb4 [label") == 1


@pytest.mark.parametrize("scale", ["0.001,0.001", "1e-300,1e-300", "1e-6,8"])
def test_a_fixed_scale_too_fine_for_any_figure_is_an_error_not_a_giant_file(scale: str) -> None:
    """--scale 0.001,0.001 drew resnet18 1,188,954 px wide (even at one box per stage), and its
    warning printed a 300-digit width for 1e-300."""
    analysis = archviz.load("resnet18").analyze()
    warnings: list[str] = []
    with pytest.raises(ArchvizError) as caught:
        render_blocks(analysis, scale=scale, warn=warnings.append)
    message = str(caught.value)
    assert f"wider than {MAX_WIDTH:,} px" in message and scale in message
    assert len(message) < 400
    assert not warnings  # an error, not a warning and then an error


def test_a_coarse_fixed_scale_still_draws(write_spec: WriteSpec) -> None:
    """The limit is on the width: 1e308 px per pixel draws every box at its least size."""
    svg = render_blocks(archviz.load("resnet18").analyze(), scale="1e308,1e308").decode()
    width = int(svg.split('width="', 1)[1].split('"', 1)[0])
    assert 0 < width <= MAX_WIDTH


REPEATED_STAGE = """archviz: 1
name: rep
input: [3, 16, 16]
layers:
  - stage: a
    layers:
      - conv2d: {filters: 4, kernel: 3, padding: 1}
  - stage: b
    layers:
      - conv2d: {filters: 4, kernel: 3, padding: 1}
  - stage: a
    layers:
      - conv2d: {filters: 4, kernel: 3, padding: 1}
  - flatten
  - dense: {units: 2}
"""


def test_a_stage_named_twice_has_one_subtotal_after_its_last_layer(write_spec: WriteSpec) -> None:
    """Stage 'a' (conv 3->4: 112 params; conv 4->4: 148) around stage 'b': its subtotal, 260, is
    printed once, after its last layer. Was: '260' under each run of it, the first under a
    single 112-parameter layer, so the table's subtotals added up to 668 of 408 conv params."""
    from archviz.render.columns import COLUMNS
    from archviz.render.table import summary_rows
    from archviz.report.html import html_report

    network = archviz.load(write_spec(REPEATED_STAGE))
    analysis = network.analyze()
    rows = summary_rows(analysis, [COLUMNS["name"], COLUMNS["params"]], human_units=False)
    kinds = [(row.kind, row.cells[0]) for row in rows if row.kind != "gap"]
    assert kinds == [("layer", "conv2d_1"), ("layer", "conv2d_2"), ("subtotal", "b total"),
                     ("layer", "conv2d_3"), ("subtotal", "a total"), ("layer", "flatten_1"), ("layer", "dense_1")]
    assert [row.cells[1] for row in rows if row.kind == "subtotal"] == ["148", "260"]
    page = html_report(network, analysis, None, None, None)
    assert page.count('<tr class="subtotal" data-stage="a">') == 1
    assert page.index('<tr class="subtotal" data-stage="a">') > page.index('data-index="2"')


def test_escaped_backticks_in_a_name_open_no_code_span_for_the_unit_filter() -> None:
    """A name 'r`1 KiB`' is written escaped (r\\`1 KiB\\`): plain text, so its number keeps its
    unit; a real code span after it keeps ordinary spaces. Was: the escaped backticks were taken
    for a code span (left '1 KiB' breakable) and could pair with a real span's backtick."""
    from archviz.report.markdown import NO_BREAK_SPACE as NB
    from archviz.report.markdown import keep_units_together

    assert keep_units_together("| r\\`1 KiB\\` | 5 MiB | `x 3 G` |") == f"| r\\`1{NB}KiB\\` | 5{NB}MiB | `x 3 G` |"
    assert keep_units_together("a\\` 2 MiB `code 3 G`") == f"a\\` 2{NB}MiB `code 3 G`"


def test_accuracy_given_twice_with_two_numbers_is_an_error(tmp_path: Path) -> None:
    """Was: the last of --accuracy resnet18=50 --accuracy resnet18=60 silently won."""
    from typer.testing import CliRunner

    from archviz.cli.main import app

    out = tmp_path / "a.svg"
    result = CliRunner().invoke(app, ["chart", "resnet18", "--kind", "accuracy", "--accuracy", "resnet18=50",
                                      "--accuracy", "resnet18=60", "--out", str(out)])
    assert result.exit_code == 2
    assert "'resnet18' two numbers. Received: 50 and 60" in result.output
    assert not out.exists()
