"""The family chart (--kind compare) and the sweep's chart: what a reader needs to see, measured
on the matplotlib objects (axis limits and scales, one label per point, no label over another)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import archviz

pytest.importorskip("matplotlib")


def _drawn(figure: Any) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(figure.canvas, FigureCanvasAgg):  # a chart without labels was never measured
        FigureCanvasAgg(figure)
    figure.canvas.draw()
    return figure.canvas.get_renderer()


def _no_overlaps(ax: Any, renderer: Any) -> None:
    from matplotlib.text import Text

    boxes = [Text.get_window_extent(t, renderer) for t in ax.texts]  # the text, not its leader line
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b), "two point labels overlap"


def test_family_chart_names_the_paper_configurations_and_starts_at_zero() -> None:
    from archviz.cli.chart import VGG_FAMILY
    from archviz.render.charts import _compare, _style
    from archviz.render.theme import get_theme

    analyses = [archviz.load(name).analyze() for name in (*VGG_FAMILY, "resnet18")]
    palette = get_theme("light")
    with _style(palette):
        figure = _compare(analyses, palette)
        renderer = _drawn(figure)
    ax = figure.axes[0]
    labels = sorted(t.get_text() for t in ax.texts)
    # A and A-LRN have the same totals: one point, both names
    assert labels == ["A (vgg11), A-LRN (vgg11-lrn)", "B (vgg13)", "C (vgg16-c)", "D (vgg16)", "E (vgg19)", "resnet18"]
    assert ax.get_ylim()[0] == 0 and ax.get_xlim()[0] == 0
    assert ax.get_ylim()[1] > 143_667_240  # E's parameters, inside the view
    _no_overlaps(ax, renderer)
    assert ax.get_xlabel() == "MACs per image"


def _sweep_figure(spec: str, vary: dict[str, Any], batch: Any = 1) -> tuple[Any, Any, Any]:
    from archviz.render.charts import _style
    from archviz.render.sweep_chart import sweep_figure
    from archviz.render.theme import get_theme
    from archviz.sweep import SweepPoints, plan_sweep, run_sweep

    plan = plan_sweep(spec, vary, batch)
    points = SweepPoints.for_plan(plan)
    for _ in points.collect(run_sweep(plan)):
        pass
    palette = get_theme("light")
    with _style(palette):
        figure = sweep_figure(points, plan.network.name, palette)
        renderer = _drawn(figure)
    return points, figure, renderer


def test_sweep_chart_readme_example() -> None:
    """The README's sweep: resnet18 width x input, 16 variants."""
    points, figure, renderer = _sweep_figure("resnet18", {"width": [0.25, 0.5, 1, 2], "input": range(64, 257, 64)})
    assert points.axes == ("width", "input") and points.batches == (1,) and len(points.macs) == 16
    ax = figure.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log"
    assert ax.get_xlim()[0] > 0 and ax.get_ylim()[0] > 0
    assert ax.get_xlabel() == "MACs per image (log scale)"  # no 'per batch' at batch 1
    # one line per width, each through its four input sizes; every point labelled with its input
    assert len(ax.lines) == 4 and all(len(line.get_xdata()) == 4 for line in ax.lines)
    assert sorted(t.get_text() for t in ax.texts) == sorted(["64x64", "128x128", "192x192", "256x256"] * 4)
    _no_overlaps(ax, renderer)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["width=0.25", "width=0.5", "width=1", "width=2"]
    # params and MACs are both costs: no front is drawn (it was always the smallest variant, '1 of 16')
    note = figure.get_supxlabel()
    assert "No Pareto front" in note and "1 of 16" not in note
    # each line is flat: input size changes MACs (about x4 per doubling of the side), not params
    for line in ax.lines:
        assert len(set(line.get_ydata())) == 1
        xs = list(line.get_xdata())
        assert 3.9 < xs[1] / xs[0] < 4.0 and 1.7 < xs[3] / xs[2] < 1.8  # 128²/64² and 256²/192², less the fc
    narrow = archviz.load("resnet18").with_variables(width=0.25)
    assert list(ax.lines[0].get_xdata()) == [narrow.analyze(input_shape=(3, s, s)).totals.macs for s in (64, 128, 192, 256)]


def test_sweep_chart_markers_batch_and_invalid_variants() -> None:
    points, figure, renderer = _sweep_figure(
        "vgg11", {"width": [0.5, 1, 2], "num_classes": [10, 1000], "input": range(16, 225, 32)}, batch=8)
    assert points.axes == ("width", "num_classes", "input") and points.invalid == 6 and len(points.macs) == 36
    ax = figure.axes[0]
    assert ax.get_xlabel() == "MACs per batch of 8 (log scale)"
    markers = {line.get_marker() for line in ax.lines}
    assert markers == {"o", "s"}  # num_classes=10 and 1000
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["width=0.5", "width=1", "width=2", "num_classes=10", "num_classes=1000"]
    # 36 variants: each of the six lines labelled at its two ends with the input size
    assert len(ax.texts) == 12 and {t.get_text() for t in ax.texts} <= {f"{s}x{s}" for s in range(16, 225, 32)}
    _no_overlaps(ax, renderer)
    assert "6 variants are not valid networks" in figure.get_supxlabel()
    _, figure, _ = _sweep_figure("vgg16", {"batch": [1, 8]})
    assert figure.axes[0].get_xlabel() == "MACs per batch (the batch varies) (log scale)"


def test_sweep_chart_many_variants_and_no_parameters(write_spec) -> None:  # type: ignore[no-untyped-def]
    points, figure, _ = _sweep_figure("resnet18", {"width": [0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75, 2, 2.5, 3],
                                                  "input": range(32, 257, 8)})
    ax = figure.axes[0]
    assert len(points.macs) == 290 and len(ax.texts) == 0  # too many to label: the legend and lines carry it
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["width=0.25", "... 8 more, light to dark", "width=3"]
    spec = write_spec("name: poolnet\ninput: [3, 32, 32]\nvariables: {k: 2}\nlayers:\n  - max_pool2d: {kernel: k}\n")
    _, figure, _ = _sweep_figure(str(spec), {"k": [2, 4]})
    ax = figure.axes[0]
    # no parameters and no MACs: linear axes from 0, never a negative range
    assert ax.get_yscale() == "linear" and ax.get_ylim()[0] == 0 and ax.get_xlim()[0] == 0


def test_sweep_chart_labels_inside_and_svg_deterministic() -> None:
    from matplotlib.text import Text

    from archviz.render.sweep_chart import render_sweep_chart

    points, figure, renderer = _sweep_figure("resnet18", {"width": [0.25, 0.5, 1, 2], "input": range(64, 257, 64)})
    ax = figure.axes[0]
    frame = ax.get_window_extent(renderer)
    for text in ax.texts:
        box = Text.get_window_extent(text, renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
    ticks = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert ticks[:3] == ["10 M", "20 M", "50 M"]  # 1-2-5 over three decades
    svg = render_sweep_chart(points, "resnet18")
    assert svg == render_sweep_chart(points, "resnet18") and b"<dc:date>" not in svg
