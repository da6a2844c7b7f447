"""The family chart (--kind compare) and the sweep's chart: what a reader needs to see, measured
on the matplotlib objects (axis limits and scales, one label per point, no label over another)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import archviz

pytest.importorskip("matplotlib")


def _drawn(figure: Any) -> Any:
    figure.canvas.draw()
    return figure.canvas.get_renderer()


def _no_overlaps(ax: Any, renderer: Any) -> None:
    boxes = [t.get_window_extent(renderer) for t in ax.texts]
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
