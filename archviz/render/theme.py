"""One small theme for every picture: colours per op family, light and dark.

The graph (Graphviz), the blocks figure (SVG) and the charts (matplotlib) all read their
colours from here, and every colour here comes from ``palette`` (Okabe-Ito hues), so a conv
layer is the same blue everywhere, the HTML report's table stripes included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from archviz.errors import ArchvizError
from archviz.render import palette
from archviz.render.palette import mix
from archviz.suggest import did_you_mean

FAMILIES = ("input", "conv", "pool", "dense", "norm", "activation", "merge", "shape", "regularization", "output")
FONT = "Helvetica, Arial, 'DejaVu Sans', 'Liberation Sans', sans-serif"
GRAPHVIZ_FONT = "Helvetica,Arial,sans-serif"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


_NEUTRAL_FIELDS = ("background", "text", "muted", "edge", "cluster_fill", "cluster_border", "grid")


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


def _families(background: str, fill: float, border: str, border_amount: float) -> dict[str, FamilyColors]:
    """Each family's hue from the palette: a tint of it for node fills, a deeper (light theme) or
    the plain (dark theme) hue for outlines, the hue itself for solid faces and bars."""
    return {family: FamilyColors(mix(palette.family_hue(family), background, fill),
                                 mix(palette.family_hue(family), border, border_amount),
                                 palette.family_hue(family))
            for family in FAMILIES}


LIGHT = Theme(
    name="light",
    families=_families(palette.LIGHT_NEUTRALS["background"], 0.8, palette.OKABE_ITO["black"], 0.2),
    **{key: palette.LIGHT_NEUTRALS[key] for key in _NEUTRAL_FIELDS},
)

DARK = Theme(
    name="dark",
    families=_families(palette.DARK_NEUTRALS["background"], 0.72, palette.DARK_NEUTRALS["background"], 0.0),
    **{key: palette.DARK_NEUTRALS[key] for key in _NEUTRAL_FIELDS},
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
