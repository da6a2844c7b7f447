"""The Pareto chart of a sweep: parameters against MACs, one point per variant (matplotlib, lazily).

The front -- variants no other variant beats on both counts -- is drawn as a line and labelled;
the rest are dimmed. The points and the front come from :mod:`archviz.sweep`; this module only
draws them. Output is deterministic like every archviz chart (same style and savefig settings
as :mod:`archviz.render.charts`).
"""

from __future__ import annotations

from collections.abc import Sequence

from archviz.errors import ArchvizError
from archviz.render import units
from archviz.render.charts import FORMATS, _human_formatter, _save, _style
from archviz.render.theme import Theme, get_theme, printable

LABELLED_FRONT = 12  # label at most this many front points; the rest would overlap


def render_pareto(points: Sequence[tuple[int, int]], labels: Sequence[str], front: Sequence[int], title: str,
                  fmt: str = "svg", theme: str | Theme = "light") -> bytes:
    """``points`` are (MACs, params) per valid variant, ``front`` the indices on the Pareto front."""
    if fmt not in FORMATS:
        raise ArchvizError(f"charts are written as {', '.join(FORMATS)}. Received: format={fmt!r}",
                           hint="name the chart file .svg, .png or .pdf")
    if not points:
        raise ArchvizError("no variant of this sweep is a valid network, so there is nothing to chart",
                           hint="see the error column of the sweep's rows")
    palette = get_theme(theme)
    with _style(palette):
        from matplotlib.figure import Figure

        figure = Figure(figsize=(8, 5.5), layout="constrained")
        ax = figure.subplots()
        on_front = set(front)
        rest = [p for i, p in enumerate(points) if i not in on_front]
        if rest:
            ax.scatter([p[0] for p in rest], [p[1] for p in rest], s=14 if len(points) < 2000 else 4,
                       color=palette.muted, alpha=0.45, linewidths=0, zorder=2, label="other variants",
                       rasterized=len(rest) > 5000)
        color = palette.family("conv").border
        xs, ys = [points[i][0] for i in front], [points[i][1] for i in front]
        ax.plot(xs, ys, color=color, linewidth=1.2, drawstyle="steps-post", zorder=3)
        ax.scatter(xs, ys, s=40, color=color, edgecolors=palette.background, linewidths=0.8, zorder=4,
                   label=f"Pareto front ({len(front):,} of {len(points):,})")
        step = max(1, -(-len(front) // LABELLED_FRONT))
        for i in front[::step]:
            ax.annotate(printable(labels[i], 40), points[i], xytext=(6, 4), textcoords="offset points",
                        fontsize=8, color=palette.text)
        ax.xaxis.set_major_formatter(_human_formatter())
        ax.yaxis.set_major_formatter(_human_formatter())
        ax.set_xlabel("MACs (multiply-accumulates) per batch")
        ax.set_ylabel("Parameters")
        ax.grid(True, color=palette.grid, linewidth=0.6, zorder=0)
        ax.margins(x=0.12, y=0.1)
        ax.legend(loc="lower right", frameon=False, fontsize=9)
        ax.set_title(f"{printable(title, 70)}: parameters against compute, {units.exact(len(points))} variants",
                     loc="left", fontsize=11)
        return _save(figure, fmt, palette)
