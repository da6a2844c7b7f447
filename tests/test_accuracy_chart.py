"""Published accuracies (torchvision's meta, the VGG paper's Tables 3 and 4) and the accuracy chart."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import archviz
from archviz.errors import ArchvizError
from archviz.published import (
    CONFIG_LETTER,
    PAPER_TABLES,
    TORCHVISION,
    accuracy_chart,
    default_specs,
)
from archviz.report.published import TABLE2_MILLIONS
from archviz.sweep import pareto_front

REFERENCE = Path("/work/shared/reference/README.md")


@pytest.fixture(scope="module")
def analyses() -> dict[str, archviz.Analysis]:
    names = {row.spec for row in TORCHVISION} | set(CONFIG_LETTER) | {"vgg16-dense"}
    return {name: archviz.load(name).analyze() for name in sorted(names)}


# -- the shipped numbers ------------------------------------------------------------------------

@pytest.mark.parametrize("row", TORCHVISION, ids=lambda row: row.model)
def test_torchvision_meta_agrees_with_our_count(row, analyses) -> None:  # type: ignore[no-untyped-def]
    """torchvision's published num_params and GFLOPS (MACs) against archviz's own analysis of the built-in."""
    totals = analyses[row.spec].totals
    assert totals.params == row.num_params
    assert round(totals.macs / 1e9, 3) == row.gflops


def test_torchvision_table_is_the_reference_table() -> None:
    """Every row of the reference copy of torchvision 0.29.1's meta, as shipped (when the copy is at hand)."""
    if not REFERENCE.exists():
        pytest.skip("the reference notes are not on this machine")
    text = REFERENCE.read_text()
    rows = {line.split("|")[1].strip().split()[0]: [c.strip() for c in line.split("|")[2:6]]
            for line in text.split("## torchvision 0.29.1 published metadata")[1].splitlines()
            if line.startswith("| ") and "---" not in line and "num_params" not in line}
    assert set(rows) == {row.model for row in TORCHVISION}
    for row in TORCHVISION:
        params, gflops, acc1, acc5 = rows[row.model]
        assert int(params.replace(",", "")) == row.num_params and float(gflops) == row.gflops
        if row.acc1 is None:
            assert acc1 == f"box mAP {row.box_map}" and row.acc5 is None
        else:
            assert (float(acc1), float(acc5)) == (row.acc1, row.acc5)


def test_paper_tables_rows_and_configurations(analyses) -> None:  # type: ignore[no-untyped-def]
    table3 = [r for r in PAPER_TABLES if r.table == 3]
    table4 = [r for r in PAPER_TABLES if r.table == 4]
    assert len(table3) == 12 and len(table4) == 10
    assert [r.configuration for r in table3] == ["A", "A-LRN", "B", *"CCC", *"DDD", *"EEE"]
    assert [r.configuration for r in table4] == ["B", *"CCC", *"DDD", *"EEE"]
    # the configuration letters map to specs whose size is the paper's own Table 2
    for row in PAPER_TABLES:
        assert CONFIG_LETTER[row.spec] == row.configuration
        assert round(analyses[row.spec].totals.params / 1e6) == TABLE2_MILLIONS[row.spec]
    d = {(r.table, r.train_text, r.test_text): (r.top1_error, r.top5_error) for r in PAPER_TABLES if r.spec == "vgg16"}
    assert d == {(3, "256", "256"): (27.0, 8.8), (3, "384", "384"): (26.8, 8.7), (3, "[256;512]", "384"): (25.6, 8.1),
                 (4, "256", "{224,256,288}"): (26.6, 8.6), (4, "384", "{352,384,416}"): (26.5, 8.6),
                 (4, "[256;512]", "{256,384,512}"): (24.8, 7.5)}
    # errors stay errors: top-5 below top-1 in every row, and no row of the paper is an accuracy
    assert all(r.top5_error < r.top1_error < 30 for r in PAPER_TABLES)


def test_ssd_box_map_is_kept_out_of_imagenet_charts() -> None:
    assert "ssd300-vgg16" not in default_specs()
    with pytest.raises(ArchvizError, match="'ssd300-vgg16' has no published ImageNet-1K top-1 accuracy"):
        accuracy_chart([archviz.load("ssd300-vgg16").analyze()])


def test_default_sets() -> None:
    assert len(default_specs()) == 15
    assert default_specs("paper") == ["vgg11", "vgg11-lrn", "vgg13", "vgg16-c", "vgg16", "vgg19"]
    assert default_specs("paper", table=4) == ["vgg13", "vgg16-c", "vgg16", "vgg19"]
    assert default_specs("paper", table=4, train_scale="256-512") == ["vgg16-c", "vgg16", "vgg19"]


# -- the points and fronts ----------------------------------------------------------------------

def test_front_of_vgg_and_resnet_is_a_real_trade_off(analyses) -> None:  # type: ignore[no-untyped-def]
    names = ["vgg11", "vgg13", "vgg16", "vgg19", "vgg16-bn", "resnet18", "resnet50"]
    chart = accuracy_chart([analyses[n] for n in names])
    on_front = [chart.points[i].name for i in chart.front_macs]
    # resnet18 beats vgg11 (fewer MACs, 69.758 > 69.020); resnet50 beats every plain VGG
    assert on_front == ["resnet18", "resnet50"]
    assert [chart.points[i].name for i in chart.front_params] == ["resnet18", "resnet50"]
    chart = accuracy_chart([analyses[n] for n in default_specs()])
    assert [chart.points[i].name for i in chart.front_macs] == [
        "shufflenet-v2", "mobilenet-v2", "efficientnet-b0", "convnext-tiny"]


def test_paper_front_minimises_error(analyses) -> None:  # type: ignore[no-untyped-def]
    chart = accuracy_chart([analyses[n] for n in default_specs("paper")], "paper")
    assert not chart.higher_is_better and "error" in chart.quantity
    labels = [chart.points[i].label for i in chart.front_macs]
    # E (27.3) costs more than D (27.0); A-LRN costs what A does at a higher error
    assert labels == ["A (vgg11)", "B (vgg13)", "C (vgg16-c)", "D (vgg16)"]
    assert "Table 3, train S=256, test Q=256" in chart.footnote and "arXiv:1409.1556" in chart.footnote
    top5 = accuracy_chart([analyses["vgg16"]], "paper", "top5", 4, "256-512")
    assert top5.points[0].value == 7.5 and "Q={256,384,512}" in top5.footnote


def test_pareto_front_directions() -> None:
    points = [(1.0, 5.0), (2.0, 7.0), (3.0, 6.0), (4.0, 9.0)]
    assert pareto_front(points, maximise=(False, True)) == [0, 1, 3]
    assert pareto_front(points) == [0]
    # brute force: a point is on the front iff no other is at least as good on both and better on one
    grid = [(x, y) for x, y in itertools.product(range(4), repeat=2)][::3]
    front = set(pareto_front(grid, maximise=(False, True)))
    for i, (x, y) in enumerate(grid):
        beaten = any((ox <= x and oy >= y) and (ox, oy) != (x, y) for ox, oy in grid)
        assert (i in front) == (not beaten)


def test_published_number_needs_the_built_in_network(analyses) -> None:  # type: ignore[no-untyped-def]
    changed = archviz.load("vgg16").with_variables(num_classes=10).analyze()
    with pytest.raises(ArchvizError, match="published ImageNet-1K top-1 accuracy .* of vgg16 is for the built-in"):
        accuracy_chart([changed])
    small = archviz.load("vgg16").analyze(input_shape=(3, 160, 160))
    with pytest.raises(ArchvizError, match=r"input 3x224x224\); this one differs"):
        accuracy_chart([small])
    own = accuracy_chart([changed, analyses["resnet18"]], own={"vgg16": 93.5})
    assert [(p.name, p.value, p.own) for p in own.points] == [("vgg16", 93.5, True), ("resnet18", 69.758, False)]
    with pytest.raises(ArchvizError, match="per image, at batch 1. Received: batch 8"):
        accuracy_chart([archviz.load("vgg16").analyze(batch=8)])
    with pytest.raises(ArchvizError, match="--accuracy names 'vgg61'"):
        accuracy_chart([analyses["vgg16"]], own={"vgg61": 70.0})
    with pytest.raises(ArchvizError, match="Tables 3 and 4"):
        accuracy_chart([analyses["vgg16"]], "paper", table=2)
    with pytest.raises(ArchvizError, match="'resnet18' has no published top-1 validation error"):
        accuracy_chart([analyses["resnet18"]], "paper")
    with pytest.raises(ArchvizError, match=r"'vgg11' has no .* in the VGG paper's Table 3 at S=384\. "
                                           "Networks with one: vgg16-c, vgg16, vgg19"):
        accuracy_chart([analyses["vgg11"]], "paper", train_scale="384")


# -- the drawing --------------------------------------------------------------------------------

pytest.importorskip("matplotlib")


def _figure(chart):  # type: ignore[no-untyped-def]
    from archviz.render.accuracy_chart import accuracy_figure
    from archviz.render.charts import _style
    from archviz.render.theme import get_theme

    palette = get_theme("light")
    with _style(palette):
        figure = accuracy_figure(chart, palette)
        figure.canvas.draw()
        return figure, figure.canvas.get_renderer()


def test_chart_axes_labels_and_front(analyses) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.text import Text

    chart = accuracy_chart([analyses[n] for n in default_specs()])
    figure, renderer = _figure(chart)
    macs_ax, params_ax = figure.axes
    assert macs_ax.get_xscale() == params_ax.get_xscale() == "log"
    assert "MACs" in macs_ax.get_xlabel() and "Parameters" in params_ax.get_xlabel()
    assert macs_ax.get_xlim()[0] > 0
    for ax in (macs_ax, params_ax):
        texts = [t for t in ax.texts]
        assert sorted(t.get_text() for t in texts) == sorted(p.label for p in chart.points)
        boxes = [Text.get_window_extent(t, renderer) for t in texts]  # the text, not its leader line
        frame = ax.get_window_extent(renderer)
        for a, b in itertools.combinations(boxes, 2):
            assert not a.overlaps(b), "two point labels overlap"
        for box in boxes:
            assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
        # the tick labels are counts ('500 M', '5 G'), several per axis
        ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert len(ticks) >= 3 and all(t.split()[-1] in ("M", "G") for t in ticks)
    footer = " ".join(t.get_text() for t in figure.texts)
    assert "acc@1 of torchvision 0.29.1" in footer and "IMAGENET1K_V1" in footer


def test_hostile_name_with_own_number(write_spec) -> None:  # type: ignore[no-untyped-def]
    """A name is text, never mathtext: '$x^$' would crash matplotlib's parser."""
    from archviz.render.accuracy_chart import render_accuracy

    spec = write_spec("name: '$x^$'\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {filters: 4, kernel: 3}\n")
    chart = accuracy_chart([archviz.load(spec).analyze()], own={"$x^$": 50.0})
    svg = render_accuracy(chart)
    assert "$x^$" in " ".join("".join(e.itertext()) for e in ET.fromstring(svg).iter())


def test_narrow_family_still_gets_round_ticks(analyses) -> None:  # type: ignore[no-untyped-def]
    from archviz.render.log_axes import log_ticks

    chart = accuracy_chart([analyses[n] for n in default_specs("paper")], "paper")
    figure, _ = _figure(chart)
    params = [t.get_text() for t in figure.axes[1].get_xticklabels() if t.get_text()]
    assert len(params) >= 2 and all(t.endswith(" M") for t in params)
    assert log_ticks(9.0, 11.0) == [9.0, 9.5, 10.0, 10.5, 11.0]
    assert log_ticks(1.32e8, 1.44e8) == [1.32e8 + 2e6 * i for i in range(7)]


def test_svg_deterministic_and_cited(analyses) -> None:  # type: ignore[no-untyped-def]
    from archviz.render.accuracy_chart import render_accuracy
    from archviz.render.charts import render_chart

    chart = accuracy_chart([analyses[n] for n in default_specs("paper")], "paper")
    svg = render_accuracy(chart)
    assert svg == render_accuracy(chart)
    text = " ".join("".join(e.itertext()) for e in ET.fromstring(svg).iter())
    for label in ("A (vgg11)", "A-LRN (vgg11-lrn)", "B (vgg13)", "C (vgg16-c)", "D (vgg16)", "E (vgg19)"):
        assert label in text
    assert "arXiv:1409.1556" in text and "Table 3" in text
    assert render_chart([analyses["vgg16"], analyses["resnet18"]], "accuracy").startswith(b"<?xml")


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from typer.testing import CliRunner

    from archviz.cli.main import app

    runner = CliRunner()
    out = tmp_path / "a.svg"
    result = runner.invoke(app, ["chart", "--kind", "accuracy", "vgg16", "resnet18", "--metric", "top5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "top-5" in out.read_text()
    result = runner.invoke(app, ["chart", "--kind", "accuracy", "vgg16-dense", "--out", str(tmp_path / "b.svg")])
    assert result.exit_code == 2
    assert "'vgg16-dense' has no published" in result.output and "--accuracy vgg16-dense=VALUE" in result.output
    assert not (tmp_path / "b.svg").exists()
    for bad in ("vgg16-dense", "vgg16-dense=high", "vgg16-dense=101"):
        result = runner.invoke(app, ["chart", "--kind", "accuracy", "vgg16-dense", "--accuracy", bad, "--out", str(out)])
        assert result.exit_code == 2 and "--accuracy expects NAME=VALUE" in result.output
    result = runner.invoke(app, ["chart", "--kind", "accuracy", "vgg16-dense", "vgg16", "--accuracy", "vgg16-dense=71.5",
                                 "--out", str(tmp_path / "c.png")])
    assert result.exit_code == 0 and (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"
    result = runner.invoke(app, ["chart", "--kind", "cost", "--accuracy", "vgg16=71", "--out", str(out)])
    assert result.exit_code == 2 and "--accuracy goes with --kind accuracy" in result.output
    # the accuracy chart's other options are refused elsewhere too, rather than silently ignored
    result = runner.invoke(app, ["chart", "--kind", "memory", "--source", "paper", "--table", "4",
                                 "--out", str(tmp_path / "d.svg")])
    assert result.exit_code == 2 and "--source, --table go with --kind accuracy" in result.output
    assert not (tmp_path / "d.svg").exists()


def test_report_page_rows(analyses) -> None:  # type: ignore[no-untyped-def]
    from archviz.published import published_rows
    from archviz.report.pages import _published

    rows = published_rows(analyses["vgg16"])
    assert [(r.source, r.setting) for r in rows][:2] == [("torchvision 0.29.1, vgg16 IMAGENET1K_V1",
                                                          "ImageNet-1K val, single 224 crop"),
                                                         ("VGG paper, Table 3", "S=256, Q=256")]
    assert len(rows) == 7 and [r.quantity for r in rows] == ["accuracy (%)"] + ["error (%)"] * 6
    (ssd,) = published_rows(analyses["ssd300-vgg16"])
    assert (ssd.quantity, ssd.top1, ssd.top5) == ("box mAP (%)", 25.1, None)
    assert published_rows(analyses["vgg16-dense"]) == []
    assert published_rows(archviz.load("vgg16").with_variables(num_classes=10).analyze()) == []
    page = "\n".join(_published(analyses["vgg16"]))
    assert "| VGG paper, Table 3 | S=256, Q=256 | error (%) | 27.0 | 8.8 |" in page
    assert "| torchvision 0.29.1, vgg16 IMAGENET1K_V1 | ImageNet-1K val, single 224 crop | accuracy (%) | 71.592 | 90.382 |" in page
