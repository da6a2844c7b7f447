"""Point labels that do not overlap each other, the points or the axes' edge (matplotlib).

Each label tries a fixed list of positions around its point, nearest first, and takes the first
whose text box touches no label placed before it, no point and stays inside the axes; where none
is free, the position that overlaps least, joined to its point by a thin leader line. Positions
are measured with the figure's renderer, so call this once the axes are laid out (after
:func:`freeze_layout`). The order is fixed, so the same chart places its labels the same way.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Annotation

RADII = (5.0, 11.0, 19.0, 30.0, 44.0)  # points from the marker's centre
DIRECTIONS = ((1, 1), (1, -1), (-1, 1), (-1, -1), (1, 0), (-1, 0), (0, 1), (0, -1))
LEADER_FROM = 11.0  # labels this far or further get a line to their point


def freeze_layout(figure: Figure) -> Any:
    """Lay the figure out once (constrained layout) and keep it so: labels placed from now on stay
    where they were measured. Returns the renderer to measure with."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(figure)
    figure.draw_without_rendering()
    figure.set_layout_engine("none")
    return canvas.get_renderer()


def place_labels(ax: Axes, renderer: Any, points: Sequence[tuple[float, float]], texts: Sequence[str],
                 marker_points: float = 4.0, obstacles: Sequence[Any] = (),
                 lines: Sequence[Sequence[tuple[float, float]]] = (), **style: Any) -> list[Annotation]:
    """Annotate ``points`` (data coordinates) with ``texts``; ``marker_points`` is the marker radius,
    ``obstacles`` display-space boxes to keep clear of (a legend), ``lines`` polylines in data
    coordinates the labels should not cross (a Pareto front)."""
    from matplotlib.transforms import Bbox

    scale = ax.figure.dpi / 72  # points to pixels
    frame = ax.get_window_extent(renderer)
    centres = [ax.transData.transform(point) for point in points]
    radius = marker_points * scale
    taken: list[Bbox] = [Bbox.from_extents(x - radius, y - radius, x + radius, y + radius) for x, y in centres]
    taken += list(obstacles)
    taken += [box for line in lines for box in _line_boxes(ax, line)]
    placed: list[Annotation] = []
    for point, text in zip(points, texts):
        label = ax.annotate(text, point, xytext=(0, 0), textcoords="offset points", annotation_clip=False, **style)
        best: tuple[float, float, float, Literal["left", "center", "right"], Literal["bottom", "center", "top"]] | None \
            = None
        best_overlap = math.inf
        for distance in RADII:
            for dx, dy in DIRECTIONS:
                norm = math.hypot(dx, dy)
                offset = (distance * dx / norm, distance * dy / norm)
                ha: Literal["left", "center", "right"] = "left" if dx > 0 else "right" if dx < 0 else "center"
                va: Literal["bottom", "center", "top"] = "bottom" if dy > 0 else "top" if dy < 0 else "center"
                label.set_position(offset)
                label.set_horizontalalignment(ha)
                label.set_verticalalignment(va)
                box = label.get_window_extent(renderer)
                overlap = sum(_area(box, other) for other in taken)
                outside = box.width * box.height - _area(box, frame)
                cost = overlap + 4 * outside
                if cost < best_overlap:
                    best, best_overlap = (distance, *offset, ha, va), cost
                if cost == 0:
                    break
            if best_overlap == 0:
                break
        label.remove()  # a probe: the label is made again where it fits, with its leader if far
        assert best is not None
        distance, ox, oy, ha, va = best
        leader = None
        if distance >= LEADER_FROM:
            leader = {"arrowstyle": "-", "linewidth": 0.5, "color": style.get("color", "0.4"),
                      "shrinkA": 1, "shrinkB": marker_points}
        final = ax.annotate(text, point, xytext=(ox, oy), textcoords="offset points", ha=ha, va=va,
                            annotation_clip=False, arrowprops=leader, **style)
        taken.append(final.get_window_extent(renderer))
        placed.append(final)
    return placed


def _area(a: Any, b: Any) -> float:
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return width * height if width > 0 and height > 0 else 0.0


def _line_boxes(ax: Axes, line: Sequence[tuple[float, float]], pieces: int = 24, thickness: float = 1.5) -> list[Any]:
    """Small display-space boxes along a polyline, so a label can sit beside it but not on it."""
    from matplotlib.transforms import Bbox

    shown = [ax.transData.transform(point) for point in line]
    boxes = []
    for (x0, y0), (x1, y1) in itertools.pairwise(shown):
        for i in range(pieces):
            ax_, ay = x0 + (x1 - x0) * i / pieces, y0 + (y1 - y0) * i / pieces
            bx, by = x0 + (x1 - x0) * (i + 1) / pieces, y0 + (y1 - y0) * (i + 1) / pieces
            boxes.append(Bbox.from_extents(min(ax_, bx) - thickness, min(ay, by) - thickness,
                                           max(ax_, bx) + thickness, max(ay, by) + thickness))
    return boxes
