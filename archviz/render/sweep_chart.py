"""The chart of a sweep: parameters against MACs on log axes, one point per variant (matplotlib, lazily).

Each point is coloured by the first axis that varies and labelled by its values on the others;
variants that differ only in the last axis are joined by a line, so each line shows what that
axis costs (input size: MACs grow, params stay). Params and MACs are both costs: their Pareto
front is only ever the smallest variant, so no front is drawn, and the legend says so (a front
needs a quantity worth trading, such as the published accuracies of ``archviz chart --kind
accuracy``). The points come from :class:`archviz.sweep.SweepPoints`; this module only draws
them. Output is deterministic like every archviz chart.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from archviz.errors import ArchvizError
from archviz.render import palette as colours
from archviz.render import units
from archviz.render.charts import FORMATS, _label, _save, _style
from archviz.render.labels import freeze_layout, place_labels
from archviz.render.log_axes import count_axis
from archviz.render.theme import Theme, get_theme

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from archviz.sweep import SweepPoints

LABELLED_POINTS = 40  # above this, point labels would cover the chart: the legend and lines carry it
ALL_LABELLED = 20  # up to this, every point is labelled; above, each line's two ends
MARKERS = ("o", "s", "^", "D", "v")
CATEGORIES = ("blue", "vermillion", "bluish green", "reddish purple", "orange", "sky blue", "yellow")
NO_FRONT = ("No Pareto front: params and MACs are both costs, so their front would be only the smallest variant; "
            "a front needs a quantity worth trading (archviz chart --kind accuracy)")


def render_sweep_chart(points: SweepPoints, title: str, fmt: str = "svg", theme: str | Theme = "light") -> bytes:
    """The chart of a sweep's valid variants as a file's bytes (svg, png or pdf)."""
    if fmt not in FORMATS:
        raise ArchvizError(f"charts are written as {', '.join(FORMATS)}. Received: format={fmt!r}",
                           hint="name the chart file .svg, .png or .pdf")
    if not points.macs:
        raise ArchvizError("no variant of this sweep is a valid network, so there is nothing to chart",
                           hint="see the error column of the sweep's rows")
    palette = get_theme(theme)
    with _style(palette):
        return _save(sweep_figure(points, title, palette), fmt, palette)


def value_text(axis: str, value: Any) -> str:
    """One varied value as a label shows it: 'width=0.5', 'batch=8', an input as '160x160'."""
    if axis == "input":
        return "x".join(map(str, value[1:] if len(value) == 3 else value))
    return f"{axis}={value}"


def macs_label(batches: Sequence[int]) -> str:
    """The MACs axis' unit: per image at batch 1, else per batch (which varies, or is one size)."""
    if len(batches) > 1:
        return "MACs per batch (the batch varies)"
    return "MACs per image" if batches[0] == 1 else f"MACs per batch of {batches[0]:,}"


def sweep_figure(points: SweepPoints, title: str, palette: Theme) -> Figure:
    """The matplotlib figure (call inside :func:`archviz.render.charts._style`, as render_sweep_chart does).

    The first varied axis is the colour; with three or more axes the second is the marker (up to
    five values); the last runs along each line; point labels give the values no colour or marker
    shows (all points up to 20 variants, each line's two ends up to 40, none beyond).
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    count = len(points.macs)
    figure = Figure(figsize=(9, 6), layout="constrained")
    ax = figure.subplots()
    axes = points.axes
    groups = list(dict.fromkeys(v[0] for v in points.values)) if axes else [None]
    colour_of = _colours(groups)
    shapes = list(dict.fromkeys(v[1] for v in points.values)) if len(axes) >= 3 else []
    marker_axis = axes[1] if 1 < len(shapes) <= len(MARKERS) else None
    marker_of = dict(zip(shapes, MARKERS)) if marker_axis else {}
    # one line per combination of every axis but the last, in the order the sweep ran
    lines: dict[tuple[Any, ...], list[int]] = {}
    for index, values in enumerate(points.values):
        lines.setdefault(values[:-1] if len(axes) > 1 else (), []).append(index)
    small = count <= 2000
    for key, members in lines.items():
        xs, ys = [points.macs[i] for i in members], [points.params[i] for i in members]
        if len(axes) <= 1:  # one axis (or none): a colour per point, one grey line through them all
            ax.plot(xs, ys, color=palette.muted, linewidth=0.8, zorder=2)
            ax.scatter(xs, ys, zorder=3, s=36 if small else 6, linewidths=0.6, edgecolors=palette.background,
                       rasterized=count > 5000, color=[colour_of[points.values[i][0] if axes else None] for i in members])
            continue
        ax.plot(xs, ys, color=colour_of[key[0]], linewidth=1.0, alpha=0.85, zorder=2,
                marker=(marker_of.get(key[1], "o") if marker_axis else "o") if small else None, markersize=6,
                markeredgecolor=palette.background, markeredgewidth=0.6, rasterized=count > 5000)
    log_x = count_axis(ax.xaxis, points.macs)
    log_y = count_axis(ax.yaxis, points.params)
    ax.set_xlabel(macs_label(points.batches) + (" (log scale)" if log_x else ""))
    ax.set_ylabel("Parameters" + (" (log scale)" if log_y else ""))
    ax.grid(True, color=palette.grid, linewidth=0.6, zorder=0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    varied = " × ".join(axes) if axes else "nothing varies"
    ax.set_title(f"{_label(title, 60)}: parameters against compute, {units.exact(count)} variant{'' if count == 1 else 's'} ({varied})",
                 loc="left", fontsize=11)
    legend = None
    if axes:
        shown = groups if len(groups) <= len(CATEGORIES) else [groups[0], groups[-1]]
        handles: list[Any] = [Line2D([], [], color=colour_of[g], marker="o", linewidth=1.0,
                                     label=_label(value_text(axes[0], g), 40)) for g in shown]
        if len(groups) > len(CATEGORIES):
            handles.insert(1, Line2D([], [], linewidth=0, label=f"... {len(groups) - 2:,} more, light to dark"))
        handles += [Line2D([], [], color=palette.muted, marker=marker_of[v], linewidth=0,
                           label=_label(value_text(axes[1], v), 40)) for v in shapes if marker_axis]
        legend = ax.legend(handles=handles, loc="best", frameon=False, fontsize=8.5)
    note = NO_FRONT + "."
    if points.invalid:
        note += f" {points.invalid:,} variants are not valid networks (see the error column)."
    figure.supxlabel("\n".join(textwrap.wrap(note, 130)), x=0.01, ha="left", fontsize=8.5, color=palette.muted)
    if count <= LABELLED_POINTS and axes:
        shown_by_style = {axes[0]} | ({marker_axis} if marker_axis else set())
        rest = [i for i, axis in enumerate(axes) if axis not in shown_by_style] or [0]
        chosen = range(count) if count <= ALL_LABELLED else sorted({m[j] for m in lines.values() for j in (0, -1)})
        renderer = freeze_layout(figure)
        place_labels(ax, renderer, [(points.macs[i], points.params[i]) for i in chosen],
                     [", ".join(_label(value_text(axes[k], points.values[i][k]), 30) for k in rest) for i in chosen],
                     marker_points=3.5, obstacles=[legend.get_window_extent(renderer)] if legend is not None else [],
                     lines=[[(points.macs[i], points.params[i]) for i in members] for members in lines.values()],
                     fontsize=8, color=palette.text)
    return figure


def _colours(groups: list[Any]) -> dict[Any, str]:
    """Okabe-Ito hues for up to seven groups; more get viridis shades, light to dark, in sweep order."""
    if len(groups) <= len(CATEGORIES):
        return {g: colours.OKABE_ITO[name] for g, name in zip(groups, CATEGORIES)}
    from matplotlib import colormaps
    from matplotlib.colors import to_hex

    shades = colormaps["viridis_r"]
    return {g: to_hex(shades(0.1 + 0.85 * i / (len(groups) - 1))) for i, g in enumerate(groups)}
