"""Every colour archviz draws with, in one place: the Okabe-Ito palette for op families, and the
neutrals of the page. The graph, the blocks figure, the charts and the HTML report all take their
colours from here (through ``theme`` for the pictures), so a pool layer is the same vermillion in
the table stripe, the graph node, the figure box and the chart bar.

Okabe & Ito, "Color Universal Design" (2008): eight colours that stay distinct for the common
colour-vision deficiencies. The family hues are the seven chromatic ones; ``deuteranopia`` and
``distance`` let a test check that no two of them collapse for a deuteranope.
"""

from __future__ import annotations

import math

OKABE_ITO = {
    "orange": "#e69f00",
    "sky blue": "#56b4e9",
    "bluish green": "#009e73",
    "yellow": "#f0e442",
    "blue": "#0072b2",
    "vermillion": "#d55e00",
    "reddish purple": "#cc79a7",
    "black": "#000000",
}

# The families a reader must tell apart get a chromatic Okabe-Ito colour each; the layers that
# count for nothing (shape, regularisation) and the input share greys.
FAMILY_HUES = {
    "conv": OKABE_ITO["blue"],
    "pool": OKABE_ITO["vermillion"],
    "dense": OKABE_ITO["reddish purple"],
    "norm": OKABE_ITO["yellow"],
    "activation": OKABE_ITO["bluish green"],
    "merge": OKABE_ITO["orange"],
    "output": OKABE_ITO["sky blue"],
}
GREYS = {"input": "#8c959f", "shape": "#9a9a9a", "regularization": "#b0b0b0"}

# The page's neutrals, light and dark.
LIGHT_NEUTRALS = {
    "background": "#ffffff", "text": "#1f2328", "muted": "#59636e", "edge": "#6e7781",
    "cluster_fill": "#f6f8fa", "cluster_border": "#d0d7de", "grid": "#e1e4e8",
    "line": "#d1d9e0", "rule": "#eaeef2", "hover": "#f3f8ff", "wash": "#eef3f8", "accent": "#0072b2",
}
DARK_NEUTRALS = {
    "background": "#16181d", "text": "#e6e8eb", "muted": "#9aa3ad", "edge": "#8b949e",
    "cluster_fill": "#1d2128", "cluster_border": "#3a414b", "grid": "#2d333b",
}
# A check that passed or failed, in the palette's own contrast pair (not red against green).
GOOD = OKABE_ITO["bluish green"]
BAD = OKABE_ITO["vermillion"]


def family_hue(family: str) -> str:
    """The colour of an op family (a grey for the uncounted ones and for an unknown family)."""
    return FAMILY_HUES.get(family) or GREYS.get(family) or GREYS["shape"]


def mix(color: str, other: str, amount: float) -> str:
    """``color`` moved ``amount`` (0..1) of the way towards ``other``."""
    first, second = _rgb(color), _rgb(other)
    return "#" + "".join(f"{round(a + (b - a) * amount):02x}" for a, b in zip(first, second, strict=True))


def deuteranopia(color: str) -> str:
    """``color`` as a deuteranope sees it (Machado, Oliveira & Fernandes 2009, severity 1, applied
    to linear RGB)."""
    matrix = ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881))
    linear = [_to_linear(channel / 255) for channel in _rgb(color)]
    seen = [sum(weight * value for weight, value in zip(row, linear, strict=True)) for row in matrix]
    return "#" + "".join(f"{round(_to_srgb(min(max(v, 0.0), 1.0)) * 255):02x}" for v in seen)


def distance(first: str, second: str) -> float:
    """CIE76 colour difference (ΔE in CIELAB): about 2.3 is just noticeable, over 20 is distinct."""
    return math.dist(_lab(first), _lab(second))


def _rgb(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def _to_linear(value: float) -> float:
    return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4


def _to_srgb(value: float) -> float:
    return value * 12.92 if value <= 0.0031308 else 1.055 * value ** (1 / 2.4) - 0.055


def _lab(color: str) -> tuple[float, float, float]:
    red, green, blue = (_to_linear(channel / 255) for channel in _rgb(color))
    x = (0.4124 * red + 0.3576 * green + 0.1805 * blue) / 0.95047
    y = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    z = (0.0193 * red + 0.1192 * green + 0.9505 * blue) / 1.08883

    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))
