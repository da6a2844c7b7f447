"""One small theme for every picture: colours per op family, light and dark.

The graph (Graphviz), the blocks figure (SVG) and the charts (matplotlib) all read their
colours from here, so a conv layer is the same blue everywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from archviz.errors import ArchvizError
from archviz.suggest import did_you_mean

FAMILIES = ("input", "conv", "pool", "dense", "norm", "activation", "merge", "shape", "regularization", "output")
FONT = "Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif"
GRAPHVIZ_FONT = "Helvetica,Arial,sans-serif"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


class ThemeName(str, Enum):
    light = "light"
    dark = "dark"


@dataclass(frozen=True)
class FamilyColors:
    """``fill`` and ``border`` for graph nodes; ``solid`` for a 3-D box's front face and chart bars."""

    fill: str
    border: str
    solid: str


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    text: str
    muted: str
    edge: str
    cluster_fill: str
    cluster_border: str
    grid: str
    families: dict[str, FamilyColors]

    def family(self, name: str) -> FamilyColors:
        """Colours of an op family; an unknown family (a new op) gets the neutral 'shape' colours."""
        return self.families.get(name, self.families["shape"])


LIGHT = Theme(
    name="light",
    background="#ffffff",
    text="#1f2328",
    muted="#59636e",
    edge="#6e7781",
    cluster_fill="#f6f8fa",
    cluster_border="#d0d7de",
    grid="#e1e4e8",
    families={
        "input": FamilyColors("#eef1f4", "#6e7781", "#c9d1d9"),
        "conv": FamilyColors("#ddebf7", "#3b78b8", "#8fbce6"),
        "pool": FamilyColors("#fbe3df", "#c0503f", "#e57f6e"),
        "dense": FamilyColors("#e8e0f5", "#7357b0", "#a58fd6"),
        "norm": FamilyColors("#fff3cf", "#b8901e", "#f0cf6a"),
        "activation": FamilyColors("#e6f4de", "#5e9a48", "#9fd08a"),
        "merge": FamilyColors("#d9f2ef", "#2e8f85", "#79c9bf"),
        "shape": FamilyColors("#f0f0f0", "#7a7a7a", "#c4c4c4"),
        "regularization": FamilyColors("#f4f4f4", "#9a9a9a", "#d6d6d6"),
        "output": FamilyColors("#f7e6d0", "#a5692a", "#d9a066"),
    },
)

DARK = Theme(
    name="dark",
    background="#16181d",
    text="#e6e8eb",
    muted="#9aa3ad",
    edge="#8b949e",
    cluster_fill="#1d2128",
    cluster_border="#3a414b",
    grid="#2d333b",
    families={
        "input": FamilyColors("#262b33", "#8b949e", "#5a636e"),
        "conv": FamilyColors("#17324d", "#6fa8dc", "#4f8cc4"),
        "pool": FamilyColors("#45201c", "#e57f6e", "#c4604f"),
        "dense": FamilyColors("#2c2342", "#a58fd6", "#8570bd"),
        "norm": FamilyColors("#3d3214", "#e0bd55", "#c9a23c"),
        "activation": FamilyColors("#1f3818", "#8cc476", "#6ea85a"),
        "merge": FamilyColors("#15383a", "#5fc0b5", "#3fa398"),
        "shape": FamilyColors("#2a2d33", "#9a9a9a", "#707070"),
        "regularization": FamilyColors("#25282d", "#8a8a8a", "#626262"),
        "output": FamilyColors("#3d2a15", "#d9a066", "#b98146"),
    },
)

THEMES = {"light": LIGHT, "dark": DARK}


def get_theme(name: str | Theme) -> Theme:
    """The named theme ('light' or 'dark'); a Theme passes through unchanged."""
    if isinstance(name, Theme):
        return name
    key = name.value if isinstance(name, ThemeName) else str(name)
    if key not in THEMES:
        raise ArchvizError(f"unknown theme {key!r}; expected one of: {', '.join(THEMES)}. Received: theme={key!r}",
                           hint=did_you_mean(key, THEMES))
    return THEMES[key]


def shade(color: str, factor: float) -> str:
    """Lighten (factor > 0, towards white) or darken (factor < 0, towards black) a #rrggbb colour."""
    red, green, blue = (int(color[i:i + 2], 16) for i in (1, 3, 5))

    def move(channel: int) -> int:
        target = 255 if factor > 0 else 0
        return round(channel + (target - channel) * abs(factor))

    return f"#{move(red):02x}{move(green):02x}{move(blue):02x}"


def printable(text: str, limit: int | None = None) -> str:
    """A spec string made safe to show: control characters become visible escapes (\\x00), and an
    over-long string is cut with an ellipsis. Markup escaping is still the caller's job."""
    cleaned = _CONTROL.sub(_visible_escape, text)
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: max(limit - 1, 1)] + "…"
    return cleaned


def _visible_escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"
