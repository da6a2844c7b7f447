"""The per-layer charts (cost, params, macs, memory), measured on the drawn figure: value labels
are the analysis' numbers in archviz's units, nothing is drawn that allocates nothing, the legend
lists only colours a reader can find, and no text leaves the figure or runs into another panel's.

Figures are laid out in DejaVu Sans, the widest of the fonts the charts name (and the one a
machine without Helvetica, Arial or Liberation Sans draws them in), so text that fits here fits
in every font the SVG may be shown in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

import archviz
from archviz.render import charts, units
from archviz.render.charts import Kind
from archviz.render.theme import get_theme

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import XAxis, YAxis
    from matplotlib.figure import Figure
    from matplotlib.text import Text

pytest.importorskip("matplotlib")

EDGE_PX = 10  # every text at least this far inside the figure's edge (the old titles sat 4 px below the top)
DEEP_SPEC = """
archviz: 1
name: deep
input: [16, 32, 32]
layers:
  - stage: a
    layers: [conv2d: {filters: 16, kernel: 3, padding: same, repeat: 100}]
  - stage: b
    layers: [conv2d: {filters: 32, kernel: 3, padding: same}, relu, conv2d: {filters: 32, kernel: 3, padding: same, repeat: 99}]
  - flatten
  - dense: {units: 10}
"""


@contextmanager
def drawn(analysis: archviz.Analysis, kind: str, theme: str = "light") -> Iterator[Figure]:
    palette = get_theme(theme)
    original = charts.FONTS
    charts.FONTS = ["DejaVu Sans"]
    try:
        with charts._style(palette):
            figure = charts._build([analysis], Kind(kind), palette)
            figure.draw_without_rendering()
            yield figure
    finally:
        charts.FONTS = original


def tick_labels(axis: XAxis | YAxis) -> list[Text]:
    """The tick labels drawn (matplotlib keeps labels for ticks outside the view, never drawn)."""
    return [tick.label1 for tick in cast(Any, axis)._update_ticks() if tick.label1.get_visible() and tick.label1.get_text()]


def texts(figure: Figure) -> list[Text]:
    """Every text drawn: titles, labels, value labels, the legend and the drawn tick labels."""
    from matplotlib.text import Text

    ticks, drawn_ticks = set(), []
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                ticks |= {id(tick.label1), id(tick.label2)}
            drawn_ticks += tick_labels(axis)
    others = [t for t in figure.findobj(Text) if id(t) not in ticks and t.get_visible() and t.get_text()]
    return others + drawn_ticks


def panel_texts(ax: Axes) -> list[str]:
    return [t.get_text() for t in ax.texts]


def bar_widths(ax: Axes) -> list[float]:
    return [patch.get_width() for patch in ax.containers[0]]


def legend_labels(figure: Figure) -> list[str]:
    """The legend's entries (families that share a colour share an entry: "shape, attention")."""
    return [t.get_text() for t in figure.legends[0].get_texts()]


@pytest.fixture(scope="module")
def analyses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, archviz.Analysis]:
    deep = Path(tmp_path_factory.mktemp("deep")) / "deep.yaml"
    deep.write_text(DEEP_SPEC, encoding="utf-8")
    names = ["vgg16", "vgg16-bn", "resnet18", "resnet50", "inception-block", "vit-b16", "mobilenet-v2"]
    found = {name: archviz.load(name).analyze() for name in names}
    found["deep"] = archviz.load(deep).analyze()
    return found


def test_cost_labels_are_the_analysis_numbers_in_archviz_units(analyses: dict[str, archviz.Analysis]) -> None:
    analysis = analyses["vgg16"]
    drawn_records = [r for r in analysis.layers if r.macs]  # every VGG16 weight layer has MACs
    with drawn(analysis, "cost") as figure:
        params_ax, macs_ax = figure.axes
        expected_params = [f"{units.human(r.params)} ({units.percent(r.params, analysis.totals.params)})"
                           for r in drawn_records]
        expected_macs = [f"{units.human(r.macs)} ({units.percent(r.macs, analysis.totals.macs)})"
                         for r in drawn_records]
        assert [t for t in panel_texts(params_ax) if "(" in t] == expected_params
        assert [t for t in panel_texts(macs_ax) if "(" in t] == expected_macs
    assert expected_params[0] == "1,792 (<0.01%)" and "102.8 M (74.27%)" in expected_params
    assert "1.85 G (11.96%)" in expected_macs


def test_cost_chart_leaves_out_batch_norm_rows_and_says_so(analyses: dict[str, archviz.Analysis]) -> None:
    analysis = analyses["vgg16-bn"]
    with drawn(analysis, "cost") as figure:
        names = [t.get_text() for t in figure.axes[0].get_yticklabels()]
        assert names == [r.name for r in analysis.layers if r.op in ("conv2d", "dense")]
        assert legend_labels(figure) == ["conv", "dense"]  # no "norm" entry without a visible bar
        note = figure.legends[0].get_title().get_text().replace("\n", " ")
        assert "13 layers (norm: bn1_1 … bn5_3) with no MACs" in note


def test_cost_chart_has_a_header_and_a_rule_per_stage(analyses: dict[str, archviz.Analysis]) -> None:
    analysis = analyses["vgg16"]
    stages = [stage for stage, _ in analysis.stage_totals()]
    assert stages == ["conv1", "conv2", "conv3", "conv4", "conv5", "classifier"]
    with drawn(analysis, "cost") as figure:
        params_ax, macs_ax = figure.axes
        assert [t for t in panel_texts(params_ax) if "(" not in t] == stages
        ticks = {t.get_text(): t.get_position()[1] for t in params_ax.get_yticklabels()}
        for ax in (params_ax, macs_ax):
            rules = sorted(float(cast(Any, line.get_ydata())[0]) for line in ax.lines)
            # one rule between the last layer of a stage and the next stage's header
            assert rules == [ticks["conv1_2"] + 0.5, ticks["conv2_2"] + 0.5, ticks["conv3_3"] + 0.5,
                             ticks["conv4_3"] + 0.5, ticks["conv5_3"] + 0.5]


def test_memory_bars_are_what_each_layer_allocates(analyses: dict[str, archviz.Analysis]) -> None:
    analysis = analyses["vgg16"]
    profile = analysis.memory_profile()
    with drawn(analysis, "memory") as figure:
        bars_ax, live_ax = figure.axes
        mebibyte = 2**20
        assert bar_widths(bars_ax) == [step.allocated_bytes / mebibyte for step in profile.steps]
        widths = dict(zip((r.name for r in analysis.layers), bar_widths(bars_ax), strict=True))
        assert widths["flatten"] == widths["relu1_1"] == widths["drop6"] == 0  # a view, in place, a view
        labels = panel_texts(bars_ax)
        assert labels.count("in place") == 15 and labels.count("view") == 3
        assert "12.25 MiB" in labels and "3.06 MiB" in labels and "3.91 KiB" in labels  # conv1_1, pool1, fc8
        assert [t for t in labels if t.endswith("B")] == [
            units.human_bytes(s.allocated_bytes) for s in profile.steps if s.allocated_bytes]
        assert f"{units.human_bytes(profile.allocated_bytes)} in all" in bars_ax.get_title(loc="left")
        assert live_ax.get_title(loc="left") == "Alive at once: peak 24.50 MiB"
        assert panel_texts(live_ax) == ["peak: conv1_2"]
        (peak,) = [line for line in live_ax.lines if line.get_markersize() == 8]
        assert float(cast(Any, peak.get_xdata())[0]) * mebibyte == profile.peak_bytes == 25_690_112
        assert legend_labels(figure) == ["conv", "pool"]  # dense's 16 KiB bars do not show
        note = figure.legends[0].get_title().get_text().replace("\n", " ")
        assert "in place (relu)" in note and "view (dropout, flatten)" in note


@pytest.mark.parametrize("spec", ["vgg16", "vgg16-bn", "resnet18", "resnet50", "inception-block", "vit-b16",
                                  "mobilenet-v2", "deep"])
@pytest.mark.parametrize("kind", ["cost", "params", "memory"])
def test_every_text_is_inside_the_figure_and_its_panel(analyses: dict[str, archviz.Analysis], spec: str,
                                                       kind: str) -> None:
    with drawn(analyses[spec], kind) as figure:
        width, height = figure.bbox.width, figure.bbox.height
        outside = []
        for text in texts(figure):
            box = text.get_window_extent()
            if box.x0 < EDGE_PX or box.y0 < EDGE_PX or box.x1 > width - EDGE_PX or box.y1 > height - EDGE_PX:
                outside.append((text.get_text()[:40], [round(v) for v in box.extents]))
        assert outside == []
        for ax in figure.axes:  # value labels stay in their panel, clear of the next one
            panel = ax.get_window_extent()
            for label in ax.texts:
                assert label.get_window_extent().x1 <= panel.x1, label.get_text()


@pytest.mark.parametrize("spec", ["vgg16", "vgg16-bn", "resnet18", "inception-block"])
@pytest.mark.parametrize("kind", ["cost", "memory"])
def test_the_panels_tick_labels_do_not_meet(analyses: dict[str, archviz.Analysis], spec: str, kind: str) -> None:
    """vgg16-bn's "120 M" ran into the MACs panel's "0"."""
    with drawn(analyses[spec], kind) as figure:
        left, right = figure.axes
        left_end = max(t.get_window_extent().x1 for t in tick_labels(left.xaxis))
        right_start = min(t.get_window_extent().x0 for t in tick_labels(right.xaxis))
        assert right_start - left_end >= 8  # pixels, at 100 dpi


@pytest.mark.parametrize("spec", ["vgg16", "vgg16-bn", "resnet18", "inception-block", "vit-b16", "mobilenet-v2"])
@pytest.mark.parametrize("kind", ["cost", "memory"])
def test_legend_lists_only_families_with_a_visible_bar(analyses: dict[str, archviz.Analysis], spec: str,
                                                       kind: str) -> None:
    analysis = analyses[spec]
    with drawn(analysis, kind) as figure:
        shown = set()
        for ax in figure.axes:
            patches = list(ax.containers[0]) if ax.containers else []
            longest = max((p.get_width() for p in patches), default=0)
            shown |= {p.get_facecolor() for p in patches if p.get_width() >= charts.VISIBLE_SHARE * longest > 0}
        theme = get_theme("light")
        from matplotlib.colors import to_rgba

        swatches = [to_rgba(patch.get_facecolor()) for patch in figure.legends[0].get_patches()]
        assert len(set(swatches)) == len(swatches)  # one entry per colour
        for label in legend_labels(figure):
            for family in label.split(", "):
                assert to_rgba(theme.family(family).solid) in shown, family


def test_many_layers_keep_ticks_only(analyses: dict[str, archviz.Analysis]) -> None:
    analysis = analyses["deep"]
    assert len(analysis.layers) > charts.LABELLED_BARS
    for kind in ("cost", "memory"):
        with drawn(analysis, kind) as figure:
            first = figure.axes[0]
            assert [t.get_text() for t in first.get_yticklabels()] == []
            rows = analysis.layers if kind == "memory" else [r for r in analysis.layers if r.params or r.macs]
            assert first.get_ylabel() == f"{len(rows):,} layers, in network order"
            assert panel_texts(first) == []  # no value labels, no stage headers
            assert len(first.lines) == 2  # the rules between stage a, stage b and the unstaged head
            longest = max(bar_widths(first))
            assert first.get_xlim()[1] <= 1.05 * longest  # no room kept for value labels not drawn
