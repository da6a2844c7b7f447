"""The accuracy chart: published accuracy (or error) against MACs and against parameters.

Two panels with log cost axes, every network a labelled point, and in each panel the Pareto
front -- the networks no other beats on both cost and accuracy -- drawn as a staircase (the best
accuracy to be had for at most that cost). The numbers, the fronts and the citation come from
:func:`archviz.published.accuracy_chart`; this module only draws them. Deterministic output,
like every archviz chart.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from archviz.published import AccuracyChart
from archviz.render.charts import FORMATS, _label, _save, _style
from archviz.render.labels import freeze_layout, place_labels
from archviz.render.log_axes import human_log_axis
from archviz.render.theme import Theme, get_theme

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MARKER = 42  # scatter size (points squared)
HEIGHT = 6.4  # inches
MIN_SPAN = 2.0  # percentage points: the least the accuracy axis shows


def render_accuracy(chart: AccuracyChart, fmt: str = "svg", theme: str | Theme = "light") -> bytes:
    """The chart as a file's bytes (svg, png or pdf)."""
    from archviz.errors import ArchvizError

    if fmt not in FORMATS:
        raise ArchvizError(f"charts are written as {', '.join(FORMATS)}. Received: format={fmt!r}",
                           hint="name the output file .svg, .png or .pdf")
    if not chart.points:
        raise ArchvizError("an accuracy chart needs at least one network. Received: none")
    palette = get_theme(theme)
    with _style(palette):
        return _save(accuracy_figure(chart, palette), fmt, palette)


def accuracy_figure(chart: AccuracyChart, palette: Theme) -> Figure:
    """The matplotlib figure (call inside :func:`archviz.render.charts._style`, as render_accuracy does)."""
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine
    from matplotlib.lines import Line2D

    footnote = textwrap.wrap(_label(chart.footnote, 600), 175)
    # The footnote and the legend are no part of the constrained layout: their height is kept free
    # below the axes (the legend's row just above the footnote, where no point or front can be).
    footnote_height = (len(footnote) * 11 + 6) / (72 * HEIGHT)
    below = footnote_height + 22 / (72 * HEIGHT)
    figure = Figure(figsize=(13, HEIGHT), layout=ConstrainedLayoutEngine(rect=(0, below, 1, 1 - below)))
    axes = figure.subplots(1, 2, sharey=True)
    front_color, other_color = palette.family("conv").border, palette.muted
    panels = ((axes[0], "macs", chart.front_macs, "MACs per image (multiply-accumulates, log scale)"),
              (axes[1], "params", chart.front_params, "Parameters (log scale)"))
    for ax, field, front, xlabel in panels:
        xs = [getattr(p, field) for p in chart.points]
        ys = [p.value for p in chart.points]
        on_front = set(front)
        for i, point in enumerate(chart.points):
            color = front_color if i in on_front else other_color
            ax.scatter([xs[i]], [ys[i]], s=MARKER, zorder=4, linewidths=1.2,
                       color=palette.background if point.own else color, edgecolors=color)
        steps_x, steps_y = [xs[i] for i in front], [ys[i] for i in front]
        ax.plot(steps_x, steps_y, color=front_color, linewidth=1.3, drawstyle="steps-post", zorder=3)
        ax.set_xscale("log")
        human_log_axis(ax.xaxis, xs)
        ax.set_xlabel(xlabel)
        ax.grid(True, which="major", color=palette.grid, linewidth=0.6, zorder=0)
        ax.grid(True, which="minor", color=palette.grid, linewidth=0.3, zorder=0)
        ax.margins(y=0.08)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.set_title(f"against {'compute' if field == 'macs' else 'size'}: "
                     f"Pareto front {len(front)} of {len(chart.points)}", loc="left", fontsize=10.5)
    values = [p.value for p in chart.points]
    middle, span = (max(values) + min(values)) / 2, max(values) - min(values)
    if span < MIN_SPAN:  # a few tenths apart: no offset notation ('+7.159e1'), a readable range
        axes[0].set_ylim(middle - MIN_SPAN * 0.55, middle + MIN_SPAN * 0.55)
    axes[0].yaxis.get_major_formatter().set_useOffset(False)
    axes[0].set_ylabel(chart.quantity + ("" if chart.higher_is_better else ", lower is better"))
    figure.suptitle(_label(chart.title, 110), x=0.01, ha="left", fontsize=12, fontweight="bold")
    better = "more accurate" if chart.higher_is_better else "lower in error"
    handles = [
        Line2D([], [], color=front_color, marker="o", linewidth=1.3,
               label=f"Pareto front: no other network is both cheaper and {better}"),
        Line2D([], [], color=other_color, marker="o", linewidth=0, label="beaten on both by a front network"),
    ]
    if any(p.own for p in chart.points):
        handles.append(Line2D([], [], color=other_color, marker="o", markerfacecolor=palette.background,
                              linewidth=0, label="your number (--accuracy), not published"))
    figure.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.003, footnote_height), ncols=len(handles),
                  frameon=False, fontsize=8.5, borderaxespad=0.2)
    figure.text(0.01, 0.012, "\n".join(footnote), fontsize=8, color=palette.muted, ha="left", va="bottom")
    renderer = freeze_layout(figure)
    for ax, field, front, _ in panels:
        xy = [(getattr(p, field), p.value) for p in chart.points]
        place_labels(ax, renderer, xy, [_label(p.label, 40) for p in chart.points], marker_points=4.5,
                     lines=[_staircase([xy[i] for i in front])],
                     fontsize=8.5, color=palette.text)
    return figure


def _staircase(front: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The corners of the steps-post line through ``front``, as drawn."""
    corners: list[tuple[float, float]] = []
    for (x, y), following in zip(front, [*front[1:], None]):
        corners.append((x, y))
        if following is not None:
            corners.append((following[0], y))
    return corners
